"""Regularizers and discriminator add-ons against mode collapse.

- Gradient penalty — Gulrajani et al. 2017, "Improved Training of Wasserstein GANs",
  https://arxiv.org/abs/1704.00028, Algorithm 1 (ε line 4, x̂ line 6, penalty term line 7):
      ε ~ U[0, 1],  x̂ = ε x + (1 − ε) x̃,   penalty = (‖∇_x̂ D(x̂)‖₂ − 1)²
  (the trainer multiplies by λ and adds it to the critic loss E[D(x̃)] − E[D(x)]).
- Spectral normalization — Miyato et al. 2018, "Spectral Normalization for Generative
  Adversarial Networks", https://arxiv.org/abs/1802.05957:  W_SN = W / σ(W), σ by power iteration.
- Minibatch discrimination — Salimans et al. 2016, "Improved Techniques for Training GANs",
  https://arxiv.org/abs/1606.03498, Sec. 3.2:
      M_i = f(x_i) T ∈ R^{B×C},  c_b(x_i, x_j) = exp(−‖M_{i,b} − M_{j,b}‖_L1),
      o(x_i)_b = Σ_j c_b(x_i, x_j),  output [f(x_i), o(x_i)].
- Minibatch standard deviation — Karras et al. 2018, "Progressive Growing of GANs",
  https://arxiv.org/abs/1710.10196, Sec. 3.
- Packing — Lin et al. 2018, "PacGAN: The power of two samples in generative adversarial
  networks", https://arxiv.org/abs/1712.04086: D sees `pack` samples concatenated.
- Generator EMA (Yazıcı et al. 2019, https://arxiv.org/abs/1806.04498):
  torch.optim.swa_utils.AveragedModel with its EMA update (W_ema ← lerp(W_ema, W, 1 − decay)),
  the parameter lists walked once instead of every step.
"""

from __future__ import annotations

import contextlib
import contextvars

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from genlab.errors import GenlabError
from genlab.kernels import minibatch_l1


def pack(x: torch.Tensor, pack: int) -> torch.Tensor:
    """Concatenate each group of `pack` consecutive samples along dim 1 (PacGAN).

    (B, F) -> (B // pack, pack * F);  (B, C, H, W) -> (B // pack, pack * C, H, W).
    Group g holds samples g*pack ... g*pack + pack - 1, in order.
    """
    if pack == 1:
        return x
    batch = x.shape[0]
    if batch % pack:
        raise GenlabError(f"batch of {batch} samples cannot be packed in groups of {pack}")
    return x.reshape(batch // pack, pack * x.shape[1], *x.shape[2:])  # (B/pack, pack*C, ...)


def gradient_penalty(discriminator: nn.Module, x_real: torch.Tensor, x_fake: torch.Tensor,
                     y: torch.Tensor | None = None, pack: int = 1,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """WGAN-GP penalty E[(‖∇_x̂ D(x̂)‖₂ − 1)²] (Gulrajani et al. 2017, Algorithm 1, l. 4-7).

    `discriminator(x, y)` maps (B, ...) to (B // pack,) critic values; with packing the
    critic's input is a packed group, so one ε is drawn per group and the norm is taken over
    the whole group (all its samples and all non-batch dims). The graph is kept
    (create_graph=True) so the penalty trains the critic. Returns a scalar, not yet × λ.
    """
    if x_real.shape != x_fake.shape:
        raise GenlabError(f"real and fake batches differ in shape: "
                          f"{tuple(x_real.shape)} vs {tuple(x_fake.shape)}")
    batch = x_real.shape[0]
    if batch % pack:
        raise GenlabError(f"batch of {batch} samples cannot be packed in groups of {pack}")
    groups = batch // pack
    # ε ~ U[0, 1], one per critic input                                          (line 4)
    # DEVIATION (PacGAN + WGAN-GP, not in either paper): with packing the critic's input is a
    # group, so one ε per group keeps x̂ on the line between a real and a fake critic input.
    eps = torch.rand(groups, 1, device=x_real.device, dtype=x_real.dtype, generator=generator)
    eps = eps.repeat_interleave(pack, dim=0)  # (B, 1)
    eps = eps.reshape(batch, *([1] * (x_real.dim() - 1)))  # (B, 1, ...)
    # x̂ = ε x + (1 − ε) x̃                                                       (line 6)
    x_hat = (eps * x_real.detach() + (1 - eps) * x_fake.detach()).requires_grad_(True)
    with _twice_differentiable():  # the penalty's backward differentiates D's gradient
        d_hat = discriminator(x_hat, y) if y is not None else discriminator(x_hat)
    (grad,) = torch.autograd.grad(d_hat.sum(), x_hat, create_graph=True)
    grad = grad.reshape(groups, -1)  # (B/pack, pack * prod(data_shape))
    # (‖∇_x̂ D(x̂)‖₂ − 1)², averaged over the m critic inputs                     (lines 7, 9)
    return ((grad.norm(2, dim=1) - 1.0) ** 2).mean()


def apply_spectral_norm(module: nn.Module, n_power_iterations: int = 1) -> nn.Module:
    """Spectral-normalize the weight of every Linear / Conv layer inside `module` (in place).

    W_SN = W / σ(W) (Miyato et al. 2018, Eq. 8), σ estimated by one power iteration per
    training forward pass (Algorithm 1), through torch.nn.utils.parametrizations.spectral_norm.
    """
    layers = [m for m in module.modules()
              if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d))]
    for layer in layers:
        torch.nn.utils.parametrizations.spectral_norm(layer, n_power_iterations=n_power_iterations)
    return module


_TWICE = contextvars.ContextVar("genlab_twice_differentiable", default=False)


@contextlib.contextmanager
def _twice_differentiable():
    """Inside: layers avoid ops without a second derivative (the gradient penalty needs one)."""
    token = _TWICE.set(True)
    try:
        yield
    finally:
        _TWICE.reset(token)


def minibatch_similarity_eager(m: torch.Tensor) -> torch.Tensor:
    """o_{i,b} = Σ_{j≠i} exp(−‖M_{i,b} − M_{j,b}‖_L1) for M (N, B, C) -> (N, B), in PyTorch ops:
    the layer's code on devices other than the CPU, under torch.compile, in the gradient
    penalty, and wherever the compiled kernel is unavailable (genlab.kernels.minibatch_l1)."""
    # ‖M_i,b − M_j,b‖_L1 for every kernel b as one batched cdist over the B kernels:
    # (B, N, N) memory, not the (N, N, B, C) difference tensor of the direct formula
    # (tests pin it to the direct one).
    m_b = m.transpose(0, 1).contiguous()  # (B, N, C)
    if _TWICE.get():  # cdist's backward has no derivative (PyTorch): the same L1 by hand
        l1 = (m_b[:, :, None, :] - m_b[:, None, :, :]).abs().sum(3)  # (B, N, N)
    else:
        l1 = torch.cdist(m_b, m_b, p=1.0)  # ‖M_i,b − M_j,b‖_L1: (B, N, N)
    c = torch.exp(-l1)  # c_b(x_i, x_j): (B, N, N)
    # DEVIATION: the paper's Σ_j includes j = i; we subtract that constant term exp(0) = 1
    return c.sum(2).transpose(0, 1) - 1.0  # o(x_i)_b = Σ_{j≠i} c_b(x_i, x_j): (N, B)


class MinibatchDiscrimination(nn.Module):
    """Minibatch features of Salimans et al. 2016, Sec. 3.2: (N, A) -> (N, A + num_kernels).

    T ∈ R^{A×B×C} (B = num_kernels, C = kernel_dim); M_i = f(x_i) T;
    c_b(x_i, x_j) = exp(−‖M_{i,b} − M_{j,b}‖_L1); o(x_i)_b = Σ_{j≠i} c_b(x_i, x_j).
    The paper's sum runs over all j, including j = i whose term is exp(0) = 1; we subtract
    that constant self term (it carries no information about the other samples), which is
    also what the authors' code does (it adds 1e6 to the diagonal distances before exp).
    T is a plain parameter initialized N(0, 0.05²) (the authors' code draws its θ so, then
    weight-normalizes it; we do not).
    """

    def __init__(self, in_features: int, num_kernels: int = 50, kernel_dim: int = 5):
        super().__init__()
        self.in_features, self.num_kernels, self.kernel_dim = in_features, num_kernels, kernel_dim
        self.T = nn.Parameter(torch.randn(in_features, num_kernels * kernel_dim) * 0.05)

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        m = (f @ self.T).reshape(-1, self.num_kernels, self.kernel_dim)  # M: (N, B, C)
        if not _TWICE.get() and minibatch_l1.usable(m):
            # the same o by a fused CPU kernel (genlab.kernels.minibatch_l1, compiled on first
            # use): each pair once, the differences never stored, ~7x faster
            o = minibatch_l1.similarity(m)  # (N, B)
        else:
            o = minibatch_similarity_eager(m)
        return torch.cat([f, o], dim=1)  # (N, A + B)

    def extra_repr(self) -> str:
        return f"{self.in_features}, num_kernels={self.num_kernels}, kernel_dim={self.kernel_dim}"


class MinibatchStdDev(nn.Module):
    """Minibatch standard deviation (Karras et al. 2018, Sec. 3): one extra feature.

    The std of every feature (and position) over the minibatch, averaged into one number,
    replicated and concatenated: (N, C, H, W) -> (N, C + 1, H, W), or (N, F) -> (N, F + 1).
    The statistic is over the whole minibatch, as the paper describes (the authors' code
    later used groups of 4); std = sqrt(population variance + eps).
    """

    def __init__(self, eps: float = 1e-8):
        super().__init__()
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        var = x.var(dim=0, unbiased=False)  # (C, H, W): variance over the minibatch
        std = torch.sqrt(var + self.eps).mean()  # scalar: averaged over features and positions
        extra = std.expand(x.shape[0], 1, *x.shape[2:])  # (N, 1, H, W) or (N, 1)
        return torch.cat([x, extra], dim=1)  # (N, C + 1, ...)


class GeneratorEMA(AveragedModel):
    """AveragedModel(generator, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=False)
    with the same update, state_dict and checkpoint keys, minus its per-step Python work.

    torch's update_parameters walks both modules, detaches and regroups every tensor by
    device and dtype, and reads n_averaged twice (two device syncs on a GPU) on every call:
    ~56 µs of a ~2.2 ms grid25 step on one CPU thread. Here the (EMA, live) parameter pairs are
    listed once per source module and updated by the one `torch._foreach_lerp_` torch's EMA
    function calls, so the weights are bit-identical (tests/test_regularizers.py)."""

    def __init__(self, generator: nn.Module, decay: float):
        super().__init__(generator, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=False)
        self.decay = decay
        self._pairs: tuple | None = None  # (source module, EMA params, live params)
        self._started: bool | None = None  # n_averaged > 0; None: read it (after a load)

    @torch.no_grad()
    def update_parameters(self, model: nn.Module) -> None:
        if self._pairs is None or self._pairs[0] is not model:
            ema_params, live_params = list(self.module.parameters()), list(model.parameters())
            uniform = (len(ema_params) == len(live_params) and len({
                (p.device, p.dtype) for p in ema_params + live_params}) == 1
                and all(p.is_floating_point() for p in ema_params))
            if not uniform:  # mixed devices or dtypes: torch's own grouping
                super().update_parameters(model)
                return
            # Parameter objects, not detached views: a later module.to() swaps their .data
            self._pairs = (model, ema_params, live_params)
        _, ema_params, live_params = self._pairs
        if self._started is None:
            self._started = bool(self.n_averaged > 0)
        if self._started:
            torch._foreach_lerp_(ema_params, live_params, 1 - self.decay)  # the EMA step
        else:  # the first update copies
            torch._foreach_copy_(ema_params, live_params)
            self._started = True
        # use_buffers=False: buffers follow the live model (walked each time: module.to()
        # replaces buffer tensors themselves, not their .data)
        for b_ema, b_live in zip(self.module.buffers(), model.buffers(), strict=True):
            b_ema.copy_(b_live)
        self.n_averaged += 1

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        self._started, self._pairs = None, None  # n_averaged (and with assign, tensors) changed
        return super().load_state_dict(state_dict, strict=strict, assign=assign)


def make_ema(generator: nn.Module, decay: float) -> GeneratorEMA:
    """An exponential moving average of `generator`'s parameters.

    W_ema ← decay · W_ema + (1 − decay) · W after each `ema.update_parameters(generator)`;
    the first update copies. Buffers (batch-norm statistics) are copied from the live model
    (use_buffers=False). Sample with `ema.module(z, y)` (or `ema(z, y)`).
    """
    if not 0.0 <= decay < 1.0:
        raise GenlabError(f"ema decay must be in [0, 1), got {decay}")
    return GeneratorEMA(generator, decay)
