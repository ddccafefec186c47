"""The architectures by name: the extension point where plugins (ganeval/plugins.py) add their own.

    build_generator('stylegan2', 1024)                       # config-f, ~30M parameters
    build_generator('stylegan3', 256, cfg='r')               # StyleGAN3-R
    build_discriminator('pggan', 64, channel_base=2048)
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

from torch import nn

from ..errors import ConfigError
from ..plugins import load_plugins
from .base import Generator
from .pggan import PGGANGenerator, ProgressiveDiscriminator
from .stylegan import StyleGANDiscriminator, StyleGANGenerator
from .stylegan2 import StyleGAN2Discriminator, StyleGAN2Generator
from .stylegan3 import StyleGAN3Generator


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
# StyleGAN3 trains against StyleGAN2's discriminator (NVlabs/stylegan3 train.py uses networks_stylegan2.Discriminator).
register_arch("stylegan3", StyleGAN3Generator, StyleGAN2Discriminator, progressive=False)


def get_arch(arch: str) -> Arch:
    if arch not in ARCHS:
        load_plugins()   # e.g. 'stylegan2-control' (ganeval.control)
    if arch not in ARCHS:
        raise ConfigError(f"unknown architecture '{arch}' (known: {', '.join(ARCHS)})")
    return ARCHS[arch]


def check_resolution(resolution) -> int:
    """A power of two >= 4, as an int; one ConfigError line otherwise."""
    try:
        r = int(resolution)
    except (TypeError, ValueError):
        raise ConfigError(f"resolution must be an integer, got '{resolution}'") from None
    if r < 4 or r & (r - 1):
        raise ConfigError(f"resolution must be a power of two >= 4, got {resolution}")
    return r


def unknown_options(cls: type, config: dict) -> list[str]:
    """The keys of `config` that `cls.__init__` does not take (img_resolution is given separately)."""
    params = inspect.signature(cls.__init__).parameters
    return sorted(k for k in config if k not in params or k == "img_resolution")


def _build(cls: type, what: str, arch: str, resolution, config: dict) -> nn.Module:
    unknown = unknown_options(cls, config)
    if unknown:
        raise ConfigError(f"{arch} {what} has no option(s) {', '.join(unknown)}")
    try:
        return cls(img_resolution=check_resolution(resolution), **config)
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
