"""`ganeval train --control ATTRS` (GAN-Control): parsing and checks, called from ganeval.train.options."""

from __future__ import annotations

from ..errors import ConfigError


def _list(value, kind, what: str) -> list:
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    try:
        return [kind(v) for v in value]
    except (TypeError, ValueError):
        raise ConfigError(f"--{what.replace('_', '-')}: cannot parse {value!r}") from None


def canonical_attrs(spec) -> list[str]:
    """'Smiling,Eyeglasses' (either spelling) -> ['smiling', 'eyeglasses'] (the classifiers' NVIDIA names)."""
    from ..attributes import NVIDIA_ATTRS, resolve_attrs

    names = [NVIDIA_ATTRS[i] for i in resolve_attrs(_list(spec, str, "control"))]
    if len(set(names)) != len(names):
        raise ConfigError(f"--control lists an attribute twice: {', '.join(names)}")
    return names


def control_arch(given: dict, base: dict) -> dict:
    """Switch stylegan2 to 'stylegan2-control' and put the subspace layout into the generator's options."""
    from .. import control  # noqa: F401 - registers the architecture

    given = dict(given)
    arch = given.get("arch", base.get("arch", "stylegan2"))
    attrs = given.get("control", base.get("control"))
    if arch not in ("stylegan2", "stylegan2-control"):
        raise ConfigError(f"--control needs --arch stylegan2 (GAN-Control builds on StyleGAN2), not {arch}")
    if not attrs:
        raise ConfigError("--arch stylegan2-control needs --control ATTRS (the attributes to control)")
    attrs = canonical_attrs(attrs)
    given["arch"] = "stylegan2-control"
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
    from .loss import DISTANCES

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
    from .calibrate import resolve_taus

    resolve_taus(o.control_tau, len(o.control))   # 2 numbers, or τ⁺,τ⁻ per attribute (the paper's τ±_k)
    o.control_tau = [float(t) for t in o.control_tau]
    batch = o.batch_gpu or o.batch
    if batch < 2:
        raise ConfigError("GAN-Control pairs latents: the (micro)batch must hold at least 2 samples")
