"""Mode coverage on 2D Gaussian mixtures: the PacGAN / VEEGAN protocol.

Lin, Khetan, Fanti, Oh, "PacGAN: The power of two samples in generative adversarial
networks", NeurIPS 2018, https://arxiv.org/abs/1712.04086 (Sec. 5, Table 1);
Srivastava, Valkov, Russell, Gutmann, Sutton, "VEEGAN: Reducing Mode Collapse in GANs using
Implicit Variational Learning", NeurIPS 2017, https://arxiv.org/abs/1705.07761 (Sec. 5.1).

For generated samples x_i (N, 2), mode centres m_j (M, 2) and the mode std σ:

    j*(i)    = argmin_j ‖x_i − m_j‖ / σ_j                   nearest mode
    hq(i)    = ‖x_i − m_j*‖ / σ_j* < 3                       "high-quality" sample
    c_j      = #{i : hq(i) and j*(i) = j}                    mode histogram (counts)
    covered  = #{j : c_j ≥ 1}                                a mode is recovered when at
                                                             least one high-quality sample
                                                             is assigned to it (PacGAN)
    hq_frac  = Σ_j c_j / N                                   over *all* N samples
    p_j      = c_j / Σ_k c_k
    KL(p ‖ U) = Σ_j p_j log(p_j · M)                         reverse KL against uniform,
                                                             0·log 0 = 0 for empty bins

These follow the authors' released code (github.com/fjxmlzn/PacGAN,
synthetic_data_experiments/PacGAN/pacgan/extensions.py, `MetricLogger`): distance to each
mean scaled by the mode std, the nearest mode taken, a sample counted when that scaled
distance is `< 3` (strict); `mode coverage` = number of non-zero histogram bins (no minimum
count); `good points percentage` = high-quality count / all samples. The histogram is built
from high-quality samples only. The released code logs a JS divergence of that histogram
against uniform; the paper's Table 1 reports the reverse KL, which is the quantity computed
here. Empty bins contribute 0 (the uniform reference is never 0, so KL(p‖U) is always
finite). When *no* sample is high quality the histogram is undefined and `reverse_kl` is NaN.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch

from genlab.data.toy2d import grid25_modes, ring8_modes
from genlab.errors import GenlabError, unknown_name

__all__ = ["ModeReport", "ModeProtocol", "mode_coverage", "mode_protocol", "PROTOCOLS"]

HIGH_QUALITY_STDS = 3.0  # PacGAN/VEEGAN: "within three standard deviations"


@dataclass
class ModeReport:
    """Result of `mode_coverage`; `to_dict()` gives plain JSON-able values."""

    modes_covered: int  # number of modes with >= 1 high-quality sample
    num_modes: int
    high_quality_fraction: float  # high-quality samples / all samples, in [0, 1]
    reverse_kl: float  # KL(p_hist || uniform) in nats; NaN when no high-quality sample
    counts: list[int]  # (M,) high-quality samples assigned to each mode
    num_samples: int

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class ModeProtocol:
    """Mode centres (M, 2) float32, the mode std, and the sample count of the protocol."""

    name: str
    modes: torch.Tensor
    std: float
    num_samples: int = 2500  # PacGAN Sec. 5: 2,500 generated samples are evaluated


# The mode geometry is defined once, by the data sets the models train on.
PROTOCOLS = {
    "ring8": (ring8_modes, 0.01),  # 8 modes on the unit circle, std 0.01
    "grid25": (grid25_modes, 0.05),  # {-4,-2,0,2,4}^2, std 0.05
}


def mode_protocol(name: str) -> ModeProtocol:
    """Modes and std of the PacGAN benchmark `name` ("ring8" or "grid25")."""
    if name not in PROTOCOLS:
        raise unknown_name("mode protocol", name, PROTOCOLS)
    build, std = PROTOCOLS[name]
    return ModeProtocol(name=name, modes=build(), std=std)


def _as_tensor(value, what: str) -> torch.Tensor:
    if isinstance(value, np.ndarray):
        value = torch.from_numpy(value)
    if not isinstance(value, torch.Tensor):
        value = torch.as_tensor(value)
    value = value.detach().to("cpu", torch.float64)
    if value.ndim != 2 or value.shape[1] != 2:
        raise GenlabError(f"{what} must have shape (N, 2), got {tuple(value.shape)}")
    return value


def mode_coverage(samples, modes, std, threshold: float = HIGH_QUALITY_STDS) -> ModeReport:
    """PacGAN/VEEGAN mode statistics of `samples` (N, 2) against `modes` (M, 2).

    `samples` and `modes` are in data coordinates (tensor, array or nested list); `std` is the
    mode std, a float or one value per mode (M,). A sample is high quality when its distance
    to the nearest mode, in units of that mode's std, is below `threshold` (3).
    """
    x = _as_tensor(samples, "samples")  # (N, 2)
    m = _as_tensor(modes, "modes")  # (M, 2)
    num_modes = m.shape[0]
    if num_modes == 0:
        raise GenlabError("modes must not be empty")
    sigma = torch.as_tensor(std, dtype=torch.float64).reshape(-1)
    if sigma.numel() not in (1, num_modes) or bool((sigma <= 0).any()):
        raise GenlabError(f"std must be a positive number or {num_modes} positive numbers")
    sigma = sigma.expand(num_modes)  # (M,)
    n = x.shape[0]
    if n == 0:
        raise GenlabError("samples must not be empty")

    # scaled distance of every sample to every mode, in stds
    scaled = torch.cdist(x, m) / sigma  # (N, M)
    nearest_dist, nearest = scaled.min(dim=1)  # (N,), (N,)
    high_quality = nearest_dist < threshold  # (N,) strict, as in the released code
    counts = torch.bincount(nearest[high_quality], minlength=num_modes)  # (M,)

    total = int(counts.sum())
    if total > 0:
        p = counts.double() / total  # (M,) histogram of high-quality samples
        nonzero = p > 0  # empty bins: 0 · log 0 = 0
        reverse_kl = float((p[nonzero] * torch.log(p[nonzero] * num_modes)).sum())
        reverse_kl = max(reverse_kl, 0.0)  # clamp float round-off below 0
    else:
        reverse_kl = float("nan")

    return ModeReport(
        modes_covered=int((counts > 0).sum()),
        num_modes=num_modes,
        high_quality_fraction=total / n,
        reverse_kl=reverse_kl,
        counts=[int(c) for c in counts],
        num_samples=n,
    )
