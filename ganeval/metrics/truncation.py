"""Truncation sweeps: any metric presets over a grid of psi (Karras et al. 2019 §2; Brock et al. 2019).

The truncation trick w' = w_avg + psi (w - w_avg) (on the first `cutoff` layers when a cutoff is
given) trades variety for quality; the papers plot FID (and PPL) against psi. Each preset runs
once per psi with the same seed, so every psi sees the same latents (common random numbers) and
the curve's wiggles are not sampling noise between points. Reference statistics are computed once
(cached on disk by key) and reused across psi.
"""

from __future__ import annotations

import math
import os
from dataclasses import replace

import pandas as pd
from matplotlib.figure import Figure

from ..errors import ConfigError
from ..utils import atomic_write, parse_float_range
from .options import RunOptions
from .presets import get_preset, parse_presets, route_options, run_preset, shared_generation, with_state


def parse_psis(spec) -> list[float]:
    """'0.5:1.0:0.1', '0.5,0.7,1' or a list of finite numbers -> [psi, ...]."""
    try:
        psis = parse_float_range(spec) if isinstance(spec, str) else [float(p) for p in spec]
    except (ConfigError, TypeError, ValueError) as e:
        raise ConfigError(f"psi grid: {e}") from None
    if not psis:
        raise ConfigError("empty psi grid")
    if not all(math.isfinite(p) for p in psis):
        raise ConfigError(f"psi grid {spec}: every psi must be a finite number")
    return psis


def truncation_sweep(G, psis, metrics=("fid50k_full",), num_samples: int | None = None, *, reference=None,
                     classifiers=None, opts: RunOptions | None = None, **options) -> pd.DataFrame:
    """One table: every preset in `metrics` at every psi in `psis` (rows keep `psi` and `truncation_cutoff`).

    `reference`, `classifiers`, `opts` and `options` are those of `ganeval.evaluate` (the psi of `opts`
    is replaced by each psi of the grid; `truncation_cutoff` applies to all). Presets that forbid
    truncation by protocol (all NVIDIA ones use psi = 1) are still run as asked: the `psi` column says
    what was done. `state_dir`: resumable runs, one subfolder per psi and preset
    (state_dir/psi0.5/fid50k_full/).
    """
    psis = parse_psis(psis)
    names = parse_presets(metrics)
    run, per_preset = route_options([get_preset(n) for n in names], options)
    o = RunOptions.make(opts, **run)
    frames = []
    for psi in psis:
        at_psi = replace(with_state(o, f"psi{psi:g}"), truncation_psi=psi)
        with shared_generation(G, names, per_preset, num_samples, at_psi):   # one generation pass per psi
            for name in names:
                frames.append(run_preset(name, G, num_samples=num_samples, reference=reference,
                                         classifiers=classifiers, opts=with_state(at_psi, name), **per_preset[name]))
    return pd.concat(frames, ignore_index=True)


def plot_truncation(df: pd.DataFrame, path: str | os.PathLike) -> None:
    """Metric vs psi with 95% intervals, one panel per metric (LS: the 'ALL' rows), saved atomically."""
    d = df
    if "attr" in d.columns:
        d = d[d["attr"].isna() | (d["attr"] == "ALL")]
    groups = list(d.groupby(["metric", d["space"].fillna("")], sort=False))
    if not groups:
        raise ConfigError("nothing to plot")
    fig = Figure(figsize=(4 * len(groups), 3.2))   # no pyplot: the figure is written, never shown
    axes = fig.subplots(1, len(groups), squeeze=False)
    for ax, ((metric, space), g) in zip(axes[0], groups):
        g = g.sort_values("psi")
        yerr = [(g["value"] - g["ci_low"]).clip(lower=0).fillna(0), (g["ci_high"] - g["value"]).clip(lower=0).fillna(0)]
        ax.errorbar(g["psi"], g["value"], yerr=yerr, marker="o", capsize=3)
        ax.set_xlabel("truncation psi")
        ax.set_title(f"{metric}" + (f" ({space})" if space else ""))
        ax.grid(alpha=0.3)
    fig.tight_layout()
    suffix = os.path.splitext(str(path))[1] or ".png"
    with atomic_write(path, suffix=suffix) as tmp:
        fig.savefig(tmp, format=suffix.lstrip("."), dpi=120)
