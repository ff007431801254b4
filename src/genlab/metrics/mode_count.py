"""Mode counting for image generators through a classifier (the stacked-MNIST protocol).

Metz, Poole, Pfau, Sohl-Dickstein, "Unrolled Generative Adversarial Networks", ICLR 2017,
https://arxiv.org/abs/1611.02163 (Sec. 3.3.2, Table 2): a pretrained classifier labels each
generated sample; on stacked MNIST the three digits of the colour channels make
1000 = 10³ modes. Reported: the number of modes found and

    KL(p_model ‖ p_data) = Σ_c p_model(c) log(p_model(c) / p_data(c))

over class histograms. As in the PacGAN/VEEGAN code (github.com/fjxmlzn/PacGAN,
stacked_MNIST_experiments/*/model.py `log_metrics`), a mode counts as found when at least one
sample falls in it (`min_count=1`; raise it to ignore stray samples), the data histogram of
stacked MNIST is taken as uniform over the 1000 modes, and empty model bins contribute 0.
A class the model produces but the data never has makes the KL infinite.
"""

from __future__ import annotations

import numpy as np
import torch

from genlab.errors import GenlabError

__all__ = ["count_modes", "stack_digits"]


def _as_int_tensor(value, what: str) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(value) if not isinstance(value, torch.Tensor) else value)
    t = t.detach().cpu().reshape(-1)
    if t.is_floating_point() or t.dtype == torch.bool:
        raise GenlabError(f"{what} must be integer class indices")
    return t.long()


def stack_digits(digits) -> torch.Tensor:
    """Stacked-MNIST mode index of digit triples (N, 3): 100·d0 + 10·d1 + d2 in [0, 1000)."""
    d = torch.as_tensor(np.asarray(digits) if not isinstance(digits, torch.Tensor) else digits)
    if d.ndim != 2 or d.shape[1] != 3:
        raise GenlabError(f"digits must have shape (N, 3), got {tuple(d.shape)}")
    d = d.long()
    return d[:, 0] * 100 + d[:, 1] * 10 + d[:, 2]


def count_modes(predicted, num_classes: int, data_histogram=None, min_count: int = 1) -> dict:
    """Modes found and KL(sample class histogram ‖ data class histogram).

    predicted: (N,) class indices from the evaluation classifier. data_histogram: (C,) counts
    or probabilities of the data's classes (None: uniform). Returns {"modes_found",
    "num_classes", "kl", "counts"}.
    """
    pred = _as_int_tensor(predicted, "predicted")
    if pred.numel() == 0:
        raise GenlabError("predicted must not be empty")
    if int(pred.min()) < 0 or int(pred.max()) >= num_classes:
        raise GenlabError(f"predicted classes must be in [0, {num_classes - 1}]")
    counts = torch.bincount(pred, minlength=num_classes)  # (C,)
    p_model = counts.double() / counts.sum()
    if data_histogram is None:
        p_data = torch.full((num_classes,), 1.0 / num_classes, dtype=torch.float64)
    else:
        p_data = torch.as_tensor(np.asarray(data_histogram, dtype=np.float64)).reshape(-1)
        if p_data.numel() != num_classes or bool((p_data < 0).any()) or float(p_data.sum()) <= 0:
            raise GenlabError(f"data_histogram must hold {num_classes} non-negative values")
        p_data = p_data / p_data.sum()
    nonzero = p_model > 0  # 0 · log 0 = 0
    if bool((p_data[nonzero] == 0).any()):
        kl = float("inf")
    else:
        kl = float((p_model[nonzero] * torch.log(p_model[nonzero] / p_data[nonzero])).sum())
        kl = max(kl, 0.0)
    return {
        "modes_found": int((counts >= min_count).sum()),
        "num_classes": num_classes,
        "kl": kl,
        "counts": [int(c) for c in counts],
    }
