"""The lesson hub: `genlab serve` starts it (see `genlab.web.server.serve`).

`create_app()` builds the FastAPI application: the lesson page, the architecture endpoint,
the static files and, when present, the live simulations (`genlab.web.simulations`).
Imported lazily so that `import genlab.web` costs nothing for the command line.
"""

from __future__ import annotations

__all__ = ["create_app", "serve"]


def __getattr__(name: str):
    if name == "create_app":
        from genlab.web.app import create_app

        return create_app
    if name == "serve":
        from genlab.web.server import serve

        return serve
    raise AttributeError(f"module 'genlab.web' has no attribute {name!r}")
