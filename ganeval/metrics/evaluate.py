"""`ganeval.evaluate`: named metric presets on a generator or checkpoint -> one tidy DataFrame."""

from __future__ import annotations

import os

import pandas as pd

from ..checkpoints import load_generator
from .common import metric_device
from .options import RunOptions
from .presets import get_preset, parse_presets, route_options, run_preset, with_state


def evaluate(G_or_path, presets=("fid50k_full",), *, reference=None, classifiers=None,
             num_samples: int | None = None, opts: RunOptions | None = None, **options) -> pd.DataFrame:
    """Run metric presets (names from `ganeval.metrics.list_presets()`, or 'a,b,c') and stack their rows.

    `G_or_path`: a Generator, a checkpoint path or a bundled model name. `reference` (FID/KID): a
    dataset path, a dataset object or a statistics .npz; `classifiers` (LS): a module, name or path.
    `num_samples` overrides every preset's sample count (rows keep `protocol_samples`). `opts` and the
    run-setting keywords (seed, batch_size, device, progress, state_dir, truncation_psi,
    truncation_cutoff, bootstrap) apply to every preset; other `options` (e.g. n_jobs, distance,
    resize_rule, xflip, cache) go to the presets that take them, and one that no preset takes is a
    ConfigError naming it.

    Under torchrun every process runs this call; the samples are shared out and every process gets
    the same table. `state_dir`: finished sample blocks are kept in state_dir/<preset>/ and a repeated
    call (e.g. after the job was killed) resumes from them; other settings in the same folder are refused.
    """
    names = parse_presets(presets)
    run, per_preset = route_options([get_preset(n) for n in names], options)
    o = RunOptions.make(opts, **run)
    checkpoint = None
    if isinstance(G_or_path, (str, os.PathLike)):
        checkpoint = str(G_or_path)
        G = load_generator(G_or_path, device=metric_device(o.device))  # under torchrun: this process's GPU
    else:
        G = G_or_path
    frames = [run_preset(name, G, num_samples=num_samples, reference=reference, classifiers=classifiers,
                         opts=with_state(o, name), **per_preset[name])
              for name in names]
    df = pd.concat(frames, ignore_index=True)
    if checkpoint is not None:
        df["checkpoint"] = checkpoint
    return df
