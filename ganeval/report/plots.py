"""Matplotlib figures of the report (Agg backend, PNG). Each returns the path it wrote or None."""

from __future__ import annotations

import io
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..utils import atomic_write


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> Path:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    _plt().close(fig)
    with atomic_write(path, suffix=".png") as tmp:
        tmp.write_bytes(buf.getvalue())
    return path


def _err(sub: pd.DataFrame):
    lo = (sub["value"] - sub["ci_low"]).clip(lower=0).fillna(0).to_numpy()
    hi = (sub["ci_high"] - sub["value"]).clip(lower=0).fillna(0).to_numpy()
    return np.vstack([lo, hi])


def _panel(column: str, space) -> str:
    """The panel a number goes on: Z and W versions of one metric share it (ppl_zfull, ppl_wfull -> ppl_full)."""
    if space not in ("z", "w"):
        return column
    return re.sub(rf"_{space}(?=full|end|_|$)", "_", column, count=1).replace("__", "_").rstrip("_")


def metric_vs_depth(summary: pd.DataFrame, path: Path) -> Path | None:
    """One panel per metric: value vs mapping depth with 95% error bars; Z (dashed) and W (solid) side by side."""
    df = summary.dropna(subset=["value", "mapping_depth"]).copy()
    if df.empty:
        return None
    plt = _plt()
    space = df["space"] if "space" in df.columns else pd.Series(None, index=df.index)
    df["panel"] = [_panel(c, sp) for c, sp in zip(df["column"], space)]
    df["series_space"] = space.where(space.isin(["z", "w"]), "")
    metrics = list(dict.fromkeys(df["panel"]))
    cols = min(3, len(metrics))
    rows = math.ceil(len(metrics) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False)
    for ax, m in zip(axes.flat, metrics):
        sub = df[df["panel"] == m]
        for (arch, sp), g in sub.groupby(["arch", "series_space"], sort=False):
            g = g.sort_values("mapping_depth")
            ax.errorbar(g["mapping_depth"], g["value"], yerr=_err(g), marker="o", capsize=3,
                        linestyle="--" if sp == "z" else "-", label=f"{arch} {sp.upper()}".strip())
        ax.set_title(m + (" (Z dashed, W solid)" if sub["series_space"].nunique() > 1 else ""), fontsize=10)
        ax.set_xlabel("mapping depth")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
        if m.startswith("ls"):
            ax.set_yscale("log")
    for ax in list(axes.flat)[len(metrics):]:
        ax.axis("off")
    fig.tight_layout()
    return _save(fig, path)


def truncation_curves(trunc: pd.DataFrame, path: Path) -> Path | None:
    if trunc is None or trunc.empty:
        return None
    plt = _plt()
    metrics = list(dict.fromkeys(trunc["metric"]))
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 3.2), squeeze=False)
    for ax, m in zip(axes.flat, metrics):
        sub = trunc[trunc["metric"] == m]
        for label, g in sub.groupby("label", sort=False):
            g = g.sort_values("psi")
            ax.errorbar(g["psi"], g["value"], yerr=_err(g), marker="o", capsize=2, label=label)
        ax.set_title(f"{m} vs ψ", fontsize=10)
        ax.set_xlabel("truncation ψ")
        ax.grid(alpha=0.3)
    axes.flat[0].legend(fontsize=7)
    fig.tight_layout()
    return _save(fig, path)


def ppl_histograms(distances: dict[str, dict[str, np.ndarray]], path: Path) -> Path | None:
    """distances[metric][label] = all per-pair distances; log-x histograms with the 1st/99th percentile marked."""
    if not distances:
        return None
    plt = _plt()
    metrics = list(distances)
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 3.2), squeeze=False)
    for ax, m in zip(axes.flat, metrics):
        for label, d in distances[m].items():
            d = np.asarray(d)
            d = d[d > 0]
            if d.size == 0:
                continue
            bins = np.logspace(np.log10(d.min()), np.log10(d.max()) + 1e-9, 40)
            ax.hist(d, bins=bins, histtype="step", label=label)
        ax.set_xscale("log")
        ax.set_title(f"{m}: per-pair distance / ε²", fontsize=10)
        ax.grid(alpha=0.3)
    axes.flat[0].legend(fontsize=7)
    fig.tight_layout()
    return _save(fig, path)


def entropy_heatmap(rows: pd.DataFrame, path: Path) -> Path | None:
    """Per-attribute conditional entropy H(Y|X) in bits, attributes x checkpoints, one panel per space."""
    if rows is None or rows.empty:
        return None
    plt = _plt()
    spaces = [s for s in ("z", "w") if s in set(rows["space"])]
    if not spaces:
        return None
    fig, axes = plt.subplots(1, len(spaces), figsize=(2.2 + 1.1 * rows["label"].nunique() * len(spaces), 9),
                             squeeze=False)
    for ax, space in zip(axes.flat, spaces):
        mat = rows[rows["space"] == space].pivot_table(index="attr", columns="label", values="value", sort=False)
        im = ax.imshow(mat.to_numpy(), aspect="auto", cmap="magma", vmin=0, vmax=1)
        ax.set_yticks(range(len(mat.index)), mat.index, fontsize=6)
        ax.set_xticks(range(len(mat.columns)), mat.columns, rotation=45, ha="right", fontsize=7)
        ax.set_title(f"H(Y|X) bits, {space.upper()}", fontsize=10)
    fig.colorbar(im, ax=list(axes.flat), shrink=0.6)
    return _save(fig, path)
