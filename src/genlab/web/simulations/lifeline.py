"""A simulation worker never outlives its use: the server watches the worker's own process,
and the worker exits by itself when the server side goes away.

Why not `multiprocessing.Process.is_alive()`: under the forkserver, the worker is the
forkserver's child, and `is_alive()` asks the forkserver. Once the forkserver is killed (an
out-of-memory kill picks it, it holds torch), `is_alive()` says False and `terminate()` does
nothing while the worker, now a child of PID 1, goes on training. So:

- server side, `WorkerHandle(pid)`: a pidfd (Linux ≥ 5.3) names the worker itself, not a
  reused pid; it is readable once the worker has exited (zombie or reaped). Signals go
  through it. Elsewhere: `kill(pid, 0)` and /proc's state.
- worker side, `exit_with_parent(lifeline)`:
  (1) prctl(PR_SET_PDEATHSIG, SIGKILL): killed when its direct parent (the forkserver) dies;
  (2) a watchdog thread blocks on the lifeline, a pipe whose only write end the server
      holds. When the server closes it (stopping the session) or dies (any signal, SIGKILL
      included: the kernel closes its descriptors), the read end sees EOF and the worker
      exits at once, even in the middle of a training step.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import select
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


class WorkerHandle:
    """The worker process itself, by pid (and pidfd where the kernel has them)."""

    def __init__(self, pid: int):
        self.pid = pid
        self.pidfd: int | None = None
        self._exited = False
        self._lock = threading.Lock()  # alive() (any thread) never selects on a closed pidfd
        if hasattr(os, "pidfd_open"):
            try:
                self.pidfd = os.pidfd_open(pid)
            except ProcessLookupError:  # it has already exited
                self._exited = True
            except OSError:  # an old kernel: pid checks instead
                self.pidfd = None

    def alive(self) -> bool:
        with self._lock:
            if self._exited:
                return False
            if self.pidfd is not None:
                self._exited = bool(select.select([self.pidfd], [], [], 0)[0])
            else:
                self._exited = not _pid_running(self.pid)
            return not self._exited

    def wait(self, timeout: float) -> bool:
        """True once the worker has exited, waiting up to `timeout` seconds (call it from the
        thread that will `close()` the handle)."""
        if self._exited:
            return True
        if self.pidfd is not None:
            self._exited = bool(select.select([self.pidfd], [], [], max(0.0, timeout))[0])
            return self._exited
        deadline = time.monotonic() + timeout
        while self.alive():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)
        return True

    def signal(self, sig: int) -> None:
        if not self.alive():
            return
        try:
            if self.pidfd is not None:
                signal.pidfd_send_signal(self.pidfd, sig)
            else:
                os.kill(self.pid, sig)
        except (ProcessLookupError, OSError):
            pass

    def close(self) -> None:
        with self._lock:
            if self.pidfd is not None:
                os.close(self.pidfd)
                self.pidfd = None
                self._exited = True


def _pid_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie has exited, even if nobody has reaped it yet
        with open(f"/proc/{pid}/stat", "rb") as f:
            state = f.read().rsplit(b")", 1)[1].split()[0]
        return state not in (b"Z", b"X")
    except (OSError, IndexError):
        return True


def exit_with_parent(lifeline) -> None:
    """In the worker: die with the forkserver (parent-death signal, Linux) and exit as soon as
    the server's end of `lifeline` (a multiprocessing Connection) closes."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):  # no prctl: the watchdog alone
            pass

    def watch() -> None:
        from multiprocessing.connection import wait

        wait([lifeline])  # nothing is ever sent: readable means the server's end closed
        os._exit(0)

    threading.Thread(target=watch, name="genlab-sim-lifeline", daemon=True).start()
