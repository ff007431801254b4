"""Watch mode in a browser: a driver page shares its GAN playground live, a second page opens
the watch link and sees the plot update and "Watching <driver>", then forks (watch.js)."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SIM = "div.sim[data-sim=gan2d]"


def dataset(page, key: str):
    return page.evaluate(f"() => document.querySelector('{SIM}').dataset.{key} ?? null")


def shoot(page, path) -> None:
    for _ in range(2):  # once more after the figures above have laid out
        page.evaluate(f"() => document.querySelector('{SIM}').scrollIntoView({{block: 'start'}})")
        page.wait_for_timeout(300)
    page.screenshot(path=str(path), full_page=False)


def canvas_pixels(page) -> str:
    return page.evaluate(f"() => document.querySelector('{SIM} canvas.sim-canvas').toDataURL()")


def test_a_viewer_watches_the_drivers_plot_and_forks_it(server_url, new_page, screenshot_dir):
    driver = new_page(1280, 900)
    driver.goto(f"{server_url}/?g_data=ring8&g_width=32&g_speed=2#sim-gan2d")
    sim = driver.locator(SIM)
    sim.locator("button[data-action=share-live]").click()
    sim.locator("[data-watch=name]").fill("Ada")
    sim.locator("button[data-action=start-sharing]").click()
    link = sim.locator("[data-watch=link]")
    link.wait_for(timeout=90_000)
    url = link.input_value()
    assert "g_watch=" in url and sim.locator("[data-watch=code]").inner_text() in url
    sim.locator("button[data-action=step]").click()
    driver.wait_for_function(f"() => document.querySelector('{SIM}').dataset.step === '1'",
                             timeout=90_000)

    viewer = new_page(375, 800)
    viewer.goto(url)
    vsim = viewer.locator(SIM)
    viewer.wait_for_function(f"() => document.querySelector('{SIM}').dataset.step === '1'",
                             timeout=60_000)
    banner = vsim.locator("[data-watch=banner]")
    assert banner.inner_text().startswith("Watching Ada live (1 viewer)")
    assert vsim.locator("select[name=data]").is_disabled()
    assert vsim.locator("button[data-action=play]").is_hidden()
    driver.wait_for_function(f"() => document.querySelector('{SIM}').dataset.viewers === '1'")
    assert "1 viewer watching" in sim.locator("[data-watch=panel]").inner_text()
    before = canvas_pixels(viewer)
    sim.locator("button[data-action=play]").click()  # the driver plays: the viewer's plot moves
    viewer.wait_for_function(f"() => Number(document.querySelector('{SIM}').dataset.step) > 20",
                             timeout=60_000)
    assert canvas_pixels(viewer) != before
    sim.locator("button[data-action=play]").click()  # pause
    shoot(viewer, screenshot_dir / "watch_viewer_375.png")
    shoot(driver, screenshot_dir / "watch_driver_1280.png")
    viewer.wait_for_function(f"() => document.querySelector('{SIM}').dataset.playing === '0'")
    driver_step = int(dataset(driver, "step"))

    vsim.locator("button[data-action=fork]").click()
    viewer.wait_for_function(f"() => document.querySelector('{SIM}').dataset.forked !== undefined",
                             timeout=60_000)
    forked_at = int(dataset(viewer, "forked"))
    assert forked_at == driver_step and int(dataset(viewer, "step")) == forked_at
    assert "g_watch" not in viewer.url
    assert not vsim.locator("select[name=data]").is_disabled()
    vsim.locator("button[data-action=step]").click()  # its own session now
    viewer.wait_for_function(
        f"() => document.querySelector('{SIM}').dataset.step === '{forked_at + 1}'")
    assert int(dataset(driver, "step")) == driver_step  # the driver's did not move
    shoot(viewer, screenshot_dir / "watch_forked_375.png")
    assert not driver.console_errors and not viewer.console_errors, (
        driver.console_errors + viewer.console_errors)
