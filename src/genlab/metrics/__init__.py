"""Evaluation metrics: pure functions, each pinned by tests on cases with known answers.

- `toy2d`: PacGAN/VEEGAN mode coverage on 2D Gaussian mixtures.
"""

from genlab.metrics.toy2d import ModeProtocol, ModeReport, mode_coverage, mode_protocol

__all__ = ["ModeProtocol", "ModeReport", "mode_coverage", "mode_protocol"]
