"""genlab's on-disk cache folder: $GENLAB_CACHE, else $XDG_CACHE_HOME/genlab, else ~/.cache/genlab.

Holds what is costly to make and safe to reuse: the feature networks of the sample-quality
metrics (genlab.metrics.features) and the compiled CPU kernels (genlab.kernels). Imports
nothing of genlab, so any module may use it.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """$GENLAB_CACHE, else $XDG_CACHE_HOME/genlab, else ~/.cache/genlab."""
    if os.environ.get("GENLAB_CACHE"):
        return Path(os.environ["GENLAB_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "genlab"
