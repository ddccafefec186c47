"""Image grids of the report: uncurated samples, style mixing, interpolation strips, stochastic variation."""

from __future__ import annotations

import numpy as np
import torch

from ..images import make_grid, to_uint8
from ..metrics.ppl import lerp, slerp
from ..models.generate import generate_images, style_mixing_grid, z_from_seeds


def uncurated(G, seeds=range(32), device="cpu") -> np.ndarray:
    return make_grid(generate_images(G, list(seeds), noise_mode="const", device=device), nrow=8)


def mixing(G, device="cpu") -> np.ndarray | None:
    if not G.has_w:
        return None
    images, nrow = style_mixing_grid(G, [0, 1, 2, 3], [10, 11, 12, 13, 14], device=device)
    return make_grid(images, nrow=nrow)


@torch.no_grad()
def interpolation(G, space: str, pairs=((0, 1), (2, 3), (4, 5)), steps: int = 8, device="cpu") -> np.ndarray:
    """Rows of images along slerp in Z or lerp in W between two seeds (the paths PPL measures)."""
    t = torch.linspace(0, 1, steps, device=device)
    rows = []
    for a, b in pairs:
        z = z_from_seeds([a, b], G.z_dim).to(device)
        if space == "z":
            zs = slerp(z[:1].expand(steps, -1), z[1:].expand(steps, -1), t[:, None])
            ws = G.mapping(zs)
        else:
            w = G.mapping(z)
            ws = lerp(w[:1].expand(steps, -1, -1), w[1:].expand(steps, -1, -1), t[:, None, None])
        rows.append(to_uint8(G.synthesis(ws, noise_mode="const")).cpu())
    return make_grid(torch.cat(rows), nrow=steps)


@torch.no_grad()
def stochastic_variation(G, seed: int = 0, num_draws: int = 100, shown: int = 6, device="cpu") -> np.ndarray:
    """StyleGAN Fig. 4: one w under freshly drawn noise, then the per-pixel std over `num_draws` draws.

    The std map (mean over colour channels) is scaled to its maximum and shown in grey.
    """
    w = G.mapping(z_from_seeds([seed], G.z_dim).to(device))
    imgs = []
    for i in range(0, num_draws, 25):
        n = min(25, num_draws - i)
        torch.manual_seed(seed * 1000 + i)
        imgs.append(G.synthesis(w.expand(n, -1, -1), noise_mode="random").cpu())
    imgs = torch.cat(imgs)
    std = imgs.std(dim=0).mean(dim=0)
    std_img = (std / std.max().clamp(min=1e-8) * 2 - 1)[None].expand(G.img_channels, -1, -1)
    return make_grid(torch.cat([to_uint8(imgs[:shown]), to_uint8(std_img[None])]), nrow=shown + 1)
