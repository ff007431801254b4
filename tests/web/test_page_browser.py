"""The lesson page in Debian chromium (Playwright): no console errors, the quiz's progress in
localStorage, keyboard access, a 375px phone, the live architecture diagrams. Screenshots go to
$GENLAB_SCREENSHOTS (or a pytest temporary folder)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

DIAGRAMS = 'figure.arch .arch-flow'


def _open(page, server_url):
    page.goto(server_url + "/")
    # functions, not expression strings: Playwright evals expression strings in the page, and
    # the page's CSP (rightly) forbids eval
    page.wait_for_function(f"() => document.querySelectorAll('{DIAGRAMS}').length === 3")
    return page


def _first_question(page):
    form = page.locator("form.q").first
    return form, form.get_attribute("data-answer")  # the right option's id


def test_page_loads_without_console_errors(server_url, page, screenshot_dir):
    _open(page, server_url)
    page.wait_for_load_state("networkidle")
    assert page.title().startswith("Generative Models: VAE & GAN")
    assert page.locator("math").count() >= 7
    page.screenshot(path=str(screenshot_dir / "desktop-top.png"))
    page.locator("#arch-vae").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_dir / "desktop-vae-diagram.png"))
    assert page.console_errors == []


def test_quiz_answer_survives_reload_and_reset_clears_it(server_url, page, screenshot_dir):
    _open(page, server_url)
    form, answer = _first_question(page)
    form.locator(f'label.opt[data-option="{answer}"]').click()
    form.get_by_role("button", name="Check answer").click()
    feedback = form.locator(".feedback")
    assert "Correct." in feedback.inner_text()
    assert "bottleneck" in feedback.inner_text()  # the explanation is shown
    assert page.locator("#progress-quiz").inner_text() == "1"
    form.scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_dir / "desktop-quiz-answered.png"))

    page.reload()
    form, answer = _first_question(page)
    assert form.locator(f'input[type=radio][value="{answer}"]').is_checked()
    assert "Correct." in form.locator(".feedback").inner_text()
    assert page.locator("#progress-quiz").inner_text() == "1"

    page.locator("#reset-progress").click()
    assert "Progress reset" in page.locator("#progress-status").text_content()
    assert not form.locator("input[type=radio]:checked").count()
    assert form.locator(".feedback").inner_text() == ""
    assert page.locator("#progress-quiz").inner_text() == "0"
    page.reload()
    form, _ = _first_question(page)
    assert not form.locator("input[type=radio]:checked").count()
    assert page.locator("#progress-answered").inner_text() == "0"


def test_a_wrong_answer_explains_the_right_one(server_url, page):
    _open(page, server_url)
    form = page.locator("form.q").nth(2)
    answer = form.get_attribute("data-answer")
    form.locator(f'label.opt:not([data-option="{answer}"])').first.click()
    form.get_by_role("button", name="Check answer").click()
    text = form.locator(".feedback").inner_text()
    right_text = form.locator(f'label.opt[data-option="{answer}"]').inner_text().strip()
    assert text.startswith("Not quite.") and right_text in text
    assert form.locator("label.opt.correct").count() == 1
    assert form.locator("label.opt.wrong").count() == 1


def test_keyboard_reaches_and_answers_the_quiz(server_url, page):
    _open(page, server_url)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#main"
    for _ in range(600):
        page.keyboard.press("Tab")
        if page.evaluate("!!document.activeElement.closest('form.q')"):
            break
    else:
        pytest.fail("Tab never reached the knowledge check")
    assert page.evaluate("document.activeElement.type") == "radio"
    # the focused control shows a focus outline
    outline = page.evaluate("getComputedStyle(document.activeElement.closest('.opt')).outlineStyle")
    assert outline != "none"
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Check answer"
    page.keyboard.press("Enter")
    form = page.locator("form.q").first
    assert form.locator(".feedback").inner_text().split(".")[0] in ("Correct", "Not quite")
    assert page.locator("#progress-answered").inner_text() == "1"


def test_phone_width_has_no_horizontal_scroll(server_url, new_page, screenshot_dir):
    page = _open(new_page(width=375, height=812), server_url)
    page.wait_for_load_state("networkidle")
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], widths
    page.screenshot(path=str(screenshot_dir / "phone-top.png"))
    for target in ("#eq-wgan_gp", "#arch-dcgan", "#code-dcgan_generator", "#q-gan-dstar"):
        page.locator(target).scroll_into_view_if_needed()
        name = target.strip("#").replace("_", "-")
        page.screenshot(path=str(screenshot_dir / f"phone-{name}.png"))
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert page.console_errors == []


def test_diagram_follows_the_simulations_settings(server_url, page):
    _open(page, server_url)
    # the simulations announce their own settings when they mount: let that settle first
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(400)
    page.evaluate("""document.dispatchEvent(new CustomEvent("genlab:model-config", {detail: {
        sim: "gan2d", config: {width: 32, depth: 2, latent: 4, lr_g: 0.001, seed: 3}}}))""")
    page.wait_for_function(
        "() => (document.querySelector('#arch-gan2d').dataset.query || '').includes('width=32')")
    generator = page.locator('#arch-gan2d .arch-block[data-role="generator"] .lshape')
    assert generator.all_inner_texts() == ["4", "32", "32", "2"]  # input, 2 hidden, output


def test_out_of_range_settings_are_explained_without_a_failed_request(server_url, page):
    _open(page, server_url)
    page.wait_for_load_state("networkidle")
    page.evaluate("""document.dispatchEvent(new CustomEvent("genlab:model-config", {detail: {
        sim: "gan2d", config: {width: 4096, depth: 3}}}))""")
    status = page.locator("#arch-gan2d .arch-status.error")
    status.wait_for()
    assert "width must be ≤ 512 (got 4096)" in status.inner_text()
    assert not [e for e in page.console_errors if "422" in e]


def test_sections_read_and_simulations_tried_are_remembered(server_url, page):
    _open(page, server_url)
    # scroll to the section's end mark as a reader would; the poll scrolls again because the
    # page's layout still moves while diagrams and simulations load (one CI run timed out
    # after a single scroll left the mark out of view)
    page.wait_for_function("""() => {
        document.querySelector('.read-mark[data-section="motivation"]')
            .scrollIntoView({block: "center"});
        return document.querySelector('#progress-read').textContent !== '0';
    }""")
    page.evaluate("""document.dispatchEvent(new CustomEvent("genlab:sim-started",
                     {detail: {sim: "gan2d"}}))""")
    assert page.locator("#progress-sims").inner_text() == "1"
    page.reload()
    page.wait_for_function("() => document.querySelector('#progress-sims').textContent === '1'")
    assert page.locator('.toc a[data-toc="motivation"]').get_attribute("class") == "read"
