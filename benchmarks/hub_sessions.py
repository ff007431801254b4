"""Hub load: frames/s and training steps/s per live simulation for 1, 2, 4, 8 concurrent
sessions against a real `genlab serve` on 127.0.0.1, over WebSockets.

    python benchmarks/hub_sessions.py                      # gan2d, 1/2/4/8 sessions, 10 s each
    python benchmarks/hub_sessions.py --kind dcgan --seconds 20
    python benchmarks/hub_sessions.py --fast               # 1 and 2 sessions, 3 s: a smoke test
    python benchmarks/hub_sessions.py --sessions 1 --set loss=wgan-gp --set n_critic=5 --no-write
    python benchmarks/hub_sessions.py --queue 3               # the cap's learners + 3 in line
    python benchmarks/hub_sessions.py --memory                # each kind's worker RSS / PSS

The server is started as a subprocess (genlab.web.server.serve on port 0, with max_sessions
raised to the largest count measured) and stopped at the end. Each client speaks the page's
protocol (src/genlab/web/simulations/routes.py): a {"type": "config"} message, then
{"type": "play"}; the server answers with binary state frames (frames.py: b"GLF1", kind 1 =
state, uint32 step at offset 8). From `--warmup` s after a session's first state frame (its
worker process has started), frames and steps are counted for `--seconds`: frames/s = frames
received / time, steps/s = (last step − first step) / time. Every count is bounded in time; a
session that sends nothing counts as 0.

`--queue K`: the server runs with `--cap` sessions (default: what `genlab serve` would choose
on this machine, capacity.py) and K more learners than that connect after the cap's learners
play. Measured: the admitted learners' frames/s for `--seconds` before the others come and
for `--seconds` while K wait (waiting costs nothing); the "queued" place messages each one in
line receives (first come, first served: the i-th in line is told i, i−1, ..., 1); then the
running learners leave one at a time (oldest first), and for each one in line the time from
that leave to its first state frame (its worker starting included).

The table is written into docs/results/speed.md between the hub_sessions markers (the rest of
the page belongs to benchmarks/speed.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import struct
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import COMMIT_AT_START, ROOT, machine, markdown_table  # noqa: E402

PAGE = ROOT / "docs" / "results" / "speed.md"
BEGIN, END = "<!-- hub_sessions: begin -->", "<!-- hub_sessions: end -->"
CONFIGS = {"gan2d": {"data": "grid25", "loss": "non-saturating", "n_critic": 1, "width": 64,
                     "batch": 128, "speed": 20},  # the playground's defaults
           "vae": {"speed": 4}, "dcgan": {"speed": 1}, "beyond": {"speed": 4}}


def start_server(max_sessions: int, timeout: float = 120.0,
                 max_queue: int = 64) -> tuple[subprocess.Popen, str]:
    code = ("from genlab.web.server import serve; "
            f"serve(host='127.0.0.1', port=0, max_sessions={max_sessions}, idle_seconds=600, "
            f"max_queue={max_queue})")
    env = dict(os.environ, PYTHONUNBUFFERED="1",
               PYTHONPATH=str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            break
        m = re.search(r"http://([\d.]+):(\d+)/", line)
        if m:
            return proc, f"ws://{m.group(1)}:{m.group(2)}"
    proc.kill()
    raise SystemExit(f"genlab serve did not start within {timeout:.0f} s")


async def session(url: str, kind: str, config: dict, warmup: float, seconds: float,
                  start_timeout: float = 90.0) -> dict:
    """One learner: configure, play, count frames and steps for `seconds` after `warmup`."""
    import websockets

    frames, first_step, last_step, errors = 0, None, None, []
    async with websockets.connect(f"{url}/ws/sim/{kind}", max_size=2 ** 24,
                                  open_timeout=60) as ws:
        await ws.send(json.dumps({"type": "config", "config": config}))
        await ws.send(json.dumps({"type": "play"}))
        loop = asyncio.get_running_loop()
        # the clock starts `warmup` s after the first state frame (the worker process has
        # started and trained); a worker that sends nothing within `start_timeout` counts as 0
        begin = end = loop.time() + start_timeout
        started = False
        while (now := loop.time()) < end:
            try:
                msg = await asyncio.wait_for(ws.recv(), timeout=end - now)
            except asyncio.TimeoutError:
                break
            if isinstance(msg, str):
                data = json.loads(msg)
                if data.get("type") == "error":
                    errors.append(data.get("message"))
                continue
            if msg[:4] != b"GLF1" or msg[4] != 1:
                continue
            if not started:
                started = True
                begin = loop.time() + warmup
                end = begin + seconds
            step = struct.unpack_from("<I", msg, 8)[0]
            if loop.time() < begin:
                continue
            frames += 1
            first_step = step if first_step is None else first_step
            last_step = step
        await ws.send(json.dumps({"type": "pause"}))
    steps = (last_step - first_step) if first_step is not None else 0
    return {"frames_per_s": frames / seconds, "steps_per_s": steps / seconds, "errors": errors}


async def measure(url: str, kind: str, config: dict, n: int, warmup: float,
                  seconds: float) -> list[dict]:
    return await asyncio.gather(*(session(url, kind, config, warmup, seconds)
                                  for _ in range(n)))


class Learner:
    """One page: configure, play, then record what the server says and when frames come."""

    def __init__(self, url: str, kind: str, config: dict):
        self.url, self.kind, self.config = url, kind, config
        self.places: list[int] = []
        self.frames: list[float] = []  # arrival times of state frames
        self.errors: list[str] = []
        self.full = False
        self.admitted: float | None = None  # when the server said "admitted"
        self.placed, self.started, self.connected = (asyncio.Event(), asyncio.Event(),
                                                     asyncio.Event())
        self.ws = None

    async def run(self) -> None:
        import websockets

        loop = asyncio.get_running_loop()
        async with websockets.connect(f"{self.url}/ws/sim/{self.kind}", max_size=2 ** 24,
                                      open_timeout=60) as ws:
            self.ws = ws
            await ws.send(json.dumps({"type": "config", "config": self.config}))
            await ws.send(json.dumps({"type": "play"}))
            self.connected.set()
            try:
                async for msg in ws:
                    if isinstance(msg, str):
                        data = json.loads(msg)
                        if data["type"] == "queued":
                            self.places.append(data["place"])
                            self.placed.set()
                        elif data["type"] == "admitted":
                            self.admitted = loop.time()
                        elif data["type"] == "full":
                            self.full = True
                            self.placed.set()
                        elif data["type"] == "error":
                            self.errors.append(data["message"])
                    elif msg[:4] == b"GLF1" and msg[4] == 1:
                        self.frames.append(loop.time())
                        self.started.set()
            except websockets.ConnectionClosed:
                pass

    def fps(self, t0: float, t1: float) -> float:
        return sum(t0 <= t < t1 for t in self.frames) / (t1 - t0)

    async def leave(self) -> float:
        """Close the socket; the time it was closed."""
        await self.ws.close()
        return asyncio.get_running_loop().time()


async def measure_queue(url: str, kind: str, config: dict, cap: int, k: int, warmup: float,
                        seconds: float, start_timeout: float = 120.0) -> dict:
    loop = asyncio.get_running_loop()
    running = [Learner(url, kind, config) for _ in range(cap)]
    tasks = [asyncio.create_task(r.run()) for r in running]
    await asyncio.wait_for(asyncio.gather(*(r.started.wait() for r in running)), start_timeout)
    await asyncio.sleep(warmup)
    t0 = loop.time()
    await asyncio.sleep(seconds)
    alone = [r.fps(t0, loop.time()) for r in running]
    waiting = []
    for _ in range(k):  # one after the other: their order in line is the order they came
        learner = Learner(url, kind, config)
        tasks.append(asyncio.create_task(learner.run()))
        await asyncio.wait_for(learner.placed.wait(), 60)
        waiting.append(learner)
    t0 = loop.time()
    await asyncio.sleep(seconds)
    with_queue = [r.fps(t0, loop.time()) for r in running]
    waits = []
    for learner in waiting:  # the oldest running learner leaves; the first in line starts
        left = await running.pop(0).leave()
        await asyncio.wait_for(learner.started.wait(), start_timeout)
        waits.append((learner.admitted - left, learner.frames[0] - left))
        running.append(learner)
    for r in running:
        await r.leave()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {"alone": alone, "with_queue": with_queue, "waiting": waiting, "waits": waits}


def queue_rows(res: dict, cap: int, k: int) -> tuple[list[list], str]:
    expected = [list(range(i, 0, -1)) for i in range(1, k + 1)]
    rows = []
    for i, (learner, (admitted, first)) in enumerate(zip(res["waiting"], res["waits"]), start=1):
        places = "→".join(map(str, learner.places)) or ("full" if learner.full else "none")
        rows.append([i, places, "yes" if learner.places == expected[i - 1] else "no",
                     f"{admitted:.2f}", f"{first:.2f}", "; ".join(learner.errors) or "none"])
    alone, with_queue = res["alone"], res["with_queue"]
    summary = (f"{cap} admitted learners: {statistics.mean(alone):.1f} frames/s each (min "
               f"{min(alone):.1f}) alone, {statistics.mean(with_queue):.1f} (min "
               f"{min(with_queue):.1f}) while {k} wait in line; from a leave to the next one's "
               f"first frame: median {statistics.median(w[1] for w in res['waits']):.2f} s, "
               f"worst {max(w[1] for w in res['waits']):.2f} s")
    return rows, summary


INTRO = ("Live simulations against a real `genlab serve` on 127.0.0.1, each its own worker "
         "process (1 torch thread), measured over WebSockets. The server paces a session at "
         "≤ 30 frames/s and ≤ `speed` training steps per frame (steps: generator steps; WGAN-GP "
         "takes n_critic critic steps in each). One table per command; a run replaces the table "
         "of its own command.")


SESSION_HEADERS = ["sessions", "frames/s per session (mean, min)",
                   "training steps/s per session (mean, min)", "steps/s, all sessions", "errors"]
QUEUE_HEADERS = ["in line", "place messages", "first come, first served",
                 "s from a leave to \"admitted\"", "s from a leave to its first frame", "errors"]


def write_table(rows: list[list], args, started: float, headers: list[str] = SESSION_HEADERS,
                extra: str = "") -> None:
    """Put this run's table into the hub section of docs/results/speed.md, keeping the tables
    of other commands (other --kind / --set / --queue) that are there."""
    m = machine()
    sets = "".join(f" --set {item}" for item in args.set)
    queue = f" --queue {args.queue} --cap {args.cap}" if args.queue else ""
    command = (f"python benchmarks/hub_sessions.py{' --fast' if args.fast else ''} "
               f"--kind {args.kind}{sets}{queue}")
    heading = f"### `{command}`"
    settings = ", ".join(f"{k}={v}" for k, v in args.config.items()) or "the page's defaults"
    table = "\n".join([
        heading, "",
        f"Settings: {settings}. {args.seconds:g} s measured after {args.warmup:g} s of warm-up; "
        f"commit `{COMMIT_AT_START}`, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"{m['cpu']}, {m['cores']} cores, load average at the end {m['load_average']}, "
        f"{time.perf_counter() - started:.0f} s.{extra}",
        "", markdown_table(headers, rows)])
    old = PAGE.read_text() if PAGE.exists() else "# Speed\n\n"
    tables = []
    if BEGIN in old and END in old:
        section = old[old.index(BEGIN) + len(BEGIN):old.index(END)]
        tables = ["### " + part.strip() for part in section.split("\n### ")[1:]]
    tables = [t for t in tables if not t.startswith(heading + "\n")] + [table]
    text = "\n".join([BEGIN, "## Hub sessions", "", INTRO, "", "\n\n".join(tables), "", END, ""])
    if BEGIN in old and END in old:
        new = old[:old.index(BEGIN)] + text + old[old.index(END) + len(END):].lstrip("\n")
    else:
        new = old.rstrip("\n") + "\n\n" + text
    PAGE.parent.mkdir(parents=True, exist_ok=True)
    PAGE.write_text(new)
    print(f"wrote {PAGE}")


def smaps(pid: int) -> dict[str, int]:
    """RSS, PSS and USS (its private pages) of process `pid` in bytes (smaps_rollup)."""
    out = {"uss": 0}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("Rss", "Pss"):
            out[name.lower()] = int(rest.split()[0]) * 1024
        elif name in ("Private_Clean", "Private_Dirty"):
            out["uss"] += int(rest.split()[0]) * 1024
    return out


async def worker_memory(kind: str, config: dict, seconds: float) -> dict[str, int]:
    """One worker of `kind` started by the hub's own SessionManager (forked from the
    forkserver that preloads torch), `seconds` of training, then its RSS and PSS."""
    from genlab.web.simulations.schemas import SimLimits
    from genlab.web.simulations.sessions import SessionManager

    manager = SessionManager(SimLimits())
    session = await asyncio.to_thread(manager.open, kind, config)
    try:
        session.attach(asyncio.get_running_loop())
        session.send("config", config)
        session.send("play")
        loop = asyncio.get_running_loop()
        end, frames = loop.time() + seconds, 0
        while (now := loop.time()) < end:
            try:
                frames += await asyncio.wait_for(session.next_message(), end - now) is not None
            except asyncio.TimeoutError:
                break
        return {**smaps(session.process.pid), "frames": frames}
    finally:
        await asyncio.to_thread(manager.close, session)


def measure_memory(seconds: float) -> None:
    """Print each kind's worker RSS / PSS: the figure capacity.WORKER_BYTES comes from."""
    sys.path.insert(0, str(ROOT / "src"))
    for kind in ("gan2d", "vae", "dcgan", "beyond"):
        m = asyncio.run(worker_memory(kind, CONFIGS[kind], seconds))
        print(f"{kind}: RSS {m['rss'] / 2**20:.0f} MiB, PSS {m['pss'] / 2**20:.0f} MiB, "
              f"USS {m['uss'] / 2**20:.0f} MiB "
              f"after {seconds:g} s ({m['frames']} frames)", flush=True)


def run_queue(args, config: dict, started: float) -> int:
    if args.cap is None:
        sys.path.insert(0, str(ROOT / "src"))
        from genlab.web.simulations.capacity import machine_cap

        cap = machine_cap()
        args.cap = cap.sessions
        print(f"cap: {cap.reason}", flush=True)
    proc, url = start_server(args.cap, max_queue=max(args.queue, 1))
    try:
        res = asyncio.run(asyncio.wait_for(
            measure_queue(url, args.kind, config, args.cap, args.queue, args.warmup,
                          args.seconds),
            timeout=args.warmup + 2 * args.seconds + 120 * (args.queue + 2)))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    rows, summary = queue_rows(res, args.cap, args.queue)
    for row in rows:
        print(f"in line {row[0]}: places {row[1]} (FIFO: {row[2]}), admitted {row[3]} s and "
              f"first frame {row[4]} s after a running learner left", flush=True)
    print(summary, flush=True)
    if not args.no_write:
        write_table(rows, args, started, QUEUE_HEADERS, extra=f" {summary}.")
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kind", default="gan2d", choices=sorted(CONFIGS))
    p.add_argument("--sessions", nargs="+", default=["1,2,4,8"],
                   help="concurrent sessions to measure, e.g. 1 2 4 8 (or 1,2,4,8)")
    p.add_argument("--queue", type=int, default=0, metavar="K",
                   help="measure the queue instead: --cap learners play, K more wait in line")
    p.add_argument("--cap", type=int, default=None,
                   help="the server's max_sessions with --queue (default: what genlab serve "
                        "chooses on this machine)")
    p.add_argument("--seconds", type=float, default=10.0, help="measured time per count")
    p.add_argument("--warmup", type=float, default=4.0, help="unmeasured seconds first")
    p.add_argument("--fast", action="store_true", help="1 and 2 sessions, 3 s: a smoke test")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="override one setting of the simulation (JSON value or text), e.g. "
                        "--set loss=wgan-gp")
    p.add_argument("--no-write", action="store_true", help="print only")
    p.add_argument("--memory", action="store_true",
                   help="print the RSS and PSS of one worker of each kind (after --seconds of "
                        "training) and stop: the figure of capacity.WORKER_BYTES")
    args = p.parse_args()
    if args.memory:
        measure_memory(args.seconds)
        return 0
    config = dict(CONFIGS[args.kind])
    for item in args.set:
        name, sep, value = item.partition("=")
        if not sep:
            p.error(f"--set wants NAME=VALUE, got {item!r}")
        try:
            config[name] = json.loads(value)
        except ValueError:
            config[name] = value
    args.config = config
    if args.fast:
        args.sessions, args.seconds, args.warmup = ["1,2"], 3.0, 3.0
    started = time.perf_counter()
    if args.queue:
        return run_queue(args, config, started)
    counts = [int(c) for part in args.sessions for c in str(part).split(",") if c]
    proc, url = start_server(max(counts))
    rows = []
    try:
        for n in counts:
            res = asyncio.run(asyncio.wait_for(measure(url, args.kind, config, n, args.warmup,
                                                       args.seconds),
                                               timeout=args.warmup + args.seconds + 240))
            fps = [r["frames_per_s"] for r in res]
            sps = [r["steps_per_s"] for r in res]
            errors = sorted({e for r in res for e in r["errors"]})
            rows.append([n, f"{statistics.mean(fps):.1f}, {min(fps):.1f}",
                         f"{statistics.mean(sps):.0f}, {min(sps):.0f}", f"{sum(sps):.0f}",
                         "; ".join(errors) or "none"])
            print(f"{n} session(s): frames/s {statistics.mean(fps):.1f} (min {min(fps):.1f}), "
                  f"steps/s {statistics.mean(sps):.0f} (min {min(sps):.0f}), "
                  f"total steps/s {sum(sps):.0f}", flush=True)
            time.sleep(1.0)  # closed sockets stop their workers
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    if not args.no_write:
        write_table(rows, args, started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
