"""The knowledge check in Debian chromium (Playwright): answers kept across reload and across
the per-learner shuffle, old stored progress (option positions) ignored without an error, and
the per-concept summary linking to the section to reread. Screenshots of the quiz at 1280 and
375 px go to $GENLAB_SCREENSHOTS (or a pytest temporary folder)."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.browser

KEY = "genlab.progress.v1"


def _open(page, server_url):
    page.goto(server_url + "/")
    # the options are put in this learner's order once /api/quiz answers
    page.wait_for_function("() => !!document.body.dataset.quizOrder")
    return page


def _order(page):
    return page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('form.q')]
        .map((f) => [f.dataset.qid, [...f.querySelectorAll('label.opt')]
        .map((l) => l.dataset.option)]))""")


def _answer(form, right: bool):
    answer = form.get_attribute("data-answer")
    pick = (f'label.opt[data-option="{answer}"]' if right
            else f'label.opt:not([data-option="{answer}"])')
    form.locator(pick).first.click()
    form.get_by_role("button", name="Check answer").click()


def test_answers_survive_reload_and_the_summary_points_to_the_sections(server_url, page,
                                                                      screenshot_dir):
    _open(page, server_url)
    summary = page.locator("#quiz-summary")
    assert summary.is_hidden()  # nothing answered yet
    order = _order(page)
    ae = page.locator('form.q[data-concept="Autoencoder"]')
    _answer(ae.nth(0), right=True)
    _answer(ae.nth(1), right=False)
    elbo = page.locator('form.q[data-concept="ELBO"]').first
    _answer(elbo, right=True)
    wrong_section = ae.nth(1).get_attribute("data-section")

    page.reload()
    _open(page, server_url)
    assert _order(page) == order  # the same learner sees the same order
    assert page.locator("#progress-answered").inner_text() == "3"
    assert page.locator("#progress-quiz").inner_text() == "2"
    assert "Not quite." in ae.nth(1).locator(".feedback").inner_text()
    assert ae.nth(0).locator(f'input[value="{ae.nth(0).get_attribute("data-answer")}"]').is_checked()

    assert summary.is_visible()
    row = summary.locator('[data-summary-concept="Autoencoder"]')
    assert "1 of 2 right" in row.inner_text()
    assert "weak" in row.get_attribute("class")
    link = row.locator(f'a[data-reread="{wrong_section}"]')
    assert link.is_visible()
    others = row.locator(f'a[data-reread]:not([data-reread="{wrong_section}"])')
    assert all(not others.nth(i).is_visible() for i in range(others.count()))
    elbo_row = summary.locator('[data-summary-concept="ELBO"]')
    assert "1 of 1 right" in elbo_row.inner_text()
    assert elbo_row.locator("a[data-reread]:visible").count() == 0  # nothing to reread
    summary.scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_dir / "desktop-quiz-summary.png"))
    link.click()
    assert page.evaluate("location.hash") == f"#{wrong_section}"
    assert page.console_errors == []


def test_learners_get_different_orders_and_reset_reshuffles(server_url, page):
    _open(page, server_url)
    first = _order(page)
    learner = page.evaluate(f"() => JSON.parse(localStorage.getItem('{KEY}')).learner")
    assert len(learner) == 16
    page.locator("#reset-progress").click()
    page.wait_for_function(f"() => document.body.dataset.quizOrder !== '{learner}'")
    assert _order(page) != first
    assert {k: sorted(v) for k, v in _order(page).items()} == {
        k: sorted(v) for k, v in first.items()}


@pytest.mark.parametrize("stored", [
    {"answers": {"ae-bottleneck": 1, "elbo-gap": 0}, "read": {"motivation": True}, "sims": {}},
    {"answers": ["not", "an", "object"], "read": None},
    {"answers": {"ae-bottleneck": "no-such-option"}},
    "just a string",
])
def test_old_or_odd_stored_progress_does_not_break_the_page(server_url, page, stored):
    page.goto(server_url + "/")
    page.evaluate(f"() => localStorage.setItem('{KEY}', {json.dumps(json.dumps(stored))})")
    _open(page, server_url)  # reload with the old progress in place
    assert page.locator("#progress-answered").inner_text() == "0"
    assert page.locator("form.q input:checked").count() == 0
    if isinstance(stored, dict) and stored.get("read"):
        assert page.locator('.toc a[data-toc="motivation"]').get_attribute("class") == "read"
    _answer(page.locator("form.q").first, right=True)  # and the quiz still works
    assert page.locator("#progress-quiz").inner_text() == "1"
    saved = page.evaluate(f"() => JSON.parse(localStorage.getItem('{KEY}')).answers")
    assert saved == {"ae-bottleneck": "bottleneck"}
    assert page.console_errors == []


def test_quiz_screenshots_at_desktop_and_phone_width(server_url, new_page, screenshot_dir):
    for width, height in ((1280, 900), (375, 812)):
        page = _open(new_page(width=width, height=height), server_url)
        sim_q = page.locator("#q-mode-collapse-sim")
        _answer(sim_q, right=False)
        _answer(page.locator("#q-beta-sim"), right=True)
        sim_q.scroll_into_view_if_needed()
        page.screenshot(path=str(screenshot_dir / f"quiz-{width}.png"))
        page.locator("#quiz-summary").scroll_into_view_if_needed()
        page.screenshot(path=str(screenshot_dir / f"quiz-summary-{width}.png"))
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        assert page.console_errors == []
