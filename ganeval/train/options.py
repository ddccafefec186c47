"""Training options: one dataclass, resolved from what the user gave plus the papers' defaults.

`resolve_options(arch='stylegan2', data='ffhq.zip', resolution=256, ...)` fills everything not given
from the architecture's paper configuration (below, with sources), or, when resuming, from the
options stored in the checkpoint, and validates the result; mistakes a user can make raise
ConfigError / DataError (one line on the CLI).

Paper defaults and where they come from:

    pggan      WGAN-GP (lambda 10, drift 1e-3), lr 0.001, minibatch 16 (14/6/3 at 256/512/1024),
               600 kimg stable + 600 kimg fade-in per level from 4x4, Adam (0, 0.99, 1e-8)
               — PGGAN §A.1 and progressive_growing_of_gans/config.py (preset-v1).
    stylegan   non-saturating logistic + R1 gamma 10 every step, style mixing 0.9, lr 0.001 rising to
               0.0015/0.002/0.003 at 128/256/512+, minibatch 32 with {4: 512, 8: 256, 16: 128, 32: 64},
               growth from 8x8, 600 + 600 kimg per level, G_ema half-life 10 kimg
               — StyleGAN §C and NVlabs/stylegan train.py (FFHQ, 8 GPUs; batch sizes are totals).
    stylegan2  logistic + lazy R1 gamma 10 every 16 D steps, path length weight 2 every 4 G steps
               (batch shrink 2, decay 0.01), style mixing 0.9, lr 0.002, minibatch 32, no growing,
               G_ema half-life 10 kimg — StyleGAN2 §B and stylegan2-ada-pytorch `--cfg=stylegan2`.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..checkpoints import container, resolve_path, torch_load_safely
from ..errors import ConfigError, DataError
from ..metrics.presets import parse_presets
from ..models import get_arch
from ..models.registry import check_resolution, unknown_options
from ..utils import resolve_device
from .extensions import extensions, plugin_defaults
from .loss import LOSSES

ARCH_DEFAULTS: dict[str, dict[str, Any]] = {
    "pggan": dict(loss="wgangp", lr=0.001, lr_dict={}, batch=16, batch_dict={256: 14, 512: 6, 1024: 3},
                  style_mixing=0.0, r1_gamma=0.0, r1_interval=1, pl_weight=0.0, lod_initial_resolution=4),
    "stylegan": dict(loss="logistic", lr=0.001, lr_dict={128: 0.0015, 256: 0.002, 512: 0.003, 1024: 0.003},
                     batch=32, batch_dict={4: 512, 8: 256, 16: 128, 32: 64, 64: 32}, style_mixing=0.9,
                     r1_gamma=10.0, r1_interval=1, pl_weight=0.0, lod_initial_resolution=8),
    "stylegan2": dict(loss="logistic", lr=0.002, lr_dict={}, batch=32, batch_dict={}, style_mixing=0.9,
                      r1_gamma=10.0, r1_interval=16, pl_weight=2.0, lod_initial_resolution=4),
}

# Model-size options of the CLI and the build_generator / build_discriminator keyword they set.
MODEL_OPTIONS = {"z_dim": "G", "w_dim": "G", "mapping_depth": "G", "channel_base": "GD", "channel_max": "GD",
                 "mbstd_group": "D"}

# Float options: finite numbers only.
FLOAT_OPTIONS = ("kimg", "lr", "eps", "ema_kimg", "ema_rampup", "tick_kimg", "snap", "lod_kimg", "fade_kimg",
                 "r1_gamma", "pl_weight", "pl_decay", "style_mixing", "wgan_lambda", "wgan_epsilon")

# Fields that describe one invocation rather than the training run (not inherited on resume).
RUN_FIELDS = ("resume", "dry_run", "name", "quiet", "workers", "device")


@dataclass
class TrainingOptions:
    # Networks.
    arch: str = "stylegan2"                 # 'pggan' | 'stylegan' | 'stylegan2'
    resolution: int | None = None           # training resolution; None = the dataset's
    G_kwargs: dict = field(default_factory=dict)   # build_generator options (z_dim, mapping_depth, ...)
    D_kwargs: dict = field(default_factory=dict)   # build_discriminator options (channel_base, ...)
    # Data.
    data: str | None = None                 # path or spec for ganeval.data.open_dataset
    xflip: bool = False                     # x-flip augmentation (doubles the dataset)
    # Length and minibatch.
    kimg: float = 25000                     # total training length in thousands of real images
    batch: int = 32                         # total minibatch over all processes (default level)
    batch_dict: dict = field(default_factory=dict)  # per-resolution minibatch overrides (growing)
    batch_gpu: int | None = None            # per-process microbatch limit (gradient accumulation)
    # Progressive growing (pggan, stylegan).
    lod_initial_resolution: int = 4         # resolution the growth starts at
    lod_kimg: float = 600                   # kimg a level is trained stably
    fade_kimg: float = 600                  # kimg the next level fades in
    reset_opt_on_grow: bool = True          # reset Adam moments when a level is added (TF reference)
    # Losses.
    loss: str = "logistic"                  # 'logistic' | 'wgangp'
    r1_gamma: float = 10.0                  # R1 weight (0 = off)
    r1_interval: int = 16                   # lazy R1 every N D steps (1 = every step)
    pl_weight: float = 0.0                  # path-length weight (0 = off)
    pl_interval: int = 4                    # lazy path-length every N G steps
    pl_batch_shrink: int = 2                # path-length microbatch = batch_gpu / shrink
    pl_decay: float = 0.01                  # decay of the path-length running mean
    style_mixing: float = 0.0               # style-mixing probability
    wgan_lambda: float = 10.0               # WGAN-GP gradient penalty weight
    wgan_epsilon: float = 0.001             # WGAN-GP drift weight
    # Plugins (train/extensions.py): their options by flat name, e.g. GAN-Control's control, control_weight.
    plugin_options: dict = field(default_factory=dict)
    # Optimiser and averaging.
    lr: float = 0.002                       # Adam learning rate (G and D)
    lr_dict: dict = field(default_factory=dict)    # per-resolution learning rates (growing)
    betas: tuple = (0.0, 0.99)              # Adam betas
    eps: float = 1e-8                       # Adam epsilon
    ema_kimg: float = 10.0                  # G_ema half-life in kimg
    ema_rampup: float | None = None         # half-life <= ema_rampup * cur_nimg early on (None = off)
    # Run.
    out: str = "runs"                       # parent of the run directories
    name: str | None = None                 # run name (default: <data>-<arch>-<res>)
    seed: int = 0                           # everything random derives from it
    device: str | None = None               # None = cuda:<local rank> when available, else cpu
    amp: str | None = None                  # 'bf16' autocast of the main phases; None = full precision
    tick_kimg: float = 4.0                  # status line and stats.jsonl every N kimg
    snap: float = 200.0                     # checkpoint and sample grid every N kimg (and at the end)
    keep: int = 5                           # keep the last K checkpoints (0 = all)
    metrics: list = field(default_factory=list)    # metric presets evaluated at each snapshot
    metrics_samples: int | None = None      # override the presets' sample counts (None = as published)
    resume: str | None = None               # checkpoint path (or 'latest') to continue from
    workers: int = 2                        # data-loading worker processes
    quiet: bool = False                     # no progress bar / status lines
    dry_run: bool = False                   # print the options and exit
    # An in-memory dataset object (tests, tensor pipelines); never serialised.
    dataset: Any = field(default=None, repr=False, compare=False, metadata={"serialise": False})

    def __post_init__(self):
        self.plugin_options = dict(self.plugin_options)   # a copy (dataclasses.replace) must not share it

    def __getattr__(self, name: str):
        # Plugin options read like fields (options.control_weight); only called when no field matches.
        plugin = self.__dict__.get("plugin_options") or {}
        if name in plugin:
            return plugin[name]
        raise AttributeError(f"'TrainingOptions' has no option '{name}'")

    @property
    def progressive(self) -> bool:
        return get_arch(self.arch).progressive

    def to_dict(self) -> dict:
        """Plain, JSON-able dict (training_options.json, stored in checkpoints); plugin options flat."""
        out = {}
        for f in dataclasses.fields(self):
            if f.name == "plugin_options":
                out.update(self.plugin_options)
            elif f.metadata.get("serialise", True):
                v = getattr(self, f.name)
                out[f.name] = list(v) if isinstance(v, tuple) else v
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=False, default=str)


def _is_spec(data: str) -> bool:
    """Dataset specs rendered on the fly (synthfaces:N?res=R) rather than paths."""
    return re.split(r"[:?]", data, maxsplit=1)[0] == "synthfaces"


def data_name(data: str | None, dataset=None) -> str:
    if dataset is not None:
        return str(getattr(dataset, "name", "dataset"))
    if not data:
        return "data"
    if _is_spec(data):
        return re.split(r"[:?]", data, maxsplit=1)[0]
    return Path(str(data).rstrip("/\\")).stem or "data"


def _int_dict(d, what: str) -> dict:
    try:
        return {int(k): (float(v) if what == "lr_dict" else int(v)) for k, v in (d or {}).items()}
    except (TypeError, ValueError):
        raise ConfigError(f"{what} must map resolutions to numbers, got {d!r}") from None


def parse_resolution_dict(text: str | None, what: str) -> dict | None:
    """'4:128,8:64' -> {4: 128, 8: 64} (CLI)."""
    if text is None:
        return None
    out = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        k, sep, v = part.partition(":")
        if not sep:
            raise ConfigError(f"cannot parse {what} '{text}': expected e.g. '4:128,8:64'")
        out[k] = v
    return _int_dict(out, what)


def _native_checkpoint(checkpoint: str | os.PathLike) -> dict:
    """The saved dict of a native checkpoint; {} for a pickle from elsewhere (an NVlabs network pickle: its loader
    reports what it can and cannot do later). A torch file that is refused (it would run code) or corrupt is an
    error here, before any other option is looked at."""
    path = resolve_path(checkpoint)
    if container(path) != "torch":
        return {}
    obj = torch_load_safely(path)
    return obj if isinstance(obj, dict) else {}


def _state_options(obj: dict) -> dict:
    state = obj.get("training_state")
    return dict(state.get("options") or {}) if isinstance(state, dict) else {}


def stored_options(checkpoint: str | os.PathLike) -> dict:
    """The training options a checkpoint was written with ({} for checkpoints from elsewhere)."""
    return _state_options(_native_checkpoint(checkpoint))


def recorded_options(checkpoint: str | os.PathLike) -> dict:
    """`stored_options`, else the run's options a bundled file records as JSON in its meta (tools/make_bundle.py
    keeps G_ema only, no training state); {} when neither is there. For reading what a model was trained with
    (its --control-net, thresholds), not for resuming."""
    obj = _native_checkpoint(checkpoint)
    meta = obj.get("meta")
    text = meta.get("training_options") if isinstance(meta, dict) else None
    return _state_options(obj) or (dict(json.loads(text)) if isinstance(text, str) else {})


def run_snapshots(run_dir: str | os.PathLike) -> dict[float, Path]:
    """{kimg: path} of a run directory's network-snapshot-<kimg>.pt files."""
    out = {}
    for p in Path(run_dir).glob("network-snapshot-*.pt"):
        m = re.fullmatch(r"network-snapshot-([0-9.]+)\.pt", p.name)
        if m:
            out[round(float(m.group(1)), 3)] = p
    return out


def runs_by_name(root: str | os.PathLike) -> dict[str, Path]:
    """Run directories under `root` by name (`NNNNN-<name>` -> `<name>`); of runs sharing a name, the newest."""
    return {re.sub(r"^\d{5}-", "", p.name): p for p in sorted(Path(root).glob("[0-9][0-9][0-9][0-9][0-9]-*"))
            if p.is_dir()}


def find_latest_checkpoint(out: str | os.PathLike) -> Path:
    """The newest network-snapshot-*.pt of the highest-numbered run under `out` that has one."""
    root = Path(out)
    runs = sorted((p for p in root.glob("[0-9][0-9][0-9][0-9][0-9]-*") if p.is_dir()), reverse=True) \
        if root.is_dir() else []
    for run in runs:
        snaps = run_snapshots(run)
        if snaps:
            return snaps[max(snaps)]
    raise ConfigError(f"--resume latest: no network-snapshot-*.pt under {root}/")


def resolve_options(**given) -> TrainingOptions:
    """TrainingOptions from the given keyword values; None (or absent) means "default".

    Accepted keywords are the TrainingOptions fields plus the model-size shortcuts z_dim, w_dim,
    mapping_depth, channel_base, channel_max, mbstd_group. `data` may also be a Dataset object.
    """
    given = {k: v for k, v in given.items() if v is not None}
    plugin = plugin_defaults()
    fields = {f.name for f in dataclasses.fields(TrainingOptions)} - {"plugin_options"}
    unknown = sorted(set(given) - fields - set(MODEL_OPTIONS) - set(plugin))
    if unknown:
        raise ConfigError(f"unknown training option(s): {', '.join(unknown)}")

    # A Dataset object instead of a path.
    if "data" in given and not isinstance(given["data"], (str, os.PathLike)):
        given["dataset"] = given.pop("data")
        given["data"] = f"<{data_name(None, given['dataset'])}>"
    elif "data" in given:
        given["data"] = str(given["data"])

    # Resuming: the stored options are the defaults, explicit values still win.
    base: dict[str, Any] = {}
    if given.get("resume"):
        resume = given["resume"]
        if resume == "latest":
            resume = str(find_latest_checkpoint(given.get("out", TrainingOptions.out)))
        elif Path(resume).is_dir():   # a run directory: its newest snapshot
            snaps = run_snapshots(resume)
            if not snaps:
                raise ConfigError(f"--resume: no network-snapshot-*.pt in {resume}")
            resume = str(snaps[max(snaps)])
        elif not Path(resume).is_file():
            raise ConfigError(f"--resume: no such checkpoint file '{resume}'")
        given["resume"] = resume
        base = {k: v for k, v in stored_options(resume).items() if k not in RUN_FIELDS}
        if "arch" in given and base.get("arch") not in (None, given["arch"]):
            raise ConfigError(f"--arch {given['arch']} does not match the checkpoint ({base['arch']})")

    # Plugins amend what was given (GAN-Control: --control turns stylegan2 into its split-latent variant).
    for ext in extensions():
        if ext.active(given) or ext.active(base):
            given = ext.resolve(given, base)
    arch = given.get("arch", base.get("arch", TrainingOptions.arch))
    get_arch(arch)  # unknown architecture -> ConfigError
    recipe = next((ext.arch_defaults[arch] for ext in extensions() if arch in ext.arch_defaults), arch)
    if recipe not in ARCH_DEFAULTS:   # e.g. stylegan3: its generators load, generate and evaluate only
        raise ConfigError(f"ganeval has no training recipe for {arch} (choose from {', '.join(ARCH_DEFAULTS)})")
    values: dict[str, Any] = dict(ARCH_DEFAULTS[recipe])
    values.update(base)
    # An explicit minibatch or learning rate replaces the paper's per-resolution tables.
    if "batch" in given and "batch_dict" not in given:
        values["batch_dict"] = {}
    if "lr" in given and "lr_dict" not in given:
        values["lr_dict"] = {}
    values.update({k: v for k, v in given.items() if k not in MODEL_OPTIONS})
    values["arch"] = arch

    # Model-size shortcuts -> the networks' keyword options.
    G_kwargs, D_kwargs = dict(values.get("G_kwargs") or {}), dict(values.get("D_kwargs") or {})
    for key, nets in MODEL_OPTIONS.items():
        if key in given:
            name = "mbstd_group_size" if key == "mbstd_group" else key
            if "G" in nets:
                G_kwargs[name] = int(given[key])
            if "D" in nets:
                D_kwargs[name] = int(given[key])
    if arch == "pggan":
        if G_kwargs.get("mapping_depth", 0) != 0:
            raise ConfigError("pggan has no mapping network (--mapping-depth must be 0)")
        G_kwargs.pop("mapping_depth", None)
        if "w_dim" in G_kwargs:
            raise ConfigError("pggan has no W space (use --z-dim)")
    for what, kwargs, cls in (("generator", G_kwargs, get_arch(arch).generator),
                              ("discriminator", D_kwargs, get_arch(arch).discriminator)):
        bad = unknown_options(cls, kwargs)
        if bad:
            raise ConfigError(f"{arch} {what} has no option(s) {', '.join(bad)}")
    if G_kwargs.get("mapping_depth", 1) == 0 and arch != "pggan" and "w_dim" in G_kwargs \
            and G_kwargs["w_dim"] != G_kwargs.get("z_dim", 512):
        raise ConfigError("mapping depth 0 needs w_dim == z_dim (W is the normalised Z)")
    values["G_kwargs"], values["D_kwargs"] = G_kwargs, D_kwargs

    plugin_values = {k: values[k] if k in values else copy.deepcopy(default) for k, default in plugin.items()}
    opts = TrainingOptions(**{k: v for k, v in values.items() if k in fields}, plugin_options=plugin_values)
    _validate(opts)
    return opts


def _validate(o: TrainingOptions) -> None:
    if o.resolution is not None:
        o.resolution = check_resolution(o.resolution)
    o.lod_initial_resolution = check_resolution(o.lod_initial_resolution)
    if o.dataset is None:
        if not o.data:
            raise ConfigError("--data is required (an image folder, zip, CelebA directory or synthfaces:N)")
        if not _is_spec(o.data) and not os.path.exists(o.data):
            raise DataError(f"no such dataset: '{o.data}'")
    if o.loss not in LOSSES:
        raise ConfigError(f"--loss must be one of {', '.join(LOSSES)}, got '{o.loss}'")
    for name in FLOAT_OPTIONS:   # nan passes every comparison below: refuse it (and inf) first
        if getattr(o, name) is not None and not math.isfinite(getattr(o, name)):
            raise ConfigError(f"--{name.replace('_', '-')} must be a finite number, got {getattr(o, name)}")
    for key, lo, hi in (("z_dim", 1, None), ("w_dim", 1, None), ("mapping_depth", 0, 8), ("channel_base", 1, None),
                        ("channel_max", 1, None)):
        v = o.G_kwargs.get(key)
        if v is not None and (v < lo or (hi is not None and v > hi)):
            raise ConfigError(f"--{key.replace('_', '-')} must be {f'in {lo}..{hi}' if hi else f'>= {lo}'}, got {v}")
    if o.workers < 0:
        raise ConfigError(f"--workers must be >= 0, got {o.workers}")
    if not 0 <= o.style_mixing <= 1:
        raise ConfigError(f"--style-mixing is a probability in [0, 1], got {o.style_mixing}")
    if o.style_mixing > 0 and o.arch == "pggan":
        raise ConfigError("pggan has a single input layer: style mixing needs stylegan or stylegan2")
    o.batch_dict, o.lr_dict = _int_dict(o.batch_dict, "batch_dict"), _int_dict(o.lr_dict, "lr_dict")
    for name in ("kimg", "lr", "ema_kimg", "tick_kimg"):
        if not getattr(o, name) > 0:
            raise ConfigError(f"--{name.replace('_', '-')} must be positive, got {getattr(o, name)}")
    for name in ("snap", "r1_gamma", "pl_weight", "lod_kimg", "fade_kimg", "wgan_lambda", "wgan_epsilon", "keep",
                 "pl_decay"):
        if getattr(o, name) < 0:
            raise ConfigError(f"--{name.replace('_', '-')} must be >= 0, got {getattr(o, name)}")
    for name in ("batch", "r1_interval", "pl_interval", "pl_batch_shrink"):
        if int(getattr(o, name)) < 1:
            raise ConfigError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(o, name)}")
    if o.batch_gpu is not None and o.batch_gpu < 1:
        raise ConfigError(f"--batch-gpu must be >= 1, got {o.batch_gpu}")
    if o.batch_gpu is not None:   # one process here; the loop checks again with the number of processes
        for batch in (o.batch, *o.batch_dict.values()):
            if batch % min(o.batch_gpu, batch):
                raise ConfigError(f"a minibatch of {batch} does not split into microbatches of --batch-gpu "
                                  f"{o.batch_gpu}")
    if any(v < 1 for v in o.batch_dict.values()):
        raise ConfigError("minibatch sizes must be >= 1")
    if o.progressive and o.lod_kimg + o.fade_kimg <= 0:
        raise ConfigError("progressive growing needs --lod-kimg + --fade-kimg > 0")
    if o.amp not in (None, "bf16"):
        raise ConfigError(f"--amp must be 'bf16' (or absent), got '{o.amp}'")
    if o.metrics_samples is not None and o.metrics_samples < 2:
        raise ConfigError("--metrics-samples must be >= 2")
    if o.ema_rampup is not None and not o.ema_rampup > 0:
        raise ConfigError("--ema-rampup must be positive")
    if o.device is not None:
        resolve_device(o.device)  # unknown device / CUDA absent -> ConfigError
    o.betas = tuple(float(b) for b in o.betas)
    o.metrics = [m for m in (o.metrics or []) if m]
    if o.metrics:
        parse_presets(o.metrics)   # a misspelt preset fails now, not at the first snapshot
    for ext in extensions():
        if ext.active(o.plugin_options):
            ext.validate(o)
