"""Hub load: frames/s and training steps/s per live simulation for 1, 2, 4, 8 concurrent
sessions against a real `genlab serve` on 127.0.0.1, over WebSockets.

    python benchmarks/hub_sessions.py                      # gan2d, 1/2/4/8 sessions, 10 s each
    python benchmarks/hub_sessions.py --kind dcgan --seconds 20
    python benchmarks/hub_sessions.py --fast               # 1 and 2 sessions, 3 s: a smoke test
    python benchmarks/hub_sessions.py --sessions 1 --set loss=wgan-gp --set n_critic=5 --no-write
    python benchmarks/hub_sessions.py --queue 3               # the cap's learners + 3 in line
    python benchmarks/hub_sessions.py --memory                # each kind's worker RSS / PSS
    python benchmarks/hub_sessions.py --kind gan2d --viewers 100 --seconds 10   # watch mode

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

Watch mode (`--viewers N`, src/genlab/web/simulations/watch.py): one driver configures, shares
({"type": "share"}) and plays; N viewers open /ws/watch/{id}, spread over --client-processes
client processes (benchmarks/watch_clients.py: each holds many websockets in one event
loop and imports no torch, so the clients do not starve the server of this machine's
cores). Every viewer's frames/s is counted over the same `--seconds` window after
`--warmup`; the server's CPU is read from /proc/PID/stat
(utime + stime) of the server process alone, over the same window and over a window of the
same length before the viewers connect (driver only: the "extra" is the difference), and the
simulation workers' (the server's descendants: forkserver and workers) separately. It prints
a table and ends with the line `viewers N: median X fps, worst Y fps`; the table goes between
the hub_viewers markers of docs/results/speed.md.
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


VIEWERS_BEGIN, VIEWERS_END = "<!-- hub_viewers: begin -->", "<!-- hub_viewers: end -->"


def start_server(max_sessions: int, timeout: float = 120.0, max_queue: int = 64,
                 viewers: int = 0) -> tuple[subprocess.Popen, str]:
    watch = f", max_viewers={viewers}, max_viewers_total={viewers}" if viewers else ""
    code = ("from genlab.web.server import serve; "
            f"serve(host='127.0.0.1', port=0, max_sessions={max_sessions}, idle_seconds=600, "
            f"max_queue={max_queue}{watch})")
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


def stop_server(proc: subprocess.Popen) -> None:
    """Stop the server started by start_server: politely, then firmly after 10 s."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


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


# ------------------------------------------------------------------ watch mode: N viewers

def cpu_seconds(pid: int) -> float:
    """utime + stime of process `pid` alone (not its children), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def cpu_of(pids: list[int]) -> dict[int, float]:
    out = {}
    for pid in pids:
        try:
            out[pid] = cpu_seconds(pid)
        except (OSError, IndexError, ValueError):
            pass
    return out


async def viewer_clients(url: str, share_id: str, count: int, begin: float,
                         end: float) -> list[float]:
    """`count` viewers in a client process of their own (watch_clients.py): their frames/s."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(Path(__file__).with_name("watch_clients.py")), url, share_id,
        str(count), repr(begin), repr(end), stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    if proc.returncode:
        raise SystemExit(f"a viewer client process failed (exit {proc.returncode})")
    return json.loads(out)


async def watch_run(url: str, server_pid: int, kind: str, config: dict, viewers: int,
                    processes: int, warmup: float, seconds: float) -> dict:
    """One driver plays; `viewers` viewers watch; frames/s and CPU over the same window."""
    import websockets

    async with websockets.connect(f"{url}/ws/sim/{kind}", max_size=2 ** 24,
                                  open_timeout=60) as ws:
        await ws.send(json.dumps({"type": "config", "config": config}))
        await ws.send(json.dumps({"type": "share", "name": "benchmark"}))
        await ws.send(json.dumps({"type": "play"}))
        share_id, driver_frames = None, []

        async def read_driver() -> None:
            nonlocal share_id
            async for msg in ws:
                if isinstance(msg, str):
                    data = json.loads(msg)
                    if data.get("type") == "shared":
                        share_id = data["id"]
                    elif data.get("type") == "error":
                        raise SystemExit(f"the driver's simulation refused: {data['message']}")
                elif msg[4] == 1:
                    now = time.time()
                    driver_frames.append(now)

        reader = asyncio.create_task(read_driver())
        deadline = time.monotonic() + 120
        while (share_id is None or not driver_frames) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if share_id is None or not driver_frames:
            raise SystemExit("the driver's simulation did not start within 120 s")
        await asyncio.sleep(warmup)
        # the driver alone, as long as the measured window: the server's CPU without viewers
        t0, alone0 = time.time(), cpu_seconds(server_pid)
        await asyncio.sleep(seconds)
        alone = (cpu_seconds(server_pid) - alone0) / (time.time() - t0)
        # the viewers: their clients start now, the window opens `warmup` s after they connect
        begin = time.time() + warmup + max(5.0, viewers / 20)
        end = begin + seconds
        per = [viewers // processes + (i < viewers % processes) for i in range(processes)]
        clients = asyncio.gather(*(viewer_clients(url, share_id, n, begin, end)
                                   for n in per if n))
        await asyncio.sleep(max(0.0, begin - time.time()))
        workers = descendants(server_pid)
        s0, w0, d0 = cpu_seconds(server_pid), cpu_of(workers), len(driver_frames)
        await asyncio.sleep(max(0.0, end - time.time()))
        s1, w1, d1 = cpu_seconds(server_pid), cpu_of(workers), len(driver_frames)
        fps = [f for part in await clients for f in part]
        reader.cancel()
    return {"fps": fps, "server": (s1 - s0) / seconds, "alone": alone,
            "workers": sum(w1[p] - w0[p] for p in w1 if p in w0) / seconds,
            "driver_fps": (d1 - d0) / seconds}


def watch_main(args) -> int:
    started = time.perf_counter()
    proc, url = start_server(1, viewers=args.viewers)
    try:
        res = asyncio.run(asyncio.wait_for(
            watch_run(url, proc.pid, args.kind, args.config, args.viewers,
                      max(1, min(args.client_processes, args.viewers)), args.warmup,
                      args.seconds),
            timeout=3 * args.warmup + 2 * args.seconds + args.viewers + 300))
    finally:
        stop_server(proc)
    fps = sorted(res["fps"])
    median, worst = statistics.median(fps), fps[0]
    headers = ["viewers", "frames/s per viewer (median, mean, worst)", "driver frames/s",
               "server CPU, cores (with viewers; driver alone)", "simulation worker CPU, cores",
               "viewer frames ÷ driver frames (±1 frame at the window's edges)"]
    row = [args.viewers, f"{median:.1f}, {statistics.mean(fps):.1f}, {worst:.1f}",
           f"{res['driver_fps']:.1f}", f"{res['server']:.2f}; {res['alone']:.2f}",
           f"{res['workers']:.2f}",
           f"{100 * statistics.mean(fps) / max(res['driver_fps'], 1e-9):.1f} %"]
    table = markdown_table(headers, [row])
    print(table)
    if not args.no_write:
        write_viewers_table(table, args, started)
    print(f"viewers {args.viewers}: median {median:.1f} fps, worst {worst:.1f} fps")
    return 0


VIEWERS_INTRO = ("Watch mode: one driver plays a live simulation and shares it; N viewers "
                 "watch it over WebSockets from separate client processes on the same machine "
                 "(so the clients' CPU is not the server's). Frames/s are counted per viewer "
                 "over the same window; CPU is utime + stime from /proc of the server process "
                 "alone (with the viewers, and with the driver alone over as long before they "
                 "connect) and of the simulation's worker processes. The goal (issue 14): 100 "
                 "viewers, each ≥ 20 frames/s, the server using ≤ 1 core beyond the driver "
                 "alone. One table per command; a run replaces the table of its own command.")


def write_viewers_table(table: str, args, started: float) -> None:
    m = machine()
    command = (f"python benchmarks/hub_sessions.py --kind {args.kind} --viewers {args.viewers} "
               f"--seconds {args.seconds:g}")
    heading = f"### `{command}`"
    settings = ", ".join(f"{k}={v}" for k, v in args.config.items())
    text = "\n".join([
        heading, "",
        f"Settings: {settings}; {args.client_processes} client processes. {args.seconds:g} s "
        f"measured after {args.warmup:g} s of warm-up; commit `{COMMIT_AT_START}`, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {m['cpu']}, {m['cores']} "
        f"cores, load average at the end {m['load_average']}, "
        f"{time.perf_counter() - started:.0f} s.", "", table])
    replace_section(Path(args.page), VIEWERS_BEGIN, VIEWERS_END, "## Hub watch mode (viewers)",
                    VIEWERS_INTRO, heading, text)


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
    replace_section(Path(args.page), BEGIN, END, "## Hub sessions", INTRO, heading, table)


def replace_section(page: Path, begin: str, end: str, title: str, intro: str, heading: str,
                    table: str) -> None:
    """Put `table` (starting with `heading`) between the markers `begin` and `end` of `page`
    (docs/results/speed.md), keeping the tables of other commands that are there."""
    old = page.read_text() if page.exists() else "# Speed\n\n"
    tables = []
    if begin in old and end in old:
        section = old[old.index(begin) + len(begin):old.index(end)]
        tables = ["### " + part.strip() for part in section.split("\n### ")[1:]]
    tables = [t for t in tables if not t.startswith(heading + "\n")] + [table]
    text = "\n".join([begin, title, "", intro, "", "\n\n".join(tables), "", end, ""])
    if begin in old and end in old:
        new = old[:old.index(begin)] + text + old[old.index(end) + len(end):].lstrip("\n")
    else:
        new = old.rstrip("\n") + "\n\n" + text
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(new)
    print(f"wrote {page}")


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
        stop_server(proc)
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
    p.add_argument("--page", default=str(PAGE), help="the page the table goes into (default "
                                                     "docs/results/speed.md)")
    p.add_argument("--viewers", type=int, default=0, metavar="N",
                   help="watch mode: one driver plays, N viewers watch (see above)")
    p.add_argument("--client-processes", type=int, default=4, metavar="P",
                   help="watch mode: the viewers' client processes (default 4)")
    p.add_argument("--memory", action="store_true",
                   help="print the RSS and PSS of one worker of each kind (after --seconds of "
                        "training) and stop: the figure of capacity.WORKER_BYTES")
    args = p.parse_args()
    if args.viewers < 0 or args.client_processes < 1:
        p.error("--viewers must be ≥ 0 and --client-processes ≥ 1")
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
    if args.viewers:
        return watch_main(args)
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
        stop_server(proc)
    if not args.no_write:
        write_table(rows, args, started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
