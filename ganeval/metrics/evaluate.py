"""`ganeval.evaluate`: named metric presets on a generator or checkpoint -> one tidy DataFrame."""

from __future__ import annotations

import math
import os

import pandas as pd

from ..checkpoints import load_generator
from ..errors import MetricError
from .common import metric_device
from .options import RunOptions
from .presets import get_preset, parse_presets, route_options, run_preset, shared_generation, with_state
from .tables import make_table


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

    Presets that look at the same images (FID, KID and the other metrics on features of generated images, at the
    same sample count) share one generation pass: each image is generated once and every feature net they need
    runs on it (generated.py); each number is the one the preset gives alone.

    A preset this generator cannot have (MetricError: PPL or LS in W without a mapping network) gives one row
    with value NaN and a `note` saying why; the other presets' rows are kept. Under torchrun every process runs
    this call; the samples are shared out and every process gets
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
    frames = []
    with shared_generation(G, names, per_preset, num_samples, o):
        for name in names:
            try:
                frames.append(run_preset(name, G, num_samples=num_samples, reference=reference,
                                         classifiers=classifiers, opts=with_state(o, name), **per_preset[name]))
            except MetricError as e:
                # A number this generator cannot have (PPL in W without a mapping network): a marked row, as in
                # `ganeval compare`, and the other presets' rows are kept.
                frames.append(make_table(G, [dict(metric=name, value=math.nan, ci_low=math.nan, ci_high=math.nan,
                                                  seed=o.seed, protocol_samples=get_preset(name).protocol_samples,
                                                  note=f"n/a: {e}")]))
    df = pd.concat(frames, ignore_index=True)
    if checkpoint is not None:
        df["checkpoint"] = checkpoint
    return df
