"""One registry of the networks that turn images into numbers: feature nets and pair distances.

    feature net   factory(device) -> callable(uint8 NCHW) -> float [N, D]        (FID, KID, FD)
    distance      factory(device) -> callable(img0, img1) -> [N], float [-1, 1]  (PPL, the projector)

A distance that is a quadratic form of a feature difference (LPIPS-VGG16, synth-lpips, mse) also has
`features` and `quadratic` (features/quadratic.py); `quadratic_distance` hands it to PPL's method='jvp'.

Every entry has a `short` label: None for the network of the papers' protocol (Inception for FID,
LPIPS-VGG16 for PPL), which keeps NVIDIA's metric names, and a short word otherwise ('synth', 'mse'),
which goes into the metric's name, so a number measured with another network is never mistaken for
the paper's (docs/metrics.md, "Result tables").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from ..errors import ConfigError
from ..images import to_rgb
from . import clip, dinov2, inception, lpips, synth, vgg16
from .quadratic import PixelMSE, QuadraticDistance

KINDS = ("features", "distance")


@dataclass(frozen=True)
class Entry:
    name: str
    kind: str                   # 'features' | 'distance'
    factory: Callable           # factory(device) -> the callable described above
    short: str | None           # label in metric names; None = the protocol's own network


REGISTRY: dict[str, Entry] = {}
ALIASES = {"inception-v3": inception.NAME, "inception": inception.NAME}


def register(name: str, kind: str, factory: Callable, short: str | None = None) -> Entry:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got '{kind}'")
    REGISTRY[name] = Entry(name, kind, factory, short)
    return REGISTRY[name]


def register_feature_net(name: str, factory: Callable, short: str | None = None) -> Entry:
    """factory(device) -> callable uint8 NCHW -> float [N, D]; FD/KD rows get 'fd_<short>' names."""
    return register(name, "features", factory, short or name.split("-")[0])


def register_distance(name: str, factory: Callable, short: str | None = None) -> Entry:
    """factory(device) -> callable (img0, img1) -> per-pair distances; PPL rows get a '_<short>' suffix."""
    return register(name, "distance", factory, short or name.replace("-", "_"))


def unregister(name: str) -> None:
    REGISTRY.pop(name, None)


def names(kind: str) -> list[str]:
    return [n for n, e in REGISTRY.items() if e.kind == kind]


def canonical(name: str) -> str:
    return ALIASES.get(name, name)


def entry(name: str, kind: str) -> Entry:
    """The registered entry of `name` (aliases resolved); one ConfigError line for an unknown name."""
    e = REGISTRY.get(canonical(name))
    if e is None or e.kind != kind:
        what = "feature net" if kind == "features" else "distance"
        raise ConfigError(f"unknown {what} '{name}' (known: {', '.join(names(kind))})")
    return e


def load_feature_net(name: str, device) -> Callable:
    """The feature net `name` on `device`, in eval mode without gradients."""
    net = entry(name, "features").factory(device)
    if isinstance(net, torch.nn.Module):
        net = net.eval().requires_grad_(False).to(device)
    return net


def resolve_distance(distance, device) -> tuple[Callable, str]:
    """A registered distance name or any callable (img0, img1) -> [N] -> (callable, name)."""
    if callable(distance):
        return distance, getattr(distance, "name", getattr(distance, "__name__", type(distance).__name__))
    return entry(distance, "distance").factory(device), distance


@torch.no_grad()
def extract(net: Callable, img_uint8: torch.Tensor) -> torch.Tensor:
    """Features [N, D] (float32) of uint8 NCHW images; grayscale is repeated to RGB."""
    img_uint8 = to_rgb(img_uint8)
    return net(img_uint8).float().reshape(img_uint8.shape[0], -1)


def quadratic_distance(distance, device) -> tuple[QuadraticDistance, str]:
    """`resolve_distance` for PPL's method='jvp': the distance must be a quadratic form of a feature difference
    and offer `features` and `quadratic` (features/quadratic.py); a one-line ConfigError names any other."""
    fn, name = resolve_distance(distance, device)
    if not isinstance(fn, QuadraticDistance):
        raise ConfigError(f"distance '{name}' has no quadratic form (methods `features` and `quadratic`), which "
                          f"PPL's method='jvp' needs; use method='fd'")
    return fn, name


mse = PixelMSE()    # pixel mean squared error per pair: a distance for tests and quick looks


register(inception.NAME, "features", inception.load_inception, short=None)
register(inception.NAME_LOGITS, "features", inception.load_inception_logits, short="logits")  # Inception Score input
register(dinov2.NAME, "features", dinov2.load_dinov2, short="dinov2")              # FD_DINOv2, EDM2's resize
register(dinov2.NAME_PIL, "features", dinov2.load_dinov2_pil, short="dinov2pil")   # FD_DINOv2, dgm-eval's resize
register(clip.NAME, "features", clip.load_clip, short="clip")                      # clean-fid's CLIP-FID
register(vgg16.NAME, "features", vgg16.load_vgg16_fc7, short="vgg16")              # NVIDIA's precision/recall
register("synth-fd", "features", synth.synth_fd, short="synth")
register(lpips.NAME, "distance", lpips.load_lpips_vgg16, short=None)       # NVIDIA's (needs vgg16-397923af.pth)
register("synth-lpips", "distance", synth.synth_lpips, short="synth")      # bundled, offline
register("mse", "distance", lambda device: mse, short="mse")
