"""`genlab export-site`: the lesson as static files. The exported site (small recordings,
--fast) opened in Debian chromium from disk (file://) and from `python -m http.server` with no
genlab server: every recording plays (the step counter and a canvas change), scrubs, another
run can be picked, a quiz answer is checked, no console error, no request but to the site's
own files (none to /api or /ws). The default recordings fit in 30 MB."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli_helpers import run_cli  # noqa: F401  (the worktree's src first on the path)

SIMS = ("gan2d", "vae", "dcgan", "beyond")
CANVAS = {"gan2d": "canvas.sim-canvas", "vae": "canvas.sim-latent",
          "dcgan": "canvas.sim-dcgan-grid", "beyond": "canvas.sim-hist, canvas.sim-cond"}


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    from genlab.web.site_export import export_site

    out = tmp_path_factory.mktemp("site") / "lesson"
    export_site(out, fast=True)
    return out


def _watch(page):
    page.requests = []
    page.on("request", lambda r: page.requests.append(r.url))
    page.sockets = []
    page.on("websocket", lambda ws: page.sockets.append(ws.url))
    return page


def _canvas(page, sim):
    return page.evaluate("([sim, sel]) => [...document.querySelector(`#sim-${sim}`)"
                         ".querySelectorAll(sel)].map((c) => c.toDataURL()).join()", [sim, CANVAS[sim]])


def scrub(root, i):
    root.locator("[data-scrub]").evaluate(
        "(r, i) => { r.value = String(i); r.dispatchEvent(new Event('input')); }", i)


def _play_every_recording(page, shots=None):
    page.wait_for_function("() => document.querySelectorAll('.sim[data-recording=\"1\"]').length === 4")
    page.wait_for_function("() => document.querySelectorAll('figure.arch .arch-flow').length === 3")
    for sim in SIMS:
        root = page.locator(f"#sim-{sim}")
        root.scroll_into_view_if_needed()
        assert "Recording" in root.locator(".sim-recording-note").inner_text()
        assert "genlab serve" in root.locator(".sim-recording-note").inner_text()
        # settings that would change training are shown, not editable
        live = ".sim-controls select:enabled, .sim-controls input[type=number]:enabled"
        assert root.locator(live).count() == 0
        picker = root.locator("[data-recording-picker]")
        names = picker.locator("option").evaluate_all("os => os.map((o) => o.value)")
        for i, name in enumerate(names):
            if i:
                picker.select_option(name)
            scrub(root, 0)  # to the first frame (this loads the recording)
            page.wait_for_function(f"() => document.querySelector('#sim-{sim}').dataset.frame === '0'")
            first_step = int(root.get_attribute("data-step"))
            page.wait_for_timeout(50)  # the frame's requestAnimationFrame paint
            before = _canvas(page, sim)
            last = int(root.locator("[data-scrub]").get_attribute("max"))
            assert last >= 2
            root.locator('button[data-action="play"]').click()
            page.wait_for_function(f"() => document.querySelector('#sim-{sim}').dataset.frame === '{last}'")
            page.wait_for_function(f"() => document.querySelector('#sim-{sim}').dataset.playing === '0'")
            assert int(root.get_attribute("data-step")) > first_step, (sim, name)
            page.wait_for_timeout(50)  # the last frame's requestAnimationFrame paint
            assert _canvas(page, sim) != before, (sim, name)
            assert "Recording: step" in root.locator(".sim-status").inner_text()
            # scrub back to frame 1: the frames before it are replayed, the counter follows
            scrub(root, 1)
            assert root.get_attribute("data-frame") == "1"
            assert int(root.get_attribute("data-step")) < int(
                json.loads(page.evaluate(
                    f"() => JSON.stringify(window.GENLAB_RECORDINGS.find((r) => r.sim === '{sim}'"
                    f" && r.name === '{name}').steps)")))
        if shots:
            root.screenshot(path=str(shots / f"{sim}.png"))
    # the quiz: the first question answered right
    form = page.locator("form.q").first
    form.scroll_into_view_if_needed()
    answer = form.get_attribute("data-answer")
    form.locator(f'label.opt[data-option="{answer}"]').click()
    form.get_by_role("button", name="Check answer").click()
    assert "Correct." in form.locator(".feedback").inner_text()
    learner = page.evaluate("() => document.body.dataset.quizOrder")
    from genlab.web.content import quiz  # the server's shuffle for this learner, in the page
    for q in quiz.served(learner)[:5]:
        shown = page.locator(f'form.q[data-qid="{q["id"]}"] label.opt').evaluate_all(
            "ls => ls.map((l) => l.dataset.option)")
        assert shown == [o["id"] for o in q["options"]]


@pytest.mark.browser
@pytest.mark.slow
def test_site_from_disk_plays_every_recording(site, new_page, screenshot_dir):
    page = _watch(new_page())
    page.goto((site / "index.html").as_uri())
    _play_every_recording(page, screenshot_dir / "site-file")
    # a recording has no live model: no control offers to export it or to train it on a file
    assert page.locator('[data-action="export"]').count() == 0
    assert page.locator('[data-action="upload"]').count() == 0
    assert page.console_errors == []
    assert page.failed_requests == []
    assert page.sockets == []
    assert page.requests and all(u.startswith("file://") for u in page.requests), page.requests


@pytest.fixture(scope="module")
def static_server(site):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                             "--directory", str(site)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError("python -m http.server did not start") from None
            time.sleep(0.05)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.mark.browser
@pytest.mark.slow
def test_site_from_a_static_server_plays_and_asks_nothing_else(static_server, new_page, screenshot_dir):
    page = _watch(new_page())
    page.goto(static_server + "/")
    _play_every_recording(page)
    assert page.console_errors == []
    assert page.sockets == []
    for url in page.requests:
        assert url.startswith(static_server + "/"), url
        assert "/api/" not in url and "/ws/" not in url, url
    for width in (1280, 375):
        shot = new_page(width=width, height=900)
        shot.goto(static_server + "/")
        shot.wait_for_function("() => document.querySelectorAll('.sim[data-recording=\"1\"]').length === 4")
        shot.screenshot(path=str(screenshot_dir / f"site-{width}-top.png"))
        shot.locator("#sim-gan2d").scroll_into_view_if_needed()
        shot.locator('#sim-gan2d button[data-action="play"]').click()
        shot.wait_for_function("() => document.querySelector('#sim-gan2d').dataset.playing === '0'"
                               " && document.querySelector('#sim-gan2d').dataset.frame")
        shot.locator("#sim-gan2d").screenshot(path=str(screenshot_dir / f"site-{width}-gan2d.png"))
        assert shot.evaluate("() => document.documentElement.scrollWidth") <= width
        assert shot.console_errors == []


def test_site_files_and_no_server_links(site):
    summary = json.loads((site / "genlab-site.json").read_text())
    assert {r["sim"] for r in summary["recordings"]} == set(SIMS)
    page = (site / "index.html").read_text()
    for server_only in ('"/static/', '"/api/', '"/ws/', 'type="module"'):
        assert server_only not in page
    bundle = (site / "static" / "site.js").read_text()
    assert "fetch(`/api/architecture" in bundle  # the live path is kept, behind the static one
    total = sum(f.stat().st_size for f in site.rglob("*") if f.is_file())
    assert total == summary["bytes"] + (site / "genlab-site.json").stat().st_size


def test_recordings_are_the_frames_the_simulation_streams():
    import torch

    from genlab.web import recordings
    from genlab.web.simulations.schemas import SimLimits
    from genlab.web.simulations.worker import build

    frames, config = recordings.record("dcgan", {}, steps=4, frames=3)
    assert recordings.unpack(recordings.pack(frames)) == frames
    torch.set_num_threads(1)
    sim = build("dcgan", {}, SimLimits())  # the same object the worker drives, same seed
    expected = [sim.frame()]
    for _ in range(2):
        sim.train_step()
        sim.train_step()
        expected.append(sim.frame())
    assert [f[:12] for f in frames] == [f[:12] for f in expected]  # magic, kind, step
    run = re.compile(rb'"run": ?\d+')  # each training run has its own number in the process
    assert [run.sub(b"", f) for f in frames] == [run.sub(b"", f) for f in expected]
    assert config["loss"] == "non-saturating"


def test_bundler_refuses_what_it_does_not_understand(tmp_path):
    from genlab.errors import GenlabError
    from genlab.web.site_bundle import bundle

    (tmp_path / "a.js").write_text('import x from "./b.js";\n')
    with pytest.raises(GenlabError, match=r"a\.js, line 1"):
        bundle(tmp_path, entry="a.js")


def test_export_refuses_a_folder_with_other_files(tmp_path):
    from tests.cli_helpers import run_cli as run

    (tmp_path / "notes.txt").write_text("mine")
    result = run("export-site", str(tmp_path), "--fast")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "not empty" in result.stderr and str(tmp_path) in result.stderr
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_export_refuses_a_site_over_the_size_limit(tmp_path, monkeypatch):
    from genlab.errors import GenlabError
    from genlab.web import recordings, site_export

    monkeypatch.setattr(site_export, "SITE_LIMIT_BYTES", 100_000)
    monkeypatch.setattr(recordings, "plan", lambda fast=False: [
        recordings.Planned("dcgan", "dcgan", "DCGAN", {}, steps=1, frames=2)])
    with pytest.raises(GenlabError, match="over the"):
        site_export.export_site(tmp_path / "site")
    assert not (tmp_path / "site" / "index.html").exists()  # nothing half written


@pytest.mark.slow
def test_default_recordings_fit_in_30_mb():
    """Every default recording with all its frames (one training step between frames, so
    this takes a minute, not the export's minutes): the frames' size does not depend on how
    long the model trained, the count does."""
    from genlab.web import recordings
    from genlab.web.site_export import SITE_LIMIT_BYTES

    total = 0
    for r in recordings.plan():
        frames, _ = recordings.record(r.sim, r.config, steps=r.frames - 1, frames=r.frames)
        assert len(frames) == r.frames
        total += len(recordings.pack(frames)) * 4 // 3  # base64 in the page's script files
    assert total + 1_000_000 <= SITE_LIMIT_BYTES, total  # + page, scripts, diagrams, quiz


@pytest.mark.browser
@pytest.mark.slow
def test_a_link_with_recorded_settings_opens_that_run(site, new_page):
    page = new_page()
    page.goto((site / "index.html").as_uri() + "?v_model=ae")
    page.wait_for_function("() => document.querySelectorAll('.sim[data-recording=\"1\"]').length === 4")
    assert page.locator("#sim-vae [data-recording-picker]").input_value() == "ae"
    assert page.locator("#sim-vae select[name=model]").input_value() == "ae"
    assert page.locator("#sim-vae select[name=model]").is_disabled()
    # asking the model itself needs the live model: those buttons are off, and say why
    assert page.locator('#sim-vae button[data-action="interpolate"]').is_disabled()
    assert "needs the live model" in page.locator("#sim-vae .sim-recording-note").inner_text()
    assert page.console_errors == []
