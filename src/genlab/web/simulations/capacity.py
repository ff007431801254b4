"""How many live simulations this machine holds: cores and memory, read once at `genlab serve`.

    cap = min(⌊cores × SESSIONS_PER_CORE / threads_per_session⌋,
              ⌊(available memory − SERVER_RESERVE_BYTES) / WORKER_BYTES⌋),   at least 1

`session_cap(...)` is the rule on numbers (tests pass them in); `machine()` reads them from
this machine: the usable cores (the CPU affinity mask, lowered by a cgroup CPU quota) and the
available memory (/proc/meminfo MemAvailable, lowered by a cgroup memory limit). Both cgroup
versions are read (v2 cpu.max / memory.max, v1 cpu.cfs_quota_us / memory.limit_in_bytes).
`--max-sessions` replaces the whole rule. No heavy imports: `genlab serve` calls it first.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

# Learners one core serves at ≥ 20 frames/s each (each worker 1 torch thread). Measured on the
# idle 2-core machine (load < 1 before the run) with `python benchmarks/hub_sessions.py
# --kind gan2d --sessions 1 2 4 8 --seconds 10` (gan2d at the playground's defaults, commit
# d6cac75): 1, 2, 4, 8 learners got 29.4, 29.5, 27.8, 22.9 (min 22.5) frames/s each — 4 per
# core keep ≥ 20 (docs/results/speed.md, "Hub sessions"). On a machine busy with other work
# the same 8 got 16.6: the cap counts cores, not what else runs on them.
SESSIONS_PER_CORE = 4

# Memory one simulation's worker holds: the largest of the four kinds (the VAE lab), rounded
# up. Measured with `python benchmarks/hub_sessions.py --memory --seconds 8`: one worker of
# each kind started by the hub's own SessionManager (forked from the forkserver that preloads
# torch and the digits), 8 s of training at the page's defaults, then /proc/PID/smaps_rollup:
#     gan2d RSS 386 MiB PSS 301 USS 227 · vae RSS 573 PSS 487 USS 412
#     dcgan RSS 424 PSS 339 USS 265 · beyond RSS 422 PSS 338 USS 264
# USS (its private pages) is what one more worker adds; PSS also charges it its share of the
# pages it shares with the forkserver. The 283 MB RSS / 140 MB PSS (gan2d) was taken
# with several workers sharing those pages; one vae worker's PSS is the safe bound.
WORKER_BYTES = 490 * 1024 * 1024
# kept free for the server itself (uvicorn, the page, frames in flight, the forkserver)
SERVER_RESERVE_BYTES = 512 * 1024 * 1024
HIGHEST = 256  # the most `--max-sessions` accepts


@dataclass(frozen=True)
class Capacity:
    sessions: int
    reason: str  # one line: "8 live simulations: 2 cores × 4 per core, memory allows 46"


def _plural(n: float, word: str) -> str:
    return f"{n:g} {word}{'' if n == 1 else 's'}"


def session_cap(cores: float, threads_per_session: int, available_bytes: int | None, *,
                per_core: float = SESSIONS_PER_CORE, worker_bytes: int = WORKER_BYTES,
                reserve_bytes: int = SERVER_RESERVE_BYTES) -> Capacity:
    """The number of simulations `cores` usable cores and `available_bytes` of free memory
    hold (None: unknown, the cores decide), and why."""
    threads = max(1, int(threads_per_session))
    by_cores = max(1, math.floor(cores * per_core / threads + 1e-9))
    cores_text = f"{_plural(round(cores, 2), 'core')} × {per_core:g} per core"
    if threads > 1:
        cores_text += f" ÷ {threads} threads per simulation"
    if available_bytes is None:
        by_memory, memory_text = None, "memory unknown"
    else:
        by_memory = max(0, (available_bytes - reserve_bytes) // worker_bytes)
        memory_text = (f"memory allows {by_memory} ({available_bytes / 2**30:.1f} GiB available, "
                       f"{worker_bytes / 2**20:.0f} MiB per simulation)")
    cap = min(by_cores, by_memory if by_memory is not None else by_cores, HIGHEST)
    cap = max(1, cap)
    noun = "live simulation" if cap == 1 else "live simulations"
    if by_memory is not None and by_memory < by_cores:
        why = f"{memory_text}; {cores_text} would allow {by_cores}"
    else:
        why = f"{cores_text}, {memory_text}"
    if cap == HIGHEST and min(by_cores, by_memory or by_cores) > HIGHEST:
        why += f"; at most {HIGHEST}"
    return Capacity(cap, f"{cap} {noun}: {why}")


def given_cap(sessions: int) -> Capacity:
    noun = "live simulation" if sessions == 1 else "live simulations"
    return Capacity(sessions, f"{sessions} {noun}: set by --max-sessions")


# ------------------------------------------------------------------ this machine
def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _cgroup_dirs(root: Path, cgroup_file: Path, controller: str | None) -> list[Path]:
    """This process's cgroup folder and its ancestors up to `root` (limits of a parent bind
    too). controller None: cgroup v2 (the "0::" line); else the v1 hierarchy naming it."""
    text = _read(cgroup_file) or ""
    own = "/"
    for line in text.splitlines():
        _, _, rest = line.partition(":")
        names, _, path = rest.partition(":")
        if (controller is None and names == "") or (controller in names.split(",")):
            own = path or "/"
            break
    base = root if controller is None else root / controller
    parts = [p for p in own.split("/") if p]
    dirs = [base.joinpath(*parts[:i]) for i in range(len(parts), -1, -1)]
    return [d for d in dirs if d.is_dir()]


def cgroup_cores(root: Path = Path("/sys/fs/cgroup"),
                 cgroup_file: Path = Path("/proc/self/cgroup")) -> float | None:
    """The CPU quota of this process's cgroups in cores (quota / period), None if unlimited."""
    quotas = []
    for d in _cgroup_dirs(root, cgroup_file, None):
        text = _read(d / "cpu.max")  # v2: "max 100000" or "200000 100000"
        if text:
            quota, _, period = text.partition(" ")
            if quota != "max" and period:
                quotas.append(int(quota) / int(period))
    for d in _cgroup_dirs(root, cgroup_file, "cpu"):
        quota, period = _read(d / "cpu.cfs_quota_us"), _read(d / "cpu.cfs_period_us")
        if quota and period and int(quota) > 0:
            quotas.append(int(quota) / int(period))
    return min(quotas) if quotas else None


def cgroup_memory(root: Path = Path("/sys/fs/cgroup"),
                  cgroup_file: Path = Path("/proc/self/cgroup")) -> int | None:
    """Bytes this process's cgroups still allow (limit − usage), None if unlimited."""
    free = []
    for d in _cgroup_dirs(root, cgroup_file, None):
        limit, used = _read(d / "memory.max"), _read(d / "memory.current")
        if limit and limit != "max":
            free.append(int(limit) - int(used or 0))
    for d in _cgroup_dirs(root, cgroup_file, "memory"):
        limit, used = _read(d / "memory.limit_in_bytes"), _read(d / "memory.usage_in_bytes")
        if limit and int(limit) < 2**60:  # v1 writes a huge number for "no limit"
            free.append(int(limit) - int(used or 0))
    return max(0, min(free)) if free else None


def mem_available(meminfo: Path = Path("/proc/meminfo")) -> int | None:
    for line in (_read(meminfo) or "").splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    return None


def machine() -> tuple[float, int | None]:
    """(usable cores, available memory in bytes or None) of this process, now."""
    try:
        cores: float = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    quota = cgroup_cores()
    if quota is not None:
        cores = min(cores, max(quota, 1.0))
    memory = [m for m in (mem_available(), cgroup_memory()) if m is not None]
    return cores, (min(memory) if memory else None)


def machine_cap(threads_per_session: int = 1) -> Capacity:
    """The session cap of this machine, and why."""
    cores, available = machine()
    return session_cap(cores, threads_per_session, available)
