"""Shared fixtures for the hub's tests.

- `app` / `client`: the FastAPI app and a Starlette TestClient (no network, no browser).
- `server_url`: the real app served by uvicorn on 127.0.0.1 on a free port, in a background
  thread, for the whole session (e.g. "http://127.0.0.1:43121").
- `browser`: Debian chromium driven by Playwright (session); `page`: a fresh 1280x800 page whose
  console errors and uncaught exceptions are collected in `page.console_errors` (list of str)
  and failed requests in `page.failed_requests`;
  `new_page(width=..., height=...)` makes more (e.g. a 375px phone). Browser tests are marked
  `@pytest.mark.browser` and are skipped when chromium or Playwright is missing.
- `screenshot_dir`: $GENLAB_SCREENSHOTS if set, else a pytest temporary folder.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("GENLAB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def app():
    from genlab.web.app import create_app

    return create_app()


@pytest.fixture(scope="session")
def client(app):
    from fastapi.testclient import TestClient

    with TestClient(app) as c:
        yield c


@pytest.fixture(scope="session")
def server_url():
    import uvicorn

    from genlab.web.app import create_app
    from genlab.web.server import address, bind_socket, uvicorn_config

    sock = bind_socket("127.0.0.1", 0)
    url = address(sock).rstrip("/")
    server = uvicorn.Server(uvicorn_config(create_app()))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the hub did not start")
        time.sleep(0.02)
    yield url
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


@pytest.fixture(scope="session")
def browser():
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        pytest.skip(f"chromium not found at {CHROMIUM}")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def new_page(browser):
    """Factory: new_page(width=1280, height=800) -> a page in a fresh context (own storage)."""
    contexts = []

    def make(width: int = 1280, height: int = 800, **context_options):
        ctx = browser.new_context(viewport={"width": width, "height": height}, **context_options)
        contexts.append(ctx)
        pg = ctx.new_page()
        pg.set_default_timeout(15_000)
        pg.console_errors = []
        pg.on("console", lambda m: m.type == "error" and pg.console_errors.append(
            f"console: {m.text} @ {m.location.get('url', '')}:{m.location.get('lineNumber', '')}"))
        pg.on("pageerror", lambda e: pg.console_errors.append(f"pageerror: {e}"))
        pg.failed_requests = []  # separate: a reload may abort a pending fetch on purpose
        pg.on("requestfailed", lambda r: pg.failed_requests.append(f"{r.url} {r.failure}"))
        return pg

    yield make
    for ctx in contexts:
        ctx.close()


@pytest.fixture
def page(new_page):
    return new_page()


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory) -> Path:
    env = os.environ.get("GENLAB_SCREENSHOTS")
    path = Path(env) if env else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path
