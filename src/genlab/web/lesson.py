"""Builds the lesson page: one HTML document, no inline script or style (the CSP forbids both).

- Formulas: LaTeX in content/formulas.py -> MathML on the server (latex2mathml), each with the
  genlab functions that compute it.
- Code: the real source of the DCGAN generator and the gradient penalty, read with
  inspect.getsource when the page is built, highlighted by Pygments (CSS classes, hub.css).
- Figures: inline SVG from content/figures.py; prose: content/s*_*.html with placeholders
  <!--figure:NAME--> <!--formula:NAME--> <!--diagram:SIM--> <!--sim:SIM--> <!--code:NAME-->.
- Knowledge check: content/quiz.py, rendered as real forms (radio buttons + a submit button).
- Simulation settings: every control's name, label, bounds, choices, default and help, from
  their one definition (genlab.web.simulations.schemas), embedded as a JSON data block
  (<script type="application/json" id="sim-settings">: data, never run, so the CSP allows it)
  that static/sims/ and static/diagrams.js read; the page needs no request to build them.
"""

from __future__ import annotations

import html
import importlib
import inspect
import json
import re
from pathlib import Path

import pygments
from latex2mathml.converter import convert as latex_to_mathml
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer

from genlab import __version__
from genlab.web.content import figures, formulas, quiz

CONTENT = Path(__file__).resolve().parent / "content"
STATIC = Path(__file__).resolve().parent / "static"

TITLE = "Generative Models: VAE &amp; GAN"
SUBTITLE = "Learning the shape of data, then sampling new reality from the learned distribution"
PATH = ("Autoencoder", "VAE", "GAN")
PREREQUISITES = ("neural networks", "CNN architectures", "information theory")
ESTIMATED_TIME = "about 90 minutes: 45 reading, 30 in the simulations, 15 for the quiz"

# (id, kind, heading, fragment file) in the lesson's order.
SECTIONS = (
    ("motivation", "Motivation", "Why learn P(x)?", "s1_motivation.html"),
    ("intuition", "Intuition", "From autoencoders to VAEs", "s2_intuition.html"),
    ("math", "Math", "The ELBO, derived", "s3_math.html"),
    ("deep-dive", "Deep dive", "GANs: the game, its equilibrium and its failure", "s4_deep_dive.html"),
    ("code", "Code", "The code that runs", "s5_code.html"),
)
# where each of the seven concepts is introduced (ids of <h3> in the fragments)
CONCEPT_ANCHORS = {"Autoencoder": "autoencoder", "ELBO": "elbo",
                   "Reparameterization": "reparameterization", "Latent Space": "latent-space",
                   "GAN": "gan", "DCGAN": "dcgan", "Mode Collapse": "mode-collapse"}
SIMS = ("gan2d", "vae", "dcgan", "beyond")
SIM_LABELS = {"gan2d": "2D GAN playground", "vae": "VAE lab", "dcgan": "DCGAN lab",
              "beyond": "Anomaly detection and conditional generation"}
DIAGRAM_CAPTIONS = {
    "vae": "The VAE lab's model, built with genlab.models.build_model and traced layer by layer: "
           "encoder → (μ, log σ²) → z → decoder.",
    "gan2d": "The playground's generator and discriminator (genlab.models.GAN), traced from the "
             "real modules with the current settings.",
    "dcgan": "The DCGAN lab's generator and discriminator (genlab.models.DCGAN), traced from the "
             "real modules.",
}
PLACEHOLDER = re.compile(r"<!--(figure|formula|diagram|sim|code):([a-z0-9_]+)-->")


# ---------------------------------------------------------------- names and code
def resolve_name(dotted: str):
    """Import `a.b.C.method` -> the object; raises ImportError/AttributeError if missing."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ModuleNotFoundError:
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(dotted)


def _exists(dotted: str) -> bool:
    try:
        resolve_name(dotted)
        return True
    except (ImportError, AttributeError):
        return False


_LEXER = PythonLexer(stripnl=False, ensurenl=False)  # keep the text exactly as it is
_FORMAT = HtmlFormatter(nowrap=True, classprefix="tok-")  # CSS classes, styled in hub.css


def highlight_python(source: str) -> str:
    """HTML-escaped Python with Pygments' token classes (`<span class="tok-k">` keyword,
    `tok-nf` / `tok-nc` names being defined, `tok-s*` strings, `tok-c*` comments, `tok-m*`
    numbers, `tok-nb` builtins, ...). Whitespace is kept exactly."""
    return pygments.highlight(source, _LEXER, _FORMAT)


def source_of(dotted: str) -> tuple[str, str, int]:
    """(source text, file path relative to the genlab package, first line) of a class/function."""
    obj = resolve_name(dotted)
    lines, first = inspect.getsourcelines(obj)
    path = Path(inspect.getsourcefile(obj)).resolve()
    try:
        shown = "genlab/" + path.relative_to(Path(__file__).resolve().parents[1]).as_posix()
    except ValueError:
        shown = path.name
    return "".join(lines), shown, first


# ---------------------------------------------------------------- fragments
class _Counter:
    def __init__(self):
        self.n = 0

    def next(self) -> int:
        self.n += 1
        return self.n


def mathml_of(tex: str) -> str:
    """Block MathML for `tex`, with the LaTeX kept as alttext for assistive technology."""
    mathml = latex_to_mathml(tex, display="block")
    for fn in ("log", "exp"):  # latex2mathml leaves no space between "log" and its argument
        mathml = mathml.replace(f"<mi>{fn}</mi>", f'<mi>{fn}</mi><mspace width="0.167em" />')
    return mathml.replace("<math ", f'<math alttext="{html.escape(tex)}" ', 1)


def render_formula(name: str) -> str:
    f = formulas.FORMULAS[name]
    def lines(texs) -> str:
        return "".join(
            f'<div class="math-scroll" tabindex="0" role="group" aria-label="{html.escape(f["label"])}">'
            f'{mathml_of(tex)}</div>' for tex in texs)

    mathml = lines([f["latex"], *f.get("latex_more", [])])
    if f.get("narrow"):  # the same formula in shorter lines, for narrow screens (hub.css)
        mathml = (f'<div class="math-wide">{mathml}</div>'
                  f'<div class="math-narrow">{lines(f["narrow"])}</div>')
    parts = []
    for phrase, dotted in f.get("refs", []):
        present = [n for n in dotted if _exists(n)]  # never name what is not there
        if present:
            parts.append(html.escape(phrase) + " "
                         + ", ".join(f"<code>{html.escape(n)}</code>" for n in present))
    notes = "; ".join(parts)
    note = f'<figcaption><b>{html.escape(f["label"])}</b>{" — " + notes if notes else ""}</figcaption>'
    return (f'<figure class="formula" id="eq-{name}" data-formula="{name}">'
            f'{mathml}{note}</figure>')


def render_figure(name: str, counter: _Counter) -> str:
    svg, caption = figures.FIGURES[name]()
    n = counter.next()
    return (f'<figure class="fig" id="fig-{name}">{svg}'
            f'<figcaption><b>Figure {n}.</b> {html.escape(caption)}</figcaption></figure>')


def render_diagram(sim: str, counter: _Counter) -> str:
    n = counter.next()
    return (f'<figure class="arch" data-arch="{sim}" id="arch-{sim}">'
            f'<div class="arch-body" aria-live="polite"><p class="arch-status">Loading the '
            f'architecture…</p></div><figcaption><b>Figure {n}.</b> '
            f'{html.escape(DIAGRAM_CAPTIONS[sim])}</figcaption></figure>')


def render_sim(sim: str) -> str:
    extra = ""
    if sim == "gan2d":  # the playground's presets, from their one definition
        from genlab.web.simulations.schemas import GAN_PRESETS

        extra = f' data-presets="{html.escape(json.dumps(GAN_PRESETS))}"'
    return (f'<div class="sim" data-sim="{sim}" id="sim-{sim}"{extra} '
            f'aria-label="{html.escape(SIM_LABELS[sim])}" role="region"></div>'
            f'{render_challenge_links(sim)}')


def render_challenge_links(sim: str) -> str:
    """The lesson's ready challenges of `sim` (simulations.lesson_challenges.READY) as links; hub.js
    marks the passed ones (kept in localStorage beside the quiz)."""
    from genlab.web.simulations.lesson_challenges import ready_challenges

    items = "".join(
        f'<li data-challenge-id="{c["id"]}"><a href="?{html.escape(c["query"])}#sim-{sim}">'
        f'{html.escape(c["title"])}</a> <span class="chip">{html.escape(c["concept"])}</span> '
        f'<span class="challenge-mark" data-challenge-mark="{c["id"]}">not yet</span></li>'
        for c in ready_challenges() if c["sim"] == sim)
    if not items:
        return ""
    return (f'<aside class="challenge-links" aria-label="Challenges for this simulation">'
            f'<h4>Challenges</h4><p class="small">Each link sets the simulation up and locks '
            f'some controls; the server checks the goal on the live training.</p>'
            f'<ul>{items}</ul></aside>')


def render_settings() -> str:
    """Every simulation's field list (schemas.field_lists) as a JSON data block."""
    from genlab.web.simulations.schemas import field_lists

    text = json.dumps(field_lists(), ensure_ascii=False, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return (f'<script type="application/json" id="sim-settings">{text}</script>'
            f'{render_challenge_data()}')


def render_challenge_data() -> str:
    """Teacher mode's data block: every simulation's checkable metrics (challenges.METRICS),
    the bounds of a challenge, the link prefixes and the lesson's ready challenges."""
    from genlab.web.simulations import challenges as ch
    from genlab.web.simulations.lesson_challenges import ready_challenges

    data = {"metrics": ch.metric_lists(), "max_steps": ch.MAX_STEPS, "max_goals": ch.MAX_GOALS,
            "prefixes": ch.LINK_PREFIXES, "ready": ready_challenges()}
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f'<script type="application/json" id="sim-challenges">{text}</script>'


def render_code(name: str) -> str:
    dotted, caption = formulas.CODE[name]
    try:
        source, path, first = source_of(dotted)
    except (ImportError, AttributeError, OSError, TypeError) as e:
        return (f'<figure class="code" id="code-{name}"><p class="missing">'
                f'Source of <code>{html.escape(dotted)}</code> unavailable ({html.escape(type(e).__name__)}).'
                f'</p></figure>')
    return (f'<figure class="code" id="code-{name}" data-source="{html.escape(dotted)}">'
            f'<figcaption><code>{html.escape(dotted)}</code> — {html.escape(path)}, line {first}. '
            f'{html.escape(caption)}</figcaption>'
            f'<pre tabindex="0"><code class="language-python">{highlight_python(source)}</code></pre>'
            f'</figure>')


def render_fragment(text: str, counter: _Counter) -> str:
    def sub(m: re.Match) -> str:
        kind, name = m.group(1), m.group(2)
        if kind == "figure":
            return render_figure(name, counter)
        if kind == "formula":
            return render_formula(name)
        if kind == "diagram":
            return render_diagram(name, counter)
        if kind == "sim":
            return render_sim(name)
        return render_code(name)

    return PLACEHOLDER.sub(sub, text)


def section_titles() -> dict[str, str]:
    """{id: heading} of every <h3 id=...> in the lesson's fragments: where a quiz question
    sends a learner to reread."""
    titles = {}
    for *_, fragment in SECTIONS:
        text = (CONTENT / fragment).read_text(encoding="utf-8")
        for m in re.finditer(r'<h3 id="([a-z0-9-]+)">(.*?)</h3>', text, re.S):
            titles[m.group(1)] = re.sub(r"<[^>]+>", "", m.group(2)).strip()
    return titles


def render_quiz() -> str:
    """The questions as forms (options in the served order, each with its stable id; the
    browser reorders them per learner) and the per-concept summary with links to reread."""
    titles = section_titles()
    items = []
    for i, q in enumerate(quiz.served(), 1):
        qid = html.escape(q["id"])
        opts = "".join(
            f'<label class="opt" data-option="{html.escape(o["id"])}"><input type="radio" '
            f'name="q-{qid}" value="{html.escape(o["id"])}" required> '
            f'<span>{html.escape(o["text"])}</span></label>'
            for o in q["options"])
        sim = q.get("sim")
        sim_chip = (f' <a class="chip sim-chip" href="#sim-{sim}">needs the '
                    f'{html.escape(SIM_LABELS[sim])}</a>' if sim else "")
        items.append(
            f'<li><form class="q" id="q-{qid}" data-qid="{qid}" '
            f'data-answer="{html.escape(q["answer"])}" data-concept="{html.escape(q["concept"])}" '
            f'data-section="{html.escape(q["section"])}"><fieldset>'
            f'<legend><span class="q-num">{i}.</span> <span class="chip">{html.escape(q["concept"])}</span>'
            f'{sim_chip} {html.escape(q["question"])}</legend><div class="opts">{opts}</div>'
            f'<div class="q-actions"><button type="submit">Check answer</button></div>'
            f'<div class="feedback" role="status" aria-live="polite"></div>'
            f'<p class="explain" hidden>{html.escape(q["explanation"])}</p>'
            f'</fieldset></form></li>')
    concepts = "".join(f'<li class="chip" data-concept="{html.escape(c)}">{html.escape(c)}'
                       f' <span class="concept-score" data-concept-score="{html.escape(c)}"></span></li>'
                       for c in quiz.CONCEPTS)
    rows = []
    for c in quiz.CONCEPTS:
        sections = dict.fromkeys(q["section"] for q in quiz.QUESTIONS if q["concept"] == c)
        links = "".join(f'<a href="#{s}" data-reread="{s}" hidden>{html.escape(titles[s])}</a>'
                        for s in sections)
        rows.append(f'<li data-summary-concept="{html.escape(c)}"><b>{html.escape(c)}</b>'
                    f'<span class="summary-score"></span>'
                    f'<span class="summary-reread">{links}</span></li>')
    summary = ('<section class="quiz-summary" id="quiz-summary" aria-labelledby="h-quiz-summary" '
               'hidden><h3 id="h-quiz-summary">Your results by concept</h3>'
               '<p class="small">For each concept with a wrong answer, the section to reread.</p>'
               f'<ul class="summary-list" aria-live="polite">{"".join(rows)}</ul></section>')
    n_sim = sum(1 for q in quiz.QUESTIONS if q.get("sim"))
    return (f'<p>{len(quiz.QUESTIONS)} questions over the seven concepts, {n_sim} of them '
            f'answered by running a simulation. Answers are checked in your browser and kept '
            f'only there (localStorage); the options are shuffled for you.</p>'
            f'<ul class="concepts quiz-concepts" aria-label="Score by concept">{concepts}</ul>'
            f'<ol class="quiz">{"".join(items)}</ol>{summary}')


# ---------------------------------------------------------------- page
def build_page() -> str:
    counter = _Counter()
    sections, toc = [], []
    for sid, kind, heading, fragment in SECTIONS:
        body = render_fragment((CONTENT / fragment).read_text(encoding="utf-8"), counter)
        sections.append(
            f'<section id="{sid}" class="lesson-section" data-kind="{kind.lower()}" '
            f'aria-labelledby="h-{sid}"><h2 id="h-{sid}"><span class="kind">{kind}</span> '
            f'{heading}</h2>{body}<div class="read-mark" data-section="{sid}" aria-hidden="true">'
            f'</div></section>')
        toc.append(f'<li><a href="#{sid}" data-toc="{sid}"><span class="kind">{kind}</span> '
                   f'{heading}</a></li>')
    sections.append(
        '<section id="quiz" class="lesson-section" data-kind="quiz" aria-labelledby="h-quiz">'
        '<h2 id="h-quiz"><span class="kind">Check</span> Knowledge check</h2>'
        f'{render_quiz()}<div class="read-mark" data-section="quiz" aria-hidden="true"></div>'
        '</section>')
    toc.append('<li><a href="#quiz" data-toc="quiz"><span class="kind">Check</span> '
               'Knowledge check</a></li>')
    path = "".join(f"<li>{p}</li>" for p in PATH)
    concepts = "".join(f'<li class="chip"><a href="#{CONCEPT_ANCHORS[c]}">{html.escape(c)}</a></li>'
                       for c in quiz.CONCEPTS)
    prereq = ", ".join(PREREQUISITES)
    sims_js = "1" if (STATIC / "sims" / "index.js").is_file() else "0"
    n_sections = len(SECTIONS) + 1
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Generative Models: VAE &amp; GAN · genlab</title>
<meta name="description" content="{SUBTITLE}.">
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/static/hub.css">
<script type="module" src="/static/hub.js"></script>
</head>
<body data-sims="{sims_js}" data-sections="{n_sections}" data-questions="{len(quiz.QUESTIONS)}">
<a class="skip-link" href="#main">Skip to the lesson</a>
<noscript><p class="noscript">The text, figures and formulas work without JavaScript; the live
simulations, architecture diagrams and quiz feedback need it.</p></noscript>
{figures.ARROW_DEFS}
{render_settings()}
<header class="hero">
  <p class="kicker">genlab lesson</p>
  <h1>{TITLE}</h1>
  <p class="subtitle">{SUBTITLE}</p>
  <ol class="path" aria-label="Learning path">{path}</ol>
  <dl class="meta">
    <div><dt>Prerequisites</dt><dd>{prereq}</dd></div>
    <div><dt>Estimated time</dt><dd>{ESTIMATED_TIME}</dd></div>
    <div><dt>Concepts covered</dt><dd><ul class="concepts">{concepts}</ul></dd></div>
  </dl>
</header>
<div class="layout">
<nav class="toc" aria-label="Contents">
  <h2 class="toc-title">Contents</h2>
  <ol>{"".join(toc)}</ol>
  <section class="progress" aria-labelledby="h-progress">
    <h2 id="h-progress" class="toc-title">Your progress</h2>
    <p><span id="progress-read">0</span>/{n_sections} sections read</p>
    <p><span id="progress-sims">0</span>/{len(SIMS)} simulations tried</p>
    <p><span id="progress-quiz">0</span>/{len(quiz.QUESTIONS)} answers correct
       (<span id="progress-answered">0</span> answered)</p>
    <p>Challenges passed: <span id="progress-challenges">0</span></p>
    <ul id="progress-challenge-list" class="small"></ul>
    <button type="button" id="reset-progress" class="secondary">Reset progress</button>
    <p id="progress-status" class="visually-hidden" role="status"></p>
    <p class="small">Kept in this browser only.</p>
  </section>
</nav>
<main id="main" tabindex="-1">
{"".join(sections)}
</main>
</div>
<footer class="site-footer"><p>genlab {__version__} · served locally, nothing leaves this
machine · formulas rendered as MathML, code read from the running package.</p></footer>
</body>
</html>
"""
