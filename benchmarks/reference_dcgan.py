"""The reference DCGAN training loop: a faithful rewrite of the PyTorch examples' script
`dcgan/main.py` (https://github.com/pytorch/examples/blob/main/dcgan/main.py), written from
reading it, for side-by-side speed measurements against genlab (benchmarks/speed.py).

What is reproduced, as in the script:
- netG / netD layer for layer (64x64, nz=100, ngf=ndf=64, nc=3; BatchNorm, ReLU / LeakyReLU(0.2),
  Tanh out of G, Sigmoid out of D), the custom `weights_init` (Conv ~ N(0, 0.02),
  BatchNorm weight ~ N(1, 0.02), bias 0);
- nn.BCELoss on sigmoid outputs, labels real=1 / fake=0;
- Adam(lr=2e-4, betas=(0.5, 0.999)) for both networks;
- the update order of one iteration:
    (1) netD.zero_grad(); errD_real = BCE(netD(real), 1); errD_real.backward()
        noise ~ N(0, I) (B, nz, 1, 1); fake = netG(noise)
        errD_fake = BCE(netD(fake.detach()), 0); errD_fake.backward(); optimizerD.step()
    (2) netG.zero_grad(); errG = BCE(netD(fake), 1)   # the same `fake`, D already updated
        errG.backward(); optimizerG.step()
  and the `.item()` calls of its progress line (D_x, D_G_z1, D_G_z2, errD, errG) every batch;
- batches from a torch.utils.data.DataLoader(shuffle=True) over a map-style data set, i.e.
  per-item indexing and default collation (the script's image decoding and resizing are left
  out: both loops read the same in-memory tensors, so only the training step is compared).

Not reproduced: the periodic PNG/checkpoint writes (genlab's side is timed without them too).
"""

from __future__ import annotations

import torch
from torch import nn


def weights_init(m: nn.Module) -> None:
    classname = m.__class__.__name__
    if classname.find("Conv") != -1:
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif classname.find("BatchNorm") != -1:
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


class NetG(nn.Module):
    def __init__(self, nz: int = 100, ngf: int = 64, nc: int = 3):
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False),  # (B, 8ngf, 4, 4)
            nn.BatchNorm2d(ngf * 8),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False),  # (B, 4ngf, 8, 8)
            nn.BatchNorm2d(ngf * 4),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),  # (B, 2ngf, 16, 16)
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),  # (B, ngf, 32, 32)
            nn.BatchNorm2d(ngf),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),  # (B, nc, 64, 64)
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.main(z)


class NetD(nn.Module):
    def __init__(self, ndf: int = 64, nc: int = 3):
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),  # (B, ndf, 32, 32)
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),  # (B, 2ndf, 16, 16)
            nn.BatchNorm2d(ndf * 2),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False),  # (B, 4ndf, 8, 8)
            nn.BatchNorm2d(ndf * 4),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False),  # (B, 8ndf, 4, 4)
            nn.BatchNorm2d(ndf * 8),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False),  # (B, 1, 1, 1)
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.main(x).view(-1, 1).squeeze(1)  # (B,)


class ReferenceDCGAN:
    """The script's networks, criterion, optimizers and loop body; `iteration(data)`."""

    def __init__(self, nz: int = 100, ngf: int = 64, ndf: int = 64, nc: int = 3,
                 lr: float = 2e-4, beta1: float = 0.5, seed: int = 0):
        torch.manual_seed(seed)
        self.nz = nz
        self.netG = NetG(nz, ngf, nc)
        self.netG.apply(weights_init)
        self.netD = NetD(ndf, nc)
        self.netD.apply(weights_init)
        self.criterion = nn.BCELoss()
        self.optimizerD = torch.optim.Adam(self.netD.parameters(), lr=lr, betas=(beta1, 0.999))
        self.optimizerG = torch.optim.Adam(self.netG.parameters(), lr=lr, betas=(beta1, 0.999))
        self.real_label, self.fake_label = 1.0, 0.0

    def iteration(self, real_cpu: torch.Tensor) -> dict[str, float]:
        netD, netG, criterion = self.netD, self.netG, self.criterion
        ############################
        # (1) Update D network: maximize log(D(x)) + log(1 - D(G(z)))
        ###########################
        # train with real
        netD.zero_grad()
        batch_size = real_cpu.size(0)
        label = torch.full((batch_size,), self.real_label, dtype=real_cpu.dtype)
        output = netD(real_cpu)
        errD_real = criterion(output, label)
        errD_real.backward()
        D_x = output.mean().item()
        # train with fake
        noise = torch.randn(batch_size, self.nz, 1, 1)
        fake = netG(noise)
        label.fill_(self.fake_label)
        output = netD(fake.detach())
        errD_fake = criterion(output, label)
        errD_fake.backward()
        D_G_z1 = output.mean().item()
        errD = errD_real + errD_fake
        self.optimizerD.step()
        ############################
        # (2) Update G network: maximize log(D(G(z)))
        ###########################
        netG.zero_grad()
        label.fill_(self.real_label)  # fake labels are real for generator cost
        output = netD(fake)
        errG = criterion(output, label)
        errG.backward()
        D_G_z2 = output.mean().item()
        self.optimizerG.step()
        return {"loss_d": errD.item(), "loss_g": errG.item(), "d_x": D_x, "d_g_z1": D_G_z1,
                "d_g_z2": D_G_z2}


class _Images(torch.utils.data.Dataset):
    """Map-style data set over in-memory images already in [-1, 1] (what the script's
    ToTensor + Normalize((0.5,)*3, (0.5,)*3) produce), one item at a time."""

    def __init__(self, x: torch.Tensor):
        self.x = x

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int):
        return self.x[i], 0


def reference_batches(x: torch.Tensor, batch_size: int = 64, seed: int = 0):
    """An endless stream of batches the way the script draws them (DataLoader, shuffle)."""
    loader = torch.utils.data.DataLoader(_Images(x), batch_size=batch_size, shuffle=True,
                                         num_workers=0, drop_last=True,
                                         generator=torch.Generator().manual_seed(seed))
    while True:
        for data, _ in loader:
            yield data
