"""The metrics of the StyleGAN papers as plain functions of a generator returning tidy DataFrames.

    ppl(G, space='w', sampling='end', ...)          perceptual path length (ppl.py)
    separability(G, classifiers, attrs='all', ...)  linear separability (separability.py)
    fid(G, reference, ...), kid(G, reference, ...)  Fréchet / kernel Inception distance (fid.py)
    truncation_sweep(G, psis, metrics, ...)         any presets over a psi grid (truncation.py)

Named presets (ppl_wend, ls, fid50k_full, ...) live in the registry (registry.py); each metric
module registers its own. Every metric runs its sample blocks through runner.py: sharded over the
processes of a torchrun job with results identical to one process, and resumable from a state
directory (`state_dir=`, CLI `--state`).
"""

from .fid import FeatureStats, ReferenceStats, fid, frechet_distance, kernel_distance, kid, reference_stats
from .ppl import crop_box, downsample_factor, lerp, ppl, ppl_distances, slerp
from .registry import get_preset, list_presets, presets_table, register_preset, run_preset
from .separability import conditional_entropy, separability, separability_from_predictions
from .stats import bootstrap_ci, percentile_filter
from .truncation import plot_truncation, truncation_sweep

__all__ = [
    "FeatureStats", "ReferenceStats", "bootstrap_ci", "conditional_entropy", "crop_box", "downsample_factor",
    "fid", "frechet_distance", "get_preset", "kernel_distance", "kid", "lerp", "list_presets", "percentile_filter",
    "plot_truncation", "ppl", "ppl_distances", "presets_table", "reference_stats", "register_preset", "run_preset",
    "separability", "separability_from_predictions", "slerp", "truncation_sweep",
]
