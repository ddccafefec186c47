"""The generator core: PGGAN, StyleGAN and StyleGAN2, built by name from one registry.

    build_generator('stylegan2', 1024)                       # config-f, ~30M parameters
    build_generator('stylegan', 64, mapping_depth=2, channel_base=2048, channel_max=128)
    build_discriminator('pggan', 64, channel_base=2048)

Channel counts follow the papers' formula min(channel_base / resolution, channel_max), so tiny
test models and full-size ones come from the same code.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

from torch import nn

from ..errors import ConfigError
from .base import NOISE_MODES, Generator
from .mapping import MappingNetwork, style_mix, truncate
from .pggan import PGGANGenerator, ProgressiveDiscriminator
from .stylegan import StyleGANDiscriminator, StyleGANGenerator
from .stylegan2 import StyleGAN2Discriminator, StyleGAN2Generator


@dataclass(frozen=True)
class Arch:
    name: str
    generator: type
    discriminator: type
    progressive: bool


ARCHS: dict[str, Arch] = {}


def register_arch(name: str, generator: type, discriminator: type, progressive: bool) -> None:
    ARCHS[name] = Arch(name, generator, discriminator, progressive)


register_arch("pggan", PGGANGenerator, ProgressiveDiscriminator, progressive=True)
register_arch("stylegan", StyleGANGenerator, StyleGANDiscriminator, progressive=True)
register_arch("stylegan2", StyleGAN2Generator, StyleGAN2Discriminator, progressive=False)


def get_arch(arch: str) -> Arch:
    if arch not in ARCHS:
        raise ConfigError(f"unknown architecture '{arch}' (known: {', '.join(ARCHS)})")
    return ARCHS[arch]


def _check_resolution(resolution) -> int:
    try:
        r = int(resolution)
    except (TypeError, ValueError):
        raise ConfigError(f"resolution must be an integer, got '{resolution}'") from None
    if r < 4 or r & (r - 1):
        raise ConfigError(f"resolution must be a power of two >= 4, got {resolution}")
    return r


def _build(cls: type, what: str, arch: str, resolution, config: dict) -> nn.Module:
    params = inspect.signature(cls.__init__).parameters
    unknown = sorted(k for k in config if k not in params)
    if unknown:
        raise ConfigError(f"{arch} {what} has no option(s) {', '.join(unknown)}")
    try:
        return cls(img_resolution=_check_resolution(resolution), **config)
    except ValueError as e:
        raise ConfigError(f"{arch} {what}: {e}") from None


def build_generator(arch: str, resolution: int, **config) -> Generator:
    """Build a generator by architecture name; `config` are the class's keyword options."""
    return _build(get_arch(arch).generator, "generator", arch, resolution, config)


def build_discriminator(arch: str, resolution: int, **config) -> nn.Module:
    """Build the matching discriminator; generator-only options in `config` are ignored."""
    cls = get_arch(arch).discriminator
    params = inspect.signature(cls.__init__).parameters
    return _build(cls, "discriminator", arch, resolution, {k: v for k, v in config.items() if k in params})


__all__ = [
    "ARCHS", "NOISE_MODES", "Generator", "MappingNetwork", "build_discriminator", "build_generator", "get_arch",
    "register_arch", "style_mix", "truncate",
]

# GAN-Control's split-latent StyleGAN2 lives in ganeval/control; importing it registers 'stylegan2-control'
# so its checkpoints load like any other.
from .. import control as _control  # noqa: E402,F401
