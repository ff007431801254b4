"""The live simulations in a real browser (Debian chromium through Playwright)."""

from __future__ import annotations

import re
import time

import pytest

pytestmark = pytest.mark.browser

SIM_PATHS = ("/static/sims/", "/ws/sim/", "/api/sim/")


def sim_errors(page) -> list[str]:
    """Uncaught exceptions, and console errors that come from the simulations' files or
    routes (the rest of the lesson page is tested by its own tests)."""
    return [e for e in page.console_errors
            if e.startswith("pageerror") or any(p in e for p in SIM_PATHS)]


def gan(page):
    return page.locator('div.sim[data-sim="gan2d"]')


def modes_covered(page) -> int:
    text = gan(page).locator('[data-metric="modes"]').inner_text()
    match = re.match(r"(\d+) / 25", text)
    return int(match.group(1)) if match else -1


def test_gan_playground_wgan_gp_covers_more_modes_over_time(server_url, page, screenshot_dir):
    page.goto(f"{server_url}/?g_data=grid25&g_speed=40#sim-gan2d")
    sim = gan(page)
    sim.locator("button[data-action=play]").wait_for()
    sim.locator("select[name=loss]").select_option("wgan-gp")
    assert sim.locator("input[name=n_critic]").input_value() == "5"  # the paper's recipe
    assert "g_n_critic=5" in page.url
    sim.scroll_into_view_if_needed()
    sim.locator("button[data-action=play]").click()
    page.wait_for_function(
        "() => document.querySelector('div.sim[data-sim=gan2d] [data-metric=modes]')"
        ".textContent.includes('/ 25')",
        timeout=90_000)
    first = modes_covered(page)
    seen = [first]
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and max(seen) < first + 8:
        page.wait_for_timeout(1000)
        seen.append(modes_covered(page))
    sim.screenshot(path=str(screenshot_dir / "gan2d_wgan_gp.png"))
    assert max(seen) >= first + 8, f"modes covered over time: {seen}"
    assert int(sim.get_attribute("data-step")) > 20
    sim.locator("button[data-action=play]").click()  # pause
    assert sim_errors(page) == []


def test_shared_url_restores_the_controls_and_bad_values_show_an_error(server_url, page,
                                                                       screenshot_dir):
    page.goto(f"{server_url}/?g_loss=hinge&g_data=ring8&g_spectral_norm=1&g_pack=4"
              f"&g_width=64&g_lr_d=0.0005&g_batch=128#sim-gan2d")
    sim = gan(page)
    sim.locator("select[name=loss]").wait_for()
    assert sim.locator("select[name=loss]").input_value() == "hinge"
    assert sim.locator("select[name=data]").input_value() == "ring8"
    assert sim.locator("input[name=spectral_norm]").is_checked()
    assert sim.locator("select[name=pack]").input_value() == "4"
    assert sim.locator("input[name=width]").input_value() == "64"
    assert float(sim.locator("input[name=lr_d]").input_value()) == 0.0005
    # a change goes back into the URL, so the link can be shared
    sim.locator("select[name=loss]").select_option("least-squares")
    assert "g_loss=least-squares" in page.url and "g_data=ring8" in page.url
    # out of range: a clear message on the page, never a crash
    width = sim.locator("input[name=width]")
    width.fill("4096")
    width.press("Enter")
    sim.locator("button[data-action=step]").click()
    error = sim.locator(".sim-error")
    error.wait_for(state="visible", timeout=30_000)
    assert "width must be ≤ 512" in error.inner_text()
    sim.screenshot(path=str(screenshot_dir / "gan2d_error.png"))
    assert sim_errors(page) == []


def test_presets_and_keyboard(server_url, page):
    page.goto(f"{server_url}/#sim-gan2d")
    sim = gan(page)
    page.evaluate("""() => { window.simEvents = [];
        for (const name of ["genlab:model-config", "genlab:sim-started"])
            document.addEventListener(name, (e) => window.simEvents.push([name, e.detail])); }""")
    preset = sim.locator("select[name=preset]")
    preset.select_option("mode-collapse")
    assert sim.locator("select[name=loss]").input_value() == "minimax"
    assert "g_preset=mode-collapse" in page.url
    assert sim.locator("input[name=n_critic]").input_value() == "5"
    preset.select_option("packing")
    assert sim.locator("select[name=pack]").input_value() == "2"
    assert sim.locator("select[name=loss]").input_value() == "minimax"  # one fix on, no more
    # every control is a native, focusable input with its own label
    for control in sim.locator("input, select").all():
        control_id = control.get_attribute("id")
        assert sim.locator(f'label[for="{control_id}"]').count() == 1
    play = sim.locator("button[data-action=play]")
    play.focus()
    page.keyboard.press("Enter")
    sim.locator("[data-metric=modes]").filter(has_text="/ 25").wait_for(timeout=60_000)
    page.keyboard.press("Enter")  # pause again
    events = page.evaluate("() => window.simEvents")
    configs = [d for name, d in events if name == "genlab:model-config" and d["sim"] == "gan2d"]
    assert any(c["config"]["loss"] == "minimax" for c in configs)
    assert ["genlab:sim-started", {"sim": "gan2d"}] in events
    page.goto(f"{server_url}/?g_preset=spectral-norm#sim-gan2d")  # a link naming a preset
    assert sim.locator("input[name=spectral_norm]").is_checked()
    assert sim.locator("select[name=loss]").input_value() == "minimax"
    assert sim_errors(page) == []


def test_drawn_points_travel_in_the_shared_link(server_url, page, new_page, screenshot_dir):
    page.goto(f"{server_url}/?g_data=drawn#sim-gan2d")
    sim = gan(page)
    canvas = sim.locator("canvas.sim-canvas")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    for k in range(3):  # three strokes
        page.mouse.move(box["x"] + box["width"] * 0.2, box["y"] + box["height"] * (0.25 + 0.25 * k))
        page.mouse.down()
        for i in range(1, 21):
            page.mouse.move(box["x"] + box["width"] * (0.2 + 0.03 * i),
                            box["y"] + box["height"] * (0.25 + 0.25 * k + 0.005 * i))
        page.mouse.up()
    drawn = int(sim.locator("[data-points]").get_attribute("data-points"))
    assert drawn >= 30
    page.wait_for_function("() => location.search.includes('g_points=')")
    link = page.url
    assert len(link) < 8000
    shown = page.evaluate("() => Array.from(document.querySelectorAll('[data-points]'), "
                          "e => e.dataset.points)")
    # the same link in a fresh browser context: the same points, and they train
    other = new_page()
    other.goto(link)
    sim2 = gan(other)
    sim2.locator("[data-points]").wait_for()
    assert sim2.locator("[data-points]").get_attribute("data-points") == str(drawn)
    same = other.evaluate("() => new URLSearchParams(location.search).get('g_points')")
    assert same == page.evaluate("() => new URLSearchParams(location.search).get('g_points')")
    sim2.locator("button[data-action=play]").click()
    other.wait_for_function(
        "() => Number(document.querySelector('div.sim[data-sim=gan2d]').dataset.step || 0) > 20",
        timeout=60_000)
    assert sim2.get_attribute("data-error") is None, sim2.locator(".sim-error").inner_text()
    sim2.screenshot(path=str(screenshot_dir / "gan2d_drawn_link.png"))
    sim2.locator("button[data-action=play]").click()  # pause
    assert shown and sim_errors(page) == [] and sim_errors(other) == []


def test_phone_width_is_readable(server_url, new_page, screenshot_dir):
    page = new_page(width=375, height=812)
    page.goto(f"{server_url}/#sim-gan2d")
    sim = gan(page)
    sim.locator("button[data-action=play]").wait_for()
    box = sim.bounding_box()
    assert box["width"] <= 375
    scroll_width = page.evaluate(
        "() => document.querySelector('div.sim[data-sim=gan2d]').scrollWidth")
    assert scroll_width <= box["width"] + 1
    sim.screenshot(path=str(screenshot_dir / "gan2d_phone.png"))
    assert sim_errors(page) == []


def canvas_pixels(page, selector):
    return page.evaluate(
        """(sel) => { const c = document.querySelector(sel);
                      return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data); }""",
        selector)


def test_vae_latent_click_decodes_a_different_image(server_url, page, screenshot_dir):
    page.goto(f"{server_url}/?v_speed=20#sim-vae")
    sim = page.locator('div.sim[data-sim="vae"]')
    sim.scroll_into_view_if_needed()
    sim.locator("button[data-action=play]").click()
    page.wait_for_function(
        "() => Number(document.querySelector('div.sim[data-sim=vae]').dataset.step || 0) >= 150",
        timeout=120_000)
    sim.locator("button[data-action=play]").click()  # pause
    latent = sim.locator("canvas.sim-latent")
    box = latent.bounding_box()
    decoded = 'div.sim[data-sim="vae"] canvas.sim-decoded'
    latent.click(position={"x": box["width"] * 0.3, "y": box["height"] * 0.3})
    page.wait_for_function(f"() => document.querySelector('{decoded}').dataset.z")
    first_z = sim.locator("canvas.sim-decoded").get_attribute("data-z")
    before = canvas_pixels(page, decoded)
    latent.click(position={"x": box["width"] * 0.7, "y": box["height"] * 0.75})
    page.wait_for_function(
        f"(z) => document.querySelector('{decoded}').dataset.z !== z", arg=first_z)
    after = canvas_pixels(page, decoded)
    assert len(before) == len(after) == 28 * 28 * 4
    changed = sum(abs(a - b) for a, b in zip(before, after)) / len(before)
    assert changed > 5, f"mean pixel change {changed}"
    sim.locator("button[data-action=interpolate]").click()
    page.wait_for_function(
        "() => document.querySelector('div.sim[data-sim=vae] canvas.sim-interp').width > 200")
    sim.screenshot(path=str(screenshot_dir / "vae_lab.png"))
    assert sim_errors(page) == []


def test_dcgan_grid_updates_and_reports_d(server_url, page, screenshot_dir):
    page.goto(f"{server_url}/?d_speed=2#sim-dcgan")
    sim = page.locator('div.sim[data-sim="dcgan"]')
    sim.scroll_into_view_if_needed()
    sim.locator("button[data-action=play]").click()
    grid = 'div.sim[data-sim="dcgan"] canvas.sim-dcgan-grid'
    page.wait_for_function(
        "() => Number(document.querySelector('div.sim[data-sim=dcgan]').dataset.step || 0) >= 2",
        timeout=90_000)
    first = canvas_pixels(page, grid)
    step = int(sim.get_attribute("data-step"))
    page.wait_for_function(
        f"() => Number(document.querySelector('div.sim[data-sim=dcgan]').dataset.step) >= {step + 6}",
        timeout=90_000)
    sim.locator("button[data-action=play]").click()
    later = canvas_pixels(page, grid)
    assert len(first) == len(later) and first != later  # the fixed-noise samples change
    p_real = float(sim.locator('[data-metric="p_real"]').inner_text())
    assert 0.0 <= p_real <= 1.0
    sim.screenshot(path=str(screenshot_dir / "dcgan_lab.png"))
    assert sim_errors(page) == []


def test_beyond_scores_a_drawn_digit_and_generates_a_chosen_class(server_url, page,
                                                                  screenshot_dir):
    page.goto(f"{server_url}/?b_holdout=7&b_speed=10#sim-beyond")
    sim = page.locator('div.sim[data-sim="beyond"]')
    sim.scroll_into_view_if_needed()
    sim.locator("button[data-action=play]").click()
    page.wait_for_function(
        "() => Number(document.querySelector('div.sim[data-sim=beyond]').dataset.step || 0) >= 20",
        timeout=90_000)
    sim.locator("button[data-action=play]").click()
    pad = sim.locator("canvas.sim-pad")
    box = pad.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.2)
    page.mouse.down()
    for t in range(1, 11):  # a vertical stroke: a "1"
        page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * (0.2 + 0.06 * t))
    page.mouse.up()
    sim.locator("button[data-action=score]").click()
    sim.locator(".sim-score").filter(has_text="nats").wait_for(timeout=30_000)
    assert "test digits" in sim.locator(".sim-score").inner_text()
    sim.screenshot(path=str(screenshot_dir / "beyond_anomaly.png"))
    sim.locator("select[name=task]").select_option("conditional")
    sim.locator("button[data-action=step]").click()
    sim.locator("select[name=class]").select_option("3")
    sim.locator("button[data-action=generate]").click()
    page.wait_for_function(
        "() => !document.querySelector('div.sim[data-sim=beyond] canvas.sim-generated').hidden",
        timeout=30_000)
    assert "b_task=conditional" in page.url
    assert sim_errors(page) == []


@pytest.mark.slow  # a hub of its own and two workers: ~11 s
def test_a_full_hub_says_so_and_the_page_retries_by_itself(tmp_path, page):
    """Every slot taken: Play does not pretend to play nor blame the settings; the page says
    how many learners the hub holds, and starts by itself once a slot is free."""
    import json

    from hub_process import Hub
    from websockets.sync.client import connect

    hub = Hub(tmp_path / "hub.log", "--max-sessions", "1", "--max-queue", "0")  # no line
    try:
        with connect(f"{hub.ws_url}/ws/sim/vae", open_timeout=30) as other:  # another learner
            other.recv(timeout=30)  # hello
            other.send(json.dumps({"type": "config", "config": {"width": 32, "batch": 16}}))
            while not isinstance(other.recv(timeout=90), bytes):  # its worker runs
                pass
            page.goto(f"{hub.url}/?g_data=ring8&g_width=16&g_batch=32#sim-gan2d")
            sim = gan(page)
            sim.locator("button[data-action=play]").click()
            sim.locator(".sim-status", has_text="The hub is busy").wait_for(timeout=30_000)
            status = sim.locator(".sim-status").inner_text()
            assert "1 of 1 live simulations are running" in status and "Trying again" in status
            assert sim.locator("button[data-action=play]").inner_text() == "▶ Play"
            assert sim.locator(".sim-error").is_hidden()  # nothing is wrong with the settings
        # the other learner left: the page's retry (2 s, then 4 s...) starts the simulation
        page.wait_for_function(
            "() => Number(document.querySelector('div.sim[data-sim=gan2d]').dataset.step) > 0",
            timeout=60_000)
        assert sim.locator("button[data-action=play]").inner_text() == "❚❚ Pause"
        assert sim_errors(page) == []
    finally:
        hub.stop()
    assert "Traceback" not in hub.output()
