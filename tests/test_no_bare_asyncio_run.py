"""No test calls asyncio.run itself: in the full suite a browser test's Playwright holds an event
loop in the main thread and asyncio.run refuses there (tests/async_helpers.py says why)."""

from __future__ import annotations

import re
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def test_tests_run_coroutines_through_the_helper():
    bare = [f"{p.relative_to(TESTS)}:{i}" for p in sorted(TESTS.rglob("*.py"))
            if p.name != "async_helpers.py"
            for i, line in enumerate(p.read_text().splitlines(), 1)
            if re.search(r"\basyncio\.run\(", line) and "asyncio.run, " not in line
            and not line.lstrip().startswith("#")]
    assert bare == [], f"use async_helpers.run_coroutine instead of asyncio.run in: {bare}"
