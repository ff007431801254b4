"""Regularizers pinned against hand-written references: WGAN-GP on critics with known
gradients, spectral norm vs torch.linalg, minibatch discrimination by hand, packing, EMA."""

import pytest
import torch
from torch import nn

from genlab import regularizers
from genlab.errors import GenlabError

torch.set_num_threads(1)


class LinearCritic(nn.Module):
    """D(x) = w · flatten(x): ∇D = w everywhere, so the penalty is exactly (‖w‖ − 1)²."""

    def __init__(self, w):
        super().__init__()
        self.w = nn.Parameter(w)

    def forward(self, x, y=None):
        return x.flatten(1) @ self.w


def test_gradient_penalty_linear_critic_is_exact():
    w = torch.tensor([3.0, 4.0, 0.0, 12.0])  # ‖w‖ = 13
    critic = LinearCritic(w.clone())
    x_real, x_fake = torch.randn(16, 4), torch.randn(16, 4)
    gp = regularizers.gradient_penalty(critic, x_real, x_fake)
    assert gp.shape == ()
    assert gp.item() == pytest.approx((13.0 - 1.0) ** 2)
    gp.backward()  # create_graph=True: the penalty trains the critic, ∂/∂w = 2(‖w‖−1) w/‖w‖
    torch.testing.assert_close(critic.w.grad, 2 * (13.0 - 1.0) * w / 13.0)
