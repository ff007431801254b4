"""`evaluating(*modules)`: run a block in eval mode, then put every flag back as it was."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from torch import nn


@contextmanager
def evaluating(*modules: nn.Module | None) -> Iterator[None]:
    """Eval mode for the block (batch norm uses its running statistics, dropout is off,
    spectral norm does no power iteration); afterwards each submodule's own train/eval flag
    is restored, so a model that was partly in eval mode stays so. `None`s are skipped."""
    flags = {m: m.training for module in modules if module is not None
             for m in module.modules()}
    try:
        for module in modules:
            if module is not None:
                module.eval()
        yield
    finally:
        for m, training in flags.items():
            m.training = training
