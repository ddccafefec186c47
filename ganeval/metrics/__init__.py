"""The metrics of the StyleGAN papers as plain functions of a generator returning tidy DataFrames.

    ppl(G, space='w', sampling='end', ...)          perceptual path length (ppl.py)
    separability(G, classifiers, attrs='all', ...)  linear separability (separability.py)
    fid(G, reference, ...), kid(G, reference, ...)  Fréchet / kernel Inception distance (fid.py, kid.py)
    equivariance(G, kind='int'|'frac'|'rot', ...)   EQ-T, EQ-T_frac, EQ-R of StyleGAN3 (equivariance.py)
    truncation_sweep(G, psis, metrics, ...)         any presets over a psi grid (truncation.py)
    evaluate(G_or_path, presets, ...)               named presets (presets.py) -> one table (evaluate.py)

Every metric takes its protocol settings as keywords and the shared run settings as one RunOptions
(options.py; or as keywords, which build it). Pure cores work on explicit samples: ppl_distances,
separability_from_predictions, frechet_distance, kernel_distance. Every metric runs its sample
blocks through runner.py: sharded over the processes of a torchrun job with results identical to one
process, and resumable from a state directory (`state_dir=`, CLI `--state`).
"""

from .equivariance import equivariance
from .evaluate import evaluate
from .fid import fid
from .frechet import frechet_distance
from .kid import kernel_distance, kid
from .moments import FeatureStats
from .options import RunOptions
from .ppl import crop_box, downsample_factor, lerp, ppl, ppl_distances, slerp
from .presets import PRESETS, Preset, get_preset, list_presets, presets_table, run_preset
from .reference import ReferenceStats, reference_stats
from .separability import conditional_entropy, separability, separability_from_predictions
from .stats import bootstrap_ci, percentile_filter
from .tables import COLUMNS, make_table, read_table, write_table
from .truncation import plot_truncation, truncation_sweep

__all__ = [
    "COLUMNS", "PRESETS", "FeatureStats", "Preset", "ReferenceStats", "RunOptions", "bootstrap_ci",
    "conditional_entropy", "crop_box", "downsample_factor", "equivariance", "evaluate", "fid", "frechet_distance",
    "get_preset", "kernel_distance", "kid", "lerp", "list_presets", "make_table", "percentile_filter",
    "plot_truncation", "ppl", "ppl_distances", "presets_table", "read_table", "reference_stats", "run_preset",
    "separability", "separability_from_predictions", "slerp", "truncation_sweep", "write_table",
]
