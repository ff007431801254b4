"""The hub's routes. No ML code here: the page comes from `lesson`, the diagrams from
`diagrams`, the live simulations from `genlab.web.simulations` (mounted when importable).

Routes
  GET /                  the lesson page (HTML, formulas as MathML, code read from the source)
  GET /api/architecture  ?sim=gan2d|vae|dcgan&<config>: layers of the real model (diagrams.py)
  GET /api/architecture/settings  the settings each diagram accepts, with their bounds
  GET /api/quiz          the knowledge-check questions, answers and explanations;
                         ?learner=ID: the options in that learner's shuffled order
  GET /api/health        {"status": "ok"}
  /static/...            files under genlab/web/static only (StaticFiles refuses anything else)
  /ws/sim/..., /api/sim/...  the live simulations' router
  /runs, /api/runs       trained runs (genlab serve --run/--runs; genlab.web.runs_browser):
                         their listing; each opens in its lab (the simulations' config "run");
                         without runs, /api/runs lists none and /runs is not served
"""

from __future__ import annotations

import asyncio
import importlib
import threading
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.middleware.trustedhost import TrustedHostMiddleware

from genlab.errors import GenlabError
from genlab.web.origin import same_origin

STATIC_DIR = Path(__file__).resolve().parent / "static"

# Only our own origin: no inline script, no CDN, no plugin, no framing.
CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


class SecurityHeaders:
    """Pure ASGI middleware: adds SECURITY_HEADERS to every HTTP response (streams untouched)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in SECURITY_HEADERS if k not in names]
                message = {**message, "headers": list(message.get("headers", [])) + extra}
            await send(message)

        return await self.app(scope, receive, send_with_headers)


class SameOriginWebSockets:
    """Pure ASGI middleware: refuse a WebSocket handshake whose Origin is another site.

    Browsers let any page open a WebSocket to 127.0.0.1; without this check a site the learner
    visits could start simulations in their hub. Clients that send no Origin (scripts, tests)
    are let through; a browser always sends one. The check: origin.same_origin."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and not same_origin(scope):
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 1008})  # policy violation (HTTP 403)
            return None
        return await self.app(scope, receive, send)


def _simulations_router(limits: dict[str, Any], runs=None):
    """The sims' APIRouter, or None while `genlab.web.simulations` is absent.

    `create_router(runs, **limits)` is used when the module offers it, else its `router`."""
    try:
        sims = importlib.import_module("genlab.web.simulations")
    except ModuleNotFoundError as e:
        if e.name in ("genlab.web.simulations",):
            return None
        raise
    if hasattr(sims, "create_router"):
        return sims.create_router(runs=runs, **limits)
    return getattr(sims, "router", None)


def create_app(allowed_hosts: list[str] | None = None, runs: dict[str, Any] | None = None,
               **limits: Any) -> FastAPI:
    """Build the hub. `limits` (e.g. max_sessions) are passed on to the simulations.

    `allowed_hosts`: Host names the hub answers to (others get 400); `serve` on a loopback
    address passes 127.0.0.1/localhost, which stops DNS-rebinding pages from using it."""
    from genlab.web import diagrams, lesson
    from genlab.web.content import quiz

    built: list[str] = []
    build_lock = threading.Lock()

    def page() -> str:
        """Built once per process (the code shown is the code that runs); the first build
        imports the modules the formulas name, so it starts in the background at startup."""
        with build_lock:
            if not built:
                built.append(lesson.build_page())
        return built[0]

    @asynccontextmanager
    async def lifespan(_app):
        threading.Thread(target=page, name="genlab-page-build", daemon=True).start()
        yield
        manager = getattr(router, "manager", None)
        if manager is not None:  # every simulation's worker ends with the server
            await asyncio.to_thread(manager.close_all)

    app = FastAPI(title="genlab hub", docs_url=None, redoc_url=None, openapi_url=None,
                  lifespan=lifespan)
    app.state.limits = dict(limits)

    @app.api_route("/", methods=["GET", "HEAD"], response_class=HTMLResponse)
    def index(request: Request) -> HTMLResponse:
        if request.method == "HEAD":  # the headers GET would send, no body
            return HTMLResponse(None, headers={"cache-control": "no-cache"})
        return HTMLResponse(page(), headers={"cache-control": "no-cache"})

    @app.get("/api/architecture")
    def architecture(request: Request, sim: str = "vae") -> JSONResponse:
        params = {k: v for k, v in request.query_params.items() if k != "sim"}
        try:
            return JSONResponse(diagrams.describe(sim, params))
        except GenlabError as e:
            return JSONResponse({"detail": str(e)}, status_code=422)

    @app.get("/api/architecture/settings")
    def architecture_settings() -> dict:
        return diagrams.settings_schema()

    @app.get("/api/quiz")
    def quiz_data(learner: str = Query("", max_length=32, pattern=r"^[A-Za-z0-9_-]*$")) -> dict:
        return {"concepts": list(quiz.CONCEPTS), "learner": learner,
                "questions": quiz.served(learner)}

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> FileResponse:
        return FileResponse(STATIC_DIR / "favicon.svg", media_type="image/svg+xml")

    @app.get("/api/health")
    def health() -> dict:
        return {"status": "ok"}

    runs_router = None
    app.state.runs = None
    if runs:  # `genlab serve --run/--runs`: trained runs in their labs, read-only
        from genlab.web import runs_browser

        runs_router = runs_browser.create_router(**runs)
        app.include_router(runs_router)
        app.state.runs = runs_router.runs  # the one list: the labs open runs by its ids
    else:  # the labs ask for the list; without --run/--runs it is empty (no 404 in the console)
        @app.get("/api/runs")
        def no_runs() -> dict:
            return {"runs": [], "truncated": False, "max_runs": 0}
    router = _simulations_router(app.state.limits, app.state.runs)
    if router is not None:
        app.include_router(router)
    app.state.simulations = router is not None

    app.mount("/static", StaticFiles(directory=STATIC_DIR, follow_symlink=False), name="static")
    # the last added runs first: security headers wrap every answer, refusals included
    if allowed_hosts:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts))
    app.add_middleware(SameOriginWebSockets)
    app.add_middleware(SecurityHeaders)
    return app
