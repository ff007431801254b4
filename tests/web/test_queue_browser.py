"""Two learners, one slot: the second page shows its place in line, then starts by itself when
the first page closes (a real `genlab serve --max-sessions 1`, Playwright with chromium)."""

from __future__ import annotations

import pytest
from test_sim_browser import gan, sim_errors

pytestmark = pytest.mark.browser

URL = "/?g_data=ring8&g_width=16&g_batch=32#sim-gan2d"
STARTED = "() => Number(document.querySelector('div.sim[data-sim=gan2d]').dataset.step) > 0"


@pytest.mark.slow  # a hub of its own, two workers one after the other: ~10 s
def test_second_learner_waits_in_line_then_starts_when_the_first_leaves(tmp_path, new_page,
                                                                         screenshot_dir):
    from hub_process import Hub

    hub = Hub(tmp_path / "hub.log", "--max-sessions", "1")
    try:
        first = new_page()
        first.goto(hub.url + URL)
        gan(first).locator("button[data-action=play]").click()
        first.wait_for_function(STARTED, timeout=90_000)
        for width in (1280, 375):
            second = new_page(width=width, height=800)
            second.goto(hub.url + URL)
            sim = gan(second)
            sim.locator("button[data-action=play]").click()
            status = sim.locator(".sim-status")
            status.filter(has_text="you are 1st in line").wait_for(timeout=30_000)
            assert status.inner_text() == (
                "Waiting for a free slot — you are 1st in line (1 of 1 live simulations are "
                "running). It starts by itself.")
            assert sim.get_attribute("data-queued") == "1"
            assert sim.locator(".sim-error").is_hidden()  # nothing is wrong with the settings
            sim.scroll_into_view_if_needed()
            second.screenshot(path=str(screenshot_dir / f"queue_waiting_{width}.png"))
            if width == 1280:  # this one leaves the line; the 375 px one stays and is admitted
                assert hub.get("/api/sim/status")["queued"] == 1
                second.close()
        first.close()  # the slot frees: the page in line starts by itself, nothing to press
        second.wait_for_function(STARTED, timeout=90_000)
        assert sim.get_attribute("data-queued") is None
        assert "in line" not in status.inner_text()
        assert sim.locator("button[data-action=play]").inner_text() == "❚❚ Pause"
        second.screenshot(path=str(screenshot_dir / "queue_admitted_375.png"))
        assert sim_errors(second) == []
    finally:
        hub.stop()
    assert "Traceback" not in hub.output()
