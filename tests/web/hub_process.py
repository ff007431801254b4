"""A real `genlab serve` in a subprocess, and the processes under it (read from /proc).

Not a conftest: the fault tests import it (`from hub_process import Hub`)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cli_helpers import cli_env  # noqa: E402


class Hub:
    """`genlab serve --port 0 ARGS`; its output goes to `log` (a file), read with `output()`."""

    def __init__(self, log: Path, *args: str):
        self.log_path = log
        self._log = open(log, "w")
        self.proc = subprocess.Popen([sys.executable, "-m", "genlab", "serve", "--port", "0",
                                      *args], stdout=self._log, stderr=subprocess.STDOUT,
                                     env={**cli_env(), "PYTHONUNBUFFERED": "1"})
        deadline, self.url = time.monotonic() + 120, None
        while self.url is None:
            match = re.search(r"genlab hub: (http://127\.0\.0\.1:\d+)/", self.output())
            if match:
                self.url = match.group(1)
            elif self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"genlab serve did not start:\n{self.output()}")
            else:
                time.sleep(0.05)
        self.ws_url = self.url.replace("http://", "ws://")

    def output(self) -> str:
        return self.log_path.read_text()

    def get(self, path: str):
        with urllib.request.urlopen(self.url + path, timeout=30) as r:
            return json.load(r)

    def running(self) -> int:
        return self.get("/api/sim/status")["running"]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


def children(pid: int) -> list[int]:
    """Processes whose parent is `pid` (zombies left out: they have exited)."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_bytes().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if int(stat[1]) == pid and stat[0] not in (b"Z", b"X"):
            out.append(int(entry))
    return out


def running_pid(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in (b"Z", b"X")


def forkserver_of(server_pid: int, timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for pid in children(server_pid):
            if b"forkserver" in Path(f"/proc/{pid}/cmdline").read_bytes():
                return pid
        time.sleep(0.05)
    raise AssertionError("no forkserver under the hub")


def wait_until(predicate, timeout: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()
