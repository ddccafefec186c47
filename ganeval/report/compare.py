"""`compare`: every metric for every checkpoint, side by side — the StyleGAN paper's Table 4 as a report.

A checkpoint that fails to load, or a metric that cannot be computed for one model (PPL in W on a
generator without W), becomes a marked cell ("n/a: ...") instead of a crashed report. Results are
cached per (checkpoint content, preset, options, ganeval version) under $GANEVAL_CACHE/compare, so
re-running a report with one more checkpoint computes only what is new.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .. import __version__
from ..errors import GanevalError
from ..utils import atomic_write, cache_dir, sha256_file

PPL_PREFIXES = ("ppl",)


@dataclass
class ReportResult:
    table: pd.DataFrame                      # tidy: one row per number (failures as rows with a note)
    wide: pd.DataFrame                       # one row per checkpoint, "value [lo, hi]" cells
    out: Path | None = None
    files: dict[str, Path] = field(default_factory=dict)
    distances: dict = field(default_factory=dict)
    truncation: pd.DataFrame | None = None


def _label(ckpt, G, given: str | None) -> str:
    if given:
        return given
    name = Path(str(ckpt)).stem if not hasattr(ckpt, "parameters") else G.arch
    depth = f"map{G.mapping_depth}" if G.arch != "pggan" else "traditional"
    return f"{name} ({G.arch}, {depth})" if name not in (G.arch,) else f"{G.arch} {depth}"


def _cache_key(ckpt_hash: str, preset: str, options: dict) -> str:
    protocol = {k: repr(v) for k, v in sorted(options.items()) if k != "progress"}
    blob = json.dumps([ckpt_hash, preset, protocol, __version__])
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def _cached_run(ckpt_hash: str | None, preset: str, G, options: dict, use_cache: bool):
    """-> (rows DataFrame, distances or None); from the cache when the protocol matches."""
    from ..metrics.registry import get_preset, run_preset

    is_ppl = preset.startswith(PPL_PREFIXES) and "return_distances" in get_preset(preset).accepts()
    key = _cache_key(ckpt_hash, preset, options) if (use_cache and ckpt_hash) else None
    root = cache_dir() / "compare"
    if key and (root / f"{key}.json").is_file():
        df = pd.DataFrame.from_records(json.loads((root / f"{key}.json").read_text()))
        dist = np.load(root / f"{key}.npy") if (root / f"{key}.npy").is_file() else None
        return df, dist
    out = run_preset(preset, G, return_distances=True, **options) if is_ppl else run_preset(preset, G, **options)
    df, dist = out if isinstance(out, tuple) else (out, None)
    if key:
        root.mkdir(parents=True, exist_ok=True)
        if dist is not None:
            with atomic_write(root / f"{key}.npy", suffix=".npy") as tmp:
                with open(tmp, "wb") as fh:
                    np.save(fh, np.asarray(dist))
        with atomic_write(root / f"{key}.json", suffix=".json") as tmp:
            # json (repr floats) rather than pandas' to_json: the cached numbers must come back bit-identical.
            tmp.write_text(json.dumps(df.astype(object).where(df.notna(), None).to_dict(orient="records"),
                                      default=str))
    return df, dist


def _failure_row(label: str, metric: str, message: str, **extra) -> dict:
    return dict(label=label, metric=metric, value=math.nan, ci_low=math.nan, ci_high=math.nan,
                note=f"n/a: {message}", **extra)


def summary_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The headline rows (per-attribute LS rows dropped) with a `column` name: metric, or metric_space for LS."""
    df = table.copy()
    if "attr" in df.columns:
        df = df[df["attr"].isna() | (df["attr"] == "ALL")]
    def column(r):
        if r["metric"].startswith("ls") and isinstance(r.get("space"), str) and r.get("attr") == "ALL":
            return f"{r['metric']}_{r['space']}"
        return r["metric"]
    df["column"] = df.apply(column, axis=1) if len(df) else []
    return df


def _fmt(v: float) -> str:
    if not np.isfinite(v):
        return "nan"
    a = abs(v)
    return f"{v:.3g}" if a < 1 else f"{v:.4g}" if a < 1e4 else f"{v:.3e}"


def wide_table(table: pd.DataFrame) -> pd.DataFrame:
    """One row per checkpoint (in input order), one column per headline number: 'value [lo, hi]' or the note."""
    s = summary_rows(table)
    labels = list(dict.fromkeys(table["label"]))
    cols = list(dict.fromkeys(s["column"]))
    wide = pd.DataFrame(index=pd.Index(labels, name="checkpoint"), columns=cols, dtype=object)
    for _, r in s.iterrows():
        if isinstance(r.get("note"), str) and r["note"].startswith("n/a"):
            cell = r["note"]
        elif np.isfinite(r.get("ci_low", np.nan)) and np.isfinite(r.get("ci_high", np.nan)):
            cell = f"{_fmt(r['value'])} [{_fmt(r['ci_low'])}, {_fmt(r['ci_high'])}]"
        else:
            cell = _fmt(r["value"])
        wide.loc[r["label"], r["column"]] = cell
    return wide.fillna("")


def compare(checkpoints, metrics, out: str | os.PathLike | None = None, labels: list[str] | None = None,
            num_samples: int | dict | None = None, psis=None, truncation_metrics=None, grids: bool = True,
            cache: bool = True, device=None, command: str | None = None, progress: bool | None = None,
            **options) -> ReportResult:
    """Compute `metrics` (preset names) for every checkpoint and, with `out`, write the report folder.

    `num_samples`: one count for every preset, or {preset: count}. `options` go to every preset that
    accepts them (seed, batch_size, reference, classifiers, distance, bootstrap, ...). `psis` adds
    truncation curves for `truncation_metrics` (default: the first metric).
    """
    import torch

    from ..checkpoints import load_checkpoint
    from ..metrics.registry import parse_presets
    from ..metrics.truncation import truncation_sweep
    from ..utils import resolve_device

    presets = parse_presets(metrics)
    device = resolve_device(device)
    labels = list(labels or [])
    rows, frames, models = [], [], []
    distances: dict[str, dict[str, np.ndarray]] = {}
    trunc_frames = []
    for i, ckpt in enumerate(checkpoints):
        given = labels[i] if i < len(labels) else None
        try:
            if isinstance(ckpt, torch.nn.Module):
                G, ckpt_hash, meta = ckpt.to(device).eval(), None, {}
            else:
                c = load_checkpoint(ckpt, device=device)
                G, meta = c.generator.eval(), c.meta
                G.checkpoint_path = c.path
                ckpt_hash = sha256_file(c.path)
        except GanevalError as e:
            label = given or Path(str(ckpt)).stem
            rows += [_failure_row(label, p, f"cannot load checkpoint ({e})", checkpoint=str(ckpt)) for p in presets]
            continue
        label = _label(ckpt, G, given)
        if "kimg" in meta and not given:
            label += f" {meta['kimg']}kimg"
        models.append((label, G))
        for p in presets:
            n = num_samples.get(p) if isinstance(num_samples, dict) else num_samples
            opts = dict(options, num_samples=n, device=device, progress=progress)
            t0 = time.time()
            try:
                df, dist = _cached_run(ckpt_hash, p, G, opts, cache)
            except GanevalError as e:
                rows.append(_failure_row(label, p, str(e), checkpoint=str(ckpt), arch=G.arch,
                                         mapping_depth=G.mapping_depth, time_s=time.time() - t0))
                continue
            df = df.copy()
            df["label"], df["preset"] = label, p
            if ckpt_hash:
                df["checkpoint"] = str(ckpt)
            frames.append(df)
            if dist is not None:
                distances.setdefault(df["metric"].iloc[0], {})[label] = np.asarray(dist)
        if psis is not None:
            tm = truncation_metrics or presets[:1]
            try:
                t = truncation_sweep(G, psis, tm, num_samples=num_samples if isinstance(num_samples, int) else None,
                                     device=device, progress=progress,
                                     **{k: v for k, v in options.items() if k not in ("num_samples",)})
                t["label"] = label
                trunc_frames.append(t)
            except GanevalError as e:
                print(f"ganeval: truncation sweep skipped for {label}: {e}", file=sys.stderr)
    table = pd.concat(frames + [pd.DataFrame(rows)], ignore_index=True) if (frames or rows) else pd.DataFrame()
    if "note" not in table.columns:
        table["note"] = None
    result = ReportResult(table=table, wide=wide_table(table) if len(table) else pd.DataFrame(),
                          distances=distances,
                          truncation=pd.concat(trunc_frames, ignore_index=True) if trunc_frames else None)
    if out is not None:
        from .html import write_report

        write_report(result, Path(out), models=models if grids else [], presets=presets, command=command,
                     device=device)
    return result
