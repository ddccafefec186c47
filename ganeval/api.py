"""`ganeval.evaluate`: named metric presets on a generator or checkpoint -> one tidy DataFrame."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ConfigError
from .utils import atomic_write

if TYPE_CHECKING:  # pandas is imported on use: `import ganeval` stays light
    import pandas as pd

TABLE_FORMATS = (".csv", ".parquet", ".json", ".jsonl")


def evaluate(G_or_path, presets=("fid50k_full",), *, reference=None, classifiers=None,
             num_samples: int | None = None, seed: int = 0, batch_size: int | None = None, device=None,
             truncation_psi: float | None = None, truncation_cutoff: int | None = None,
             progress: bool | None = None, state_dir=None, **options) -> pd.DataFrame:
    """Run metric presets (names from `ganeval.metrics.list_presets()`, or 'a,b,c') and stack their rows.

    `G_or_path`: a Generator, a checkpoint path or a bundled model name. `reference` (FID/KID): a
    dataset path, a dataset object or a statistics .npz; `classifiers` (LS): a module, name or path.
    `num_samples` overrides every preset's sample count (rows keep `protocol_samples`). Further
    `options` (e.g. n_jobs, bootstrap, resize_rule, distance, xflip, cache) go to the presets that accept them.

    Under torchrun every process runs this call; the samples are shared out and every process gets
    the same table. `state_dir`: finished sample blocks are kept in state_dir/<preset>/ and a repeated
    call (e.g. after the job was killed) resumes from them; other settings in the same folder are refused.
    """
    import pandas as pd

    from .metrics.common import metric_device
    from .metrics.registry import parse_presets, run_preset
    from .metrics.runner import sub_state

    names = parse_presets(presets)
    checkpoint = None
    if isinstance(G_or_path, (str, os.PathLike)):
        from .checkpoints import load_generator

        checkpoint = str(G_or_path)
        G = load_generator(G_or_path, device=metric_device(device))  # under torchrun: this process's GPU
    else:
        G = G_or_path
    shared = dict(reference=reference, classifiers=classifiers, seed=seed, batch_size=batch_size, device=device,
                  truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff, progress=progress, **options)
    frames = [run_preset(name, G, num_samples=num_samples, state_dir=sub_state(state_dir, name), **shared)
              for name in names]
    df = pd.concat(frames, ignore_index=True)
    if checkpoint is not None:
        df["checkpoint"] = checkpoint
    return df


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
            try:
                df.to_parquet(tmp, index=False)
            except ImportError as e:
                raise ConfigError(f"writing parquet needs pyarrow ({e})") from None
        elif suffix == ".json":
            df.to_json(tmp, orient="records", indent=1, double_precision=15)
        else:
            df.to_json(tmp, orient="records", lines=True, double_precision=15)
    return path


def read_table(path: str | os.PathLike) -> pd.DataFrame:
    import pandas as pd

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return pd.read_csv(path)
    if suffix == ".parquet":
        return pd.read_parquet(path)
    if suffix in (".json", ".jsonl"):
        return pd.read_json(path, orient="records", lines=suffix == ".jsonl")
    raise ConfigError(f"cannot read '{path}': use one of {', '.join(TABLE_FORMATS)}")
