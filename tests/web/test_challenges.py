"""Teacher mode (genlab.web.simulations.challenges): a challenge link validated like any
other input, evaluated on metric streams, its locks enforced over a real WebSocket."""

from __future__ import annotations

import base64
import json
import re
import time
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from genlab.web.simulations import create_router
from genlab.web.simulations.challenges import (
    LINK_PREFIXES,
    METRICS,
    LockedSetting,
    Locks,
    Tracker,
    challenge_id,
    encode_link,
    metric_lists,
    parse_challenge,
)
from genlab.web.simulations.frames import KIND_STATE, decode_frame, encode_frame
from genlab.web.simulations.lesson_challenges import READY, ready_challenges
from genlab.web.simulations.schemas import CONFIGS, MessageError, parse_config

STATIC = Path(__file__).resolve().parents[2] / "src" / "genlab" / "web" / "static" / "sims"


def gan_config(**values):
    return parse_config("gan2d", values).model_dump()


GOOD = dict(title="reach the modes", goals=[dict(metric="modes", op=">=", bound=20)],
            within=1000, lock=["loss"])


# ---------------------------------------------------------------- validation
@pytest.mark.parametrize("change, expected", [
    (dict(goals=[dict(metric="fid", op=">=", bound=1)]),
     "challenge: goal 1 metric 'fid' is not measured here (choose one of modes, hq, kl,"),
    (dict(lock=["loss", "colour"]), "challenge: lock 'colour' is not a setting of this simulation"),
    (dict(hide=["preset"]), "challenge: lock 'preset' is not a setting"),
    (dict(goals=[dict(metric="hq", op=">=", bound=120)]),
     "challenge: goal 1 hq ≥ 120 can never hold: High-quality samples is at most 100"),
    (dict(goals=[dict(metric="modes", op=">=", bound=26)]),
     "challenge: goal 1 modes ≥ 26 can never hold: Modes covered is at most 25"),
    (dict(goals=[dict(metric="kl", op="<=", bound=-0.5)]),
     "challenge: goal 1 kl ≤ -0.5 can never hold: Reverse KL of the modes is at least 0"),
    (dict(goals=[dict(metric="hq", op="near", bound=50)]),
     "challenge: goal 1 hq near 50 needs tol > 0"),
    (dict(within=0), "challenge: within must be ≥ 1 (got 0)"),
    (dict(within=10**6), "challenge: within must be ≤ 100000 (got 1000000)"),
    (dict(hold=2000), "challenge: hold 2000 is longer than within 1000"),
    (dict(goals=[]), "challenge: goals has too few items (at least 1)"),
    (dict(goals=[dict(metric="hq", op="==", bound=1)]), "challenge: goals.0.op must be one of"),
    (dict(goals=[dict(metric="hq", op=">=", bound="lots")]), "challenge: goals.0.bound must be a number"),
    (dict(colour="red"), "challenge: colour is not a setting"),
    (dict(sim="vae"), "challenge: it is for the 'vae' simulation, not 'gan2d'"),
])
def test_a_bad_challenge_is_refused_with_one_clear_line(change, expected):
    with pytest.raises(MessageError) as e:
        parse_challenge("gan2d", {**GOOD, **change}, gan_config(data="grid25"))
    message = str(e.value)
    assert message.startswith(expected), message
    assert "\n" not in message and "Traceback" not in message


def test_bounds_and_availability_follow_the_settings():
    ring = gan_config(data="ring8")
    with pytest.raises(MessageError, match=r"modes ≥ 9 can never hold: .* at most 8"):
        parse_challenge("gan2d", {**GOOD, "goals": [dict(metric="modes", op=">=", bound=9)]}, ring)
    with pytest.raises(MessageError, match=r"modes is measured only with data in ring8, grid25 "
                                           r"\(got 'spiral'\)"):
        parse_challenge("gan2d", GOOD, gan_config(data="spiral"))
    # D(G(z)) is a probability only with the DCGAN loss: the challenge keeps that loss locked
    ch = parse_challenge("dcgan", dict(title="t", within=10, goals=[
        dict(metric="p_fake", op="near", bound=0.5, tol=0.1)]),
        parse_config("dcgan", {}).model_dump())
    assert ch.locked == ("loss",)
    with pytest.raises(MessageError, match="only with loss in non-saturating"):
        parse_challenge("dcgan", ch.model_dump(), parse_config("dcgan", {"loss": "wgan-gp"}).model_dump())


def test_every_metric_is_one_the_simulations_send():
    """The metric list names meta keys of the simulations' frames (their module docstrings
    document the meta), and the page gets the same list."""
    import importlib

    from genlab.web.simulations.worker import SIMULATIONS

    for kind, metrics in METRICS.items():
        doc = importlib.import_module(SIMULATIONS[kind][0]).__doc__
        for name in metrics:
            assert re.search(rf"\b{name}\b", doc), (kind, name)
        assert [m["name"] for m in metric_lists()[kind]] == list(metrics)
    for kind, prefix in LINK_PREFIXES.items():  # the pages keep their settings under these
        assert f'kind: "{kind}", prefix: "{prefix}"' in (STATIC / f"{kind}.js").read_text()


def test_locks_refuse_a_change_and_a_new_challenge_pins_again():
    locks = Locks("gan2d")
    config = gan_config(loss="minimax")
    spec = locks.apply(config, GOOD)
    assert spec["id"] == challenge_id("gan2d", parse_challenge("gan2d", GOOD, config), config)
    assert locks.apply(gan_config(loss="minimax", spectral_norm=True), GOOD)["id"] == spec["id"]
    with pytest.raises(LockedSetting, match=r"^loss is locked by the challenge “reach the "
                                            r"modes”: it stays 'minimax' \(got 'wgan-gp'\)$"):
        locks.apply(gan_config(loss="wgan-gp"), GOOD)
    assert locks.apply(config, None) is None  # leaving teacher mode drops the locks


# ---------------------------------------------------------------- evaluation
def spec(**kw):
    ch = {"title": "t", "within": 100, "hold": 0, "goals": [
        {"metric": "modes", "op": ">=", "bound": 20}, {"metric": "kl", "op": "<=", "bound": 0.5}],
        "lock": [], "hide": [], **kw}
    return {"id": "0123456789abcdef", **ch}


def test_a_pass_needs_every_goal_at_once_within_the_steps():
    t = Tracker(spec())
    stream = [(10, 18, 0.3), (20, 21, 0.9), (30, 22, 0.4), (40, 10, 2.0)]
    states = [t.update(s, {"run": 1, "modes": m, "kl": k}) for s, m, k in stream]
    assert [s["state"] for s in states] == ["running", "running", "passed", "passed"]
    assert states[2]["passed_at"] == 30 and states[-1]["passed_at"] == 30
    assert [g["ok"] for g in states[1]["goals"]] == [True, False]
    # too late, a missing metric and step 0 are never a pass
    late = Tracker(spec())
    assert late.update(101, {"run": 1, "modes": 25, "kl": 0.1})["state"] == "over"
    assert Tracker(spec()).update(0, {"run": 1, "modes": 25, "kl": 0.1})["state"] == "running"
    assert Tracker(spec()).update(5, {"run": 1, "modes": 25, "kl": None})["state"] == "running"


def test_a_held_goal_must_stay_true_for_m_steps_in_a_row_and_a_new_run_starts_afresh():
    t = Tracker(spec(hold=30, goals=[{"metric": "p_fake", "op": "near", "bound": 0.5, "tol": 0.1}]))
    seen = []
    for step, p in [(5, 0.5), (15, 0.55), (25, 0.2), (35, 0.45), (45, 0.5), (55, 0.58),
                    (64, 0.41)]:
        seen.append(t.update(step, {"run": 1, "p_fake": p}))
    assert [s["held"] for s in seen] == [0, 10, 0, 0, 10, 20, 29]
    assert seen[-1]["state"] == "running"
    assert t.update(65, {"run": 1, "p_fake": 0.5})["state"] == "passed"
    fresh = t.update(3, {"run": 2, "p_fake": 0.5})  # Reset: a new run, a new try
    assert fresh["state"] == "running" and fresh["passed_at"] is None


def test_annotate_adds_the_report_to_a_state_frame_and_keeps_its_arrays():
    import numpy as np

    frame = encode_frame(KIND_STATE, 42, {"run": 3, "modes": 22, "kl": 0.2, "x": "y"},
                         {"fake": np.arange(6, dtype=np.float32).reshape(3, 2)})
    kind, step, meta, arrays = decode_frame(Tracker(spec()).annotate(frame))
    assert (kind, step, meta["x"]) == (KIND_STATE, 42, "y")
    assert meta["challenge"]["state"] == "passed" and meta["challenge"]["passed_at"] == 42
    assert arrays["fake"].tolist() == [[0, 1], [2, 3], [4, 5]]
    assert Tracker(spec()).annotate(b'{"type":"status"}') == b'{"type":"status"}'


def test_the_ready_challenges_are_valid_and_their_links_decode():
    ready = ready_challenges()
    assert {r["sim"] for r in ready} >= {"gan2d", "vae", "dcgan"}
    assert len({r["id"] for r in ready}) == len(ready) == len(READY)
    for r, source in zip(ready, READY):
        query = dict(p.split("=", 1) for p in r["query"].split("&"))
        raw = query["challenge"]
        decoded = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        assert decoded["sim"] == r["sim"] and decoded["title"] == r["title"]
        assert set(source["solution"]).isdisjoint(decoded.get("lock", []) + decoded.get("hide", []))
        assert set(decoded.get("lock", [])) <= set(CONFIGS[r["sim"]].model_fields)
    assert encode_link({"a": "½"}) == base64.urlsafe_b64encode('{"a":"½"}'.encode()).decode().rstrip("=")


# ---------------------------------------------------------------- over a real WebSocket
@pytest.mark.slow  # starts a worker process (forkserver) and trains a little
def test_a_challenge_over_the_websocket_reports_progress_refuses_locked_changes_and_bad_links():
    app = FastAPI()
    app.include_router(create_router())
    config = {"data": "ring8", "width": 32, "depth": 2, "batch": 64, "speed": 5}
    # an easy goal (the non-saturating D loss is never negative): the plumbing is under test
    challenge = {"title": "cover a mode", "sim": "gan2d", "within": 2000, "lock": ["width"],
                 "hide": ["data"], "hold": 10,
                 "goals": [{"metric": "modes", "op": ">=", "bound": 0},
                           {"metric": "loss_d", "op": ">=", "bound": 0}]}
    with TestClient(app) as client, client.websocket_connect("/ws/sim/gan2d") as ws:
        def next_text():
            while True:
                m = ws.receive()
                if m.get("text") and json.loads(m["text"])["type"] != "status":
                    return json.loads(m["text"])

        def next_frame():
            while True:
                m = ws.receive()
                if m.get("bytes"):
                    return decode_frame(m["bytes"])
                assert json.loads(m.get("text", "{}")).get("type") != "error", m

        # a bad link: one clear line, nothing trains
        ws.send_text(json.dumps({"type": "config", "config": config, "challenge": {
            **challenge, "goals": [{"metric": "modes", "op": ">=", "bound": 9}]}}))  # ring8: 8
        assert next_text()["type"] == "hello"
        assert next_text() == {"type": "error", "message": "challenge: goal 1 modes ≥ 9 can "
                               "never hold: Modes covered is at most 8"}
        ws.send_text(json.dumps({"type": "play"}))
        assert next_text()["message"].startswith("fix the settings first: challenge: goal 1")
        # a good one: every frame carries the server's report; it passes on this easy goal
        ws.send_text(json.dumps({"type": "config", "config": config, "challenge": challenge}))
        ws.send_text(json.dumps({"type": "play"}))
        t0, report = time.monotonic(), None
        while time.monotonic() - t0 < 60:
            _, step, meta, _ = next_frame()
            report, run = meta.get("challenge") or report, meta["run"]
            if report and report["state"] == "passed":
                break
        assert report["state"] == "passed" and 10 <= report["passed_at"] <= 2000, report
        assert report["held"] == 10 and [g["ok"] for g in report["goals"]] == [True, True]
        assert re.fullmatch(r"[0-9a-f]{16}", report["id"])
        # the client changes a locked setting anyway: refused, the run goes on
        ws.send_text(json.dumps({"type": "config", "config": {**config, "width": 64},
                                 "challenge": challenge}))
        refused = next_text()
        assert refused == {"type": "error", "message": "width is locked by the challenge “cover "
                           "a mode”: it stays 32 (got 64)"}
        ws.send_text(json.dumps({"type": "pause"}))
        ws.send_text(json.dumps({"type": "step", "n": 1}))
        _, _, after, _ = next_frame()  # the step's frame (or one sent just before the pause)
        assert after["run"] == run and after["challenge"]["id"] == report["id"]
        assert after["challenge"]["state"] == "passed"  # same run: width never changed


def test_the_lesson_page_embeds_the_metrics_and_links_every_ready_challenge():
    from html import unescape

    from genlab.web import lesson

    page = lesson.build_page()
    block = re.search(r'<script type="application/json" id="sim-challenges">(.*?)</script>',
                      page, re.S).group(1)
    data = json.loads(block)
    assert data["metrics"] == metric_lists() and data["max_steps"] == 100_000
    for r in ready_challenges():
        assert f'data-challenge-id="{r["id"]}"' in page
        assert f'href="?{r["query"]}#sim-{r["sim"]}"' in unescape(page)
    assert 'id="progress-challenges"' in page and 'id="progress-challenge-list"' in page
