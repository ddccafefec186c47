"""What every checkpoint format shares: the Checkpoint record, the format registry, loading helpers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..errors import CheckpointError


@dataclass
class Checkpoint:
    G: torch.nn.Module | None
    G_ema: torch.nn.Module | None
    D: torch.nn.Module | None
    arch: str
    config: dict
    meta: dict = field(default_factory=dict)
    format: str = "ganeval"
    path: str = ""
    training_state: dict | None = None
    D_config: dict | None = None

    @property
    def generator(self):
        """The network to evaluate: G_ema when present (as the papers report), else G."""
        return self.G_ema if self.G_ema is not None else self.G


@dataclass(frozen=True)
class Format:
    name: str
    sniff: Callable[[Path, object], bool]   # (path, torch-loaded object or None) -> bool
    load: Callable[..., Checkpoint]         # (path, obj, device) -> Checkpoint


# Tried in order; the native format registers itself first (native.py), the foreign ones after it.
FORMATS: list[Format] = []


def register_format(fmt: Format, first: bool = False) -> None:
    FORMATS.insert(0, fmt) if first else FORMATS.append(fmt)

W_AVG_SAMPLES = 10_000


@torch.no_grad()
def estimate_w_avg_(G, num_samples: int = W_AVG_SAMPLES, seed: int = 0, batch: int = 1000) -> str:
    """Fill G.mapping.w_avg with the mean of W over `num_samples` seeded z; returns the note for meta.

    Used when a file stores no W average (rosinality training checkpoints); truncation needs one.
    """
    gen = torch.Generator().manual_seed(seed)
    total = torch.zeros([G.w_dim], dtype=torch.float64)
    device = G.mapping.w_avg.device
    for start in range(0, num_samples, batch):
        z = torch.randn([min(batch, num_samples - start), G.z_dim], generator=gen).to(device)
        ws = G.mapping(z, update_w_avg=False)
        total += ws[:, 0].double().sum(dim=0).cpu()
    G.mapping.w_avg.copy_((total / num_samples).float())
    return f"estimated from {num_samples:,} samples (seed {seed}; the file has none)"


def load_state(module: torch.nn.Module, sd: dict, path, what: str) -> None:
    """load_state_dict(strict=True) with float32 tensors; a mismatch is one CheckpointError line."""
    sd = {k: v.detach().float() if v.is_floating_point() else v for k, v in sd.items()}
    own = module.state_dict()
    missing = [k for k in own if k not in sd]
    unexpected = [k for k in sd if k not in own]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing {missing[0]}" + (f" and {len(missing) - 1} more" if len(missing) > 1 else ""))
        if unexpected:
            parts.append(f"unexpected {unexpected[0]}" + (f" and {len(unexpected) - 1} more" if len(unexpected) > 1
                                                           else ""))
        raise CheckpointError(f"{path}: {what} does not match the inferred architecture ({'; '.join(parts)})")
    for k, v in sd.items():
        if tuple(v.shape) != tuple(own[k].shape):
            raise CheckpointError(f"{path}: {what}: {k} has shape {list(v.shape)}, the inferred architecture "
                                  f"expects {list(own[k].shape)}")
    module.load_state_dict(sd, strict=True)


def fmt_float(x) -> str:
    return f"{float(x):g}"
