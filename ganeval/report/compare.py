"""`compare`: every metric for every checkpoint, side by side — the StyleGAN paper's Table 4 as a report.

A checkpoint that fails to load, or a metric that cannot be computed for one model (PPL in W on a
generator without W), becomes a marked cell ("n/a: ...") instead of a crashed report. Results are
cached per (checkpoint content, preset, options, ganeval version) under $GANEVAL_CACHE/compare, so
re-running a report with one more checkpoint computes only what is new.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from threadpoolctl import threadpool_limits

from .._version import __version__
from ..checkpoints import load_checkpoint
from ..checkpoints.load import training_data
from ..errors import CheckpointError, ConfigError, GanevalError
from ..metrics.options import RunOptions
from ..metrics.presets import (
    get_preset,
    parse_presets,
    preset_reference_stats,
    route_options,
    run_preset,
    shared_generation,
)
from ..metrics.truncation import parse_psis
from ..utils import atomic_write, cache_dir, resolve_device, sha256_file, staged_dir
from .html import write_report
from .sections import sections
from .tables import wide_table

PPL_PREFIXES = ("ppl",)
# Options that do not change a number (progress bars, SVM fits in parallel): not part of the cache key.
NOT_PROTOCOL = ("progress", "n_jobs")


@dataclass
class ReportResult:
    table: pd.DataFrame                      # tidy: one row per number (failures as rows with a note)
    wide: pd.DataFrame                       # one row per checkpoint, "value [lo, hi]" cells
    out: Path | None = None
    files: dict[str, Path] = field(default_factory=dict)
    distances: dict = field(default_factory=dict)
    truncation: pd.DataFrame | None = None
    sections: dict = field(default_factory=dict)  # section name -> {label: its table and images} (sections.py)


def _label(ckpt, G, given: str | None) -> str:
    if given:
        return given
    name = Path(str(ckpt)).stem if not hasattr(ckpt, "parameters") else G.arch
    depth = f"map{G.mapping_depth}" if G.arch != "pggan" else "traditional"
    return f"{name} ({G.arch}, {depth})" if name not in (G.arch,) else f"{G.arch} {depth}"


def _cache_key(ckpt_hash: str, preset: str, options: dict) -> str:
    protocol = {k: repr(v) for k, v in sorted(options.items()) if k not in NOT_PROTOCOL}
    blob = json.dumps([ckpt_hash, preset, protocol, __version__])
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def _cached_run(ckpt_hash: str | None, preset: str, G, options: dict, use_cache: bool):
    """-> (rows DataFrame, distances or None); from the cache when the protocol matches."""
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


def parse_samples(spec, presets: list[str]) -> int | dict | None:
    """'500' (every preset), 'ls=2000,fd_synth=1000' or '500,ls=2000' (a default and exceptions) -> counts.

    A name may be a preset or the start of several ('ppl=200' sets every ppl_* preset); presets not
    named keep the bare default, or else their protocol's count.
    """
    if spec is None or isinstance(spec, (int, dict)):
        return spec
    default, counts = None, {}
    for part in str(spec).split(","):
        part = part.strip()
        if not part:
            continue
        name, _, value = part.rpartition("=")
        try:
            n = int(value)
            if n < 2:
                raise ValueError
        except ValueError:
            raise ConfigError(f"--samples: '{part}' is not a count >= 2 (expected N or PRESET=N)") from None
        if not name:
            default = n
            continue
        hits = [p for p in presets if p == name] or [p for p in presets if p.startswith(name)]
        if not hits:
            raise ConfigError(f"--samples: '{name}' matches none of the metrics ({', '.join(presets)})")
        counts.update({p: n for p in hits})
    if not counts:
        return default
    return {p: counts.get(p, default) for p in presets}


def _failure_row(label: str, metric: str, message: str, **extra) -> dict:
    return dict(label=label, metric=metric, value=math.nan, ci_low=math.nan, ci_high=math.nan,
                note=f"n/a: {message}", **extra)


@dataclass
class _Entry:
    """One checkpoint of the report: loaded (G, hash, label) or a load failure (error)."""
    ckpt: object
    label: str
    G: object = None
    ckpt_hash: str | None = None
    error: str | None = None


def _load_entry(ckpt, given: str | None, device) -> _Entry:
    try:
        if isinstance(ckpt, torch.nn.Module):
            G, ckpt_hash, meta = ckpt.to(device).eval(), None, {}
        else:
            c = load_checkpoint(ckpt, device=device)
            G, meta = c.generator.eval(), c.meta
            G.checkpoint_path, G.training_data = c.path, training_data(c)
            ckpt_hash = sha256_file(c.path)
    except GanevalError as e:
        return _Entry(ckpt, given or Path(str(ckpt)).stem, error=f"cannot load checkpoint ({e})")
    label = _label(ckpt, G, given)
    if "kimg" in meta and not given:
        label += f" {meta['kimg']}kimg"
    return _Entry(ckpt, label, G, ckpt_hash)


def _run_unit(G, ckpt_hash, preset: str, options: dict, cache: bool):
    """One number-producing run -> (df, distances, None) or (None, None, (error message, seconds))."""
    t0 = time.time()
    try:
        df, dist = _cached_run(ckpt_hash, preset, G, options, cache)
        return df, dist, None
    except GanevalError as e:
        return None, None, (str(e), time.time() - t0)


# Worker processes (compare(jobs > 1)): each loads a checkpoint once and runs the units it is given.
_WORKER_MODELS: dict = {}
_WORKER_LIMITS: list = []


def _worker_init(threads: int) -> None:
    torch.set_num_threads(threads)
    # BLAS (numpy/scipy: FD's matrix roots, SVMs) too, or two processes' threads fight over the cores.
    _WORKER_LIMITS.append(threadpool_limits(threads))


def _worker_unit(ckpt, device, preset: str, options: dict, cache: bool):
    if not isinstance(ckpt, (str, os.PathLike)):   # a module (API use) arrives pickled with every unit
        entry = _load_entry(ckpt, None, device)
    else:
        if str(ckpt) not in _WORKER_MODELS:
            _WORKER_MODELS[str(ckpt)] = _load_entry(ckpt, None, device)
        entry = _WORKER_MODELS[str(ckpt)]
    return _run_unit(entry.G, entry.ckpt_hash, preset, options, cache)


def _warm_reference_stats(presets, entries, options, device, progress) -> None:
    """Compute (and cache) the reference statistics once, before worker processes would each compute them."""
    G = next((e.G for e in entries if e.G is not None), None)
    if options.get("reference") is None or G is None:
        return
    for p in presets:
        try:
            preset_reference_stats(p, options["reference"], G.img_resolution, device=device, progress=progress,
                                   batch_size=options.get("batch_size"))
        except GanevalError:
            pass  # reported per cell when the preset runs


def _sections(entries, out: Path, classifiers, num_samples: int, device) -> dict:
    """The plugins' report sections (sections.py) of every checkpoint they apply to."""
    found = {}
    for section in sections():
        for i, e in enumerate(entries):
            if e.G is None or e.ckpt_hash is None or not section.applies(e.ckpt):
                continue
            try:
                found.setdefault(section.name, {})[e.label] = section.make(
                    e.ckpt, out, classifiers=classifiers, num_samples=num_samples, label=f"{i:02d}", device=device)
            except GanevalError as err:
                print(f"ganeval: no {section.title} section for {e.label}: {err}", file=sys.stderr)
    return found


# Rough relative cost of one run (by metric routine), to start the long ones first in worker processes.
_COST = {"separability": 4, "fid": 3, "kid": 3}


def compare(checkpoints, metrics, out: str | os.PathLike | None = None, labels: list[str] | None = None,
            num_samples: int | dict | None = None, psis=None, truncation_metrics=None, grids: bool = True,
            cache: bool = True, device=None, command: str | None = None, progress: bool | None = None,
            jobs: int = 1, section_samples: int = 500, **options) -> ReportResult:
    """Compute `metrics` (preset names) for every checkpoint and, with `out`, write the report folder.

    `num_samples`: one count for every preset, or {preset: count}. `options` go to every preset that
    accepts them (seed, batch_size, reference, classifiers, distance, bootstrap, ...). `psis` adds
    truncation curves for `truncation_metrics` (default: the first metric), each psi with the same
    seed (common random numbers). `jobs` > 1 shares the runs (checkpoint x metric x psi) out over
    that many worker processes on CPU, cores split between them (on small models this beats threads
    in one process); the numbers are those of jobs=1. Plugins add sections for the checkpoints they
    apply to (sections.py; e.g. GAN-Control's accuracy, effect and leakage per controlled attribute over
    `section_samples` samples, with a set-to-0 / set-to-1 grid per attribute).
    """
    presets = parse_presets(metrics)
    truncation_metrics = parse_presets(truncation_metrics) if truncation_metrics else presets[:1]
    everything = list(dict.fromkeys(presets + truncation_metrics))
    run, per_preset = route_options([get_preset(p) for p in everything], options)   # a misspelt option fails here
    psis = parse_psis(psis) if psis is not None else []
    device = resolve_device(device)
    labels = list(labels or [])
    entries = [_load_entry(ckpt, labels[i] if i < len(labels) else None, device) for i, ckpt in enumerate(checkpoints)]
    if entries and all(e.G is None for e in entries):   # nothing to report: say why, write nothing
        more = f" (and {len(entries) - 1} more)" if len(entries) > 1 else ""
        raise CheckpointError(f"no checkpoint loads: {entries[0].error}{more}")

    def count(p):
        return num_samples.get(p) if isinstance(num_samples, dict) else num_samples

    # Units: (entry index, preset, psi or None). psi = 1 is each preset's own default, so the
    # truncation curve's psi = 1 point is the main table's run (same cache entry), not a second one.
    units = [(i, p, None) for i, e in enumerate(entries) if e.G is not None for p in presets]
    units += [(i, p, psi) for i, e in enumerate(entries) if e.G is not None and e.G.has_w
              for psi in psis for p in truncation_metrics if not (psi == 1 and p in presets)]

    def unit_options(p, psi, **override):
        extra = {} if psi is None or psi == 1 else {"truncation_psi": psi}
        return {**run, **per_preset[p], "num_samples": count(p), "device": device, "progress": progress, **extra,
                **override}

    jobs = max(1, min(int(jobs or 1), len(units)))
    if jobs > 1 and device.type == "cpu":
        _warm_reference_stats(everything, entries, options, device, progress)
        threads = max(1, torch.get_num_threads() // jobs)
        order = sorted(range(len(units)), key=lambda k: -_COST.get(get_preset(units[k][1]).routine.__name__, 1))
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"), initializer=_worker_init,
                                 initargs=(threads,)) as pool:
            futures = {}
            for k in order:
                i, p, psi = units[k]
                ckpt = entries[i].ckpt
                # Progress bars of parallel workers would interleave; SVM fits stay in the worker.
                serial = {"n_jobs": options.get("n_jobs") or 1} if "n_jobs" in get_preset(p).accepts() else {}
                opts = unit_options(p, psi, progress=False, **serial)
                futures[k] = pool.submit(_worker_unit, ckpt if not isinstance(ckpt, torch.nn.Module) else entries[i].G,
                                         device, p, opts, cache)
            outcomes = [futures[k].result() for k in range(len(units))]
    else:
        # One generation pass per checkpoint (and psi) for the presets that read the same images.
        outcomes = []
        for (i, psi), group in itertools.groupby(units, key=lambda u: (u[0], u[2])):
            group = list(group)
            names = [p for _, p, _ in group]
            opts = RunOptions.make(**{k: v for k, v in unit_options(names[0], psi).items() if k in RunOptions.fields()})
            with shared_generation(entries[i].G, names, per_preset, {p: count(p) for p in names}, opts):
                outcomes += [_run_unit(entries[i].G, entries[i].ckpt_hash, p, unit_options(p, psi), cache)
                             for _, p, _ in group]
    runs = dict(zip(units, outcomes))

    frames, rows, trunc_frames = [], [], []
    distances: dict[str, dict[str, np.ndarray]] = {}
    for i, e in enumerate(entries):
        if e.G is None:
            rows += [_failure_row(e.label, p, e.error, checkpoint=str(e.ckpt), preset=p) for p in presets]
            continue
        for p in presets:
            df, dist, err = runs[(i, p, None)]
            if err is not None:
                rows.append(_failure_row(e.label, p, err[0], checkpoint=str(e.ckpt), arch=e.G.arch,
                                         mapping_depth=e.G.mapping_depth, time_s=err[1], preset=p))
                continue
            df = df.copy()
            df["label"], df["preset"] = e.label, p
            if e.ckpt_hash:
                df["checkpoint"] = str(e.ckpt)
            frames.append(df)
            if dist is not None:
                distances.setdefault(df["metric"].iloc[0], {})[e.label] = np.asarray(dist)
        curve = []
        for psi in (psis if e.G.has_w else []):
            for p in truncation_metrics:
                df, _, err = runs.get((i, p, psi)) or runs[(i, p, None)]
                if err is None:
                    curve.append(df.assign(psi=psi, truncation_cutoff=options.get("truncation_cutoff")))
        if curve:
            trunc_frames.append(pd.concat(curve, ignore_index=True).assign(label=e.label))
        elif psis:
            print(f"ganeval: no truncation curve for {e.label} ({'no W space' if not e.G.has_w else 'failed'})",
                  file=sys.stderr)
    table = pd.concat(frames + [pd.DataFrame(rows)], ignore_index=True) if (frames or rows) else pd.DataFrame()
    if "note" not in table.columns:
        table["note"] = None
    result = ReportResult(table=table, wide=wide_table(table, presets) if len(table) else pd.DataFrame(),
                          distances=distances,
                          truncation=pd.concat(trunc_frames, ignore_index=True) if trunc_frames else None)
    if out is not None:
        # The report folder fills only once every file is written (a full disk leaves no half report).
        with staged_dir(out) as stage:
            result.sections = _sections(entries, stage, options.get("classifiers"), section_samples, device)
            models = [(e.label, e.G) for e in entries if e.G is not None]
            write_report(result, stage, models=models if grids else [], presets=presets, command=command,
                         device=device)
        moved = lambda p: Path(out) / Path(p).relative_to(stage)  # noqa: E731
        result.out, result.files = Path(out), {k: moved(p) for k, p in result.files.items()}
        for found in result.sections.values():
            for sec in found.values():
                sec["images"] = {k: moved(p) for k, p in sec["images"].items()}
    return result
