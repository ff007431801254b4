"""One way for tests to run a coroutine to completion.

A browser test's Playwright (sync API) holds an event loop in the main thread for the rest of
the session, and asyncio.run refuses to start inside a running loop — so a test that calls
asyncio.run directly passes alone and fails in the full suite. `run_coroutine` runs it in a
thread of its own; tests/test_no_bare_asyncio_run.py keeps every test on it."""

from __future__ import annotations

import asyncio
import concurrent.futures


def run_coroutine(coro):
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()
