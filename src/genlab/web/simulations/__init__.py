"""Live simulations of the lesson hub: real PyTorch training in a worker process per learner,
streamed to the page as binary frames over a WebSocket.

- `create_router(**limits)` / `router`: the FastAPI routes (routes.py), mounted by the app.
- `SimLimits`: bounds on sessions, idle time, steps per second, sizes (schemas.py).
- Simulations: gan2d.py (2D GAN playground), vae.py (VAE lab), dcgan.py (DCGAN lab),
  beyond.py (anomaly detection and conditional generation).
- frames.py: the binary frame layout; static/sims/ holds the page side.

The web layer holds no ML code: models, losses, data and metrics come from the library.
"""

from genlab.web.simulations.routes import PRESETS, create_router
from genlab.web.simulations.schemas import SimLimits

__all__ = ["PRESETS", "SimLimits", "create_router", "router"]


def __getattr__(name: str):
    if name == "router":  # a default router, built on first use
        global router
        router = create_router()
        return router
    raise AttributeError(name)
