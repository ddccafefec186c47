"""The named metric presets, as one explicit table, and running them.

A preset is a row: the metric routine, the protocol settings it fixes, the protocol's sample count and
the inputs it needs. Names follow NVIDIA's metric_main.py (stylegan2-ada-pytorch) where the protocol is
NVIDIA's; a preset that departs from it in any setting has its own name (docs/metrics.md). Adding a
metric means its module, its row here and its test.

Running a preset: `run_preset(name, G, num_samples=None, opts=RunOptions(...), **options)`. Only the
sample count of a preset can be changed (rows keep `protocol_samples`); options the preset fixes are
left as the protocol sets them; an option its routine does not take is an error, not ignored.
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from ..errors import ConfigError
from ..features.registry import canonical
from .common import metric_device
from .density_coverage import density_coverage_metric
from .equivariance import equivariance
from .fid import fid
from .generated import share_generation
from .inception_score import inception_score_metric
from .kid import kid
from .options import RunOptions
from .ppl import ppl
from .precision_recall import precision_recall_metric
from .reference import ReferenceStats, reference_stats
from .runner import sub_state
from .separability import separability

INPUTS = {"reference": "--data", "classifiers": "--classifiers"}   # what presets may need, and its CLI flag


@dataclass(frozen=True)
class Preset:
    name: str
    routine: Callable
    settings: dict                          # the protocol settings the preset fixes
    num_samples: int                        # the protocol's sample count
    needs: tuple[str, ...] = ()             # inputs that must be given: 'reference', 'classifiers'
    description: str = ""
    protocol: bool = True                   # False: a combination no paper names (no protocol sample count)

    @property
    def protocol_samples(self) -> int | None:
        return self.num_samples if self.protocol else None

    def accepts(self) -> set[str]:
        """The options the routine takes by name (its run settings come through RunOptions)."""
        params = inspect.signature(self.routine).parameters.values()
        return {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)} - {"G", "name", "opts"}

    def setting(self, key: str):
        """A protocol setting: the preset's, else the routine's default."""
        if key in self.settings:
            return self.settings[key]
        return inspect.signature(self.routine).parameters[key].default


_PRESETS = (
    # StyleGAN (Karras et al. 2019, §4.2; NVlabs/stylegan metric_base.py): face crop, 100,000 pairs.
    Preset("ppl_zfull", ppl, dict(space="z", sampling="full", crop=True), 100_000,
           description="PPL in Z, t ~ U(0, 1), face crop (StyleGAN Table 3/4)"),
    Preset("ppl_wfull", ppl, dict(space="w", sampling="full", crop=True), 100_000,
           description="PPL in W, t ~ U(0, 1), face crop (StyleGAN Table 3/4)"),
    Preset("ppl_zend", ppl, dict(space="z", sampling="end", crop=True), 100_000,
           description="PPL in Z, t = 0, face crop (StyleGAN Table 3/4)"),
    Preset("ppl_wend", ppl, dict(space="w", sampling="end", crop=True), 100_000,
           description="PPL in W, t = 0, face crop (StyleGAN Table 3/4)"),
    # StyleGAN2 (Karras et al. 2020; stylegan2-ada-pytorch metric_main.py): no crop, 50,000 pairs.
    Preset("ppl2_wend", ppl, dict(space="w", sampling="end", crop=False), 50_000,
           description="PPL in W, t = 0, no crop (StyleGAN2, ADA, StyleGAN3)"),
    # The embedded default: ppl2_wend's protocol with the bundled synthetic-benchmark distance.
    Preset("ppl2_wend_synth", ppl, dict(space="w", sampling="end", crop=False, distance="synth-lpips"), 50_000,
           description="ppl2_wend with the bundled synth-lpips distance (offline; not comparable with papers)"),
    # StyleGAN §4.2, NVlabs/stylegan linear_separability.py: 200k samples, the 100k most confident kept.
    Preset("ls", separability, {}, 200_000,
           description="linear separability in Z and W (StyleGAN Table 4)"),
    # stylegan2-ada-pytorch metric_main.py.
    Preset("fid50k_full", fid, dict(num_real=None, xflip=False), 50_000, needs=("reference",),
           description="FID, 50k generated against all reals, no flips (ADA, StyleGAN3)"),
    Preset("fid50k", fid, dict(num_real=50_000), 50_000, needs=("reference",),
           description="FID, 50k generated against the first 50k reals (StyleGAN, StyleGAN2)"),
    Preset("kid50k", kid, dict(num_real=50_000, num_subsets=100, max_subset_size=1000), 50_000,
           needs=("reference",), description="KID, 50k against 50k reals, 100 subsets of 1000 (ADA)"),
    Preset("kid50k_full", kid, dict(num_real=1_000_000, num_subsets=100, max_subset_size=1000), 50_000,
           needs=("reference",), description="KID, 50k against up to 1M reals, 100 subsets of 1000 (ADA, StyleGAN3)"),
    # Improved precision and recall (Kynkäänniemi et al. 2019) as stylegan2-ada-pytorch metric_main.py: k = 3, NVIDIA's
    # VGG16 features compared in float16 as its code holds them (precision_recall.py).
    Preset("pr50k3_full", precision_recall_metric, dict(num_real=200_000, k=3, float16=True), 50_000,
           needs=("reference",), description="precision and recall, k = 3, 50k against up to 200k reals (ADA, SG3)"),
    Preset("pr50k3", precision_recall_metric, dict(num_real=50_000, k=3, float16=True), 50_000,
           needs=("reference",), description="precision and recall, k = 3, 50k against the first 50k reals (ADA)"),
    # Inception Score (Salimans et al. 2016) as stylegan2-ada-pytorch metric_main.py: 10 splits, no output bias.
    Preset("is50k", inception_score_metric, dict(splits=10), 50_000,
           description="Inception Score, 10 splits, logits without the output bias (ADA, StyleGAN3)"),
    # Density and coverage (Naeem et al. 2020): k = 5, the VGG16 features of precision/recall.
    Preset("dc50k5", density_coverage_metric, dict(num_real=50_000, k=5), 50_000, needs=("reference",),
           description="density and coverage, k = 5, 50k against the first 50k reals, VGG16 features"),
    # Fréchet distances in other feature spaces (docs/feature-networks.md): EDM2's FD_DINOv2 (Karras et al. 2024,
    # calculate_metrics.py; dgm-eval, Stein et al. 2023) and clean-fid's CLIP-FID (Kynkäänniemi et al. 2023).
    Preset("fd_dinov2", fid, dict(num_real=None, xflip=False, feature_net="dinov2-vitl14"), 50_000,
           needs=("reference",), description="FD in DINOv2 ViT-L/14 CLS features, 50k against all reals (EDM2)"),
    Preset("fd_clip50k_full", fid, dict(num_real=None, xflip=False, feature_net="clip-vitb32"), 50_000,
           needs=("reference",), description="FD in CLIP ViT-B/32 image embeddings, 50k against all reals (clean-fid)"),
    # StyleGAN3 (Karras et al. 2021, Appendix E; NVlabs/stylegan3 metric_main.py): 50,000 samples, PSNR in dB.
    Preset("eqt50k_int", equivariance, dict(kind="int", translate_max=0.125), 50_000,
           description="EQ-T: integer translation up to 1/8 of the image, PSNR dB (StyleGAN3 Table 1/2)"),
    Preset("eqt50k_frac", equivariance, dict(kind="frac", translate_max=0.125), 50_000,
           description="EQ-T_frac: fractional translation up to 1/8 of the image, PSNR dB (StyleGAN3 Table 1)"),
    Preset("eqr50k", equivariance, dict(kind="rot", rotate_max=1.0), 50_000,
           description="EQ-R: rotation up to +-180 degrees (rotate_max 1 pi rad), PSNR dB (StyleGAN3 Table 1/2)"),
    # The embedded default: fid50k_full's protocol with the bundled synthetic-benchmark features.
    Preset("fd_synth", fid, dict(num_real=None, xflip=False, feature_net="synth-fd", sqrt_method="eigh"), 50_000,
           needs=("reference",),
           description="Frechet distance in the bundled synth-fd features (offline; not comparable with FID)"),
)
PRESETS: dict[str, Preset] = {p.name: p for p in _PRESETS}


def list_presets() -> list[str]:
    return sorted(PRESETS)


def presets_table() -> pd.DataFrame:
    """preset, routine, protocol_samples, needs, settings: the table `ganeval presets` prints."""
    rows = [dict(preset=p.name, routine=p.routine.__name__, protocol_samples=p.protocol_samples,
                 needs=",".join(p.needs), settings=", ".join(f"{k}={v}" for k, v in p.settings.items()))
            for p in (PRESETS[n] for n in sorted(PRESETS))]
    return pd.DataFrame(rows)


def get_preset(name: str) -> Preset:
    if name not in PRESETS:
        raise ConfigError(f"unknown metric preset '{name}' (known: {', '.join(sorted(PRESETS))})")
    return PRESETS[name]


def parse_presets(spec) -> list[str]:
    """'ppl_wend,ls,fid50k_full' or a list -> validated preset names."""
    names = [s.strip() for s in (spec.split(",") if isinstance(spec, str) else spec) if s and s.strip()]
    if not names:
        raise ConfigError("no metric presets given")
    for n in names:
        get_preset(n)
    return names


def ppl_preset(space: str, sampling: str, crop: bool) -> Preset:
    """The PPL preset of (space, sampling, crop); a combination no paper names (ppl2_zfull, ...) gets a row
    of its own, built here, with ppl2's 50,000 pairs and no protocol sample count."""
    name = f"ppl_{space}{sampling}" if crop else f"ppl2_{space}{sampling}"
    if name in PRESETS:
        return PRESETS[name]
    return Preset(name, ppl, dict(space=space, sampling=sampling, crop=crop), 50_000, protocol=False)


def route_options(presets: list[Preset], options: dict) -> tuple[dict, dict[str, dict]]:
    """Split keyword options into run settings (RunOptions fields) and each preset's own options.

    An option goes to every preset whose routine takes it; one that no preset takes is misspelt or
    misplaced: ConfigError naming it. The inputs (reference, classifiers) go to the presets that take
    them and are never an error (one reference serves a list of presets of which some need none).
    -> (run settings, {preset name: its options}).
    """
    run = {k: v for k, v in options.items() if k in RunOptions.fields()}
    rest = {k: v for k, v in options.items() if k not in run}
    accepted = {p.name: p.accepts() for p in presets}
    unknown = sorted(k for k in rest if k not in INPUTS and not any(k in a for a in accepted.values()))
    if unknown:
        names = ", ".join(p.name for p in presets)
        raise ConfigError(f"unknown option{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}: "
                          f"not a run option ({', '.join(RunOptions.fields())}) and no metric of {names} takes it")
    return run, {p.name: {k: v for k, v in rest.items() if k in accepted[p.name]} for p in presets}


def run_preset(preset: str | Preset, G, num_samples: int | None = None, *, reference=None, classifiers=None,
               opts: RunOptions | None = None, **options):
    """Run one preset on G -> its table (or (table, distances) for PPL with return_distances=True).

    `num_samples` lowers (or raises) the preset's count; rows keep both numbers. `reference` /
    `classifiers`: the inputs of FID-like presets / LS. `opts` and run-setting keywords (seed, device, ...)
    make the RunOptions; other `options` go to the routine (an option it does not take: ConfigError).
    Options the preset fixes as part of its protocol (e.g. xflip=False in fid50k_full, crop=True in
    ppl_wend) and options given as None keep the preset's values.
    """
    p = preset if isinstance(preset, Preset) else get_preset(preset)
    inputs = dict(reference=reference, classifiers=classifiers)
    for need in p.needs:
        if inputs[need] is None:
            raise ConfigError(f"metric '{p.name}' needs {need} ({INPUTS[need]})")
    run, per_preset = route_options([p], options)
    o = RunOptions.make(opts, **run)
    given = {k: v for k, v in inputs.items() if v is not None and k in p.accepts()}
    given.update({k: v for k, v in per_preset[p.name].items() if v is not None})
    kwargs = {k: v for k, v in given.items() if k not in p.settings}
    kwargs["num_samples"] = int(num_samples) if num_samples is not None else p.num_samples
    out = p.routine(G, **p.settings, **kwargs, name=p.name, opts=o)
    # (table, distances) from ppl(..., return_distances=True): label the table, pass the rest on.
    df = out[0] if isinstance(out, tuple) else out
    df["protocol_samples"] = p.protocol_samples
    return out


def preset_reference_stats(preset: str, reference, resolution: int, *, num_real: int | None = None,
                           feature_net: str | None = None, xflip: bool = False, cache: bool = True, device=None,
                           batch_size: int | None = None, progress: bool | None = None,
                           state_dir=None) -> ReferenceStats | None:
    """The (cached) reference statistics that FID/KID preset `preset` will use; None for other presets.

    `feature_net` and `xflip` apply where the preset leaves them open; `num_real` replaces the
    protocol's real count. Lets a caller compute the statistics once (before running presets in
    several processes at the same time) or save them (`ganeval fid --save-ref`).
    """
    p = get_preset(preset)
    nearest = p.routine in (precision_recall_metric, density_coverage_metric)   # real features kept, float16
    if p.routine not in (fid, kid) and not nearest:
        return None
    net = p.settings.get("feature_net") or feature_net or p.setting("feature_net")
    real = num_real if num_real is not None else p.setting("num_real")
    flip = p.settings.get("xflip", xflip)
    return reference_stats(reference, resolution, net, real, flip, capture_all=p.routine is kid or nearest,
                           batch_size=batch_size or 64, device=metric_device(device), cache=cache, progress=progress,
                           state_dir=state_dir, features_dtype="float16" if nearest else "float32")


# Routines that read features of generated images through generated.generated_features, with the argument that
# names their feature net: presets of these can share one generation pass (generated.share_generation).
FEATURE_ROUTINES = {fid: "feature_net", kid: "feature_net", precision_recall_metric: "feature_net",
                    density_coverage_metric: "feature_net", inception_score_metric: "feature_net"}


def generated_nets(preset: str | Preset, options: dict | None = None) -> list[str]:
    """The feature nets preset `preset` runs on generated images with `options` (its own settings win); [] for
    presets that generate their own samples (PPL, LS, equivariance)."""
    p = preset if isinstance(preset, Preset) else get_preset(preset)
    arg = FEATURE_ROUTINES.get(p.routine)
    if arg is None:
        return []
    given = {k: v for k, v in (options or {}).items() if v is not None}
    given.update(p.settings)
    return [canonical(given.get("features") or given.get(arg) or p.setting(arg))]


@contextlib.contextmanager
def shared_generation(G, names: list[str], per_preset: dict[str, dict], num_samples: int | dict | None,
                      opts: RunOptions):
    """Run presets `names` (their options `per_preset`; `num_samples`: one count, {preset: count} or None for the
    protocols' counts) on G with one generation pass per sample count for all the feature nets they read
    (generated.share_generation); the numbers are those of separate runs."""
    plan: dict[int, list[str]] = {}
    for name in names:
        p = get_preset(name)
        nets = generated_nets(p, per_preset.get(name))
        n = num_samples.get(name) if isinstance(num_samples, dict) else num_samples
        if nets:
            plan.setdefault(int(n) if n is not None else p.num_samples, []).extend(nets)
    with share_generation(G, plan, seed=opts.seed, batch_size=opts.batch(64), truncation_psi=opts.truncation_psi,
                          truncation_cutoff=opts.truncation_cutoff, state_dir=opts.state_dir,
                          progress=opts.progress) as sharing:
        yield sharing


def with_state(opts: RunOptions, *parts) -> RunOptions:
    """`opts` with its state directory moved into a subfolder (one per preset, psi or checkpoint)."""
    return dataclasses.replace(opts, state_dir=sub_state(opts.state_dir, *parts))
