"""The report's tables: headline rows, and the wide table (one row per checkpoint, "value [lo, hi]" cells)."""

from __future__ import annotations

import numpy as np
import pandas as pd


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


def wide_table(table: pd.DataFrame, presets: list[str] | None = None) -> pd.DataFrame:
    """One row per checkpoint (in input order), one column per headline number: 'value [lo, hi]' or the note.

    A failed run has no metric name of its own (PPL in W of PGGAN: no 'ppl_wend_synth' row), so its
    note goes under every column that the same preset fills for the other checkpoints. Columns follow
    the order of `presets` (default: first appearance).
    """
    s = summary_rows(table)
    failed = s["note"].astype(str).str.startswith("n/a") if "note" in s.columns else pd.Series(False, index=s.index)
    columns_of: dict[str, list[str]] = {}
    if "preset" in s.columns:
        for p, c in zip(s.loc[~failed, "preset"], s.loc[~failed, "column"]):
            columns_of.setdefault(p, [])
            if c not in columns_of[p]:
                columns_of[p].append(c)
    labels = list(dict.fromkeys(table["label"]))
    cols = list(dict.fromkeys(s["column"][~failed]))
    cols += [c for c in dict.fromkeys(s["column"][failed]) if not any(c in v for v in columns_of.values())
             and c not in cols and c not in columns_of]
    if presets and "preset" in s.columns:
        rank = {c: presets.index(p) for p, cs in columns_of.items() if p in presets for c in cs}
        cols = sorted(cols, key=lambda c: rank.get(c, presets.index(c) if c in presets else len(presets)))
    wide = pd.DataFrame(index=pd.Index(labels, name="checkpoint"), columns=cols, dtype=object)
    for (_, r), bad in zip(s.iterrows(), failed):
        if bad:
            for c in columns_of.get(r.get("preset"), [r["column"]]):
                wide.loc[r["label"], c] = _short_note(r["note"])
        elif np.isfinite(r.get("ci_low", np.nan)) and np.isfinite(r.get("ci_high", np.nan)):
            wide.loc[r["label"], r["column"]] = f"{_fmt(r['value'])} [{_fmt(r['ci_low'])}, {_fmt(r['ci_high'])}]"
        else:
            wide.loc[r["label"], r["column"]] = _fmt(r["value"])
    # W-space numbers of a model without W (LS returns Z rows only there): say so instead of a blank.
    if {"space", "mapping_depth"} <= set(s.columns):
        w_cols = set(s.loc[~failed & (s["space"] == "w"), "column"])
        no_w = set(s.loc[s["mapping_depth"] == 0, "label"])
        for label in no_w & set(wide.index):
            for c in w_cols & set(wide.columns):
                if not isinstance(wide.loc[label, c], str):
                    wide.loc[label, c] = "n/a: no W space"
    return wide.fillna("")


def _short_note(note: str) -> str:
    """The wide table's cell for a failed run; the tidy table keeps the whole message."""
    if "no W space" in note:
        return "n/a: no W space"
    if note.startswith("n/a: cannot load"):
        return "n/a: cannot load checkpoint"
    return note if len(note) <= 60 else note[:57] + "..."
