"""Plumbing shared by the metric modules: devices, generator preparation, progress bars, result tables.

Result tables are tidy: one row per number. `COLUMNS` lead in this order; metric-specific protocol
columns follow. Two rows are comparable exactly when their protocol columns agree.
"""

from __future__ import annotations

import copy
import sys
import time

import pandas as pd
import torch

from .. import __version__, dist
from ..utils import resolve_device

COLUMNS = [
    "metric", "value", "ci_low", "ci_high", "ci_method", "num_samples", "protocol_samples", "seed", "checkpoint",
    "arch", "mapping_depth", "resolution", "psi", "truncation_cutoff", "space", "feature_net", "time_s",
    "ganeval_version",
]


def metric_device(device=None) -> torch.device:
    """The device this process computes on: `device` (None: CUDA when present, else CPU).

    Under torchrun (WORLD_SIZE > 1) this joins the process group (NCCL on CUDA, gloo on the CPU) and
    gives each process its own GPU, cuda:<local rank>, unless an index was asked for explicitly.
    """
    device = resolve_device(device)
    if dist.world_size() > 1:
        device = dist.init(device)
    return device


def prepare_generator(G, device=None) -> tuple[torch.nn.Module, torch.device]:
    """A private eval-mode copy of G on `device` (metrics redraw its noise buffers; the caller's G is untouched)."""
    device = metric_device(device)
    G2 = copy.deepcopy(G).eval().requires_grad_(False).to(device)
    for attr in ("checkpoint_path",):
        if hasattr(G, attr):
            setattr(G2, attr, getattr(G, attr))
    return G2, device


def generator_info(G) -> dict:
    return dict(
        checkpoint=getattr(G, "checkpoint_path", None),
        arch=getattr(G, "arch", None),
        mapping_depth=getattr(G, "mapping_depth", None),
        resolution=getattr(G, "img_resolution", None),
    )


def progress_bar(total: int, desc: str, progress: bool | None, unit: str = "img"):
    """tqdm on stderr; `progress=None` shows it only on a terminal; only the main process shows one."""
    from tqdm.auto import tqdm

    if progress is None:
        progress = sys.stderr.isatty()
    progress = bool(progress) and dist.is_main()
    return tqdm(total=total, desc=desc, unit=unit, disable=not progress, leave=False, dynamic_ncols=True)


def make_table(G, rows: list[dict], **common) -> pd.DataFrame:
    """Rows + generator description + shared protocol values -> DataFrame with COLUMNS first."""
    base = dict.fromkeys(COLUMNS)
    base.update(generator_info(G) if G is not None else {})
    base["ganeval_version"] = __version__
    records = [{**base, **common, **row} for row in rows]
    df = pd.DataFrame.from_records(records)
    extra = [c for c in df.columns if c not in COLUMNS]
    return df[COLUMNS + extra]


class Timer:
    def __enter__(self):
        self.t0 = time.perf_counter()
        return self

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def __exit__(self, *exc):
        return False
