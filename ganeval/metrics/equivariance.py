"""Equivariance metrics EQ-T, EQ-T_frac and EQ-R: Karras et al., "Alias-Free Generative Adversarial Networks",
NeurIPS 2021, Appendix E ("Equivariance metrics"); Table 1 and 2 of the paper report them.

A generator g is equivariant to an image transform T when transforming its input transforms the image the same
way: g(T^-1 applied to the input) = T[g(...)]. The metric is the PSNR in dB between the two sides, over the pixels
where the right-hand side is defined, images in [-1, 1] (peak-to-peak 2):

    PSNR = 10 log10(2^2 / MSE),   MSE = sum over samples, channels, valid pixels of (ref - img)^2
                                        / number of those (sample, channel, pixel) terms

i.e. the squared error of all samples is pooled first and then converted to dB, as the paper's expectation and
NVlabs/stylegan3 metrics/equivariance.py do; it is not the mean of per-sample PSNRs. The interval is a percentile
bootstrap over samples (each replicate pools the squared errors and pixel counts of resampled samples; the
percentiles of the replicates' MSE, turned into dB).

Per sample i, on streams seeded by (seed, i // 16) (sampling.py), so the value does not depend on the batch size
or on the number of processes:

* z ~ N(0, I) ('equivariance/z', shared by the three kinds), ws = mapping(z) (psi = 1 unless asked), fp32;
* the base image with G.synthesis.input.transform = I, and the transform T drawn from the kind's own stream:
  int:  t = (2u - 1) translate_max per axis (fraction of the image size), rounded to whole pixels;
  frac: the same, not rounded;
  rot:  angle = (2u - 1) rotate_max pi, i.e. rotate_max is in units of pi radians (1 = up to +-180 degrees);
* the transformed image with the input transform set to T^-1 (the buffer holds the inverse of the image
  transform: ganeval/models/stylegan3.py, SynthesisInput);
* int (Appendix E.1): ref = base shifted by whole pixels, valid where the shift brings a pixel in;
  frac (E.2): ref = base shifted by a separable Lanczos (a = 3) interpolation, valid where all 2a taps fall inside;
  rot (E.3): ref = base rotated by band-limited resampling (`affine_transform`), and the generated image is not
  compared as it is but through the "pseudo-rotation" R*_alpha (`pseudo_rotate`): the same band limit, applied
  without rotating, so that both sides hold the same frequencies; valid = both masks.

Where ganeval departs from NVlabs' code: NVlabs draws one transform per batch of 4 images (metric_main.py runs
these metrics with batch_size=4); here every sample draws its own, which the paper's expectation describes. The
expected PSNR is the same; the spread over runs is smaller. Everything else (constants, filters, masks,
aggregation) follows that file; benchmarks/results/2026-12-03-equivariance-vs-nvlabs.md compares the two (masks
and mask counts identical, pooled PSNR within 0.0013 dB on the same samples; the rotation is closer to its
float64 result than NVlabs', whose grid_sample takes float32 coordinates: see `bilinear`).
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import ConfigError, MetricError
from ..models.generate import check_finite
from ..models.ops import upfirdn2d, upfirdn2d_strided
from . import sampling as streams
from .common import Timer, prepare_generator
from .options import RunOptions
from .runner import run_chunks
from .stats import bootstrap_replicates, percentile_interval
from .tables import make_table

KINDS = ("int", "frac", "rot")
TRANSLATE_MAX = 0.125      # fraction of the image size (NVlabs metrics/equivariance.py)
ROTATE_MAX = 1.0           # in units of pi radians: angles up to +-180 degrees (same file)
LANCZOS_A = 3              # Lanczos window radius a of every operator (Appendix E)
UPSAMPLE = 4               # the rotation resamples a 4x upsampled image (Appendix E.3)
FILTER_EXTENT = 64         # the ideal low-pass filters are evaluated on a periodic grid of +-64 pixels
AFFINE_SUPPORT = 16        # radius (pixels) of a general affine transform's filter; rotations use 2a
PEAK = 2.0                 # the images' peak-to-peak range, [-1, 1]
DEFAULT_BATCH = 8          # base images per synthesis call (the transformed ones run one sample at a time)

# NVIDIA's names (NVlabs/stylegan3 metrics/metric_main.py) for the protocol's settings.
NVIDIA_NAMES = {"int": "eqt50k_int", "frac": "eqt50k_frac", "rot": "eqr50k"}
STREAMS = {"int": "equivariance/t_int", "frac": "equivariance/t_frac", "rot": "equivariance/angle"}


# ---------------------------------------------------------------------------------------------------------
# Transform matrices. A 3x3 homogeneous matrix M maps a point q of the source image to M q in the transformed
# image, coordinates in image units: (0, 0) is the image centre, x to the right, y down, the image spans
# [-1/2, 1/2] on both axes. The transformed image is out(q) = in(M^-1 q).

def translation_matrix(tx: float, ty: float) -> torch.Tensor:
    """Translation by (tx, ty) image sizes (float64)."""
    m = torch.eye(3, dtype=torch.float64)
    m[0, 2], m[1, 2] = float(tx), float(ty)
    return m


def rotation_matrix(angle: float) -> torch.Tensor:
    """Rotation by `angle` radians about the image centre, counter-clockwise on screen (y points down), the sign
    convention of NVlabs/stylegan3 metrics/equivariance.py (float64)."""
    c, s = math.cos(float(angle)), math.sin(float(angle))
    return torch.tensor([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]], dtype=torch.float64)


# ---------------------------------------------------------------------------------------------------------
# Translations (Appendix E.1 and E.2).

def _span(n: int, shift: int) -> tuple[slice, slice]:
    """(destination, source) index ranges along an axis of n samples for out[i + shift] = in[i]."""
    lo, hi = max(shift, 0), min(n + shift, n)
    if lo >= hi:
        return slice(0, 0), slice(0, 0)
    return slice(lo, hi), slice(lo - shift, hi - shift)


def _valid(n: int, lo: int, hi: int, device) -> torch.Tensor:
    """1 on [lo, hi) (clipped to [0, n)) and 0 elsewhere, as a float vector of n."""
    i = torch.arange(n, device=device)
    return ((i >= lo) & (i < hi)).float()


def shift_integer(x: torch.Tensor, dx: int, dy: int) -> tuple[torch.Tensor, torch.Tensor]:
    """x [N, C, H, W] moved right by dx and down by dy whole pixels: out[.., i + dy, j + dx] = x[.., i, j].

    Pixels that no source pixel reaches are 0. Returns (out, mask), mask [1, 1, H, W]: 1 where out holds image
    content (the operator T_x of Appendix E.1 and its domain)."""
    dx, dy = int(dx), int(dy)
    h, w = x.shape[-2:]
    (ry, sy), (rx, sx) = _span(h, dy), _span(w, dx)
    out = torch.zeros_like(x)
    out[..., ry, rx] = x[..., sy, sx]
    mask = torch.zeros(1, 1, h, w, device=x.device, dtype=x.dtype)
    mask[..., ry, rx] = 1
    return out, mask


def lanczos(t: torch.Tensor, a: int = LANCZOS_A) -> torch.Tensor:
    """The Lanczos kernel sinc(t) sinc(t / a) on |t| < a, 0 outside: the windowed-sinc interpolator."""
    return torch.where(t.abs() < a, torch.sinc(t) * torch.sinc(t / a), torch.zeros_like(t))


def _lanczos_taps(frac: float, a: int) -> torch.Tensor:
    """The 2a weights of samples at offsets k = -(a-1) .. a for a point `frac` in [0, 1) past a sample, normalised
    to sum 1 (a constant image stays constant)."""
    k = torch.arange(-(a - 1), a + 1, dtype=torch.float64)
    w = lanczos(k - frac, a)
    return w / w.sum()


def shift_fractional(x: torch.Tensor, dx: float, dy: float, a: int = LANCZOS_A) -> tuple[torch.Tensor, torch.Tensor]:
    """x [N, C, H, W] moved right by dx and down by dy pixels (any real numbers): out(p) = x(p - d), the value
    between samples interpolated by the separable Lanczos kernel of radius a (2a taps per axis, normalised).

    Returns (out, mask), mask [1, 1, H, W]: 1 where every tap of both axes falls inside the image (the operator
    of Appendix E.2 and its domain). Out-of-image samples are read as 0.
    """
    h, w = x.shape[-2:]
    out = x
    masks = []
    for axis, d, n in ((3, float(dx), w), (2, float(dy), h)):
        whole = math.floor(d)
        taps = _lanczos_taps(d - whole, a).tolist()
        # out[i] = sum_k w_k x[i - whole - k]: shift by whole + k, for k = -(a-1) .. a.
        acc = torch.zeros_like(out)
        for k, wk in zip(range(-(a - 1), a + 1), taps):
            shift = whole + k
            dst, src = _span(n, shift)
            if axis == 3:
                acc[..., dst] += wk * out[..., src]
            else:
                acc[..., dst, :] += wk * out[..., src, :]
        out = acc
        # All taps inside: i - whole - a >= 0 and i - whole + a - 1 <= n - 1.
        masks.append(_valid(n, whole + a, n + whole - a + 1, x.device))
    mx, my = masks
    mask = (my[:, None] * mx[None, :])[None, None].to(x.dtype)
    return out, mask


# ---------------------------------------------------------------------------------------------------------
# Band-limited affine resampling (Appendix E.3).

def _window(t: torch.Tensor, a: int) -> torch.Tensor:
    """The Lanczos window sinc(t / a) on |t| < a, 0 outside."""
    return torch.where(t.abs() < a, torch.sinc(t / a), torch.zeros_like(t))


def _grid(extent: int, up: int, device, dtype=torch.float64) -> torch.Tensor:
    """2 * extent * up - 1 sample positions 1 / up apart, symmetric about 0 (which is the middle one)."""
    n = 2 * extent * up - 1
    return (torch.arange(n, device=device, dtype=dtype) - (n - 1) // 2) / up


@functools.lru_cache(maxsize=8)
def _input_pulse_spectrum(extent: int, up: int, device: str) -> torch.Tensor:
    """rfft2 of the input grid's ideal low-pass, sinc(x) sinc(y), on the periodic grid (origin at index 0)."""
    p = _grid(extent, up, device)
    pulse = torch.sinc(p)[:, None] * torch.sinc(p)[None, :]
    return torch.fft.rfft2(torch.fft.ifftshift(pulse))


def bandlimit_filter(mat, a: int = LANCZOS_A, support: int = AFFINE_SUPPORT, up: int = UPSAMPLE,
                     extent: int = FILTER_EXTENT, device=None) -> torch.Tensor:
    """The 2D FIR filter that band-limits an image for the affine transform `mat` (3x3 or 2x2; only its linear
    part matters): float64 taps [K, K], K = 2 * support * up - 1, 1 / up pixels apart, in source coordinates.

    Appendix E.3: the ideal filter keeps the frequencies that both the source pixel grid and the transformed
    one can hold. Each grid's ideal low-pass is a sinc pulse, sinc(x) sinc(y) (cutoff half a cycle per pixel),
    the transformed grid's read at mat (x, y); the filter is their convolution, windowed by the convolution of
    the two Lanczos windows sinc(x/a) sinc(y/a) oriented the same way. The pulses are evaluated on a periodic
    grid of +-`extent` pixels and convolved by FFT; the windows have compact support and are convolved directly.
    The result is cut to |x|, |y| < support, and each of the up x up polyphase components is normalised to sum
    1 / up^2 (with an upsampling gain of up^2 every output phase has unit DC gain). These are the constants and
    the discretisation of NVlabs/stylegan3 metrics/equivariance.py.
    """
    if not (isinstance(a, int) and isinstance(support, int) and isinstance(up, int) and 1 <= a <= support < extent
            and up >= 1):
        raise ValueError(f"need integers 1 <= a <= support < extent and up >= 1, got a={a}, support={support}, "
                         f"extent={extent}, up={up}")
    device = torch.device(device) if device is not None else torch.device("cpu")
    lin = torch.as_tensor(mat, dtype=torch.float64, device=device)[:2, :2]
    n = 2 * extent * up - 1
    centre = (n - 1) // 2
    r = support * up - 1                       # the kept taps: centre - r .. centre + r

    # Ideal low-passes of both grids, convolved on the periodic grid.
    p = _grid(extent, up, device)
    y, x = torch.meshgrid(p, p, indexing="ij")
    xo, yo = lin[0, 0] * x + lin[0, 1] * y, lin[1, 0] * x + lin[1, 1] * y
    out_pulse = torch.fft.rfft2(torch.fft.ifftshift(torch.sinc(xo) * torch.sinc(yo)))
    pulse = torch.fft.irfft2(out_pulse * _input_pulse_spectrum(extent, up, str(device)), s=(n, n))
    pulse = torch.fft.fftshift(pulse)[centre - r: centre + r + 1, centre - r: centre + r + 1]

    # Windows: the source grid's (2 a up - 1 taps a side) slid over the transformed grid's, read where needed.
    k = a * up - 1
    ti = torch.arange(-k, k + 1, device=device, dtype=torch.float64) / up
    w_in = _window(ti, a)[:, None] * _window(ti, a)[None, :]
    to = torch.arange(-(r + k), r + k + 1, device=device, dtype=torch.float64) / up
    y, x = torch.meshgrid(to, to, indexing="ij")
    xo, yo = lin[0, 0] * x + lin[0, 1] * y, lin[1, 0] * x + lin[1, 1] * y
    w_out = _window(xo, a) * _window(yo, a)
    window = F.conv2d(w_out[None, None], w_in[None, None])[0, 0]   # w_in is even: correlation = convolution

    h = pulse * window
    phase = torch.arange(2 * r + 1, device=device) % up
    py, px = phase[:, None].expand_as(h), phase[None, :].expand_as(h)
    sums = torch.zeros(up, up, device=device, dtype=h.dtype).index_put_((py, px), h, accumulate=True)
    return h / sums[py, px] / up ** 2


def _check_up(up: int) -> None:
    if not isinstance(up, int) or up < 2 or up % 2:
        raise ValueError(f"the upsampling factor must be an even integer >= 2, got {up}")


def bilinear(img: torch.Tensor, ux: torch.Tensor, uy: torch.Tensor) -> torch.Tensor:
    """img [N, C, h, w] read at the (fractional) sample positions ux, uy ([H, W], columns and rows counted from 0)
    by bilinear interpolation, samples outside the image read as 0 -> [N, C, H, W].

    What F.grid_sample(mode='bilinear', align_corners=True, padding_mode='zeros') computes, but from positions in
    samples kept in float64: grid_sample takes float32 coordinates normalised to [-1, 1], whose rounding moves a
    point by about 6e-8 of the image's width (1e-4 samples of a 4x upsampled 256 px image).
    """
    n, c, h, w = img.shape
    x0, y0 = torch.floor(ux), torch.floor(uy)
    fx, fy = (ux - x0).to(img.dtype), (uy - y0).to(img.dtype)
    x0, y0 = x0.long(), y0.long()
    flat = img.reshape(n, c, h * w)
    out = torch.zeros(n, c, *ux.shape, device=img.device, dtype=img.dtype)
    for dy, wy in ((0, 1 - fy), (1, fy)):
        for dx, wx in ((0, 1 - fx), (1, fx)):
            xi, yi = x0 + dx, y0 + dy
            inside = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
            index = (yi.clamp(0, h - 1) * w + xi.clamp(0, w - 1)).reshape(-1)
            out += flat.index_select(2, index).reshape(out.shape) * (wx * wy * inside)
    return out


def affine_transform(x: torch.Tensor, mat, a: int = LANCZOS_A, support: int = AFFINE_SUPPORT,
                     up: int = UPSAMPLE) -> tuple[torch.Tensor, torch.Tensor]:
    """x [N, C, H, W] transformed by the 3x3 image transform `mat` (out(q) = x(mat^-1 q), image units; see
    rotation_matrix) by band-limited resampling: filter with `bandlimit_filter(mat)` while upsampling by `up`,
    then read every output pixel's source point bilinearly from the upsampled image (Appendix E.3; `bilinear`).

    Returns (out, mask), mask [1, 1, H, W]: 1 where the upsampled sample nearest to the source point lies at
    least `support` pixels (the filter's reach) inside the image, as NVlabs/stylegan3 draws the mask; the upsampled
    samples are counted m = 0, 1, .. from the image's left (top) edge, 1 / up pixels apart, and the valid ones are
    support * up <= m <= up * W - 1 - support * up.
    """
    _check_up(up)
    _, _, h, w = x.shape
    mat = torch.as_tensor(mat, dtype=torch.float64, device=x.device)
    taps = bandlimit_filter(mat, a=a, support=support, up=up, device=x.device)
    r = taps.shape[0] // 2
    # Upsampled sample u (0 .. up * W - 1) sits at source pixel coordinate u / up + 1/2 (pixel edges at integers):
    # the source pixels are every up-th sample, from u = 0.
    big = upfirdn2d_strided(x, taps.to(x.dtype), up=up, padding=[r, r, r, r], gain=up ** 2)

    inv = torch.linalg.inv(mat)
    qy = (torch.arange(h, device=x.device, dtype=torch.float64) + 0.5) / h - 0.5
    qx = (torch.arange(w, device=x.device, dtype=torch.float64) + 0.5) / w - 0.5
    qy, qx = torch.meshgrid(qy, qx, indexing="ij")
    sx = inv[0, 0] * qx + inv[0, 1] * qy + inv[0, 2]
    sy = inv[1, 0] * qx + inv[1, 1] * qy + inv[1, 2]
    ux = ((sx + 0.5) * w - 0.5) * up            # position in upsampled samples
    uy = ((sy + 0.5) * h - 0.5) * up
    out = bilinear(big, ux, uy)

    lo = support * up
    mx, my = torch.round(ux) + up // 2, torch.round(uy) + up // 2
    valid = (mx >= lo) & (mx <= up * w - 1 - lo) & (my >= lo) & (my <= up * h - 1 - lo)
    return out, valid[None, None].to(x.dtype)


def rotate(x: torch.Tensor, angle: float, a: int = LANCZOS_A, up: int = UPSAMPLE) -> tuple[torch.Tensor, torch.Tensor]:
    """x rotated by `angle` radians about the image centre (rotation_matrix's sense) by band-limited resampling,
    with a filter of radius 2a pixels (the operator R_alpha of Appendix E.3); (out, mask) as affine_transform."""
    return affine_transform(x, rotation_matrix(angle), a=a, support=2 * a, up=up)


def pseudo_rotate(x: torch.Tensor, angle: float, a: int = LANCZOS_A) -> tuple[torch.Tensor, torch.Tensor]:
    """x filtered as if it had been rotated by `angle`, without rotating it (R*_alpha of Appendix E.3): x is
    taken to be the rotated image already, so the filter is the band limit of the inverse rotation, at the pixel
    rate (up = 1, 2a radius, 4a - 1 taps). Returns (out, mask), mask [1, 1, H, W]: 1 where the whole filter falls
    inside the image (2a - 1 pixels from each edge)."""
    taps = bandlimit_filter(rotation_matrix(-angle), a=a, support=2 * a, up=1, device=x.device)
    r = taps.shape[0] // 2
    out = upfirdn2d(x, taps.to(x.dtype), padding=[r, r, r, r])
    h, w = x.shape[-2:]
    mask = _valid(h, r, h - r, x.device)[:, None] * _valid(w, r, w - r, x.device)[None, :]
    return out, mask[None, None].to(x.dtype)


# ---------------------------------------------------------------------------------------------------------
# The metric.

def psnr(sq_err, count) -> float:
    """PSNR in dB of pooled squared errors: 10 log10(PEAK^2 / (sum sq_err / sum count)); inf for no error, nan for
    no valid pixel."""
    total, num = float(np.sum(sq_err)), float(np.sum(count))
    if num <= 0:
        return float("nan")
    if total <= 0:
        return float("inf")
    return 20 * math.log10(PEAK) - 10 * math.log10(total / num)


def _input_transform(G) -> torch.Tensor:
    m = getattr(getattr(getattr(G, "synthesis", None), "input", None), "transform", None)
    if not torch.is_tensor(m) or tuple(m.shape) != (3, 3):
        raise MetricError(f"the equivariance metrics need a generator whose synthesis input takes a transform "
                          f"(StyleGAN3: G.synthesis.input.transform); this {getattr(G, 'arch', '') or 'generator'} "
                          f"generator has none")
    return m


def _check(kind: str, translate_max: float, rotate_max: float) -> None:
    if kind not in KINDS:
        raise ConfigError(f"equivariance kind must be one of {', '.join(KINDS)}, got {kind!r}")
    for label, v in (("translate_max", translate_max), ("rotate_max", rotate_max)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
            raise ConfigError(f"{label} must be a finite number >= 0, got {v!r}")


def draw_transform(kind: str, u, translate_max: float, rotate_max: float, resolution: int):
    """The image transform of one sample from its uniform draw(s) u in [0, 1) (2 for translations, 1 for
    rotations) -> (3x3 image transform, its parameter: (tx, ty) in image sizes or the angle in radians)."""
    u = [float(v) for v in u]
    if kind == "rot":
        angle = (2 * u[0] - 1) * rotate_max * math.pi
        return rotation_matrix(angle), angle
    t = [(2 * v - 1) * translate_max for v in u]
    if kind == "int":
        t = [round(v * resolution) / resolution for v in t]
    return translation_matrix(*t), tuple(t)


def sample_error(kind: str, base: torch.Tensor, img: torch.Tensor, param) -> tuple[float, float]:
    """(sum of masked squared errors, number of valid channel-pixel terms) of one sample: base [1, C, H, W] the
    image with the identity transform, img the one rendered with the inverse of the drawn transform."""
    _, c, h, w = base.shape
    if kind == "int":
        ref, mask = shift_integer(base, round(param[0] * w), round(param[1] * h))
    elif kind == "frac":
        ref, mask = shift_fractional(base, param[0] * w, param[1] * h)
    else:
        ref, ref_mask = rotate(base, param)
        img, img_mask = pseudo_rotate(img, param)
        mask = ref_mask * img_mask
    err = ((ref.double() - img.double()).square() * mask.double()).sum()
    return float(err), float(mask.double().sum()) * c


def equivariance(G, kind: str = "int", num_samples: int = 50_000, translate_max: float = TRANSLATE_MAX,
                 rotate_max: float = ROTATE_MAX, *, name: str | None = None, opts: RunOptions | None = None, **run):
    """EQ-T (kind='int'), EQ-T_frac ('frac') or EQ-R ('rot') of G in dB; one row (the module docstring has the
    protocol). `translate_max`: the largest translation, a fraction of the image size; `rotate_max`: the largest
    angle in units of pi radians (NVIDIA's unit: 1 = +-180 degrees). G needs an input transform (StyleGAN3),
    else a MetricError.

    `opts` / `run`: the run settings (RunOptions). The batch size (default 8) is the number of base images per
    synthesis call; the transformed images are rendered one by one, each with its own transform. `state_dir`
    keeps finished chunks and a rerun resumes from them (runner.py). Interval: percentile bootstrap (`bootstrap`
    replicates, default 1000) over samples of the pooled PSNR.
    """
    o = RunOptions.make(opts, **run)
    _check(kind, translate_max, rotate_max)
    _input_transform(G)
    seed, bootstrap = o.seed, o.replicates(1000)
    G, device = prepare_generator(G, o.device)
    transform = _input_transform(G)
    identity = torch.eye(3, device=transform.device, dtype=transform.dtype)
    batch = min(o.batch(DEFAULT_BATCH), streams.BLOCK_SIZE)
    trunc = dict(truncation_psi=o.truncation_psi, truncation_cutoff=o.truncation_cutoff)

    @torch.no_grad()
    def compute(blocks, tick) -> dict:
        errs, counts = [], []
        try:
            for _, start, stop in blocks:
                z = streams.normal(seed, "equivariance/z", start, stop, G.z_dim)
                u = streams.uniform(seed, STREAMS[kind], start, stop, 1 if kind == "rot" else 2)
                for s in range(0, stop - start, batch):
                    ids = range(start + s, min(start + s + batch, stop))
                    ws = G.mapping(z[s: s + len(ids)].to(device), **trunc)
                    transform.copy_(identity)
                    base = check_finite(G.synthesis(ws, noise_mode="const").float(), G, ids)
                    for i, sample in enumerate(ids):
                        mat, param = draw_transform(kind, u[sample - start], translate_max, rotate_max,
                                                    G.img_resolution)
                        transform.copy_(torch.linalg.inv(mat).to(transform))
                        img = G.synthesis(ws[i: i + 1], noise_mode="const").float()
                        e, c = sample_error(kind, base[i: i + 1], check_finite(img, G, [sample]), param)
                        errs.append(e)
                        counts.append(c)
                    tick(len(ids))
        finally:
            transform.copy_(identity)
        return dict(sq_err=np.array(errs, dtype=np.float64), count=np.array(counts, dtype=np.float64))

    settings = dict(kind=kind, translate_max=float(translate_max), rotate_max=float(rotate_max), seed=seed,
                    truncation_psi=o.truncation_psi, truncation_cutoff=o.truncation_cutoff, bootstrap=bootstrap,
                    device=device.type, lanczos_a=LANCZOS_A, upsample=UPSAMPLE)
    with Timer() as timer:
        chunks = run_chunks("equivariance", num_samples, compute, settings=settings, modules=dict(generator=G),
                            state_dir=o.state_dir, progress=o.progress, desc=f"equivariance {kind}")
        payloads = [payload for _, payload in chunks]
        sq_err = np.concatenate([p["sq_err"] for p in payloads])
        count = np.concatenate([p["count"] for p in payloads])
        if count.sum() <= 0:
            raise MetricError(f"no pixel of a {G.img_resolution} px image is inside the {kind} operator's mask "
                              f"(the rotation filters need more than {4 * LANCZOS_A} px)")
        value = psnr(sq_err, count)
        ci = (float("nan"), float("nan"))
        if bootstrap > 0:
            # Replicates of the pooled MSE (finite, unlike a PSNR of 0 error); PSNR falls as MSE rises, so the
            # interval's ends swap.
            pairs = np.stack([sq_err, count], axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                reps = bootstrap_replicates(pairs, lambda v: v[:, 0].sum() / v[:, 1].sum(), bootstrap,
                                            seed=streams.block_seed(seed, "equivariance/bootstrap", 0))
            lo, hi = percentile_interval(reps)
            ci = (psnr(hi, 1.0), psnr(lo, 1.0)) if math.isfinite(lo) else ci
    protocol = float(translate_max) == TRANSLATE_MAX if kind != "rot" else float(rotate_max) == ROTATE_MAX
    label = name or (NVIDIA_NAMES[kind] if protocol else {"int": "eqt_int", "frac": "eqt_frac", "rot": "eqr"}[kind])
    channels = max(G.img_channels, 1)
    row = dict(
        metric=label, value=value, ci_low=ci[0], ci_high=ci[1],
        ci_method=f"percentile-bootstrap({bootstrap}) over samples" if bootstrap > 0 else None,
        num_samples=num_samples, seed=seed, psi=o.truncation_psi, truncation_cutoff=o.truncation_cutoff,
        space=None, feature_net=None, time_s=timer.elapsed, kind=kind,
        translate_max=float(translate_max) if kind != "rot" else None,
        translate_max_unit="image size" if kind != "rot" else None,
        rotate_max=float(rotate_max) if kind == "rot" else None,
        rotate_max_unit="pi rad" if kind == "rot" else None,
        mse=float(sq_err.sum() / count.sum()), psnr_aggregation="pooled MSE over samples",
        valid_fraction=float(count.sum() / (len(count) * channels * G.img_resolution ** 2)),
    )
    return make_table(G, [row])
