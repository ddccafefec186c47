"""Export: any loadable checkpoint -> ganeval's native format or rosinality's .pt, keeping G, G_ema, D and w_avg.

Exporters elsewhere keep only g_ema (rosinality's convert_weight.py writes g_ema alone); here every
network the source file holds is written, and the W average travels with the generator (native:
the `mapping.w_avg` buffer; rosinality: `latent_avg`, taken from G_ema as convert_weight.py does).
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from ..errors import CheckpointError, ConfigError
from ..utils import atomic_write
from .load import load_checkpoint
from .native import save_checkpoint
from .rosinality import discriminator_to_rosinality, generator_to_rosinality

TARGETS = ("native", "rosinality")


def save_rosinality(path: str | os.PathLike, G=None, G_ema=None, D=None) -> list[str]:
    """Write a rosinality/stylegan2-pytorch checkpoint {g, g_ema, d, latent_avg}; returns the keys written.

    rosinality's generate.py / projector.py read `g_ema` (and `latent_avg` for truncation); train.py
    resumes from g, d, g_ema but also wants optimizer states, which are not written.
    """
    if G is None and G_ema is None:
        raise CheckpointError("nothing to export: the checkpoint has no generator")
    data = {}
    if G is not None:
        data["g"] = generator_to_rosinality(G)
    if G_ema is not None:
        data["g_ema"] = generator_to_rosinality(G_ema)
    if D is not None:
        data["d"] = discriminator_to_rosinality(D)
    ref = G_ema if G_ema is not None else G
    data["latent_avg"] = ref.mapping.w_avg.detach().cpu().clone()
    with atomic_write(path, suffix=".pt") as tmp:
        torch.save(data, tmp)
    return list(data)


def convert_checkpoint(src: str | os.PathLike, dst: str | os.PathLike, to: str = "native") -> dict:
    """Load `src` (any supported format) and write it to `dst` in format `to` ('native' | 'rosinality').

    Returns a summary dict: source format, target, networks written.
    """
    if to not in TARGETS:
        raise ConfigError(f"unknown target format '{to}' (choose from {', '.join(TARGETS)})")
    if Path(src).resolve() == Path(dst).resolve():
        raise ConfigError("the output file must differ from the input file")
    ckpt = load_checkpoint(src)
    nets = [name for name in ("G", "G_ema", "D") if getattr(ckpt, name) is not None]
    if to == "native":
        meta = {k: v for k, v in ckpt.meta.items() if isinstance(v, (str, int, float, bool))}
        meta["converted_from"] = f"{ckpt.format}: {Path(src).name}"
        # save_checkpoint needs a G or G_ema; a file with only D cannot be a ganeval checkpoint.
        save_checkpoint(dst, G=ckpt.G, G_ema=ckpt.G_ema, D=ckpt.D, meta=meta)
        written = nets
    else:
        if ckpt.D is not None and getattr(ckpt.D, "arch", None) != "stylegan2":
            raise CheckpointError("cannot export to rosinality's format: the discriminator is not StyleGAN2's")
        keys = save_rosinality(dst, G=ckpt.G, G_ema=ckpt.G_ema, D=ckpt.D)
        written = [k for k in keys if k != "latent_avg"] + ["latent_avg (w_avg)"]
    return dict(source_format=ckpt.format, target=to, written=written, path=str(dst))
