"""Issue 13 §2 in a browser: Export a simulation, run the command it shows, load the runs."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cli_helpers import cli_env  # noqa: E402

import genlab  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_export_runs_in_the_library(server_url, new_page, tmp_path):
    shots = Path("/tmp/h11/shots")
    shots.mkdir(parents=True, exist_ok=True)
    page = new_page(1280, 900, accept_downloads=True)
    page.goto(f"{server_url}/?g_data=ring8&g_width=32#sim-gan2d")
    sim = page.locator('div.sim[data-sim="gan2d"]')
    sim.locator("button[data-action=step]").click()
    page.wait_for_function("() => document.querySelector('div.sim[data-sim=gan2d]').dataset.step === '1'",
                           timeout=90_000)
    for _ in range(3):
        sim.locator("button[data-action=step]").click()
    page.wait_for_function("() => document.querySelector('div.sim[data-sim=gan2d]').dataset.step === '4'")
    sim.locator("button[data-action=export]").click()
    command = sim.locator("[data-export=command]")
    command.wait_for(timeout=60_000)
    text = command.inner_text()
    config = json.loads(sim.locator("[data-export=config]").text_content())
    assert config["model"]["hidden_dim"] == 32 and config["data"]["name"] == "ring8"
    assert config["steps"] == 4
    sim.scroll_into_view_if_needed()
    sim.screenshot(path=str(shots / "export_gan2d_1280.png"))
    with page.expect_download() as info:
        sim.locator("[data-export=config-link]").click()
    info.value.save_as(tmp_path / info.value.suggested_filename)
    assert json.loads((tmp_path / info.value.suggested_filename).read_text()) == config
    with page.expect_download() as info:
        sim.locator("[data-export=zip-link]").click()
    zip_path = tmp_path / info.value.suggested_filename
    info.value.save_as(zip_path)
    zipfile.ZipFile(zip_path).extractall(tmp_path / "unzipped")
    (folder,) = (tmp_path / "unzipped").iterdir()
    run = genlab.load_run(folder)
    assert run.step == 4 and genlab.sample(run, 8).shape == (8, 2)
    # the command, as the page shows it
    args = shlex.split(text)
    assert args[:2] == ["genlab", "train"]
    proc = subprocess.run([sys.executable, "-m", "genlab", *args[1:], "--quiet"], cwd=tmp_path,
                          env=cli_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / args[args.index("--out") + 1]
    trained = genlab.load_run(out)
    assert trained.step == 4 and trained.config.model.hidden_dim == 32
    assert genlab.sample(trained, 8).shape == (8, 2)
    phone = new_page(375, 800)
    phone.goto(f"{server_url}/?v_width=32#sim-vae")
    vae = phone.locator('div.sim[data-sim="vae"]')
    vae.locator("button[data-action=export]").click()
    vae.locator("[data-export=command]").wait_for(timeout=90_000)
    vae.scroll_into_view_if_needed()
    vae.screenshot(path=str(shots / "export_vae_375.png"))
    assert [e for e in page.console_errors + phone.console_errors if "pageerror" in e] == []
