"""`ganeval train --control ATTRS` (GAN-Control): its training options, their parsing and checks.

They reach ganeval.train through its extension point (plugin.py registers them): `resolve_options`
accepts them, `TrainingOptions.plugin_options` holds them, checkpoints store them flat.
"""

from __future__ import annotations

import math

from ..data.attributes import NVIDIA_ATTRS, resolve_attrs
from ..errors import ConfigError
from .calibrate import resolve_taus
from .loss import DISTANCES

# Option -> default (GAN-Control §3.1: the factorised contrastive loss over split latent subspaces).
OPTIONS = {
    "control": [],                          # controlled attributes (empty = off)
    "control_dims": None,                   # N+1 sizes of z^1..z^{N+1} (None = z_dim split evenly)
    "control_weight": 1.0,                  # weight λ of the contrastive loss L_c
    "control_tau": [0.1, 0.5],              # [τ⁺, τ⁻] for all, or per attribute
    "control_distance": "cosine",           # l1 | l2 | cosine in the attribute embedding M_k
    "control_net": "synthfaces-classifiers",   # attribute classifiers whose embed() gives M_k
    "control_embedding": "features",        # M_k = the classifier's per-attribute features | 'prob' = σ(its logit)
    "control_augment": 0.0,                 # > 0: M_k sees images shifted by up to 2 px with this much pixel noise
    "control_blur": 0.0,                    # > 0: M_k sees images low-passed by a Gaussian of this std (pixels)
}
ARCH = "stylegan2-control"


def control_active(options: dict) -> bool:
    """Does a run with these (given, stored or resolved) options train GAN-Control?"""
    return bool(options.get("control")) or options.get("arch") == ARCH


def _list(value, kind, what: str) -> list:
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    try:
        return [kind(v) for v in value]
    except (TypeError, ValueError):
        raise ConfigError(f"--{what.replace('_', '-')}: cannot parse {value!r}") from None


def canonical_attrs(spec) -> list[str]:
    """'Smiling,Eyeglasses' (either spelling) -> ['smiling', 'eyeglasses'] (the classifiers' NVIDIA names)."""
    names = [NVIDIA_ATTRS[i] for i in resolve_attrs(_list(spec, str, "control"))]
    if len(set(names)) != len(names):
        raise ConfigError(f"--control lists an attribute twice: {', '.join(names)}")
    return names


def control_arch(given: dict, base: dict) -> dict:
    """Switch stylegan2 to 'stylegan2-control' and put the subspace layout into the generator's options."""
    given = dict(given)
    arch = given.get("arch", base.get("arch", "stylegan2"))
    attrs = given.get("control", base.get("control"))
    if arch not in ("stylegan2", ARCH):
        raise ConfigError(f"--control needs --arch stylegan2 (GAN-Control builds on StyleGAN2), not {arch}")
    if not attrs:
        raise ConfigError("--arch stylegan2-control needs --control ATTRS (the attributes to control)")
    attrs = canonical_attrs(attrs)
    given["arch"] = ARCH
    given["control"] = attrs
    G_kwargs = {**dict(base.get("G_kwargs") or {}), **dict(given.get("G_kwargs") or {})}
    G_kwargs["control_attrs"] = attrs
    dims = given.get("control_dims", base.get("control_dims"))
    if dims is not None:
        dims = _list(dims, int, "control_dims")
        if len(dims) != len(attrs) + 1 or min(dims) < 1:
            raise ConfigError(f"--control-dims needs {len(attrs) + 1} positive sizes (one per attribute, then the "
                              f"rest), got {','.join(map(str, dims))}")
        given["control_dims"] = G_kwargs["control_dims"] = dims
        if "z_dim" in given and int(given["z_dim"]) != sum(dims):
            raise ConfigError(f"--z-dim {given['z_dim']} != sum of --control-dims ({sum(dims)})")
    if "control_tau" in given:
        given["control_tau"] = _list(given["control_tau"], float, "control_tau")
    given["G_kwargs"] = G_kwargs
    return given


def validate_control(o) -> None:
    for name in ("control_weight", "control_augment", "control_blur"):
        if not math.isfinite(getattr(o, name)):
            raise ConfigError(f"--{name.replace('_', '-')} must be a finite number, got {getattr(o, name)}")
    if o.control_distance not in DISTANCES:
        raise ConfigError(f"--control-distance must be one of {', '.join(DISTANCES)}, got '{o.control_distance}'")
    if o.control_embedding not in ("features", "prob"):
        raise ConfigError(f"--control-embedding must be features or prob, got '{o.control_embedding}'")
    if o.control_embedding == "prob" and o.control_distance == "cosine":
        raise ConfigError("--control-embedding prob is one number per image: the cosine distance of 1-d vectors "
                          "is only their sign; use --control-distance l1 or l2")
    if o.control_augment < 0:
        raise ConfigError(f"--control-augment must be >= 0, got {o.control_augment}")
    if o.control_blur < 0:
        raise ConfigError(f"--control-blur must be >= 0, got {o.control_blur}")
    if o.control_weight < 0:
        raise ConfigError(f"--control-weight must be >= 0, got {o.control_weight}")
    resolve_taus(o.control_tau, len(o.control))   # 2 numbers, or τ⁺,τ⁻ per attribute (the paper's τ±_k)
    o.plugin_options["control_tau"] = [float(t) for t in o.control_tau]
    batch = o.batch_gpu or o.batch
    if batch < 2:
        raise ConfigError("GAN-Control pairs latents: the (micro)batch must hold at least 2 samples")
