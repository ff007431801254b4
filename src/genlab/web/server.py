"""`genlab serve`: run the lesson hub with uvicorn on 127.0.0.1 (by default) and print its address."""

from __future__ import annotations

import ipaddress
import socket
import sys
import webbrowser

from genlab.errors import GenlabError


def ws_impl() -> str:
    """uvicorn's sans-I/O websockets protocol where this uvicorn has it (the legacy one is
    deprecated and warns on every start), else uvicorn's own choice."""
    from uvicorn.config import WS_PROTOCOLS

    return "websockets-sansio" if "websockets-sansio" in WS_PROTOCOLS else "auto"


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


def serve(host: str = "127.0.0.1", port: int = 8000, open_browser: bool = False, **limits) -> None:
    """Serve the hub until Ctrl-C. `limits` go to the live simulations (see `create_app`)."""
    import uvicorn

    from genlab.web.app import create_app

    sock = bind_socket(host, port)
    url = address(sock)
    # on a loopback address, answer only to loopback names (a DNS-rebinding page cannot)
    app = create_app(allowed_hosts=LOOPBACK_NAMES if is_loopback(host) else None, **limits)
    config = uvicorn.Config(app, log_level="warning", access_log=False, ws=ws_impl())
    server = uvicorn.Server(config)
    print(f"genlab hub: {url}  (Ctrl-C to stop)", flush=True)
    if host in ("0.0.0.0", "::"):
        print("warning: listening on every interface; the hub has no login", file=sys.stderr)
    if open_browser:
        webbrowser.open(url)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
