"""Result tables: the tidy columns every metric row carries, and reading/writing them.

Tables are tidy: one row per number. `COLUMNS` lead in this order; metric-specific protocol columns
follow. Two rows are comparable exactly when their protocol columns agree (docs/metrics.md, "Result
tables").
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from .._version import __version__
from ..errors import ConfigError
from ..utils import atomic_write

COLUMNS = [
    "metric", "value", "ci_low", "ci_high", "ci_method", "num_samples", "protocol_samples", "seed", "checkpoint",
    "arch", "mapping_depth", "resolution", "psi", "truncation_cutoff", "space", "feature_net", "time_s",
    "ganeval_version",
]
TABLE_FORMATS = (".csv", ".parquet", ".json", ".jsonl")


def generator_info(G) -> dict:
    return dict(
        checkpoint=getattr(G, "checkpoint_path", None),
        arch=getattr(G, "arch", None),
        mapping_depth=getattr(G, "mapping_depth", None),
        resolution=getattr(G, "img_resolution", None),
    )


def make_table(G, rows: list[dict], **common) -> pd.DataFrame:
    """Rows + generator description + shared protocol values -> DataFrame with COLUMNS first."""
    base = dict.fromkeys(COLUMNS)
    base.update(generator_info(G) if G is not None else {})
    base["ganeval_version"] = __version__
    records = [{**base, **common, **row} for row in rows]
    df = pd.DataFrame.from_records(records)
    extra = [c for c in df.columns if c not in COLUMNS]
    return df[COLUMNS + extra]


def table_suffix(path: str | os.PathLike) -> str:
    """The table format of `path` (its lower-case suffix); a one-line ConfigError for any other. CLIs call it
    before the work, so that a bad --out fails at once."""
    suffix = Path(path).suffix.lower()
    if suffix not in TABLE_FORMATS:
        raise ConfigError(f"cannot write '{path}': use one of {', '.join(TABLE_FORMATS)}")
    return suffix


def write_table(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write a result table as .csv, .parquet, .json (records) or .jsonl, atomically."""
    path = Path(path)
    suffix = table_suffix(path)
    with atomic_write(path, suffix=suffix) as tmp:
        if suffix == ".csv":
            df.to_csv(tmp, index=False)
        elif suffix == ".parquet":
            df.to_parquet(tmp, index=False)
        elif suffix == ".json":
            df.to_json(tmp, orient="records", indent=1, double_precision=15)
        else:
            df.to_json(tmp, orient="records", lines=True, double_precision=15)
    return path


def read_table(path: str | os.PathLike) -> pd.DataFrame:
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return pd.read_csv(path)
    if suffix == ".parquet":
        return pd.read_parquet(path)
    if suffix in (".json", ".jsonl"):
        return pd.read_json(path, orient="records", lines=suffix == ".jsonl")
    raise ConfigError(f"cannot read '{path}': use one of {', '.join(TABLE_FORMATS)}")
