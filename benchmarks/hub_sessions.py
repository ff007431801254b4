"""Hub load: frames/s and training steps/s per live simulation for 1, 2, 4, 8 concurrent
sessions against a real `genlab serve` on 127.0.0.1, over WebSockets.

    python benchmarks/hub_sessions.py                      # gan2d, 1/2/4/8 sessions, 10 s each
    python benchmarks/hub_sessions.py --kind dcgan --seconds 20
    python benchmarks/hub_sessions.py --fast               # 1 and 2 sessions, 3 s: a smoke test
    python benchmarks/hub_sessions.py --sessions 1 --set loss=wgan-gp --set n_critic=5 --no-write

The server is started as a subprocess (genlab.web.server.serve on port 0, with max_sessions
raised to the largest count measured) and stopped at the end. Each client speaks the page's
protocol (src/genlab/web/simulations/routes.py): a {"type": "config"} message, then
{"type": "play"}; the server answers with binary state frames (frames.py: b"GLF1", kind 1 =
state, uint32 step at offset 8). From `--warmup` s after a session's first state frame (its
worker process has started), frames and steps are counted for `--seconds`: frames/s = frames
received / time, steps/s = (last step − first step) / time. Every count is bounded in time; a
session that sends nothing counts as 0.

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


def start_server(max_sessions: int, timeout: float = 120.0) -> tuple[subprocess.Popen, str]:
    code = ("from genlab.web.server import serve; "
            f"serve(host='127.0.0.1', port=0, max_sessions={max_sessions}, idle_seconds=600)")
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


INTRO = ("Live simulations against a real `genlab serve` on 127.0.0.1, each its own worker "
         "process (1 torch thread), measured over WebSockets. The server paces a session at "
         "≤ 30 frames/s and ≤ `speed` training steps per frame (steps: generator steps; WGAN-GP "
         "takes n_critic critic steps in each). One table per command; a run replaces the table "
         "of its own command.")


def write_table(rows: list[list], args, started: float) -> None:
    """Put this run's table into the hub section of docs/results/speed.md, keeping the tables
    of other commands (other --kind / --set) that are there."""
    m = machine()
    sets = "".join(f" --set {item}" for item in args.set)
    command = (f"python benchmarks/hub_sessions.py{' --fast' if args.fast else ''} "
               f"--kind {args.kind}{sets}")
    heading = f"### `{command}`"
    settings = ", ".join(f"{k}={v}" for k, v in args.config.items()) or "the page's defaults"
    table = "\n".join([
        heading, "",
        f"Settings: {settings}. {args.seconds:g} s measured after {args.warmup:g} s of warm-up; "
        f"commit `{COMMIT_AT_START}`, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"{m['cpu']}, {m['cores']} cores, load average at the end {m['load_average']}, "
        f"{time.perf_counter() - started:.0f} s.",
        "", markdown_table(["sessions", "frames/s per session (mean, min)",
                            "training steps/s per session (mean, min)", "steps/s, all sessions",
                            "errors"], rows)])
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


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kind", default="gan2d", choices=sorted(CONFIGS))
    p.add_argument("--sessions", default="1,2,4,8", help="comma list of concurrent sessions")
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
        args.sessions, args.seconds, args.warmup = "1,2", 3.0, 3.0
    counts = [int(c) for c in args.sessions.split(",")]
    started = time.perf_counter()
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
