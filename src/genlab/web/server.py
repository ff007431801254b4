"""`genlab serve`: run the lesson hub with uvicorn on 127.0.0.1 (by default) and print its address."""

from __future__ import annotations

import argparse
import ipaddress
import os
import socket
import sys
import webbrowser

from genlab.errors import GenlabError

# `genlab serve` flags for the live simulations' limits (genlab.web.simulations.schemas.
# SimLimits; its defaults are repeated here so that building the command line imports neither
# pydantic nor FastAPI — tests/test_cli_serve.py checks that they agree):
#     flag: (SimLimits field, type, lowest, highest, default, help); default None: `serve`
#     decides (--max-sessions: from this machine's cores and memory, capacity.py)
LIMIT_FLAGS: dict[str, tuple] = {
    "--max-sessions": ("max_sessions", int, 1, 256, None,
                       "live simulations running at once, all learners together; more "
                       "learners wait in line"),
    "--max-queue": ("max_queue", int, 0, 1024, 64,
                    "learners who may wait in line for a free simulation (first come, first "
                    "served); beyond them a learner is told the hub is full"),
    "--idle-seconds": ("idle_seconds", float, 5.0, 86400.0, 120.0,
                       "stop a simulation (and free its memory) after this long without a "
                       "message from its page (a watched page pings every 15 s, or every "
                       "third of this when it is shorter)"),
    "--max-steps-per-second": ("max_steps_per_second", int, 1, 100_000, 1500,
                               "training steps one simulation may take per second"),
    "--threads-per-session": ("threads_per_session", int, 1, os.cpu_count() or 1, 1,
                              "torch threads in each simulation's worker process"),
    "--max-viewers": ("max_viewers", int, 1, 10_000, 100,
                      "viewers of one shared live simulation (watch mode)"),
    "--max-viewers-total": ("max_viewers_total", int, 1, 100_000, 400,
                            "viewers of all shared simulations together"),
}


def _bounded(kind: type, low, high):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or value != value or not low <= value <= high:
            noun = "an integer" if kind is int else "a number"
            raise argparse.ArgumentTypeError(f"must be {noun} in [{low:g}, {high:g}], got {text!r}")
        return value
    return parse


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The `genlab serve` command line."""
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this computer only)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000; 0: any free one)")
    p.add_argument("--open", action="store_true", help="open the hub in a web browser")
    p.add_argument("--run", action="append", metavar="RUN",
                   help="open this run folder (genlab train --out, or a genlab export) in the "
                        "lesson's lab that fits it (VAE lab, GAN playground, DCGAN lab); its "
                        "folder is only read, Play trains a copy in memory; may be repeated")
    p.add_argument("--runs", metavar="DIR",
                   help="offer the run folders under DIR in each lab's 'Open a trained run' "
                        "list (and on /runs); read-only")
    for flag, (_, kind, low, high, default, text) in LIMIT_FLAGS.items():
        shown = "from this machine's cores and memory" if default is None else f"{default:g}"
        p.add_argument(flag, type=_bounded(kind, low, high), default=None,
                       metavar="N" if kind is int else "S",
                       help=f"{text} (default {shown}, range {low:g}..{high:g})")


def limits_from_args(args: argparse.Namespace) -> dict:
    """The SimLimits fields the user set on the command line."""
    out = {}
    for flag, (field, *_rest) in LIMIT_FLAGS.items():
        value = getattr(args, flag.lstrip("-").replace("-", "_"))
        if value is not None:
            out[field] = value
    return out


def ws_impl() -> str:
    """uvicorn's sans-I/O websockets protocol where this uvicorn has it (the legacy one is
    deprecated and warns on every start), else uvicorn's own choice."""
    from uvicorn.config import WS_PROTOCOLS

    return "websockets-sansio" if "websockets-sansio" in WS_PROTOCOLS else "auto"


def uvicorn_config(app, **options):
    """The uvicorn configuration of the hub (`serve` and the tests' servers alike): quiet
    logs, and WebSocket messages bounded by the protocol's MAX_MESSAGE_BYTES, refused by
    the websockets layer (close 1009) before they are buffered. No permessage-deflate: the
    frames are float32 arrays (deflate saves ~7 % of a GAN frame) and compressing each frame
    once per socket was nearly all of the hub's CPU in watch mode (20 viewers: 0.27 cores with
    it, 0.02 without; benchmarks/hub_sessions.py --viewers)."""
    import uvicorn

    from genlab.web.simulations.protocol import MAX_MESSAGE_BYTES

    return uvicorn.Config(app, log_level="warning", access_log=False, ws=ws_impl(),
                          ws_max_size=MAX_MESSAGE_BYTES, ws_per_message_deflate=False,
                          **options)


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind (host, port) ourselves, so that a busy port is one clear line, and port 0 works."""
    if not 0 <= port <= 65535:
        raise GenlabError(f"port must be in [0, 65535], got {port}")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise GenlabError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


LOOPBACK_NAMES = ["127.0.0.1", "localhost", "::1"]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def address(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


def announce_runs(runs, url: str, opened: bool, out=None) -> str:
    """Print each trained run with the lesson URL that opens it in its lab; the URL to open in
    a browser: the first --run's lab (`opened`), else the runs' listing page."""
    listing = runs.listing()
    for r in listing["runs"]:
        where = (f"{r['kind']} on {r['data']}, step {r['step']}: {url}{r['url'].lstrip('/')}"
                 if "error" not in r else r["error"])
        print(f"run {r['id']} {r['name']} ({where})", file=out or sys.stdout, flush=True)
    if listing["truncated"]:
        print(f"(the first {listing['max_runs']} runs only)", file=out or sys.stdout, flush=True)
    print(f"trained runs: {url}runs", file=out or sys.stdout, flush=True)
    first = listing["runs"][0] if listing["runs"] else None
    if opened and first is not None and "url" in first:
        return url + first["url"].lstrip("/")
    return f"{url}runs"


def serve(host: str = "127.0.0.1", port: int = 8000, open_browser: bool = False,
          runs: dict | None = None, **limits) -> None:
    """Serve the hub until Ctrl-C. `limits` go to the live simulations (see `create_app`);
    `runs` ({"run_paths", "runs_dir"}): the trained runs the labs may open (genlab.web.runs_browser);
    each is printed with the lesson URL that opens it in its lab."""
    import uvicorn

    from genlab.web.app import create_app
    from genlab.web.simulations import capacity

    given = limits.get("max_sessions")
    cap = (capacity.given_cap(given) if given is not None
           else capacity.machine_cap(limits.get("threads_per_session", 1)))
    limits = {**limits, "max_sessions": cap.sessions}
    # on a loopback address, answer only to loopback names (a DNS-rebinding page cannot)
    app = create_app(allowed_hosts=LOOPBACK_NAMES if is_loopback(host) else None, runs=runs,
                     **limits)  # a bad --run is refused before the port is taken
    sock = bind_socket(host, port)
    url = address(sock)
    server = uvicorn.Server(uvicorn_config(app))
    print(f"genlab hub: {url}  (Ctrl-C to stop)", flush=True)
    if runs:
        url = announce_runs(app.state.runs, url, opened=bool(runs.get("run_paths")))
    print(cap.reason, flush=True)
    others = {k: v for k, v in limits.items() if k != "max_sessions"}
    if others:
        print("live simulation limits: " + ", ".join(f"{k} {v:g}" for k, v in others.items()),
              flush=True)
    if host in ("0.0.0.0", "::"):
        print("warning: listening on every interface; the hub has no login", file=sys.stderr)
    if open_browser:
        webbrowser.open(url)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn has shut down; it raises the Ctrl-C it caught again
        pass
    finally:
        sock.close()
    print("genlab hub: stopped", flush=True)
