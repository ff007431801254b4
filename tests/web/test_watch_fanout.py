"""Watch mode's fan-out (genlab.web.simulations.watch): one bytes object for every viewer, a
latest-frame slot per viewer (a slow one skips frames, never holds up the others), bounded
memory, and the viewer limits."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from async_helpers import run_coroutine  # noqa: E402

from genlab.web.simulations.frames import KIND_SNAPSHOT, KIND_STATE, encode_frame
from genlab.web.simulations.schemas import SimLimits
from genlab.web.simulations.watch import MAX_PENDING_TEXTS, Shares, Viewer, WatchRefused


class FakeDriver:
    def __init__(self):
        self.changes = 0

    def viewers_changed(self):
        self.changes += 1

    def request_snapshot(self, request):
        return False


def frame(step: int) -> bytes:
    return encode_frame(KIND_STATE, step, {"step": step}, {})


def recording_viewer(delay: float):
    got: list = []

    async def send_bytes(data):
        await asyncio.sleep(delay)
        got.append(data)

    async def send_text(text):
        got.append(text)

    return Viewer(send_bytes, send_text), got


def test_every_viewer_gets_the_same_bytes_a_slow_one_skips_and_never_holds_up_the_others():
    async def main():
        channel = Shares(SimLimits()).create("gan2d", "Ada", FakeDriver())
        fast, fast_got = recording_viewer(0.0)
        slow, slow_got = recording_viewer(0.05)  # 20 frames/s at most
        for v in (fast, slow):
            channel.join(v)
        tasks = [asyncio.create_task(v.run()) for v in (fast, slow)]
        sent = []
        loop = asyncio.get_running_loop()
        started = loop.time()
        for step in range(60):  # 60 frames at ~200/s
            sent.append(frame(step))
            channel.publish(sent[-1])
            assert len([v for v in (fast, slow) if v.frame is not None]) <= 2  # one slot each
            await asyncio.sleep(0.005)
        publishing = loop.time() - started
        channel.publish(b'{"type": "status", "playing": false}')
        channel.end("Ada stopped sharing")
        await asyncio.wait_for(asyncio.gather(*tasks), 5)
        return sent, fast_got, slow_got, publishing, slow

    sent, fast_got, slow_got, publishing, slow = run_coroutine(main())
    fast_frames = [m for m in fast_got if isinstance(m, bytes)]
    slow_frames = [m for m in slow_got if isinstance(m, bytes)]
    assert len(fast_frames) == 60 and all(a is b for a, b in zip(fast_frames, sent))  # reused
    assert publishing < 1.0  # 60 × 5 ms: the slow viewer (60 × 50 ms) did not hold it up
    assert 2 <= len(slow_frames) < 30 and slow.skipped == 60 - len(slow_frames)
    assert slow_frames[-1] is sent[-1]  # it skips to the newest frame
    assert all(any(f is s for s in sent) for f in slow_frames)
    # the status line and the end of the share reach the slow viewer too, in order
    assert slow_got[-2:] == ['{"type": "status", "playing": false}',
                             '{"type": "closed", "reason": "Ada stopped sharing"}']


def test_a_stalled_viewer_holds_one_frame_and_a_bounded_list_of_lines():
    async def main():
        channel = Shares(SimLimits()).create("gan2d", "Ada", FakeDriver())
        stall = asyncio.Event()

        async def never(data):
            await stall.wait()

        stuck = Viewer(never, never)
        channel.join(stuck)
        task = asyncio.create_task(stuck.run())
        for step in range(1000):
            channel.publish(frame(step))
            channel.publish(b'{"type": "status", "playing": true}')
        await asyncio.sleep(0.01)
        held = (stuck.frame, len(stuck.texts))
        task.cancel()
        return held

    held_frame, texts = run_coroutine(main())
    assert held_frame == frame(999) and MAX_PENDING_TEXTS - 1 <= texts <= MAX_PENDING_TEXTS


def test_a_new_viewer_sees_the_newest_frame_and_snapshots_never_reach_viewers():
    async def main():
        channel = Shares(SimLimits()).create("gan2d", "", FakeDriver())
        assert channel.name == "learner 1"
        channel.publish(frame(1))
        channel.publish(frame(2))
        snapshot = encode_frame(KIND_SNAPSHOT, 2, {"snapshot": 99}, {})
        assert channel.publish(snapshot) is True  # for the server only
        assert channel.publish(frame(3)) is False  # also the driver's page's
        viewer, got = recording_viewer(0.0)
        channel.join(viewer)
        channel.publish(b'{"type": "error", "message": "the driver\'s own"}')  # not fanned out
        channel.end("over")
        await asyncio.wait_for(viewer.run(), 5)
        return got

    assert run_coroutine(main()) == [frame(3), '{"type": "closed", "reason": "over"}']


def test_viewer_limits_per_share_and_in_all_are_refused_in_one_line():
    shares = Shares(SimLimits(max_viewers=2, max_viewers_total=3))
    driver = FakeDriver()
    a, b = shares.create("gan2d", "Ada", driver), shares.create("vae", "Bo", FakeDriver())
    assert a.id != b.id and len(a.id) >= 20  # secrets.token_urlsafe(16)
    viewers = [Viewer(None, None) for _ in range(4)]
    a.join(viewers[0])
    a.join(viewers[1])
    with pytest.raises(WatchRefused, match=r"^Ada's simulation already has its maximum of 2 "
                                           r"viewers on this hub \(max_viewers\)$"):
        a.join(viewers[2])
    b.join(viewers[2])
    with pytest.raises(WatchRefused, match=r"maximum of 3 viewers in all \(max_viewers_total\)"):
        b.join(viewers[3])
    assert driver.changes == 2
    a.leave(viewers[0])
    assert driver.changes == 3
    b.join(viewers[3])  # a place freed
    a.end("gone")
    with pytest.raises(WatchRefused, match="no live simulation is shared under this code"):
        shares.get(a.id)
    with pytest.raises(WatchRefused, match="Ada stopped sharing"):
        a.join(Viewer(None, None))
    assert json.loads(json.dumps(shares.get(b.id).name)) == "Bo"


def test_viewer_limits_have_bounds():
    for name, bad in (("max_viewers", 0), ("max_viewers_total", 100_001)):
        with pytest.raises(ValueError, match=rf"^{name} must be an integer in \[1, "):
            SimLimits(**{name: bad})
