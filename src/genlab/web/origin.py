"""Same-origin check for WebSocket handshakes, one function for the app's middleware and the
simulations' route.

Browsers let any page open a WebSocket to 127.0.0.1 and always send its Origin; the hub
answers only its own pages. Same origin (RFC 6454 §5): same scheme, host and port. A
WebSocket's scheme maps to its page's (ws → http, wss → https); a missing port is the
scheme's default. Clients that send no Origin (scripts, tests) are not browsers and pass.
"""

from __future__ import annotations

from urllib.parse import urlsplit

PAGE_SCHEME = {"ws": "http", "wss": "https", "http": "http", "https": "https"}
DEFAULT_PORT = {"http": 80, "https": 443}


def same_origin(scope) -> bool:
    """Whether the ASGI `scope`'s Origin header (if any) names this server."""
    headers = {k.lower(): v for k, v in scope.get("headers", [])}
    origin = headers.get(b"origin")
    if origin is None:
        return True
    scheme = PAGE_SCHEME.get(scope.get("scheme", "ws"))
    try:
        page = urlsplit(origin.decode("latin-1").strip())
        here = urlsplit("//" + headers.get(b"host", b"").decode("latin-1").strip())
        page_port, here_port = page.port, here.port  # ValueError: not a port
    except ValueError:
        return False
    if scheme is None or page.scheme.lower() != scheme:
        return False
    if not page.hostname or page.hostname != here.hostname:  # both lower-cased by urlsplit
        return False
    default = DEFAULT_PORT[scheme]
    return (page_port or default) == (here_port or default)
