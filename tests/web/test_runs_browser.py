"""Issue 13 §3: `genlab serve --run RUN` / `--runs DIR` opens CLI-trained runs in their labs,
read-only. Real subprocesses (genlab train, genlab serve) and Chromium."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cli_helpers import cli_env, run_cli  # noqa: E402
from hub_process import Hub  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SHOTS = Path("/tmp/h11/shots")


def snapshot(folder: Path) -> dict:
    return {str(p.relative_to(folder)): (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
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


def test_serve_run_opens_the_runs_in_their_labs_read_only(runs, new_page, tmp_path):
    SHOTS.mkdir(parents=True, exist_ok=True)
    before = snapshot(runs)
    hub = Hub(tmp_path / "hub.log", "--run", str(runs / "vae_digits"), "--runs", str(runs))
    try:
        assert f"trained runs: {hub.url}/runs?run=0" in hub.output()
        listing = hub.get("/api/runs")["runs"]
        assert [(r["name"], r["lab"]) for r in listing] == [
            ("vae_digits", "vae"), ("gan_ring8", "gan2d"), ("zz_dcgan_mnist5k", "dcgan")]
        for width in (1280, 375):
            page = new_page(width, 900)
            page.goto(f"{hub.url}/runs?run=0")
            view = page.locator(".runs-view[data-lab=vae]")
            view.wait_for(timeout=60_000)
            page.wait_for_function("() => document.querySelector('.runs-view').dataset.drawn > 100")
            assert "PCA" in view.inner_text()  # 4 latent dimensions: the PCA plane
            box = view.locator("canvas.runs-map").bounding_box()
            page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            page.wait_for_function("() => document.querySelector('.runs-view').dataset.decoded === '1'")
            view.locator("button[data-action=interpolate]").click()
            page.wait_for_function("() => document.querySelector('.runs-view').dataset.interpolated === '1'")
            page.screenshot(path=str(SHOTS / f"run_vae_{width}.png"), full_page=True)
            page.locator("button[data-run='1']").click()
            gan = page.locator(".runs-view[data-lab=gan2d]")
            gan.wait_for(timeout=60_000)
            page.wait_for_function("() => document.querySelector('.runs-view').dataset.drawn === '1000'")
            page.screenshot(path=str(SHOTS / f"run_gan2d_{width}.png"), full_page=True)
            assert [e for e in page.console_errors if "pageerror" in e] == []
        # an image GAN in the DCGAN lab's view
        page.locator("button[data-run='2']").click()
        page.locator(".runs-view[data-lab=dcgan]").wait_for(timeout=60_000)
        page.wait_for_function("() => document.querySelector('.runs-view').dataset.drawn === '16'")
        page.locator("button[data-action=interpolate]").click()
        page.wait_for_function("() => document.querySelector('.runs-view').dataset.interpolated === '1'")
        page.screenshot(path=str(SHOTS / "run_dcgan_375.png"), full_page=True)
        # "continue training" trains a copy in the hub's temporary folder, never the run
        page.locator("button[data-run='1']").click()
        page.locator(".runs-view[data-lab=gan2d]").wait_for(timeout=60_000)
        page.locator("input[name=steps]").fill("50")
        page.locator("button[data-action=continue]").click()
        page.locator(".runs-view[data-run='3']").wait_for(timeout=120_000)
        assert "step 350" in page.locator(".runs-view").inner_text()
        copies = hub.get("/api/runs")["runs"]
        assert copies[3]["name"] == "gan_ring8-continued-3" and copies[3]["step"] == 350
        page.screenshot(path=str(SHOTS / "run_gan2d_continued_375.png"), full_page=True)
        scratch = [p for p in Path(tempfile.gettempdir()).glob("genlab-runs-*")
                   if (p / "gan_ring8-continued-3").is_dir()]
        assert scratch  # the copy, in the hub's temporary folder
        # a request for a run it does not show: one line, no traceback
        request = urllib.request.Request(f"{hub.url}/api/runs/0/decode", method="POST",
                                         data=json.dumps({"z": [1, 2, 3]}).encode(),
                                         headers={"content-type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(request, timeout=30)
        assert "give the 2 map coordinates" in json.load(e.value)["detail"]
    finally:
        hub.stop()
    assert snapshot(runs) == before  # nothing written, nothing touched
    assert not any(p.exists() for p in scratch)  # removed when the hub stopped


def test_serve_refuses_a_folder_that_is_no_run(tmp_path):
    proc = run_cli("serve", "--port", "0", "--run", tmp_path, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"genlab: error: --run {str(tmp_path)!r} is not a run folder (no checkpoints/latest.json) "
        "nor a genlab export (no model.safetensors)"]
