"""Plumbing shared by the metric modules: devices, generator preparation, progress bars, timing."""

from __future__ import annotations

import copy
import sys
import time

import torch
from tqdm.auto import tqdm

from .. import dist
from ..utils import resolve_device


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
    for attr in ("checkpoint_path", "training_data"):
        if hasattr(G, attr):
            setattr(G2, attr, getattr(G, attr))
    return G2, device


def progress_bar(total: int, desc: str, progress: bool | None, unit: str = "img"):
    """tqdm on stderr; `progress=None` shows it only on a terminal; only the main process shows one."""
    if progress is None:
        progress = sys.stderr.isatty()
    progress = bool(progress) and dist.is_main()
    return tqdm(total=total, desc=desc, unit=unit, disable=not progress, leave=False, dynamic_ncols=True)


class Timer:
    def __enter__(self):
        self.t0 = time.perf_counter()
        return self

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def __exit__(self, *exc):
        return False
