"""ganeval's own checkpoint format: one torch.save'd dict, readable with torch.load(weights_only=True).

    {"format": "ganeval", "format_version": 1, "arch": "stylegan2",
     "G_config": {...}, "D_config": {...} | None,
     "G": state_dict | None, "G_ema": state_dict | None, "D": state_dict | None,
     "dtype": "float32" | "float16", "meta": {...}, "training_state": {...} | None}

Only plain types and tensors go in, so no code is ever needed (or run) to read it back. Files are
written to a temporary name and renamed, so an interrupted save never leaves a broken file.
"""

from __future__ import annotations

import datetime
import os

import torch

from .._version import __version__
from ..errors import CheckpointError
from ..models import build_discriminator, build_generator
from ..utils import atomic_write
from .common import Checkpoint, Format, register_format

FORMAT = "ganeval"
FORMAT_VERSION = 1


def _state(module, half: bool) -> dict | None:
    if module is None:
        return None
    sd = {k: v.detach().cpu() for k, v in module.state_dict().items()}
    if half:
        sd = {k: v.half() if v.is_floating_point() else v for k, v in sd.items()}
    return sd


def save_checkpoint(path: str | os.PathLike, G=None, G_ema=None, D=None, meta: dict | None = None,
                    training_state: dict | None = None, half: bool = False) -> None:
    """Write G, G_ema, D (any may be None, at least one generator), their configs and metadata.

    half=True stores floating-point tensors as fp16 (bundled models); loading restores fp32.
    """
    ref = G if G is not None else G_ema
    if ref is None:
        raise ValueError("save_checkpoint needs G or G_ema")
    data = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "arch": ref.arch,
        "G_config": dict(ref.config),
        "D_config": dict(D.config) if D is not None else None,
        "G": _state(G, half),
        "G_ema": _state(G_ema, half),
        "D": _state(D, half),
        "dtype": "float16" if half else "float32",
        "meta": {"ganeval_version": __version__, "created": datetime.datetime.now().isoformat(timespec="seconds"),
                 **(meta or {})},
        "training_state": training_state,
    }
    with atomic_write(path, suffix=".pt") as tmp:
        torch.save(data, tmp)


def is_native(obj) -> bool:
    return isinstance(obj, dict) and obj.get("format") == FORMAT


def load_native(obj: dict, path: str, device="cpu"):
    """Rebuild the networks of a loaded native checkpoint dict."""
    if obj.get("format_version", 0) > FORMAT_VERSION:
        raise CheckpointError(f"{path}: written by a newer ganeval (format {obj['format_version']}); please upgrade")
    arch = obj["arch"]
    g_config = dict(obj["G_config"])
    resolution = g_config.pop("img_resolution")

    def restore(sd):
        return {k: v.float() if v.is_floating_point() else v for k, v in sd.items()}

    def make_G(sd):
        if sd is None:
            return None
        G = build_generator(arch, resolution, **g_config)
        _load_state(G, restore(sd), path)
        return G.to(device).eval()

    D = None
    if obj.get("D") is not None:
        d_config = dict(obj["D_config"] or {})
        D = build_discriminator(arch, d_config.pop("img_resolution", resolution), **d_config)
        _load_state(D, restore(obj["D"]), path)
        D = D.to(device).eval()
    return Checkpoint(G=make_G(obj.get("G")), G_ema=make_G(obj.get("G_ema")), D=D, arch=arch,
                      config=obj["G_config"], meta=dict(obj.get("meta") or {}), format="ganeval", path=str(path),
                      training_state=obj.get("training_state"), D_config=obj.get("D_config"))


def _load_state(module, sd, path):
    try:
        module.load_state_dict(sd, strict=True)
    except RuntimeError as e:
        first = str(e).strip().splitlines()[0]
        raise CheckpointError(f"{path}: weights do not match the stored config ({first})") from None


register_format(Format(FORMAT, lambda path, obj: is_native(obj),
                       lambda path, obj, device: load_native(obj, str(path), device)))
