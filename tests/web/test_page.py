"""The lesson page's content: structure, formulas as MathML, the real source, no inline code."""

from __future__ import annotations

import html
import inspect
import re

import pytest

from genlab.web import lesson
from genlab.web.content import formulas, quiz


@pytest.fixture(scope="module")
def html_page(client) -> str:
    return client.get("/").text


def _strip_tags(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


def _element(page: str, tag: str, id_: str) -> str:
    m = re.search(rf'<{tag}\b[^>]*\bid="{re.escape(id_)}"[^>]*>.*?</{tag}>', page, re.S)
    assert m, f"no <{tag} id={id_}>"
    return m.group(0)


def test_header_title_subtitle_path_prerequisites_time_concepts(html_page):
    assert "<h1>Generative Models: VAE &amp; GAN</h1>" in html_page
    assert "then sampling new reality from the learned distribution" in html_page
    path = re.search(r'<ol class="path"[^>]*>(.*?)</ol>', html_page, re.S).group(1)
    assert re.findall(r"<li>(.*?)</li>", path) == ["Autoencoder", "VAE", "GAN"]
    for prerequisite in ("neural networks", "CNN architectures", "information theory"):
        assert prerequisite in html_page
    assert "Estimated time" in html_page and "90 minutes" in html_page
    for concept in ("Autoencoder", "ELBO", "Reparameterization", "Latent Space", "GAN", "DCGAN",
                    "Mode Collapse"):
        anchor = lesson.CONCEPT_ANCHORS[concept]
        assert f'<li class="chip"><a href="#{anchor}">{concept}</a></li>' in html_page
        assert f'id="{anchor}"' in html_page  # the link lands where the concept is taught


def test_sections_in_the_lessons_order_and_kinds(html_page):
    kinds = re.findall(r'<section id="([a-z-]+)" class="lesson-section" data-kind="([a-z ]+)"', html_page)
    assert kinds == [("motivation", "motivation"), ("intuition", "intuition"), ("math", "math"),
                     ("deep-dive", "deep dive"), ("code", "code"), ("quiz", "quiz")]


def test_sections_cover_the_lessons_topics(html_page):
    text = {sid: _strip_tags(_element(html_page, "section", sid))
            for sid in ("motivation", "intuition", "math", "deep-dive", "code")}
    for word in ("P(y | x)", "P(x)", "Sampling", "Interpolation", "Anomaly detection",
                 "Conditional generation"):
        assert word in text["motivation"], word
    for word in ("autoencoder", "latent space", "reparameterization"):
        assert word in text["intuition"].lower(), word
    for word in ("ELBO", "β-VAE", "posterior"):
        assert word in text["math"], word
    for word in ("Nash", "D*", "JSD", "Mode collapse", "WGAN-GP", "Spectral normalization",
                 "Minibatch discrimination", "Packing", "DCGAN"):
        assert word.lower() in text["deep-dive"].lower(), word


@pytest.mark.parametrize("sim, section", [("beyond", "math"), ("vae", "intuition"),
                                          ("gan2d", "deep-dive"), ("dcgan", "deep-dive")])
def test_simulation_placeholders_sit_in_their_sections(html_page, sim, section):
    assert f'<div class="sim" data-sim="{sim}"' in _element(html_page, "section", section)


def test_at_least_ten_figures_and_three_live_diagrams(html_page):
    assert html_page.count('<figure class="fig"') >= 10
    assert html_page.count("<svg viewBox") >= 10
    for sim in ("vae", "gan2d", "dcgan"):
        assert f'<figure class="arch" data-arch="{sim}"' in html_page
    numbers = [int(n) for n in re.findall(r"<b>Figure (\d+)\.</b>", html_page)]
    assert numbers == list(range(1, len(numbers) + 1))


def test_key_formulas_are_mathml(html_page):
    for name in formulas.KEY_FORMULAS:
        block = _element(html_page, "figure", f"eq-{name}")
        assert re.search(r'<math alttext="[^"]+" xmlns="http://www.w3.org/1998/Math/MathML" '
                         r'display="block">', block)
        assert "<merror" not in block
    assert html_page.count("<math ") >= len(formulas.KEY_FORMULAS)


def test_every_formula_names_the_function_that_computes_it(html_page):
    for name in formulas.FORMULAS:
        named = [n for _, names in formulas.FORMULAS[name]["refs"] for n in names]
        assert named, f"{name} names no function"
        block = _element(html_page, "figure", f"eq-{name}")
        for dotted in named:
            assert f"<code>{dotted}</code>" in block, (name, dotted)


def test_every_named_function_exists():
    named = {n for f in formulas.FORMULAS.values() for _, names in f["refs"] for n in names}
    named |= {dotted for dotted, _ in formulas.CODE.values()}
    assert "genlab.losses.kl_standard_normal" in named
    assert "genlab.regularizers.gradient_penalty" in named
    for dotted in sorted(named):
        assert callable(lesson.resolve_name(dotted)), dotted


def test_page_names_only_existing_genlab_functions(html_page):
    named = set(re.findall(r"<code>(genlab\.[A-Za-z0-9_.]+)</code>", html_page))
    assert len(named) >= 8
    for dotted in named:
        lesson.resolve_name(dotted)  # raises if the html_page names something that is not there


def test_code_section_shows_the_real_generator_and_gradient_penalty(html_page):
    from genlab.models.dcgan import DCGANGenerator
    from genlab.regularizers import gradient_penalty

    code = _element(html_page, "section", "code")
    shown = _strip_tags(code)
    assert inspect.getsource(DCGANGenerator) in shown
    assert inspect.getsource(gradient_penalty) in shown
    # Pygments' token classes (styled in hub.css): keyword, whitespace, class name
    assert ('<span class="tok-k">class</span><span class="tok-w"> </span>'
            '<span class="tok-nc">DCGANGenerator</span>') in code


def test_highlighter_keeps_the_text_exactly():
    source = inspect.getsource(lesson.highlight_python)
    assert _strip_tags(lesson.highlight_python(source)) == source
    tricky = 'x = f"{a!r:>3}" + """doc\n""" # note <b>\nif x: y = 1e-3\n'
    assert _strip_tags(lesson.highlight_python(tricky)) == tricky


def test_no_inline_script_or_style_anywhere(html_page):
    # JSON data blocks are never run (the CSP governs scripts, not data): the settings and
    # teacher mode's metrics only
    scripts = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html_page)
    assert scripts == ['<script type="application/json" id="sim-settings">',
                       '<script type="application/json" id="sim-challenges">'], "inline <script>"
    assert "<style" not in html_page
    assert not re.search(r'\sstyle="', html_page), "style attribute"
    assert not re.search(r"\son[a-z]+=", html_page), "inline event handler"
    assert "http://" not in html_page.replace('xmlns="http://www.w3.org/', "")
    assert "https://" not in html_page


def test_no_placeholder_left_and_ids_unique(html_page):
    assert "<!--figure:" not in html_page and "<!--formula:" not in html_page and "<!--sim:" not in html_page
    ids = re.findall(r'\sid="([^"]+)"', html_page)
    assert len(ids) == len(set(ids))


def test_accessibility_basics(html_page):
    assert '<html lang="en">' in html_page
    assert '<a class="skip-link" href="#main">' in html_page
    assert '<main id="main"' in html_page
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html_page
    assert '<button type="button" id="reset-progress"' in html_page
    # every radio button sits inside a label
    assert html_page.count('type="radio"') == sum(len(q["options"]) for q in quiz.QUESTIONS)
    assert len(re.findall(r'<label class="opt" data-option="[a-z0-9-]+"><input type="radio"',
                          html_page)) == html_page.count('type="radio"')


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr", "mspace"}


def test_page_is_well_formed(html_page):
    """Every element the page opens is closed, in order (MathML and SVG included)."""
    from html.parser import HTMLParser

    class Checker(HTMLParser):
        def __init__(self):
            super().__init__(convert_charrefs=True)
            self.stack, self.errors = [], []

        def handle_starttag(self, tag, attrs):
            if tag not in VOID:
                self.stack.append((tag, self.getpos()))

        def handle_startendtag(self, tag, attrs):
            pass

        def handle_endtag(self, tag):
            if not self.stack or self.stack[-1][0] != tag:
                self.errors.append((tag, self.getpos(), self.stack[-1:] if self.stack else None))
                return
            self.stack.pop()

    checker = Checker()
    checker.feed(html_page)
    assert checker.errors == []
    assert [t for t, _ in checker.stack] == []


def test_the_beyond_lab_comes_after_the_elbo_and_beta_with_a_preview_in_the_motivation(html_page):
    """It shows −ELBO, AUROC, β and the latent dimension: taught first, previewed plainly."""
    motivation = _element(html_page, "section", "motivation")
    assert 'data-sim="beyond"' not in motivation and 'href="#beyond"' in motivation
    assert html_page.index('id="elbo"') < html_page.index('id="beta-vae"') \
        < html_page.index('id="beyond"') < html_page.index('data-sim="beyond"')
