"""The metrics of the StyleGAN papers as plain functions of a generator returning tidy DataFrames.

    ppl(G, space='w', sampling='end', ...)          perceptual path length (ppl.py)
    separability(G, classifiers, attrs='all', ...)  linear separability (separability.py)
    fid(G, reference, ...), kid(G, reference, ...)  Fréchet / kernel Inception distance (fid.py, kid.py)
    equivariance(G, kind='int'|'frac'|'rot', ...)   EQ-T, EQ-T_frac, EQ-R of StyleGAN3 (equivariance.py)
    precision_recall_metric(G, reference, ...)      improved precision and recall (precision_recall.py)
    density_coverage_metric(G, reference, ...)      density and coverage (density_coverage.py)
    inception_score_metric(G, ...)                  Inception Score (inception_score.py)
    truncation_sweep(G, psis, metrics, ...)         any presets over a psi grid (truncation.py)
    evaluate(G_or_path, presets, ...)               named presets (presets.py) -> one table (evaluate.py)

Every metric takes its protocol settings as keywords and the shared run settings as one RunOptions
(options.py; or as keywords, which build it). Pure cores work on explicit samples: ppl_distances,
separability_from_predictions, frechet_distance, kernel_distance, precision_recall(real, gen, k=3),
density_coverage(real, gen, k=5), inception_score(probs, splits=10). Presets that read features of the same
generated images share one generation pass (generated.py). Every metric runs its sample
blocks through runner.py: sharded over the processes of a torchrun job with results identical to one
process, and resumable from a state directory (`state_dir=`, CLI `--state`).
"""

from .density_coverage import density_coverage, density_coverage_metric
from .equivariance import equivariance
from .evaluate import evaluate
from .fid import fid
from .frechet import frechet_distance
from .inception_score import inception_score, inception_score_metric
from .kid import kernel_distance, kid
from .moments import FeatureStats
from .options import RunOptions
from .ppl import crop_box, downsample_factor, lerp, ppl, ppl_distances, slerp
from .precision_recall import precision_recall, precision_recall_metric
from .presets import PRESETS, Preset, get_preset, list_presets, presets_table, run_preset
from .reference import ReferenceStats, reference_stats
from .separability import conditional_entropy, separability, separability_from_predictions
from .stats import bootstrap_ci, percentile_filter
from .tables import COLUMNS, make_table, read_table, write_table
from .truncation import plot_truncation, truncation_sweep

__all__ = [
    "COLUMNS", "PRESETS", "FeatureStats", "Preset", "ReferenceStats", "RunOptions", "bootstrap_ci",
    "conditional_entropy", "crop_box", "density_coverage", "density_coverage_metric", "downsample_factor",
    "equivariance", "evaluate", "fid", "frechet_distance", "get_preset", "inception_score", "inception_score_metric",
    "kernel_distance", "kid", "lerp", "list_presets", "make_table", "percentile_filter", "plot_truncation", "ppl",
    "ppl_distances", "precision_recall", "precision_recall_metric", "presets_table", "read_table", "reference_stats",
    "run_preset",
    "separability", "separability_from_predictions", "slerp", "truncation_sweep", "write_table",
]
