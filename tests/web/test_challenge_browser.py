"""Teacher mode in a real browser (Debian chromium through Playwright): a challenge link locks
and hides its controls, the server reports pass on a fast configuration, the pass is kept
after a reload beside the quiz progress, and the builder makes a link."""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs, urlparse

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]  # each trains a live simulation

FAST = "g_data=ring8&g_width=32&g_depth=2&g_batch=64&g_speed=5"
EASY = {"title": "Cover one mode of the ring", "sim": "gan2d", "within": 3000, "hold": 20,
        "lock": ["width", "loss"], "hide": ["data"],
        "goals": [{"metric": "modes", "op": ">=", "bound": 1}]}


def link(spec: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(spec).encode()).decode().rstrip("=")


def gan(page):
    return page.locator('div.sim[data-sim="gan2d"]')


def test_a_challenge_link_locks_its_controls_and_its_pass_survives_a_reload(
        server_url, new_page, screenshot_dir):
    for width in (1280, 375):
        page = new_page(width=width, height=900)
        page.goto(f"{server_url}/?{FAST}&challenge={link(EASY)}#sim-gan2d")
        sim = gan(page)
        panel = sim.locator(".sim-challenge")
        panel.wait_for()
        assert EASY["title"] in panel.inner_text() and "Not yet" in panel.inner_text()
        assert sim.locator("input[name=width]").is_disabled()
        assert sim.locator("select[name=loss]").is_disabled()
        assert sim.locator('[data-field="width"]').get_attribute("data-locked") == "locked"
        assert sim.locator('[data-field="data"]').is_hidden()  # hidden: not shown at all
        assert sim.locator("input[name=spectral_norm]").is_enabled()  # the rest stays free
        sim.locator("button[data-action=play]").click()
        page.wait_for_function(
            "() => document.querySelector('div.sim[data-sim=gan2d]').dataset.challenge === 'passed'",
            timeout=90_000)
        sim.locator("button[data-action=play]").click()  # pause
        assert "Passed ✓" in panel.inner_text()
        assert page.locator("#progress-challenges").inner_text() == "1"
        sim.scroll_into_view_if_needed()
        sim.screenshot(path=str(screenshot_dir / f"challenge_passed_{width}.png"))
        page.reload()
        gan(page).locator(".sim-challenge").wait_for()
        assert page.locator("#progress-challenges").inner_text() == "1"  # kept in the browser
        assert EASY["title"] in page.locator("#progress-challenge-list").inner_text()
        page.evaluate("window.scrollTo(0, 0)")
        progress = page.locator("section.progress")
        progress.scroll_into_view_if_needed()
        progress.screenshot(path=str(screenshot_dir / f"challenge_sidebar_{width}.png"))
        errors = [e for e in page.console_errors if "pageerror" in e or "/static/sims/" in e]
        assert errors == []


def test_a_ready_challenge_in_progress_and_a_bad_link_explained(server_url, new_page,
                                                                screenshot_dir):
    page = new_page(width=1280, height=900)
    page.goto(f"{server_url}/")
    first = page.locator('.challenge-links li a[href$="#sim-gan2d"]').first
    href = first.get_attribute("href")
    for width in (1280, 375):
        page = new_page(width=width, height=900)
        page.goto(f"{server_url}/{href}")
        sim = gan(page)
        sim.locator(".sim-challenge").wait_for()
        assert sim.locator("select[name=loss]").is_disabled()
        assert sim.locator("input[name=spectral_norm]").is_enabled()
        sim.locator("button[data-action=play]").click()
        page.wait_for_function(
            "() => Number(document.querySelector('div.sim[data-sim=gan2d]').dataset.step) > 100",
            timeout=90_000)
        sim.locator("button[data-action=play]").click()
        assert sim.get_attribute("data-challenge") == "running"
        assert "✗" in sim.locator(".challenge-goals").inner_text()  # "doing nothing" fails
        sim.scroll_into_view_if_needed()
        sim.screenshot(path=str(screenshot_dir / f"challenge_progress_{width}.png"))
    # a bad link: the server's one line on the page, nothing trains
    bad = dict(EASY, goals=[{"metric": "modes", "op": ">=", "bound": 9}])
    page = new_page()
    page.goto(f"{server_url}/?{FAST}&challenge={link(bad)}#sim-gan2d")
    gan(page).locator("button[data-action=play]").click()
    error = gan(page).locator(".sim-error")
    error.wait_for(state="visible", timeout=60_000)
    # the refused config's line, or Play's "fix the settings first: " + that line
    assert error.inner_text().removeprefix("fix the settings first: ") == (
        "challenge: goal 1 modes ≥ 9 can never hold: Modes covered is at most 8")
    assert gan(page).get_attribute("data-step") in (None, "0")


def test_the_builder_turns_the_settings_into_a_challenge_link(server_url, page, screenshot_dir):
    page.goto(f"{server_url}/?{FAST}#sim-gan2d")
    sim = gan(page)
    builder = sim.locator("details.sim-builder")
    builder.locator("summary").click()
    builder.locator("[data-builder=title]").fill("Three modes, quickly")
    goal = builder.locator(".builder-goal").first
    goal.locator("[data-goal-metric]").select_option("modes")
    goal.locator("[data-goal-op]").select_option(">=")
    goal.locator("[data-goal-bound]").fill("3")
    builder.locator("[data-builder=within]").fill("1500")
    builder.locator("[data-builder=hold]").fill("50")
    builder.locator('select[data-lock="loss"]').select_option("lock")
    builder.locator('select[data-lock="data"]').select_option("hide")
    builder.locator("button[data-action=copy-challenge]").click()
    builder.screenshot(path=str(screenshot_dir / "challenge_builder_1280.png"))
    href = builder.locator("a[data-challenge-link]").get_attribute("href")
    query = parse_qs(urlparse(href).query)
    assert query["g_data"] == ["ring8"] and query["g_width"] == ["32"]
    raw = query["challenge"][0]
    spec = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    assert spec == {"title": "Three modes, quickly", "sim": "gan2d", "within": 1500, "hold": 50,
                    "goals": [{"metric": "modes", "op": ">=", "bound": 3}], "lock": ["loss"],
                    "hide": ["data"]}
    page.goto(href)
    assert gan(page).locator(".sim-challenge").inner_text().count("Three modes, quickly") == 1
    assert gan(page).locator("select[name=loss]").is_disabled()
