"""Training PGGAN, StyleGAN and StyleGAN2 (`ganeval train`), on one CPU or many GPUs.

    opts = resolve_options(arch='stylegan2', data='synthfaces:10000?res=32', kimg=500, batch=32)
    run_dir = train(opts)

Modules: options (TrainingOptions, resolve_options, the papers' defaults), loop (train),
loss (GANLoss, r1_penalty, path_lengths, gradient_penalty), schedule (progressive growing,
fade_reals), data (the deterministic sample stream).
"""

from .data import InMemoryDataset, SampleStream
from .loop import train
from .loss import GANLoss, gradient_penalty, path_lengths, r1_penalty
from .options import (
    ARCH_DEFAULTS,
    TrainingOptions,
    find_latest_checkpoint,
    resolve_options,
    run_snapshots,
    runs_by_name,
)
from .schedule import GrowthSchedule, Step, fade_reals

__all__ = [
    "ARCH_DEFAULTS", "GANLoss", "GrowthSchedule", "InMemoryDataset", "SampleStream", "Step", "TrainingOptions",
    "fade_reals", "find_latest_checkpoint", "gradient_penalty", "path_lengths", "r1_penalty", "resolve_options",
    "run_snapshots", "runs_by_name", "train",
]
