"""The mapping network f: Z -> W (StyleGAN §2), shared by StyleGAN and StyleGAN2.

Depth 0 is StyleGAN's "no mapping" baseline: W is the pixel-normalised Z and there is no W space
to speak of (`has_w=False`). w_avg, the running mean of W used by the truncation trick, is
tracked in training mode with decay `w_avg_beta`.
"""

from __future__ import annotations

import torch
from torch import nn

from ..utils import at_least_float32
from .ops import FullyConnectedLayer, normalize_2nd_moment


class MappingNetwork(nn.Module):
    def __init__(self, z_dim: int, w_dim: int, num_ws: int, depth: int = 8, layer_features: int | None = None,
                 lr_multiplier: float = 0.01, w_avg_beta: float = 0.995, activation: str = "lrelu",
                 normalize_z: bool = True):
        super().__init__()
        if not 0 <= depth <= 8:
            raise ValueError(f"mapping depth must be in 0..8, got {depth}")
        if depth == 0 and z_dim != w_dim:
            raise ValueError("mapping depth 0 needs z_dim == w_dim (W is the normalised Z)")
        self.z_dim, self.w_dim, self.num_ws = z_dim, w_dim, num_ws
        self.depth = depth
        self.w_avg_beta = w_avg_beta
        self.normalize_z = normalize_z
        layer_features = layer_features or w_dim
        features = [z_dim] + [layer_features] * (depth - 1) + [w_dim]
        for idx in range(depth):
            self.add_module(f"fc{idx}", FullyConnectedLayer(features[idx], features[idx + 1], activation=activation,
                                                            lr_multiplier=lr_multiplier))
        self.register_buffer("w_avg", torch.zeros([w_dim]))

    def forward(self, z: torch.Tensor, truncation_psi: float = 1.0, truncation_cutoff: int | None = None,
                update_w_avg: bool | None = None) -> torch.Tensor:
        """z [N, z_dim] -> ws [N, num_ws, w_dim], truncated towards w_avg on the first `cutoff` layers."""
        z = at_least_float32(z)
        x = normalize_2nd_moment(z) if self.normalize_z else z
        for idx in range(self.depth):
            x = getattr(self, f"fc{idx}")(x)
        if update_w_avg is None:
            update_w_avg = self.training
        if update_w_avg and self.w_avg_beta is not None:
            self.w_avg.copy_(x.detach().mean(dim=0).lerp(self.w_avg, self.w_avg_beta))
        ws = x.unsqueeze(1).repeat([1, self.num_ws, 1])
        return truncate(ws, self.w_avg, truncation_psi, truncation_cutoff)

    def extra_repr(self):
        return f"z_dim={self.z_dim}, w_dim={self.w_dim}, num_ws={self.num_ws}, depth={self.depth}"


def truncate(ws: torch.Tensor, w_avg: torch.Tensor, psi: float = 1.0, cutoff: int | None = None) -> torch.Tensor:
    """The truncation trick: w' = w_avg + psi (w - w_avg) on layers [0, cutoff); the rest untouched."""
    if psi == 1:
        return ws
    cutoff = ws.shape[1] if cutoff is None else cutoff
    ws = ws.clone()
    ws[:, :cutoff] = w_avg.lerp(ws[:, :cutoff], psi)
    return ws


def style_mix(ws1: torch.Tensor, ws2: torch.Tensor, crossover: int | torch.Tensor) -> torch.Tensor:
    """Style mixing (StyleGAN §3.1): layers before `crossover` take ws1, the rest ws2.

    `crossover` is an int or a per-sample LongTensor [N].
    """
    idx = torch.arange(ws1.shape[1], device=ws1.device)
    if isinstance(crossover, torch.Tensor):
        mask = idx[None, :] < crossover.to(ws1.device)[:, None]
    else:
        mask = (idx < crossover)[None, :].expand(ws1.shape[0], -1)
    return torch.where(mask[:, :, None], ws1, ws2)
