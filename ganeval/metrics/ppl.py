"""Perceptual path length (PPL), Karras et al., "A Style-Based Generator Architecture for GANs", CVPR 2019, §4.2.

Matches NVlabs/stylegan `metrics/perceptual_path_length.py` (and its ports in stylegan2 and
stylegan2-ada-pytorch). Protocol, constant by constant (docs/metrics.md, "Perceptual path length"):

* pairs z0, z1 ~ N(0, I); t ~ U(0, 1) ('full') or t = 0 exactly ('end'); epsilon = 1e-4;
* Z: slerp between the unit-normalised z0, z1 at t and t + eps (outputs re-normalised), then mapping;
  W: mapping of z0 and z1, then lerp of the [N, num_ws, w_dim] ws at t and t + eps;
* no truncation (psi = 1) unless a truncation sweep asks for it;
* one noise draw per block of 16 pairs (the per-GPU minibatch of the 2019 code), shared by both
  images of every pair in the block, redrawn per block ('const' noise buffers);
* optional face crop: rows 3c..7c, columns 2c..6c, c = H/8;
* box-filter downsample to 256 px; the factor is ``cropped_size // 256`` under the 'tf' rule
  (StyleGAN/StyleGAN2 TF, the papers) or ``img_resolution // 256`` under the 'ada' rule
  (stylegan2-ada-pytorch / stylegan3); they differ only for cropped models above 256 px;
* distance = LPIPS-VGG16 (Zhang v0.1) / eps^2; keep values in [P1 'lower', P99 'higher'] and average.

Two ways to the same integrand, on the same samples (z0, z1, t, noise):

* method='fd' (the default and the reference): the finite difference above, in float32;
* method='jvp': its limit eps -> 0. Each distance is a quadratic form of a feature difference,
  d(x, y) = Q(F(x) - F(y)) (features/quadratic.py), so d(I(t), I(t + eps)) / eps^2 -> Q(dF(I(t))/dt), I(t)
  the cropped, downsampled image; dF/dt comes from forward-mode AD (torch.func.jvp) through the path,
  the generator, crop, downsample and F. No step, so no cancellation between two nearly equal images;
  precision='bf16' runs it under bf16 autocast (benchmarks/results/2026-12-03-ppl-jvp.md measures what that
  costs in accuracy).

Presets (presets.py): ppl_{z,w}{full,end} crop, 100,000 samples (StyleGAN); ppl2_wend no crop, 50,000
(StyleGAN2); ppl2_wend_synth, ppl2_wend's protocol with the bundled 'synth-lpips' distance. Distances come
from the registry of ganeval.features; a distance other than LPIPS-VGG16 adds its short name to the
metric's name ('ppl2_wend_synth').
"""

from __future__ import annotations

import contextlib
import warnings

import numpy as np
import torch

from ..errors import ConfigError, MetricError, NonFiniteError
from ..features.registry import REGISTRY, quadratic_distance, resolve_distance
from ..images import box_downsample
from ..utils import at_least_float32
from . import sampling as streams
from .common import Timer, prepare_generator
from .options import RunOptions
from .runner import run_chunks
from .stats import bootstrap_replicates, percentile_filter, percentile_interval
from .tables import make_table

SPACES = ("z", "w")
SAMPLINGS = ("full", "end")
RESIZE_RULES = ("tf", "ada")
METHODS = ("fd", "jvp")
PRECISIONS = ("fp32", "bf16")
LPIPS_RESOLUTION = 256


# ---------------------------------------------------------------------------------------------------------
# Interpolation, crop, downsample.

def normalize(v: torch.Tensor) -> torch.Tensor:
    return v / v.norm(dim=-1, keepdim=True)


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation of unit-normalised a, b at t ([N] or [N, 1]); output unit length.

    No clamping, as in the reference: acos of a dot product that rounds above 1 would give NaN,
    which never happens for random high-dimensional Gaussians.
    """
    t = t.reshape(-1, 1) if t.dim() == 1 else t
    a, b = normalize(a), normalize(b)
    d = (a * b).sum(dim=-1, keepdim=True)
    p = t * torch.acos(d)
    c = normalize(b - d * a)
    return normalize(a * torch.cos(p) + c * torch.sin(p))


def lerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """a + (b - a) t with t [N] broadcast over the remaining axes of a ([N, num_ws, w_dim])."""
    t = t.reshape(-1, *([1] * (a.dim() - 1)))
    return a + (b - a) * t


def crop_box(resolution: int) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of the face crop: rows 3c..7c, columns 2c..6c with c = resolution // 8."""
    c = resolution // 8
    return 3 * c, 7 * c, 2 * c, 6 * c


def face_crop(img: torch.Tensor) -> torch.Tensor:
    if img.shape[2] != img.shape[3]:
        raise MetricError(f"the PPL face crop needs square images, got {tuple(img.shape[2:])}")
    top, bottom, left, right = crop_box(img.shape[2])
    return img[:, :, top:bottom, left:right]


def downsample_factor(size: int, img_resolution: int, rule: str = "tf", target: int = LPIPS_RESOLUTION) -> int:
    """Box-filter factor applied to an image of `size` px (after the optional crop); 1 = none.

    'tf':  size // target            (NVlabs/stylegan and stylegan2, TF: factor of the cropped image)
    'ada': img_resolution // target  (stylegan2-ada-pytorch and stylegan3: factor of the uncropped model)
    """
    if rule not in RESIZE_RULES:
        raise ConfigError(f"unknown PPL resize rule '{rule}' (known: {', '.join(RESIZE_RULES)})")
    base = size if rule == "tf" else img_resolution
    return max(base // target, 1)


def distance_input(img: torch.Tensor, crop: bool, resize_rule: str, img_resolution: int) -> torch.Tensor:
    """What the distance sees: crop, then box-downsample by the rule's factor."""
    if crop:
        img = face_crop(img)
    return box_downsample(img, img.shape[2] // downsample_factor(img.shape[2], img_resolution, resize_rule))


def distance_resolution(img_resolution: int, crop: bool, resize_rule: str) -> int:
    size = crop_box(img_resolution)[1] - crop_box(img_resolution)[0] if crop else img_resolution
    return size // downsample_factor(size, img_resolution, resize_rule)


# ---------------------------------------------------------------------------------------------------------
# The metric.

def distance_suffix(dist_name: str) -> str:
    """'' for LPIPS-VGG16 (NVIDIA's distance keeps NVIDIA's name), '_synth' for synth-lpips, '_mse', ...; a
    callable that is not registered gets its name."""
    if dist_name in REGISTRY and REGISTRY[dist_name].kind == "distance":
        short = REGISTRY[dist_name].short
        return "" if short is None else f"_{short}"
    return "_" + str(dist_name).replace("-", "_")


def _check_method(method: str, precision: str) -> None:
    if method not in METHODS:
        raise ConfigError(f"unknown PPL method '{method}' (known: {', '.join(METHODS)})")
    if precision not in PRECISIONS:
        raise ConfigError(f"unknown PPL precision '{precision}' (known: {', '.join(PRECISIONS)})")
    if precision != "fp32" and method == "fd":
        # benchmarks/results/2026-12-03-ppl-jvp.md, (c): in bf16 the two images of a pair are rounded apart or
        # together at random, and the finite difference measures that rounding, not the path.
        raise ConfigError(f"precision='{precision}' needs method='jvp': the finite difference over "
                          f"epsilon=1e-4 is lost in {precision} rounding")


def _check(G, space: str, sampling_: str) -> None:
    if space not in SPACES:
        raise ConfigError(f"PPL space must be 'z' or 'w', got '{space}'")
    if sampling_ not in SAMPLINGS:
        raise ConfigError(f"PPL sampling must be 'full' or 'end', got '{sampling_}'")
    if space == "w" and not G.has_w:
        raise MetricError(f"PPL in W needs a mapping network; this {G.arch} generator (mapping depth "
                          f"{G.mapping_depth}) has no W space: use --space z")


def _device_of(module) -> torch.device:
    for t in module.parameters():
        return t.device
    for t in module.buffers():
        return t.device
    return torch.device("cpu")


def _dtype_of(module) -> torch.dtype:
    """The dtype the pipeline computes in: float32, or float64 for a float64 generator (the derivative tests)."""
    for t in module.parameters():
        if t.is_floating_point():
            return torch.float64 if t.dtype == torch.float64 else torch.float32
    return torch.float32


def _autocast(precision: str, device: torch.device):
    """bf16 autocast of the generator and the distance network on `device` (CPU or CUDA); fp32: none."""
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


@torch.no_grad()
def ppl_distances(G, z0: torch.Tensor, z1: torch.Tensor, t: torch.Tensor, space: str = "w",
                  epsilon: float = 1e-4, crop: bool = False, distance="lpips-vgg16", resize_rule: str = "tf",
                  truncation_psi: float = 1.0, truncation_cutoff: int | None = None) -> torch.Tensor:
    """Per-pair PPL distances d(g(x(t)), g(x(t + eps))) / eps^2 for explicit z0, z1 [N, z_dim] and t [N].

    Uses G's current const noise (the caller draws it), on G's device. `distance` is a registered
    name or a callable (img0, img1) -> [N] on float images in [-1, 1] (after crop and downsample).
    """
    _check(G, space, "full")
    device, dtype = _device_of(G), _dtype_of(G)
    dist_fn, _ = resolve_distance(distance, device)
    z0, z1, t = (v.to(device, dtype) for v in (z0, z1, t))
    trunc = dict(truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff)
    if space == "w":
        w0, w1 = G.mapping(torch.cat([z0, z1]), **trunc).chunk(2)
        wa, wb = lerp(w0, w1, t), lerp(w0, w1, t + epsilon)
    else:
        za, zb = slerp(z0, z1, t), slerp(z0, z1, t + epsilon)
        wa, wb = G.mapping(torch.cat([za, zb]), **trunc).chunk(2)
    img = at_least_float32(G.synthesis(torch.cat([wa, wb]), noise_mode="const"))
    img = distance_input(img, crop, resize_rule, G.img_resolution)
    ia, ib = img.chunk(2)
    return at_least_float32(dist_fn(ia, ib).reshape(-1)) / epsilon ** 2


@torch.no_grad()
def ppl_jvp_distances(G, z0: torch.Tensor, z1: torch.Tensor, t: torch.Tensor, space: str = "w",
                      crop: bool = False, distance="lpips-vgg16", resize_rule: str = "tf", precision: str = "fp32",
                      truncation_psi: float = 1.0, truncation_cutoff: int | None = None) -> torch.Tensor:
    """Per-pair PPL integrands in the limit eps -> 0, from the derivative along the path instead of a step.

    With d(x, y) = Q(F(x) - F(y)) (features/quadratic.py), d(I(t), I(t + eps)) / eps^2 -> Q(dF(I(t))/dt),
    I(t) the image the distance sees (synthesis, crop, box-downsample) on the path x(t): lerp(w0, w1, t) in W,
    the mapping of slerp(z0, z1, t) in Z. dF/dt comes from one forward-mode AD pass (torch.func.jvp) with
    tangent 1 for each pair's t: no eps, no difference of two nearly equal images. Same inputs as `ppl_distances`
    (G's current const noise, on G's device); `distance` must have a quadratic form. precision='bf16' runs
    the generator and the distance network under bf16 autocast; Q is applied in float32 either way.
    """
    _check(G, space, "full")
    _check_method("jvp", precision)
    device, dtype = _device_of(G), _dtype_of(G)
    dist, _ = quadratic_distance(distance, device)
    z0, z1, t = (v.to(device, dtype) for v in (z0, z1, t))
    trunc = dict(truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff)
    with _autocast(precision, device):
        if space == "w":
            w0, w1 = G.mapping(torch.cat([z0, z1]), **trunc).chunk(2)

            def path(s):
                return lerp(w0, w1, s)
        else:
            def path(s):
                return G.mapping(slerp(z0, z1, s), **trunc)

        def features(s):
            img = at_least_float32(G.synthesis(path(s), noise_mode="const"))
            return tuple(dist.features(distance_input(img, crop, resize_rule, G.img_resolution)))

        with warnings.catch_warnings():
            # torch/_decomp/decompositions_for_jvp.py calls the deprecated torch.jit.script when first imported
            # by torch.func.jvp; the FutureWarning is torch's own and says nothing to a ganeval user.
            warnings.filterwarnings("ignore", message=r".*torch\.jit\.script.*", category=FutureWarning)
            _, tangents = torch.func.jvp(features, (t,), (torch.ones_like(t),))
    return at_least_float32(dist.quadratic([at_least_float32(v) for v in tangents]).reshape(-1))


def ppl(G, space: str = "w", sampling: str = "end", epsilon: float = 1e-4, num_samples: int = 50_000,
        crop: bool = False, distance="lpips-vgg16", resize_rule: str = "tf", method: str = "fd",
        precision: str = "fp32", *, name: str | None = None, return_distances: bool = False,
        opts: RunOptions | None = None, **run):
    """Perceptual path length of G; one row (see the module docstring for the protocol).

    Sample i uses z0_i, z1_i, t_i from streams seeded by (seed, i // 16) and the noise of block i // 16,
    so the value does not depend on the batch size (pairs per call, default and at most one block of 16)
    nor on the number of processes under torchrun (blocks are shared out, distances gathered in block
    order). `opts` / `run`: the run settings (RunOptions); `state_dir` keeps finished blocks and a rerun
    resumes from them (runner.py). Interval: percentile bootstrap (`bootstrap` replicates, default 1000)
    of the mean over the kept distances. `return_distances`: also return every pair's distance.

    `method`: 'fd', the papers' finite difference over `epsilon` (`ppl_distances`), or 'jvp', its limit
    eps -> 0 from forward-mode AD (`ppl_jvp_distances`; the distance needs a quadratic form), on the same
    samples. The row's `method` says which; its `epsilon` is NaN for 'jvp', which has none. `precision`:
    'fp32', or 'bf16' (autocast of generator and distance network; 'jvp' only), recorded in the row.
    """
    o = RunOptions.make(opts, **run)
    seed, bootstrap = o.seed, o.replicates(1000)
    truncation_psi, truncation_cutoff = o.truncation_psi, o.truncation_cutoff
    _check(G, space, sampling)
    _check_method(method, precision)
    if num_samples < 2:
        raise ConfigError("PPL needs at least 2 samples")
    G, device = prepare_generator(G, o.device)
    resolve = quadratic_distance if method == "jvp" else resolve_distance
    dist_fn, dist_name = resolve(distance, device)
    batch = min(o.batch(streams.BLOCK_SIZE), streams.BLOCK_SIZE)
    step = epsilon if method == "fd" else None
    protocol = dict(space=space, crop=crop, distance=dist_fn, resize_rule=resize_rule,
                    truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff)

    def distances(z0, z1, t):
        if method == "jvp":
            return ppl_jvp_distances(G, z0, z1, t, precision=precision, **protocol)
        return ppl_distances(G, z0, z1, t, epsilon=epsilon, **protocol)

    def compute(blocks, tick) -> dict:
        out = []
        for b, start, stop in blocks:
            # One noise draw per block, shared by all pairs in it (NVIDIA: per minibatch).
            G.redraw_noise_(streams.block_generator(seed, "ppl/noise", b))
            z0 = streams.normal(seed, "ppl/z0", start, stop, G.z_dim)
            z1 = streams.normal(seed, "ppl/z1", start, stop, G.z_dim)
            t = streams.uniform(seed, "ppl/t", start, stop) * (1.0 if sampling == "full" else 0.0)
            for s in range(0, stop - start, batch):
                sl = slice(s, min(s + batch, stop - start))
                d = distances(z0[sl], z1[sl], t[sl])
                bad = ~torch.isfinite(d)
                if bool(bad.any()):
                    # A NaN image (damaged weights) makes a NaN distance, which the percentile filter would drop
                    # or carry into a NaN mean written as a result.
                    where = getattr(G, "checkpoint_path", None) or f"this {G.arch} generator"
                    raise NonFiniteError(f"{where}: PPL distance NaN or Inf for pair "
                                         f"{start + s + int(bad.nonzero()[0, 0])} (damaged weights or a non-finite "
                                         f"option)")
                out.append(d.cpu())
                tick(d.numel())
        return dict(distances=torch.cat(out).numpy())

    settings = dict(space=space, sampling=sampling, epsilon=step, crop=bool(crop), distance=dist_name,
                    resize_rule=resize_rule, method=method, precision=precision, seed=seed,
                    truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff, bootstrap=bootstrap,
                    device=device.type)
    with Timer() as timer:
        chunks = run_chunks("ppl", num_samples, compute, settings=settings, modules=dict(generator=G),
                            state_dir=o.state_dir, progress=o.progress, desc=f"ppl {space}{sampling}", unit="pair")
        all_d = np.concatenate([payload["distances"] for _, payload in chunks]).astype(np.float64)
        kept = percentile_filter(all_d, 1, 99)
        value = float(kept.mean())
        reps = bootstrap_replicates(kept, np.mean, bootstrap, seed=streams.block_seed(seed, "ppl/bootstrap", 0))
        ci = percentile_interval(reps) if bootstrap > 0 else (float("nan"), float("nan"))
    label = name or (f"ppl_{space}{sampling}" if crop else f"ppl2_{space}{sampling}")
    suffix = distance_suffix(dist_name)
    if suffix and not label.endswith(suffix):
        label += suffix
    row = dict(
        metric=label, value=value, ci_low=ci[0], ci_high=ci[1],
        ci_method=f"percentile-bootstrap({bootstrap}) over kept distances" if bootstrap > 0 else None,
        num_samples=num_samples, seed=seed, psi=truncation_psi, truncation_cutoff=truncation_cutoff, space=space,
        feature_net=dist_name, time_s=timer.elapsed, sampling=sampling, method=method, precision=precision,
        epsilon=float("nan") if step is None else step, crop=bool(crop), resize_rule=resize_rule,
        distance_resolution=distance_resolution(G.img_resolution, crop, resize_rule),
        num_kept=int(kept.size), std=float(kept.std()), noise_block=streams.BLOCK_SIZE,
    )
    df = make_table(G, [row])
    return (df, all_d) if return_distances else df
