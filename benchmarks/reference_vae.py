"""The reference MLP VAE: a faithful rewrite of the PyTorch examples' script `vae/main.py`
(https://github.com/pytorch/examples/blob/main/vae/main.py), written from reading it, for
side-by-side speed measurements against genlab (benchmarks/speed.py).

Reproduced as in the script (Kingma & Welling 2014, "Auto-Encoding Variational Bayes",
https://arxiv.org/abs/1312.6114; loss = BCE summed over pixels + KL of Appendix B):
- the model 784-400-20: fc1 (784->400) ReLU, fc21 / fc22 (400->20) for mu / logvar,
  z = mu + eps * exp(logvar / 2), fc3 (20->400) ReLU, fc4 (400->784) Sigmoid;
- loss_function = F.binary_cross_entropy(recon, x, reduction='sum')
                  - 0.5 * sum(1 + logvar - mu^2 - exp(logvar));
- Adam(lr=1e-3), batch 128, DataLoader(shuffle=True) over items converted one at a time the
  way transforms.ToTensor() does (uint8 -> float in [0, 1]);
- train(): zero_grad, forward, loss, backward, `train_loss += loss.item()`, step;
  test(): the summed loss over the test set / its size (the number the script prints as
  "Test set loss", per example, in nats).

Some versions of the script add the continuous-Bernoulli normalizing constant to the loss;
the reference numbers in DESIGN.md (test loss ≈ 250 on Fashion-MNIST after 3 epochs) are for
the plain BCE + KLD version reproduced here. Not reproduced: the PNG writes after each epoch.
"""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F
from torch import nn


class ReferenceVAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 400)
        self.fc21 = nn.Linear(400, 20)
        self.fc22 = nn.Linear(400, 20)
        self.fc3 = nn.Linear(20, 400)
        self.fc4 = nn.Linear(400, 784)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5 * logvar)
        eps = torch.randn_like(std)
        return mu + eps * std

    def decode(self, z):
        h3 = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h3))

    def forward(self, x):
        mu, logvar = self.encode(x.view(-1, 784))
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar


def loss_function(recon_x, x, mu, logvar):
    BCE = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction="sum")
    # see Appendix B from VAE paper: 0.5 * sum(1 + log(sigma^2) - mu^2 - sigma^2)
    KLD = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return BCE + KLD


class _ToTensor(torch.utils.data.Dataset):
    """uint8 (N, 1, 28, 28) images converted per item, as transforms.ToTensor() does."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor | None):
        self.x, self.y = x, y

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int):
        return self.x[i].float().div(255), (0 if self.y is None else self.y[i])


class ReferenceVAERun:
    """The script's model, optimizer and loaders; `train_epoch()`, `test()`, `iteration()`."""

    def __init__(self, x_train: torch.Tensor, x_test: torch.Tensor, batch_size: int = 128,
                 seed: int = 1):
        torch.manual_seed(seed)
        self.model = ReferenceVAE()
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=1e-3)
        self.train_loader = torch.utils.data.DataLoader(
            _ToTensor(x_train, None), batch_size=batch_size, shuffle=True)
        self.test_loader = torch.utils.data.DataLoader(
            _ToTensor(x_test, None), batch_size=batch_size, shuffle=True)
        self._stream = None

    def iteration(self, data: torch.Tensor) -> float:
        self.model.train()
        self.optimizer.zero_grad()
        recon_batch, mu, logvar = self.model(data)
        loss = loss_function(recon_batch, data, mu, logvar)
        loss.backward()
        value = loss.item()
        self.optimizer.step()
        return value

    def next_batch(self) -> torch.Tensor:
        """Batches the way train() reads them, endlessly (for step timings)."""
        while True:
            if self._stream is None:
                self._stream = iter(self.train_loader)
            try:
                return next(self._stream)[0]
            except StopIteration:
                self._stream = None

    def train_epoch(self) -> float:
        self.model.train()
        train_loss = 0.0
        for data, _ in self.train_loader:
            train_loss += self.iteration(data)
        return train_loss / len(self.train_loader.dataset)

    @torch.no_grad()
    def test(self) -> float:
        self.model.eval()
        test_loss = 0.0
        for data, _ in self.test_loader:
            recon_batch, mu, logvar = self.model(data)
            test_loss += loss_function(recon_batch, data, mu, logvar).item()
        return test_loss / len(self.test_loader.dataset)

    def run(self, epochs: int = 3) -> dict:
        """The script's main loop (train then test each epoch), timed end to end."""
        start = time.perf_counter()
        history = []
        for epoch in range(1, epochs + 1):
            train_loss = self.train_epoch()
            test_loss = self.test()
            history.append({"epoch": epoch, "train_loss": train_loss, "test_loss": test_loss,
                            "seconds": time.perf_counter() - start})
        return {"seconds": time.perf_counter() - start, "test_loss": history[-1]["test_loss"],
                "history": history}
