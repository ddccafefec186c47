"""The generator core: PGGAN, StyleGAN, StyleGAN2 and StyleGAN3, built by name from one registry.

    build_generator('stylegan2', 1024)                       # config-f, ~30M parameters
    build_generator('stylegan', 64, mapping_depth=2, channel_base=2048, channel_max=128)
    build_discriminator('pggan', 64, channel_base=2048)

Channel counts follow the papers' formula min(channel_base / resolution, channel_max) (StyleGAN3:
channel_base / 2 / cutoff), so tiny test models and full-size ones come from the same code.
"""

from __future__ import annotations

from .base import NOISE_MODES, Generator
from .mapping import MappingNetwork, style_mix, truncate
from .registry import ARCHS, Arch, build_discriminator, build_generator, get_arch, register_arch

__all__ = [
    "ARCHS", "NOISE_MODES", "Arch", "Generator", "MappingNetwork", "build_discriminator", "build_generator",
    "get_arch", "register_arch", "style_mix", "truncate",
]
