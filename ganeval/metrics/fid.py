"""Fréchet Inception Distance (FID), Heusel et al., "GANs Trained by a Two Time-Scale Update Rule
Converge to a Local Nash Equilibrium", NeurIPS 2017.

Matches NVlabs/stylegan2-ada-pytorch `metrics/frechet_inception_distance.py` (and the TF StyleGAN
fid50k), with torch-fidelity's port of the TF Inception ('inception-v3-compat', 2048-d pool3).
Protocol (docs/metrics.md, "FID and KID"):

* generated: z ~ N(0, I), psi = 1, per-sample random noise, uint8 by round-half-up and clip
  (``ganeval.images.to_uint8``); the network resizes to 299 inside (TF1 bilinear) (generated.py);
* statistics: streaming float64 sums, mean and covariance with N - 1 (moments.py);
* FID = |mu1 - mu2|^2 + tr(S1 + S2 - 2 sqrtm(S1 S2)) (frechet.py);
* presets: fid50k (first 50k reals of the dataset as given, its xflip setting kept), fid50k_full
  (all reals, no flips); 50k generated each (presets.py). Real statistics: reference.py.

Interval (over generated samples; the reals are fixed): a streaming Poisson bootstrap: each
generated sample gets B independent Poisson(1) weights (seeded per sample block) and B weighted
mean/covariance accumulators run alongside the plain one, so no features are kept (below D samples
the features and weights are kept instead: no more memory than one D x D sum). Each replicate's trace
term comes from the eigenvalues of sqrt(S_real) S_b sqrt(S_real) or, with fewer generated samples
than dimensions, from the n x n factored form. Value +- 1.96 sd of B = 10 replicates by default.

Scale (runner.py): images are computed in chunks of 16-image blocks, shared out over torchrun
processes; every process adds each chunk's features to the float64 sums in chunk order, so the
statistics are bit-identical for any batch size and number of processes. With a state directory,
finished chunks of features are stored and a killed run resumes. Features rather than per-chunk
moments are stored: a chunk of <= 1,024 samples x 2,048 float32 (8 MB) is smaller than a 2,048^2
float64 moment matrix (32 MB), and the sums are rebuilt from them in the same order.

Another feature net (e.g. 'synth-fd', the synthetic benchmark's, no external weights) gives Fréchet
distances that are not FID: its rows are named 'fd_synth...' / 'kd_synth...', never 'fid'.
"""

from __future__ import annotations

import os

import pandas as pd

from ..errors import ConfigError, MetricError
from ..features.registry import canonical, entry
from .common import Timer, prepare_generator
from .frechet import frechet_distance, frechet_factored, frechet_with_root, reference_root
from .generated import generated_features
from .options import RunOptions
from .reference import ReferenceStats, reference_stats
from .runner import array_hash, sub_state
from .stats import normal_interval
from .tables import make_table

SQRT_METHODS = ("sqrtm", "eigh")


def metric_name(base: str, feature_net: str) -> str:
    """'fid50k_full' with Inception; 'fd_synth50k_full' (and 'kd_synth50k') with another net."""
    short = entry(feature_net, "features").short
    if short is None:
        return base
    for prefix, new in (("fid", "fd"), ("kid", "kd"), ("fd", "fd"), ("kd", "kd")):
        if base.startswith(prefix):
            rest = base[len(prefix):]
            return f"{new}_{short}{rest}" if not rest.startswith(f"_{short}") else f"{new}{rest}"
    return f"{base}_{short}"


def reference_label(reference) -> str | None:
    if isinstance(reference, (str, os.PathLike)):
        return str(reference)
    if isinstance(reference, ReferenceStats):
        return reference.meta.get("dataset")
    return str(getattr(reference, "name", None) or type(reference).__name__)


def fid(G, reference, num_samples: int = 50_000, num_real: int | None = None, xflip: bool = False,
        feature_net: str = "inception-v3-compat", sqrt_method: str = "sqrtm", cache: bool = True, *,
        features: str | None = None, name: str | None = None, opts: RunOptions | None = None,
        **run) -> pd.DataFrame:
    """FID of `num_samples` generated images against `reference` (path, dataset, .npz or ReferenceStats).

    `num_real` = None: all reals. The result does not depend on the batch size nor on the number of
    torchrun processes. Interval: Poisson bootstrap over generated samples (`bootstrap` replicates,
    default 10; 0 disables), value +- 1.96 sd. `features` is an alias of `feature_net` ('inception-v3' =
    'inception-v3-compat'). `sqrt_method`: 'sqrtm' (the protocol: scipy's sqrtm of S1 S2) or 'eigh'
    (frechet.py: the same number to ~1e-9 relative, several times faster; the synthetic benchmark's
    preset uses it). `opts` / `run`: the run settings (RunOptions: seed, batch_size (default 64), device,
    progress, truncation_psi, truncation_cutoff, bootstrap, state_dir: finished chunks of generated and
    real features are kept in its 'generated' and 'reference' subfolders and a rerun resumes from them).
    """
    o = RunOptions.make(opts, **run)
    if sqrt_method not in SQRT_METHODS:
        raise ConfigError(f"sqrt_method must be 'sqrtm' or 'eigh', not '{sqrt_method}'")
    feature_net = canonical(features or feature_net)
    label = metric_name(name or "fid", feature_net)
    batch_size, bootstrap = o.batch(64), o.replicates(10)
    G, device = prepare_generator(G, o.device)
    with Timer() as timer:
        ref = reference_stats(reference, G.img_resolution, feature_net, num_real, xflip, batch_size=batch_size,
                              device=device, cache=cache, progress=o.progress,
                              state_dir=sub_state(o.state_dir, "reference"))
        settings = dict(metric="fid", reference=array_hash(ref.mu, ref.sigma), num_real=ref.num, xflip=bool(xflip),
                        bootstrap=bootstrap)
        fs = generated_features(G, num_samples, feature_net, o.seed, batch_size, device, o.truncation_psi,
                                o.truncation_cutoff, num_replicates=bootstrap, progress=o.progress,
                                state_dir=sub_state(o.state_dir, "generated"), settings=settings)
        mu, sigma = fs.mean_cov()
        if mu.shape != ref.mu.shape:
            raise MetricError(f"the reference statistics have {ref.mu.shape[0]} dimensions, the features of "
                              f"'{feature_net}' {mu.shape[0]}: statistics of another feature net")
        if sqrt_method == "eigh":
            value = frechet_with_root(mu, sigma, ref.mu, ref.sigma, reference_root(ref.sigma, settings["reference"]))
        else:
            value = frechet_distance(mu, sigma, ref.mu, ref.sigma)
        ci = (float("nan"), float("nan"))
        if bootstrap > 1:
            reps = []
            for b in range(bootstrap):
                factor = fs.replicate_factor(b)    # fewer samples than dimensions: the n x n form
                reps.append(frechet_factored(*factor, ref.mu, ref.sigma) if factor is not None else
                            frechet_with_root(*fs.replicate_mean_cov(b), ref.mu, ref.sigma,
                                              reference_root(ref.sigma, settings["reference"])))
            ci = normal_interval(value, reps)
    row = dict(metric=label, value=value, ci_low=ci[0], ci_high=ci[1],
               ci_method=f"poisson-bootstrap({bootstrap}) over generated, normal" if bootstrap > 1 else None,
               num_samples=num_samples, seed=o.seed, psi=o.truncation_psi, truncation_cutoff=o.truncation_cutoff,
               space=None, feature_net=feature_net, time_s=timer.elapsed, num_real=ref.num,
               reference=reference_label(reference), reference_key=ref.meta.get("key"), xflip=bool(xflip),
               feature_dim=int(mu.shape[0]), sqrt_method=sqrt_method)
    return make_table(G, [row])
