"""Helpers for tests that run the `genlab` command in a subprocess.

A module of its own (not conftest.py): `from conftest import ...` resolves to whichever
conftest.py pytest put first on sys.path, e.g. tests/metrics/conftest.py."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def cli_env() -> dict[str, str]:
    """The environment of a `python -m genlab` subprocess. One intra-op thread unless the
    caller set OMP_NUM_THREADS: on a busy 2-core machine two OpenMP threads per process
    oversubscribe the cores and run ~10x slower; on an idle one the small test models lose
    little."""
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", "1")
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("GENLAB_DATA", None)
    return env


def run_cli(*args: str, timeout: float = 300, check: bool = False) -> subprocess.CompletedProcess:
    """Run `python -m genlab ARGS` and return the finished process (text stdout/stderr)."""
    proc = subprocess.run([sys.executable, "-m", "genlab", *map(str, args)], env=cli_env(),
                          capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"genlab {' '.join(map(str, args))} exited {proc.returncode}:\n"
                             f"{proc.stderr[-3000:]}")
    return proc


def folder_snapshot(folder: Path) -> dict:
    """Every file under `folder`: its mtime and SHA-256 (a folder only read stays equal)."""
    return {str(p.relative_to(folder)): (p.stat().st_mtime_ns,
                                         hashlib.sha256(p.read_bytes()).hexdigest())
            for p in sorted(folder.rglob("*")) if p.is_file()}
