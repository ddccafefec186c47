"""Small generators, datasets, classifiers and feature nets for the metric tests (CPU, milliseconds)."""

from __future__ import annotations

import torch
from torch import nn

import ganeval

TINY = dict(channel_base=256, channel_max=32, z_dim=32)


def tiny_G(arch="stylegan2", res=16, depth=2, noise=0.5, seed=0):
    """A tiny random generator; noise strengths set non-zero so noise handling matters."""
    cfg = dict(TINY)
    if arch != "pggan":
        cfg.update(w_dim=32, mapping_depth=depth)
    torch.manual_seed(seed)
    G = ganeval.build_generator(arch, res, **cfg).eval()
    with torch.no_grad():
        for name, p in G.named_parameters():
            if name.endswith("noise_strength"):
                p.fill_(noise)
        G.mapping.w_avg.normal_()  # so truncation moves ws
    return G


class ConstGenerator(nn.Module):
    """Protocol-complete generator whose images never change."""

    arch, z_dim, w_dim, num_ws, img_resolution, img_channels, mapping_depth, has_w = (
        "stylegan2", 8, 8, 2, 16, 3, 1, True)

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(8, 8)
        self.register_buffer("w_avg", torch.zeros(8))
        self.register_buffer("noise_const", torch.zeros(16, 16))

    def mapping(self, z, truncation_psi=1.0, truncation_cutoff=None):
        return self.lin(z).unsqueeze(1).repeat(1, self.num_ws, 1)

    def synthesis(self, ws, noise_mode="random"):
        return torch.full((ws.shape[0], 3, 16, 16), 0.25)

    def redraw_noise_(self, generator=None):
        self.noise_const.copy_(torch.randn(self.noise_const.shape, generator=generator))


class ScaledGenerator(nn.Module):
    """G with its output multiplied by `k` (everything else delegated)."""

    def __init__(self, G, k):
        super().__init__()
        self.G, self.k = G, k
        for a in ("arch", "z_dim", "w_dim", "num_ws", "img_resolution", "img_channels", "mapping_depth", "has_w"):
            setattr(self, a, getattr(G, a))

    @property
    def w_avg(self):
        return self.G.w_avg

    def mapping(self, *a, **kw):
        return self.G.mapping(*a, **kw)

    def synthesis(self, ws, noise_mode="random"):
        return self.G.synthesis(ws, noise_mode=noise_mode) * self.k

    def redraw_noise_(self, generator=None):
        self.G.redraw_noise_(generator)


class ToyDataset:
    """uint8 images in memory with the dataset contract (identity, resolution, name, len, [i] -> (img, label))."""

    def __init__(self, n=24, res=16, seed=1, name="toy"):
        g = torch.Generator().manual_seed(seed)
        base = torch.rand(n, 3, 1, 1, generator=g) * 200
        self.x = (base + torch.rand(n, 3, res, res, generator=g) * 55).to(torch.uint8)
        self.name, self.resolution, self.identity = name, res, f"toy:{n}:{res}:{seed}"
        self.reads = 0

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        self.reads += 1
        return self.x[i], torch.zeros(0)


class TinyFeatures(nn.Module):
    """uint8 NCHW -> 12 features (random fixed conv + global pooling): a cheap stand-in for Inception."""

    name = "test-fd"

    def __init__(self):
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.conv = nn.Conv2d(3, 12, 3, bias=False)
        with torch.no_grad():
            self.conv.weight.copy_(torch.randn(self.conv.weight.shape, generator=g) * 0.3)

    def forward(self, img):
        x = img.float() / 127.5 - 1
        return torch.tanh(self.conv(x)).mean(dim=(2, 3)) + torch.relu(self.conv(x)).amax(dim=(2, 3))


class TinyClassifiers(nn.Module):
    """Float [-1, 1] images at `resolution` -> logits for 3 attributes (linear in pooled colour)."""

    attr_names = ["male", "smiling", "young"]
    name = "tiny-classifiers"

    def __init__(self, resolution=8):
        super().__init__()
        self.resolution = resolution
        g = torch.Generator().manual_seed(3)
        self.lin = nn.Linear(3 * 4, 3)
        with torch.no_grad():
            self.lin.weight.copy_(torch.randn(3, 12, generator=g) * 5)
            self.lin.bias.zero_()

    def forward(self, img):
        assert img.shape[-1] == self.resolution
        x = nn.functional.adaptive_avg_pool2d(img, 2).flatten(1)
        return self.lin(x)


def one_thread():
    """Generator for a module fixture: tiny models run fastest on one thread (and a loaded shared CPU
    makes multi-threaded OpenMP barriers spin)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
