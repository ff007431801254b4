"""The hub's routes through Starlette's TestClient: page, headers, static files, traversal."""

from __future__ import annotations

import http.client
from urllib.parse import urlsplit

import pytest


def test_index_is_the_lesson(client):
    r = client.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "<title>Generative Models: VAE &amp; GAN" in r.text


def test_security_headers_on_every_kind_of_response(client):
    for path in ("/", "/static/hub.js", "/api/quiz", "/no-such-page"):
        r = client.get(path)
        csp = r.headers.get("content-security-policy", "")
        assert "default-src 'self'" in csp and "script-src 'self'" in csp, path
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert r.headers.get("x-content-type-options") == "nosniff", path


def test_csp_allows_only_self(client):
    csp = client.get("/").headers["content-security-policy"]
    for directive in csp.split(";"):
        name, *sources = directive.split()
        assert sources and set(sources) <= {"'self'", "'none'"}, directive


def test_static_files_have_their_types(client):
    assert client.get("/static/hub.js").headers["content-type"].startswith(
        ("text/javascript", "application/javascript"))
    assert client.get("/static/hub.css").headers["content-type"].startswith("text/css")
    assert client.get("/favicon.ico").status_code == 200


def test_health(client):
    assert client.get("/api/health").json() == {"status": "ok"}


def _raw_get(server_url: str, raw_path: str) -> tuple[int, bytes]:
    """GET with the path sent byte for byte (no client-side normalization of '..')."""
    parts = urlsplit(server_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.putrequest("GET", raw_path, skip_accept_encoding=True)
        conn.endheaders()
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


TRAVERSALS = [
    "/static/../../etc/passwd",
    "/static/../../../../../../etc/passwd",
    "/static/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/static/%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/static/..%2f..%2f..%2f..%2fetc%2fpasswd",
    "/static/%252e%252e/%252e%252e/etc/passwd",
    "/static/..\\..\\..\\etc\\passwd",
    "/static//etc/passwd",
    "/static/../app.py",
    "/static/%2e%2e/app.py",
    "/static/%2e%2e%2fapp.py",
    "/static/sims/../../app.py",
]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_no_request_reads_outside_static(server_url, path):
    status, body = _raw_get(server_url, path)
    assert b"root:" not in body
    assert b"def create_app" not in body  # genlab/web/app.py, one level above static/
    assert status in (400, 404, 405), (path, status)


def test_static_serves_inside_files(server_url):
    status, body = _raw_get(server_url, "/static/hub.css")
    assert status == 200 and b"--ink" in body


def test_websockets_from_another_site_are_refused():
    from starlette.applications import Starlette
    from starlette.routing import WebSocketRoute
    from starlette.testclient import TestClient
    from starlette.websockets import WebSocketDisconnect

    from genlab.web.app import SameOriginWebSockets

    async def echo(websocket):
        await websocket.accept()
        await websocket.send_text("hello")
        await websocket.close()

    app = SameOriginWebSockets(Starlette(routes=[WebSocketRoute("/ws", echo)]))
    client = TestClient(app)  # its WebSockets go to host "testserver"
    with client.websocket_connect("/ws", headers={"origin": "http://testserver"}) as ws:
        assert ws.receive_text() == "hello"
    with client.websocket_connect("/ws") as ws:  # no Origin: not a browser
        assert ws.receive_text() == "hello"
    for origin in ("http://evil.example", "http://testserver.evil.example", "null"):
        with pytest.raises(WebSocketDisconnect) as refused:
            with client.websocket_connect("/ws", headers={"origin": origin}) as ws:
                ws.receive_text()
        assert refused.value.code == 1008


def test_a_loopback_hub_answers_only_to_loopback_names():
    from fastapi.testclient import TestClient

    from genlab.web.app import create_app
    from genlab.web.server import LOOPBACK_NAMES, is_loopback

    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("example.org")
    app = create_app(allowed_hosts=LOOPBACK_NAMES)
    with TestClient(app, base_url="http://127.0.0.1:8000") as local:
        assert local.get("/api/health").status_code == 200
    with TestClient(app, base_url="http://localhost:8000") as local:
        assert local.get("/api/health").status_code == 200
    with TestClient(app, base_url="http://rebound.example:8000") as rebound:
        refused = rebound.get("/api/health")
        assert refused.status_code == 400
        assert refused.headers["x-content-type-options"] == "nosniff"
