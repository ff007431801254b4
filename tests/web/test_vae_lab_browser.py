"""The VAE lab, the lesson's order and the finish of the simulations, in a real browser (Debian
chromium through Playwright): ten classes of test digits, an autoencoder mode with nothing of
the VAE left over, notices that frames do not overwrite, and a 375 px phone where no formula
is clipped and no canvas keeps a finger from scrolling the page. Screenshots go to
$GENLAB_SCREENSHOTS (or a pytest temporary folder)."""

from __future__ import annotations

import re

import pytest

from genlab.web.content.formulas import FORMULAS

pytestmark = pytest.mark.browser

VAE = 'div.sim[data-sim="vae"]'


def errors(page) -> list[str]:
    return [e for e in page.console_errors if e.startswith("pageerror")
            or any(p in e for p in ("/static/", "/ws/sim/", "/api/sim/"))]


def wait_step(page, sim: str, at_least: int, timeout: int = 120_000) -> None:
    page.wait_for_function(
        f"(n) => Number(document.querySelector('div.sim[data-sim={sim}]').dataset.step || -1) >= n",
        arg=at_least, timeout=timeout)


def step_until_digits_shown(page) -> None:
    """One training step, then wait for the test digits' frame."""
    page.locator(f"{VAE} button[data-action=step]").click()
    page.wait_for_function(f"() => document.querySelector('{VAE} canvas.sim-recons').dataset.labels",
                           timeout=90_000)  # the first worker of a session starts cold


def test_the_vae_lab_shows_a_digit_of_each_class_and_interpolates_between_two(
        server_url, page, new_page, screenshot_dir):
    page.goto(f"{server_url}/?v_speed=10#sim-vae")
    sim = page.locator(VAE)
    sim.scroll_into_view_if_needed()
    step_until_digits_shown(page)
    labels = sim.locator("canvas.sim-recons").get_attribute("data-labels").split(",")
    assert sorted(labels) == [str(d) for d in range(10)] and labels != sorted(labels)
    assert sim.locator("canvas.sim-recons").evaluate("c => c.width") == 10 * 30 - 2  # 10 columns
    a, b = (int(sim.locator(f"input.sim-pick >> nth={i}").input_value()) for i in (0, 1))
    assert a != b
    sim.locator("button[data-action=play]").click()
    wait_step(page, "vae", 300)
    sim.locator("button[data-action=play]").click()  # pause
    sim.locator("button[data-action=interpolate]").click()
    caption = sim.locator("p.sim-caption", has_text="from test digit")
    caption.wait_for()
    ends = re.search(rf"#{a} \(a (\d)\) to #{b} \(a (\d)\)", caption.inner_text())
    assert ends and ends.group(1) != ends.group(2), caption.inner_text()  # two different digits
    stat = sim.locator("p.sim-prior-stat")
    assert re.search(r"\d+ %\.|classifier", stat.inner_text()), stat.inner_text()
    sim.screenshot(path=str(screenshot_dir / "vae_lab_vae_1280.png"))
    phone = new_page(width=375, height=812)
    phone.goto(f"{server_url}/?v_speed=10#sim-vae")
    step_until_digits_shown(phone)
    assert phone.evaluate(f"() => document.querySelector('{VAE}').scrollWidth") <= 375
    phone.locator(VAE).screenshot(path=str(screenshot_dir / "vae_lab_vae_375.png"))
    assert errors(page) == [] and errors(phone) == []


def test_autoencoder_mode_has_no_vae_leftovers_and_samples_the_prior_beside_a_vae(
        server_url, page, new_page, screenshot_dir):
    page.goto(f"{server_url}/?v_speed=10#sim-vae")
    sim = page.locator(VAE)
    sim.scroll_into_view_if_needed()
    sim.locator("button[data-action=play]").click()
    wait_step(page, "vae", 100)
    sim.locator("button[data-action=interpolate]").click()
    page.wait_for_function(f"() => !document.querySelector('{VAE} canvas.sim-interp').hidden")
    assert "−ELBO" in sim.locator("canvas.sim-chart").get_attribute("data-series")
    run_before = page.evaluate("() => location.search")
    sim.locator("select[name=model]").select_option("ae")  # switch while it plays
    assert run_before != page.evaluate("() => location.search")  # v_model=ae in the link
    beta = sim.locator("input[name=beta]")
    assert beta.is_disabled()
    assert sim.locator(".sim-field-reason").inner_text() == "off: an autoencoder has no KL term"
    assert sim.locator("canvas.sim-interp").is_hidden()  # the old strip is gone
    assert sim.locator('[data-metric="kl"]').is_hidden() and sim.locator(
        '[data-metric="loss"]').is_hidden()  # no KL, no −ELBO: the reconstruction loss alone
    assert sim.locator('[data-metric="recon"]').locator("xpath=..").inner_text().startswith(
        "Reconstruction loss")
    page.wait_for_function(  # frames of the new run: the chart is the AE's
        f"() => document.querySelector('{VAE} canvas.sim-chart').dataset.series === 'reconstruction loss'")
    step_after = int(sim.get_attribute("data-step"))
    wait_step(page, "vae", step_after + 30)
    assert "−ELBO" not in sim.inner_text() and "ELBO" not in sim.locator(
        "canvas.sim-chart").get_attribute("aria-label")
    assert sim.locator("canvas.sim-prior-vae").is_visible()  # a VAE's prior samples beside
    assert sim.locator("figure.sim-prior-box figcaption").first.inner_text() == "the autoencoder"
    stat = sim.locator("p.sim-prior-stat").inner_text()
    assert re.search(r"\d+ % for the autoencoder and \d+ % for the VAE beside it", stat) \
        or "classifier" in stat, stat
    sim.locator("button[data-action=play]").click()  # pause
    assert re.fullmatch(r"step \d+ — paused", sim.locator(".sim-status").inner_text())
    sim.screenshot(path=str(screenshot_dir / "vae_lab_ae_1280.png"))
    # a link straight into AE mode: the same, from the start
    phone = new_page(width=375, height=812)
    phone.goto(f"{server_url}/?v_model=ae&v_speed=10#sim-vae")
    psim = phone.locator(VAE)
    assert psim.locator("input[name=beta]").is_disabled()
    psim.locator("button[data-action=step]").click()
    phone.wait_for_function(f"() => document.querySelector('{VAE}').dataset.step", timeout=90_000)
    psim.screenshot(path=str(screenshot_dir / "vae_lab_ae_375.png"))
    assert errors(page) == [] and errors(phone) == []


def test_a_notice_outlives_the_frames_and_a_stale_drawn_points_error_goes(server_url, page):
    page.goto(f"{server_url}/?g_data=drawn#sim-gan2d")
    sim = page.locator('div.sim[data-sim="gan2d"]')
    canvas = sim.locator("canvas.sim-canvas")
    canvas.scroll_into_view_if_needed()
    sim.locator("button[data-action=play]").click()
    sim.locator(".sim-error", has_text="draw at least").wait_for()
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.2, box["y"] + box["height"] * 0.5)
    page.mouse.down()
    for i in range(1, 31):
        page.mouse.move(box["x"] + box["width"] * (0.2 + 0.02 * i), box["y"] + box["height"] * 0.5)
    page.mouse.up()
    assert int(sim.locator("[data-points]").get_attribute("data-points")) >= 10
    assert sim.locator(".sim-error").is_hidden()  # "(0 so far)" no longer stands
    assert "training" not in sim.locator(".sim-status").inner_text() \
        or sim.get_attribute("data-playing") == "1"
    page.wait_for_timeout(500)  # the points go to the server 150 ms after the stroke
    sim.locator("button[data-action=play]").click()
    wait_step(page, "gan2d", 20, timeout=60_000)
    sim.locator("button[data-action=share]").click()
    page.wait_for_timeout(1500)  # ≈ 40 frames later
    notice = sim.locator(".sim-notice")
    assert notice.is_visible() and notice.inner_text().startswith(("Link copied", "Share this link"))
    assert "training" in sim.locator(".sim-status").inner_text()  # the status line goes on
    sim.locator("button[data-action=play]").click()
    page.wait_for_timeout(300)
    assert "training" not in sim.locator(".sim-status").inner_text()
    assert sim.locator("button[data-action=play]").inner_text() == "▶ Play"
    assert errors(page) == []


def test_at_375px_no_formula_is_clipped_and_canvases_let_the_page_scroll(
        server_url, new_page, screenshot_dir):
    for width in (1280, 375):
        page = new_page(width=width, height=812)
        page.goto(f"{server_url}/")
        page.wait_for_function("() => document.fonts.status === 'loaded'")
        page.wait_for_timeout(300)
        boxes = page.evaluate("""() => [...document.querySelectorAll('.math-scroll')]
            .filter((e) => e.offsetParent !== null)
            .map((e) => [e.closest('figure').dataset.formula, e.scrollWidth, e.clientWidth])""")
        assert {name for name, _, _ in boxes} == set(FORMULAS), boxes  # each one shown
        clipped = [b for b in boxes if b[1] > b[2] + 1]
        assert clipped == [], clipped
        for name in ("wgan_gp", "elbo", "minimax"):
            page.locator(f'figure[data-formula="{name}"]').screenshot(
                path=str(screenshot_dir / f"formula_{name}_{width}.png"))
        if width == 375:
            assert page.evaluate("document.documentElement.scrollWidth") <= 375
            actions = page.evaluate("""() => [...document.querySelectorAll('canvas')]
                .filter((c) => c.offsetParent !== null)
                .map((c) => [c.className, getComputedStyle(c).touchAction,
                             c.getBoundingClientRect().width])""")
            assert actions, "no canvas on the page"
            for cls, action, w in actions:
                # only a drawing pad captures the finger, and it leaves room to scroll beside it
                assert action != "none" or ("sim-pad" in cls and w <= 0.6 * width), (cls, action)
            # drawing or picking switches capture on, for that canvas only
            gan = page.locator('div.sim[data-sim="gan2d"]')
            gan.locator("select[name=data]").select_option("drawn")
            assert gan.locator("canvas.sim-canvas").evaluate(
                "c => getComputedStyle(c).touchAction") == "none"
            gan.locator("select[name=data]").select_option("ring8")
            assert gan.locator("canvas.sim-canvas").evaluate(
                "c => getComputedStyle(c).touchAction") == "pan-y"
            vae = page.locator(VAE)
            vae.locator("input[type=checkbox][id$='-pick']").check()
            assert vae.locator("canvas.sim-latent").evaluate(
                "c => getComputedStyle(c).touchAction") == "none"
            page.locator('figure[data-formula="kl"]').screenshot(
                path=str(screenshot_dir / "formula_kl_375.png"))
        page.locator("#fig-dstar").screenshot(
            path=str(screenshot_dir / f"figure11_{width}.png"))
        beyond = page.locator('div.sim[data-sim="beyond"]')
        beyond.scroll_into_view_if_needed()
        page.locator("#beyond").screenshot(path=str(screenshot_dir / f"beyond_heading_{width}.png"))
        beyond.screenshot(path=str(screenshot_dir / f"beyond_lab_{width}.png"))
        beyond.locator("form.sim-controls").screenshot(
            path=str(screenshot_dir / f"beyond_controls_{width}.png"))
        task = beyond.locator("select[name=task]")
        # the select is as wide as its longest option's text plus its arrow
        need, have = task.evaluate("""(s) => {
            const probe = document.createElement('span');
            probe.style.font = getComputedStyle(s).font; probe.style.whiteSpace = 'pre';
            document.body.append(probe);
            const widest = Math.max(...[...s.options].map((o) => { probe.textContent = o.text;
                                                                    return probe.offsetWidth; }));
            probe.remove();
            return [widest + 24, s.clientWidth]; }""")
        assert need <= have, f"task select is cut: needs {need} px, has {have}"
        assert errors(page) == []
