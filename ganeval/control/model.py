"""GAN-Control's disentangled StyleGAN2 (Shoshan et al., ICCV 2021, §3.1): Z and W split into N+1 subspaces.

    z = (z^1, ..., z^N, z^{N+1})      one sub-vector per controlled attribute k = 1..N, plus one for the rest
    w^k = f_k(z^k)                    each sub-vector has its own mapping MLP
    w = (w^1, ..., w^{N+1})           concatenated: the W the synthesis network sees (broadcast to all ws)

`StyleGAN2ControlGenerator` is a StyleGAN2Generator whose `mapping` is a `SplitMappingNetwork`; the
synthesis network, the discriminator and every training option are StyleGAN2's. The arch is registered as
'stylegan2-control' by ganeval.control, so native checkpoints store arch + G.config and load back.
"""

from __future__ import annotations

import torch
from torch import nn

from ..data.attributes import celeba_to_nvidia
from ..models.mapping import MappingNetwork, truncate
from ..models.stylegan2 import StyleGAN2Generator


def split_evenly(total: int, parts: int) -> list[int]:
    """`total` as `parts` near-equal positive sizes (the last one takes the remainder)."""
    if parts < 1 or total < parts:
        raise ValueError(f"cannot split {total} dimensions into {parts} non-empty subspaces")
    base = total // parts
    return [base] * (parts - 1) + [total - base * (parts - 1)]


def split_like(total: int, like: list[int]) -> list[int]:
    """`total` split in the proportions of `like` (largest remainder), every part >= 1."""
    if total < len(like):
        raise ValueError(f"cannot split {total} dimensions into {len(like)} non-empty subspaces")
    s = sum(like)
    exact = [total * d / s for d in like]
    out = [max(1, int(e)) for e in exact]
    order = sorted(range(len(like)), key=lambda i: exact[i] - int(exact[i]), reverse=True)
    i = 0
    while sum(out) < total:
        out[order[i % len(out)]] += 1
        i += 1
    while sum(out) > total:   # only when max(1, .) rounded a tiny part up
        j = max(range(len(out)), key=lambda k: out[k])
        out[j] -= 1
    return out


def offsets(dims: list[int]) -> list[slice]:
    """Slices of the concatenated vector, one per subspace."""
    out, start = [], 0
    for d in dims:
        out.append(slice(start, start + d))
        start += d
    return out


class SplitMappingNetwork(nn.Module):
    """N+1 independent mapping MLPs f_k: z^k -> w^k; w = concat(w^k). Same interface as MappingNetwork."""

    def __init__(self, z_dims: list[int], w_dims: list[int], num_ws: int, depth: int = 8,
                 layer_features: int | None = None, lr_multiplier: float = 0.01, w_avg_beta: float = 0.995):
        super().__init__()
        if len(z_dims) != len(w_dims):
            raise ValueError(f"{len(z_dims)} Z subspaces but {len(w_dims)} W subspaces")
        self.z_dims, self.w_dims = list(z_dims), list(w_dims)
        self.z_dim, self.w_dim, self.num_ws = sum(z_dims), sum(w_dims), num_ws
        self.depth, self.w_avg_beta = depth, w_avg_beta
        self.z_slices, self.w_slices = offsets(self.z_dims), offsets(self.w_dims)
        # Each f_k normalises its own z^k (as a full StyleGAN mapping would); the hidden width scales with w^k.
        self.nets = nn.ModuleList(
            MappingNetwork(zd, wd, num_ws=1, depth=depth,
                           layer_features=max(1, round(layer_features * wd / self.w_dim)) if layer_features else None,
                           lr_multiplier=lr_multiplier, w_avg_beta=None)
            for zd, wd in zip(self.z_dims, self.w_dims))
        # w_avg of the concatenated W: what truncation and the training loop (end_phase) use.
        self.register_buffer("w_avg", torch.zeros([self.w_dim]))

    def parts(self, z: torch.Tensor) -> list[torch.Tensor]:
        """z [N, z_dim] -> [w^1, ..., w^{N+1}], each [N, w_dims[k]] (no truncation)."""
        return [net(z[:, s])[:, 0] for net, s in zip(self.nets, self.z_slices)]

    def assemble(self, parts: list[torch.Tensor], truncation_psi: float = 1.0,
                 truncation_cutoff: int | None = None) -> torch.Tensor:
        """[w^1, ..., w^{N+1}] -> ws [N, num_ws, w_dim], truncated towards w_avg like MappingNetwork."""
        w = torch.cat(parts, dim=1)
        return truncate(w.unsqueeze(1).repeat([1, self.num_ws, 1]), self.w_avg, truncation_psi, truncation_cutoff)

    def forward(self, z: torch.Tensor, truncation_psi: float = 1.0, truncation_cutoff: int | None = None,
                update_w_avg: bool | None = None) -> torch.Tensor:
        w = torch.cat(self.parts(z), dim=1)
        if update_w_avg is None:
            update_w_avg = self.training
        if update_w_avg and self.w_avg_beta is not None:
            self.w_avg.copy_(w.detach().mean(dim=0).lerp(self.w_avg, self.w_avg_beta))
        return truncate(w.unsqueeze(1).repeat([1, self.num_ws, 1]), self.w_avg, truncation_psi, truncation_cutoff)

    def extra_repr(self):
        return f"z_dims={self.z_dims}, w_dims={self.w_dims}, num_ws={self.num_ws}, depth={self.depth}"


class StyleGAN2ControlGenerator(StyleGAN2Generator):
    """StyleGAN2 with GAN-Control's split latent spaces.

    control_attrs: the N controlled attributes (names of the attribute classifiers, NVIDIA order).
    control_dims:  N+1 sizes of z^1..z^{N+1} (default: z_dim split evenly); z_dim = sum(control_dims).
    control_w_dims: N+1 sizes of w^1..w^{N+1} (default: w_dim split in the proportions of control_dims).
    """

    arch = "stylegan2-control"

    def __init__(self, img_resolution: int = 1024, control_attrs: list[str] | tuple = (),
                 control_dims: list[int] | None = None, control_w_dims: list[int] | None = None,
                 z_dim: int | None = None, w_dim: int | None = None, mapping_depth: int = 8, img_channels: int = 3,
                 channel_base: int = 32768, channel_max: int = 512, architecture: str = "skip",
                 resample_filter=(1, 3, 3, 1), conv_clamp: float | None = None, use_noise: bool = True,
                 mapping_lr_multiplier: float = 0.01, w_avg_beta: float = 0.995,
                 mapping_layer_features: int | None = None):
        # StyleGAN2's options spelled out: the registry and the training options read them from the signature.
        control_attrs = [str(a) for a in control_attrs]
        if not control_attrs:
            raise ValueError("control_attrs must name at least one attribute")
        if len(set(control_attrs)) != len(control_attrs):
            raise ValueError(f"control_attrs has duplicates: {control_attrs}")
        parts = len(control_attrs) + 1
        if control_dims is not None:
            control_dims = [int(d) for d in control_dims]
            if len(control_dims) != parts or min(control_dims) < 1:
                raise ValueError(f"control_dims needs {parts} positive sizes (one per attribute + the rest), "
                                 f"got {control_dims}")
            if z_dim is not None and z_dim != sum(control_dims):
                raise ValueError(f"z_dim {z_dim} != sum(control_dims) = {sum(control_dims)}")
            z_dim = sum(control_dims)
        else:
            z_dim = 512 if z_dim is None else z_dim
            control_dims = split_evenly(z_dim, parts)
        if control_w_dims is not None:
            control_w_dims = [int(d) for d in control_w_dims]
            if len(control_w_dims) != parts or min(control_w_dims) < 1:
                raise ValueError(f"control_w_dims needs {parts} positive sizes, got {control_w_dims}")
            if w_dim is not None and w_dim != sum(control_w_dims):
                raise ValueError(f"w_dim {w_dim} != sum(control_w_dims) = {sum(control_w_dims)}")
            w_dim = sum(control_w_dims)
        else:
            w_dim = z_dim if w_dim is None else w_dim
            control_w_dims = list(control_dims) if w_dim == z_dim else split_like(w_dim, control_dims)
        if mapping_depth == 0 and control_dims != control_w_dims:
            raise ValueError("mapping depth 0 needs control_w_dims == control_dims (w^k is the normalised z^k)")
        super().__init__(img_resolution=img_resolution, z_dim=z_dim, w_dim=w_dim, mapping_depth=mapping_depth,
                         img_channels=img_channels, channel_base=channel_base, channel_max=channel_max,
                         architecture=architecture, resample_filter=resample_filter, conv_clamp=conv_clamp,
                         use_noise=use_noise, mapping_lr_multiplier=mapping_lr_multiplier, w_avg_beta=w_avg_beta,
                         mapping_layer_features=mapping_layer_features)
        self.control_attrs = control_attrs
        self.config.update(control_attrs=list(control_attrs), control_dims=list(control_dims),
                           control_w_dims=list(control_w_dims))
        self.mapping = SplitMappingNetwork(control_dims, control_w_dims, self.synthesis.num_ws, depth=mapping_depth,
                                           layer_features=mapping_layer_features,
                                           lr_multiplier=mapping_lr_multiplier, w_avg_beta=w_avg_beta)

    # Every mapping depth has a W here, but depth 0 still means "w^k = normalised z^k" (as in the base class).

    @property
    def num_controls(self) -> int:
        return len(self.control_attrs)

    @property
    def z_slices(self) -> list[slice]:
        return self.mapping.z_slices

    @property
    def w_slices(self) -> list[slice]:
        return self.mapping.w_slices

    def attr_index(self, name: str) -> int:
        """Subspace index k (0-based) of a controlled attribute."""
        key = celeba_to_nvidia(name)
        for k, a in enumerate(self.control_attrs):
            if celeba_to_nvidia(a) == key:
                return k
        raise KeyError(name)

    def describe(self) -> dict:
        return {**super().describe(), "control_attrs": list(self.control_attrs),
                "control_dims": list(self.mapping.z_dims), "control_w_dims": list(self.mapping.w_dims)}
