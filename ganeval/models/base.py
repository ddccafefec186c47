"""The Generator protocol every architecture implements (NVlabs naming, as stylegan2-ada-pytorch networks.py).

    G.mapping(z, truncation_psi=1, truncation_cutoff=None) -> ws [N, num_ws, w_dim]
    G.synthesis(ws, noise_mode='random'|'const'|'none')    -> img [N, C, H, W], nominal [-1, 1]
    G(z, ...) = G.synthesis(G.mapping(z, ...), ...)

'const' noise reads buffers stored in the model (one `noise_const` per noise layer);
`redraw_noise_` refills them from a torch.Generator so metrics can share one noise draw inside
a block of samples (PPL pairs must see identical noise).
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from .mapping import style_mix

NOISE_MODES = ("random", "const", "none")


class Generator(nn.Module):
    """Base class of ganeval's generators. Subclasses set `arch` and build `mapping` and `synthesis`."""

    arch: str = ""

    def __init__(self, z_dim: int, w_dim: int, img_resolution: int, img_channels: int, mapping_depth: int):
        super().__init__()
        self.z_dim, self.w_dim = z_dim, w_dim
        self.img_resolution, self.img_channels = img_resolution, img_channels
        self.mapping_depth = mapping_depth
        self.config: dict = {}

    # W exists only when a mapping network sits between Z and the synthesis network.
    @property
    def has_w(self) -> bool:
        return self.mapping_depth > 0

    @property
    def num_ws(self) -> int:
        return self.synthesis.num_ws

    @property
    def w_avg(self) -> torch.Tensor:
        return self.mapping.w_avg

    def forward(self, z: torch.Tensor, truncation_psi: float = 1.0, truncation_cutoff: int | None = None,
                noise_mode: str = "random") -> torch.Tensor:
        ws = self.mapping(z, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff)
        return self.synthesis(ws, noise_mode=noise_mode)

    def style_mix(self, ws1: torch.Tensor, ws2: torch.Tensor, crossover) -> torch.Tensor:
        return style_mix(ws1, ws2, crossover)

    def noise_buffers(self) -> list[tuple[str, torch.Tensor]]:
        """The const-noise buffers in a fixed order (module registration order)."""
        return [(n, b) for n, b in self.named_buffers() if n.endswith("noise_const")]

    @torch.no_grad()
    def redraw_noise_(self, generator: torch.Generator | None = None) -> None:
        """Refill every const-noise buffer with N(0, 1) drawn (on the CPU) from `generator`."""
        for _, buf in self.noise_buffers():
            buf.copy_(torch.randn(buf.shape, generator=generator).to(buf.device))

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def describe(self) -> dict:
        return dict(arch=self.arch, resolution=self.img_resolution, z_dim=self.z_dim, w_dim=self.w_dim,
                    num_ws=self.num_ws, mapping_depth=self.mapping_depth, has_w=self.has_w,
                    params=self.num_params())

    def copy(self) -> Generator:
        return copy.deepcopy(self)


def config_of(args: dict, drop: tuple[str, ...] = ()) -> dict:
    """A network's constructor arguments as the config its checkpoint stores (tuples as lists). Call it as
    `config_of(locals())` on the first line of __init__, before any other local exists."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in args.items()
            if k not in ("self", "__class__", *drop)}


def check_noise_mode(noise_mode: str) -> None:
    if noise_mode not in NOISE_MODES:
        raise ValueError(f"noise_mode must be one of {NOISE_MODES}, got '{noise_mode}'")
