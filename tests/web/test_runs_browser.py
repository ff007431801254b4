"""Issue 13 §3: `genlab serve --run RUN` / `--runs DIR` opens CLI-trained runs in the lesson's
labs that fit them, read-only. Real subprocesses (genlab train, genlab serve) and Chromium."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cli_helpers import cli_env, folder_snapshot, run_cli  # noqa: E402
from hub_process import Hub  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SHOTS = Path("/tmp/h11/shots")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Three CLI-trained runs (`genlab train`, a few seconds each, side by side)."""
    root = tmp_path_factory.mktemp("runs")
    procs = [subprocess.Popen([sys.executable, "-m", "genlab", "train", *args, "--quiet"],
                              env=cli_env(), stderr=subprocess.PIPE, text=True) for args in (
        ["vae", "--data", "digits", "--latent-dim", "4", "--hidden-dim", "64", "--steps", "300",
         "--out", str(root / "vae_digits")],
        ["gan", "--data", "ring8", "--steps", "300", "--out", str(root / "gan_ring8")],
        ["dcgan", "--data", "mnist5k", "--filters", "8", "--latent-dim", "16", "--steps", "30",
         "--out", str(root / "zz_dcgan_mnist5k")])]
    for p in procs:
        assert p.wait(timeout=300) == 0, p.stderr.read()
    return root


def _wait_run(page, lab: str, name: str) -> None:
    """The lab shows run `name`: its note, and a frame drawn from the run."""
    page.locator(f"#sim-{lab}[data-from-run='{name}']").wait_for(timeout=90_000)
    page.locator(f"#sim-{lab} .sim-run-note").wait_for()


def test_serve_run_opens_the_runs_in_the_lessons_labs(runs, new_page, tmp_path):
    SHOTS.mkdir(parents=True, exist_ok=True)
    before = folder_snapshot(runs)
    hub = Hub(tmp_path / "hub.log", "--run", str(runs / "vae_digits"), "--runs", str(runs))
    try:
        out = hub.output()
        assert f"run 0 vae_digits (vae on digits, step 300: {hub.url}/?v_run=0#sim-vae)" in out
        assert f"run 1 gan_ring8 (gan on ring8, step 300: {hub.url}/?g_run=1#sim-gan2d)" in out
        listing = hub.get("/api/runs")["runs"]
        assert [(r["name"], r["lab"]) for r in listing] == [
            ("vae_digits", "vae"), ("gan_ring8", "gan2d"), ("zz_dcgan_mnist5k", "dcgan")]
        for width in (1280, 375):
            page = new_page(width, 900)
            page.goto(f"{hub.url}/?v_run=0#sim-vae")  # what `genlab serve --run` prints
            _wait_run(page, "vae", "vae_digits")
            vae = page.locator("#sim-vae")
            assert "4 latent dimensions" in vae.locator(".sim-plane").inner_text()  # PCA plane
            assert vae.locator("select[data-runs=vae]").input_value() == "0"
            assert vae.locator("[data-field=width] input").is_disabled()  # the run's settings
            latent = vae.locator("canvas.sim-latent")
            box = latent.bounding_box()  # the click scrolls it into view
            latent.click(position={"x": box["width"] / 2, "y": box["height"] / 3})
            page.wait_for_function("() => document.querySelector('#sim-vae .sim-decoded').dataset.z")
            vae.locator("button[data-action=interpolate]").click()
            vae.locator("canvas.sim-interp:not([hidden])").wait_for()
            vae.scroll_into_view_if_needed()
            page.screenshot(path=str(SHOTS / f"run_vae_{width}.png"), full_page=False)
            vae.screenshot(path=str(SHOTS / f"run_vae_lab_{width}.png"))
            # the GAN playground's own control opens the GAN run in it
            gan = page.locator("#sim-gan2d")
            gan.locator("select[data-runs=gan2d]").select_option("1")
            _wait_run(page, "gan2d", "gan_ring8")
            assert "g_run=1" in page.url
            gan.screenshot(path=str(SHOTS / f"run_gan2d_{width}.png"))
            assert [e for e in page.console_errors if "pageerror" in e] == []
            if width != 375:  # its simulations end with it (the hub runs 4 at most)
                page.context.close()
        # Play trains the copy in memory: the step passes the run's
        gan.locator("button[data-action=play]").click()
        page.wait_for_function("() => Number(document.querySelector('#sim-gan2d').dataset.step) > 320",
                               timeout=60_000)
        gan.locator("button[data-action=play]").click()
        # an image GAN in the DCGAN lab: samples and an interpolation
        dcgan = page.locator("#sim-dcgan")
        dcgan.locator("select[data-runs=dcgan]").select_option("2")
        _wait_run(page, "dcgan", "zz_dcgan_mnist5k")
        dcgan.locator("button[data-action=interpolate]").click()
        dcgan.locator("canvas.sim-dcgan-interp:not([hidden])").wait_for()
        dcgan.screenshot(path=str(SHOTS / "run_dcgan_375.png"))
        # the listing page links each run to its lab
        page.goto(f"{hub.url}/runs")
        assert page.locator("a[data-run='2']").get_attribute("href") == "/?d_run=2#sim-dcgan"
    finally:
        hub.stop()
    assert folder_snapshot(runs) == before  # the run folders: nothing written, nothing touched


def test_serve_refuses_a_folder_that_is_no_run(tmp_path):
    proc = run_cli("serve", "--port", "0", "--run", tmp_path, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"genlab: error: --run {str(tmp_path)!r} is not a run folder (no checkpoints/latest.json) "
        "nor a genlab export (no model.safetensors)"]
