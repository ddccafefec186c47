"""What `ganeval compare` shows for a checkpoint with control encoders (the GAN-Control section).

    has_encoders(path)                      cheap check: does the checkpoint's meta hold 'gan_control'?
    control_section(path, out_dir, ...)     -> {'table': DataFrame, 'images': {attr: png path}}

The table holds control_metrics (accuracy / effect / leakage per attribute, judged by the training net and, where
bundled, the independent synthfaces-judge) and, optionally, LS per subspace;
each image is a grid of `seeds` (columns) with the attribute set to 0 (top row) and to 1 (bottom row), the
other sub-vectors shared, so a reader sees at a glance what setting the attribute does and what it leaks.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import torch

from ..checkpoints import resolve_path, torch_load_safely
from ..errors import GanevalError
from ..images import save_image_grid
from .encoders import META_KEY, generate_controlled, load_control
from .metrics import control_metrics, default_judges, subspace_separability

SECTION_INTRO = ("Each controlled attribute set to 0 and to 1 through its encoder (other sub-vectors shared): "
                 "accuracy = the classifier sees the requested value; effect = mean change of its probability; "
                 "leakage = mean change of the other attributes' probabilities. Each judge (feature_net) gives its "
                 "own rows; a generator trained against a classifier set's embeddings can please that set alone, so "
                 "an independent judge's rows are the ones to trust.")


def section_caption(attr: str) -> str:
    return f"GAN-Control {attr}: top row set to 0, bottom row set to 1"


SECTION_COLUMNS = ("metric", "feature_net", "attr", "value", "ci_low", "ci_high", "leak_max_attr", "num_samples")


def has_encoders(path) -> bool:
    try:
        obj = torch_load_safely(resolve_path(path))
    except GanevalError:
        return False
    return isinstance(obj, dict) and isinstance(obj.get("meta"), dict) and META_KEY in obj["meta"]


def control_section(path, out_dir, classifiers=None, num_samples: int = 500, ls_samples: int = 0,
                    seeds=tuple(range(8)), label: str | None = None, device=None) -> dict:
    G, enc = load_control(path, device=device or "cpu")
    # The training net (+ the bundled judge) always; classifiers given for the report (e.g. for LS) join them.
    judges = default_judges(path)
    extra = classifiers if isinstance(classifiers, (list, tuple)) else [] if classifiers is None else [classifiers]
    judges += [c for c in extra if c not in judges]
    dfs = [control_metrics(G, enc, judges, num_samples=num_samples, device=device)]
    if ls_samples:
        dfs.append(subspace_separability(G, judges, num_samples=ls_samples, device=device))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    images = {}
    stem = label or Path(path).stem
    for k, attr in enumerate(G.control_attrs):
        rows = [generate_controlled(G, enc, list(seeds), {k: v}) for v in (0.0, 1.0)]
        file = out_dir / f"control-{stem}-{attr}.png"
        save_image_grid(torch.cat(rows), file, nrow=len(seeds))
        images[attr] = file
    return {"table": pd.concat(dfs, ignore_index=True), "images": images}
