"""StyleGAN3 (Karras et al., "Alias-Free Generative Adversarial Networks", NeurIPS 2021): configs T and R.

Every feature map is read as samples of a band-limited continuous signal (§2): layer i holds content
below its cutoff f_c, sampled at a rate s (a power of two) on a canvas that reaches `margin_size`
samples beyond the image. The synthesis network is

    ws[0]  -> SynthesisInput: Fourier features, sinusoids of random frequencies inside the first
              cutoff, rotated and translated by an affine map of w and by the user's `transform`
    ws[1:] -> num_layers SynthesisLayers: modulated convolution (3x3 in config T, 1x1 in config R),
              then the filtered leaky ReLU: bias, upsample through a low-pass filter, lrelu, low-pass
              and downsample, so that the frequencies the nonlinearity creates above the cutoff are
              removed before they alias (§2, "equivariant network layers"; §3, "filtered
              nonlinearities")
           -> a ToRGB layer (1x1, no demodulation), times `output_scale`.

Cutoffs, stopbands and sampling rates follow the paper's "flexible layer specifications" (§3):
geometric from f_c = 2 up to img_resolution / 2, the last `num_critical` layers critically sampled.
The filters are Kaiser-windowed sincs (radially symmetric jincs for config R's downsampling).
There are no noise inputs (§3 removes them on the way from StyleGAN2) and no per-resolution blocks.

Parameter and buffer names follow NVlabs/stylegan3 training/networks_stylegan3.py
(`synthesis.input.freqs`, `synthesis.L3_52_512.magnitude_ema`, ...) so that its state dicts load
one to one; so do the attribute names a layer keeps (`in_sampling_rate`, `out_cutoff`, ...), which
the checkpoint loader compares with a pickle's. ganeval computes in fp32 throughout; NVlabs runs the
highest-resolution layers in fp16 on GPUs (`num_fp16_res`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .base import Generator, check_noise_mode, config_of
from .mapping import MappingNetwork
from .ops import SQRT2, FullyConnectedLayer, bias_act, upfirdn2d_strided

# The paper's configs T (translation equivariant) and R (also rotation equivariant; §3): R uses 1x1
# convolutions, radially symmetric downsampling filters and twice the feature maps. The values are those of
# NVlabs/stylegan3 train.py for --cfg=stylegan3-t / stylegan3-r (docs/configs.md there: --cbase 32768,
# --cmax 512, both doubled for R).
CONFIGS: dict[str, dict] = {
    "t": dict(channel_base=32768, channel_max=512, conv_kernel=3, use_radial_filters=False),
    "r": dict(channel_base=65536, channel_max=1024, conv_kernel=1, use_radial_filters=True),
}


# ----------------------------------------------------------------------------------------------------
# Low-pass filter design: ideal low-pass filters under a Kaiser window, with Kaiser's formulas for the window's
# shape (J. F. Kaiser, "Nonrecursive digital filter design using the I0-sinh window function", ISCAS 1974), the
# design scipy.signal.firwin makes when given a transition width.

def kaiser_attenuation(numtaps: int, width: float) -> float:
    """Kaiser's estimate of the stopband attenuation (dB) of a numtaps-tap filter whose transition band is
    `width` wide, as a fraction of the Nyquist frequency."""
    return 2.285 * (numtaps - 1) * math.pi * width + 7.95


def kaiser_beta(attenuation: float) -> float:
    """Kaiser's window shape for a stopband attenuation in dB."""
    if attenuation > 50:
        return 0.1102 * (attenuation - 8.7)
    if attenuation > 21:
        return 0.5842 * (attenuation - 21) ** 0.4 + 0.07886 * (attenuation - 21)
    return 0.0


def _tap_positions(numtaps: int, fs: float) -> np.ndarray:
    """Where the taps sit, in the units of the signal (1/fs apart, centred on 0)."""
    return (np.arange(numtaps) - (numtaps - 1) / 2) / fs


def _kaiser_window(numtaps: int, width: float, fs: float) -> np.ndarray:
    return np.kaiser(numtaps, kaiser_beta(kaiser_attenuation(numtaps, width / (fs / 2))))


def kaiser_lowpass(numtaps: int, cutoff: float, width: float, fs: float) -> np.ndarray:
    """Separable low-pass taps: the ideal filter sinc(2 f_c t) under a Kaiser window, normalised to unit DC gain."""
    h = np.sinc(2 * cutoff * _tap_positions(numtaps, fs)) * _kaiser_window(numtaps, width, fs)
    return h / h.sum()


def bessel_j1(x: np.ndarray) -> np.ndarray:
    """J1 from Bessel's integral J1(x) = 1/(2π) ∫ cos(τ - x sin τ) dτ over one period (DLMF §10.9).

    The trapezoidal rule on M nodes is exact for this periodic integrand up to terms of order J_M(x), which
    fall below float64 rounding once M exceeds |x| by a few dozen: M = 2 |x| + 64 here (the default filters
    need |x| < 14).
    """
    x = np.asarray(x, dtype=np.float64)
    nodes = int(2 * np.abs(x).max(initial=0.0)) + 64
    tau = 2 * np.pi * np.arange(nodes) / nodes
    return np.cos(tau - x[..., None] * np.sin(tau)).mean(axis=-1)


def radial_lowpass(numtaps: int, cutoff: float, width: float, fs: float) -> np.ndarray:
    """2D low-pass with a circular passband (config R): the jinc J1(2π f_c r) / (π r), whose value at r = 0 is
    f_c, under the outer product of the separable design's Kaiser window, normalised to unit DC gain."""
    t = _tap_positions(numtaps, fs)
    r = np.hypot(t[None, :], t[:, None])
    safe = np.where(r > 0, r, 1.0)
    h = np.where(r > 0, bessel_j1(2 * np.pi * cutoff * safe) / (np.pi * safe), cutoff)
    window = _kaiser_window(numtaps, width, fs)
    h = h * np.outer(window, window)
    return h / h.sum()


def design_lowpass_filter(numtaps: int, cutoff: float, width: float, fs: float,
                          radial: bool = False) -> torch.Tensor | None:
    """float32 taps ([numtaps], or [numtaps, numtaps] when radial), or None for a single tap (no filter)."""
    if numtaps < 1:
        raise ValueError(f"a filter needs at least one tap, got {numtaps}")
    if numtaps == 1:
        return None
    h = radial_lowpass(numtaps, cutoff, width, fs) if radial else kaiser_lowpass(numtaps, cutoff, width, fs)
    return torch.as_tensor(h, dtype=torch.float32)


# ----------------------------------------------------------------------------------------------------
# The layer schedule.

@dataclass(frozen=True)
class Band:
    """What one layer's output holds: `channels` maps of size x size samples at `sampling_rate`, band-limited
    to `cutoff` with a transition band of half-width `half_width` (the stopband starts at cutoff + half_width)."""

    channels: int
    size: int
    sampling_rate: int
    cutoff: float
    half_width: float


def layer_schedule(img_resolution: int, img_channels: int, channel_base: int, channel_max: int,
                   num_layers: int = 14, num_critical: int = 2, first_cutoff: float = 2.0,
                   first_stopband: float = 2 ** 2.1, last_stopband_rel: float = 2 ** 0.3,
                   margin_size: int = 10) -> list[Band]:
    """The bands of layers 0 .. num_layers (the last is ToRGB): the paper's flexible layer specifications.

    Cutoff f_c and minimum stopband f_t grow geometrically from the first layer's values to the image's
    (f_c = img_resolution / 2, f_t = f_c * last_stopband_rel), which the first critically sampled layer
    reaches. Each layer samples at the smallest power of two that puts f_t below Nyquist (at most the
    image's rate); a layer whose rate exceeds 2 f_t widens its transition band up to s / 2. Feature maps
    are wider than the image by `margin_size` on each side except in the last two layers, and have
    channel_base / 2 / f_c channels (at most channel_max).
    """
    if not 0 <= num_critical < num_layers:
        raise ValueError(f"need 0 <= num_critical < num_layers, got {num_critical} and {num_layers}")
    last_cutoff = img_resolution / 2
    last_stopband = last_cutoff * last_stopband_rel
    exponents = np.minimum(np.arange(num_layers + 1) / (num_layers - num_critical), 1)
    cutoffs = first_cutoff * (last_cutoff / first_cutoff) ** exponents
    stopbands = first_stopband * (last_stopband / first_stopband) ** exponents
    sampling_rates = np.exp2(np.ceil(np.log2(np.minimum(stopbands * 2, img_resolution))))
    half_widths = np.maximum(stopbands, sampling_rates / 2) - cutoffs
    sizes = sampling_rates + margin_size * 2
    sizes[-2:] = img_resolution
    channels = np.rint(np.minimum((channel_base / 2) / cutoffs, channel_max))
    channels[-1] = img_channels
    if channels.min() < 1:
        raise ValueError(f"channel_base {channel_base} leaves a layer without channels")
    return [Band(int(channels[i]), int(sizes[i]), int(sampling_rates[i]), float(cutoffs[i]), float(half_widths[i]))
            for i in range(num_layers + 1)]


# ----------------------------------------------------------------------------------------------------
# Operations.

def modulated_conv2d(x: torch.Tensor, weight: torch.Tensor, styles: torch.Tensor, demodulate: bool = True,
                     padding: int = 0, input_gain: torch.Tensor | None = None) -> torch.Tensor:
    """StyleGAN2's modulated convolution (one grouped convolution over the batch), with an input gain.

    Before modulating, weight and styles are scaled to unit RMS: demodulation cancels any such scale, but the
    products stay in a safe floating-point range. NVlabs normalises the styles over the whole batch; here each
    sample's own styles are used, which gives the same image up to rounding and never lets a sample's image
    depend on the rest of its batch.
    """
    batch = x.shape[0]
    out_channels, in_channels, kh, kw = weight.shape
    if demodulate:
        weight = weight * weight.square().mean(dim=[1, 2, 3], keepdim=True).rsqrt()
        styles = styles * styles.square().mean(dim=1, keepdim=True).rsqrt()
    w = weight.unsqueeze(0) * styles.reshape(batch, 1, in_channels, 1, 1)
    if demodulate:
        w = w * (w.square().sum(dim=[2, 3, 4], keepdim=True) + 1e-8).rsqrt()
    if input_gain is not None:
        w = w * input_gain
    x = x.reshape(1, -1, *x.shape[2:])
    x = F.conv2d(x, w.reshape(-1, in_channels, kh, kw).to(x.dtype), padding=padding, groups=batch)
    return x.reshape(batch, -1, *x.shape[2:])


def filtered_lrelu(x: torch.Tensor, fu: torch.Tensor | None, fd: torch.Tensor | None, b: torch.Tensor | None = None,
                   up: int = 1, down: int = 1, padding=0, gain: float = SQRT2, slope: float = 0.2,
                   clamp: float | None = None) -> torch.Tensor:
    """The alias-free nonlinearity (§2): add the bias, upsample by `up` through the low-pass fu (with
    `padding` [x0, x1, y0, y1] on the upsampled image), leaky ReLU times `gain`, clamped to ±clamp, then the
    low-pass fd and keep every down-th sample. Plain PyTorch: the CPU always works, and CUDA when present."""
    if b is not None:
        x = x + b.reshape(1, -1, 1, 1)
    if fu is not None and not x.requires_grad:
        # Inference: lrelu(y) * gain = lrelu(y * gain), so the gain rides on the upsampling filter's taps, and
        # the rest runs in place on the fresh upsampled tensor: two fewer passes over the largest tensors of the
        # network and no new allocations.
        x = upfirdn2d_strided(x, fu, up=up, padding=padding, gain=up ** 2 * gain)
        x = F.leaky_relu_(x, slope)
        if clamp is not None and clamp >= 0:
            x = x.clamp_(-clamp, clamp)
    else:
        x = upfirdn2d_strided(x, fu, up=up, padding=padding, gain=up ** 2)
        x = bias_act(x, act="lrelu", alpha=slope, gain=gain, clamp=clamp)
    return upfirdn2d_strided(x, fd, down=down)


# ----------------------------------------------------------------------------------------------------
# Layers.

class SynthesisInput(nn.Module):
    """Fourier features (§3): `channels` sinusoids sin(2π (f·p + φ)) with frequencies f drawn
    uniformly from the disc |f| <= bandwidth, sampled on a size x size grid at `sampling_rate`, then mixed by a
    learned channels x channels matrix.

    The output image is transformed by transforming the coordinates p: first the rotation and translation an
    affine map of w predicts (§3, "transformed Fourier features"; initialised to the identity), then
    `transform`, a 3x3 homogeneous matrix that maps output coordinates to input coordinates, i.e. the
    *inverse* of the transform applied to the image. The equivariance metrics (EQ-T, EQ-R) drive the network
    through this buffer.
    """

    def __init__(self, w_dim: int, channels: int, size: int, sampling_rate: float, bandwidth: float):
        super().__init__()
        self.w_dim, self.channels, self.size = w_dim, channels, int(size)
        self.sampling_rate, self.bandwidth = float(sampling_rate), float(bandwidth)
        radius = bandwidth * torch.rand([channels]).sqrt()   # uniform over the disc's area
        angle = 2 * math.pi * torch.rand([channels])
        freqs = torch.stack([radius * angle.cos(), radius * angle.sin()], dim=1)
        phases = torch.rand([channels]) - 0.5
        self.weight = nn.Parameter(torch.randn([channels, channels]))
        # w -> (cos, sin) of a rotation, then (t_x, t_y); starts at no rotation and no translation.
        self.affine = FullyConnectedLayer(w_dim, 4)
        with torch.no_grad():
            self.affine.weight.zero_()
            self.affine.bias.copy_(torch.tensor([1.0, 0.0, 0.0, 0.0]))
        self.register_buffer("transform", torch.eye(3))
        self.register_buffer("freqs", freqs)
        self.register_buffer("phases", phases)

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        n = w.shape[0]
        t = self.affine(w)
        t = t / t[:, :2].norm(dim=1, keepdim=True)   # a pure rotation: (cos, sin) of unit length
        cos, sin, tx, ty = t.unbind(dim=1)
        zero, one = torch.zeros_like(cos), torch.ones_like(cos)
        rotate = torch.stack([cos, -sin, zero, sin, cos, zero, zero, zero, one], dim=1).reshape(n, 3, 3)
        translate = torch.stack([one, zero, -tx, zero, one, -ty, zero, zero, one], dim=1).reshape(n, 3, 3)
        m = rotate @ translate @ self.transform.unsqueeze(0)   # output coordinates -> feature coordinates

        # sin(2π (f·(A p + b) + φ)) = sin(2π ((f A)·p + f·b + φ)): transform the frequencies and phases instead.
        phases = self.phases.unsqueeze(0) + (self.freqs.unsqueeze(0) @ m[:, :2, 2:]).squeeze(2)   # [n, C]
        freqs = self.freqs.unsqueeze(0) @ m[:, :2, :2]                                            # [n, C, 2]
        # A transform that scales the image down raises frequencies above the band: fade those out, to zero at
        # Nyquist, rather than let them alias.
        amplitudes = (1 - (freqs.norm(dim=2) - self.bandwidth) / (self.sampling_rate / 2 - self.bandwidth)).clamp(0, 1)

        # Pixel centres, 1 / sampling_rate apart and symmetric about the origin.
        p = (torch.arange(self.size, device=w.device, dtype=torch.float32) + 0.5 - self.size / 2) / self.sampling_rate
        x = p.reshape(1, 1, -1, 1) * freqs[:, None, None, :, 0] + p.reshape(1, -1, 1, 1) * freqs[:, None, None, :, 1]
        x = torch.sin((x + phases[:, None, None, :]) * (2 * math.pi)) * amplitudes[:, None, None, :]   # [n, y, x, C]
        x = x @ (self.weight / math.sqrt(self.channels)).t()
        return x.permute(0, 3, 1, 2)

    def extra_repr(self):
        return (f"w_dim={self.w_dim}, channels={self.channels}, size={self.size}, "
                f"sampling_rate={self.sampling_rate:g}, bandwidth={self.bandwidth:g}")


class SynthesisLayer(nn.Module):
    """One layer between two bands: modulated convolution, then the filtered leaky ReLU.

    The nonlinearity runs at `lrelu_upsampling` times the higher of the two sampling rates (§3):
    the input is upsampled through a low-pass at the input's cutoff, and the result filtered at the output's
    cutoff before it is decimated to the output rate. Filters are `filter_size` taps per output sample
    (Kaiser-windowed sincs; radial jincs for downsampling in non-critical layers of config R). The input is
    divided by the running RMS of its magnitude (`magnitude_ema`; §3, "simplified generator"), tracked in
    training. The ToRGB layer (is_torgb) is a 1x1 modulated convolution without demodulation, nonlinearity or
    resampling.
    """

    def __init__(self, w_dim: int, inp: Band, out: Band, is_torgb: bool = False, is_critically_sampled: bool = False,
                 conv_kernel: int = 3, filter_size: int = 6, lrelu_upsampling: int = 2,
                 use_radial_filters: bool = False, conv_clamp: float | None = 256, magnitude_ema_beta: float = 0.999):
        super().__init__()
        self.w_dim, self.is_torgb, self.is_critically_sampled = w_dim, is_torgb, is_critically_sampled
        self.in_channels, self.out_channels = inp.channels, out.channels
        self.in_size, self.out_size = inp.size, out.size
        self.in_sampling_rate, self.out_sampling_rate = inp.sampling_rate, out.sampling_rate
        self.in_cutoff, self.out_cutoff = inp.cutoff, out.cutoff
        self.in_half_width, self.out_half_width = inp.half_width, out.half_width
        self.conv_kernel = 1 if is_torgb else conv_kernel
        self.conv_clamp, self.magnitude_ema_beta = conv_clamp, magnitude_ema_beta

        self.tmp_sampling_rate = max(inp.sampling_rate, out.sampling_rate) * (1 if is_torgb else lrelu_upsampling)
        self.up_factor = self.tmp_sampling_rate // inp.sampling_rate
        self.down_factor = self.tmp_sampling_rate // out.sampling_rate
        if (self.up_factor * inp.sampling_rate != self.tmp_sampling_rate
                or self.down_factor * out.sampling_rate != self.tmp_sampling_rate):
            raise ValueError(f"sampling rates {inp.sampling_rate} -> {out.sampling_rate} are not integer ratios "
                             f"of {self.tmp_sampling_rate}")
        self.up_taps = filter_size * self.up_factor if self.up_factor > 1 and not is_torgb else 1
        self.down_taps = filter_size * self.down_factor if self.down_factor > 1 and not is_torgb else 1
        self.down_radial = use_radial_filters and not is_critically_sampled

        self.affine = FullyConnectedLayer(w_dim, self.in_channels, bias_init=1)
        self.weight = nn.Parameter(torch.randn([self.out_channels, self.in_channels, self.conv_kernel,
                                                self.conv_kernel]))
        self.bias = nn.Parameter(torch.zeros([self.out_channels]))
        self.register_buffer("magnitude_ema", torch.ones([]))
        self.register_buffer("up_filter", design_lowpass_filter(
            self.up_taps, inp.cutoff, inp.half_width * 2, self.tmp_sampling_rate))
        self.register_buffer("down_filter", design_lowpass_filter(
            self.down_taps, out.cutoff, out.half_width * 2, self.tmp_sampling_rate, radial=self.down_radial))

        # Padding (on the upsampled canvas) that turns in_size into exactly out_size: the convolution adds
        # conv_kernel - 1 samples, each filter removes taps - 1, decimation keeps every down-th. The extra
        # up_factor in the low side centres each input sample in its block of up_factor upsampled ones (the
        # symmetric reading of sample positions; NVlabs/stylegan3 networks_stylegan3.py).
        pad_total = (out.size - 1) * self.down_factor + 1
        pad_total -= (inp.size + self.conv_kernel - 1) * self.up_factor
        pad_total += self.up_taps + self.down_taps - 2
        pad_lo = (pad_total + self.up_factor) // 2
        pad_hi = pad_total - pad_lo
        self.padding = [pad_lo, pad_hi, pad_lo, pad_hi]

    def forward(self, x: torch.Tensor, w: torch.Tensor, update_emas: bool = False) -> torch.Tensor:
        if update_emas:
            magnitude = x.detach().float().square().mean()
            self.magnitude_ema.copy_(magnitude.lerp(self.magnitude_ema, self.magnitude_ema_beta))
        input_gain = self.magnitude_ema.rsqrt()
        styles = self.affine(w)
        if self.is_torgb:
            styles = styles * (1 / math.sqrt(self.in_channels * self.conv_kernel ** 2))
        x = modulated_conv2d(x, self.weight, styles, demodulate=not self.is_torgb, padding=self.conv_kernel - 1,
                             input_gain=input_gain)
        gain, slope = (1.0, 1.0) if self.is_torgb else (SQRT2, 0.2)
        return filtered_lrelu(x, self.up_filter, self.down_filter, self.bias.to(x.dtype), up=self.up_factor,
                              down=self.down_factor, padding=self.padding, gain=gain, slope=slope,
                              clamp=self.conv_clamp)

    def extra_repr(self):
        return (f"{self.in_channels}->{self.out_channels}, size {self.in_size}->{self.out_size}, "
                f"rate {self.in_sampling_rate}->{self.out_sampling_rate} (x{self.up_factor}/{self.down_factor}), "
                f"cutoff {self.in_cutoff:g}->{self.out_cutoff:g}, k={self.conv_kernel}"
                + (", torgb" if self.is_torgb else "") + (", radial" if self.down_radial else ""))


class SynthesisNetwork(nn.Module):
    """ws [N, num_layers + 2, w_dim] -> images: the Fourier input, num_layers layers and ToRGB, times output_scale."""

    def __init__(self, w_dim: int, img_resolution: int, img_channels: int, channel_base: int = 32768,
                 channel_max: int = 512, num_layers: int = 14, num_critical: int = 2, first_cutoff: float = 2.0,
                 first_stopband: float = 2 ** 2.1, last_stopband_rel: float = 2 ** 0.3, margin_size: int = 10,
                 output_scale: float = 0.25, **layer_kwargs):
        super().__init__()
        self.w_dim, self.img_resolution, self.img_channels = w_dim, img_resolution, img_channels
        self.num_layers, self.num_critical = num_layers, num_critical
        self.margin_size, self.output_scale = margin_size, output_scale
        self.num_ws = num_layers + 2
        self.bands = layer_schedule(img_resolution, img_channels, channel_base, channel_max, num_layers=num_layers,
                                    num_critical=num_critical, first_cutoff=first_cutoff,
                                    first_stopband=first_stopband, last_stopband_rel=last_stopband_rel,
                                    margin_size=margin_size)
        first = self.bands[0]
        self.input = SynthesisInput(w_dim, first.channels, first.size, first.sampling_rate, first.cutoff)
        self.layer_names = []
        for idx, out in enumerate(self.bands):
            layer = SynthesisLayer(w_dim, self.bands[max(idx - 1, 0)], out, is_torgb=(idx == num_layers),
                                   is_critically_sampled=(idx >= num_layers - num_critical), **layer_kwargs)
            name = f"L{idx}_{out.size}_{out.channels}"
            setattr(self, name, layer)
            self.layer_names.append(name)

    def forward(self, ws: torch.Tensor, noise_mode: str = "random", update_emas: bool | None = None) -> torch.Tensor:
        """`noise_mode` is accepted for the Generator protocol and changes nothing: StyleGAN3 has no noise inputs.
        `update_emas` (default: in training mode) updates every layer's magnitude_ema from this batch."""
        check_noise_mode(noise_mode)
        if ws.ndim != 3 or ws.shape[1] != self.num_ws:
            raise ValueError(f"ws must be [N, {self.num_ws}, {self.w_dim}], got {list(ws.shape)}")
        if update_emas is None:
            update_emas = self.training
        ws = ws.float().unbind(dim=1)
        x = self.input(ws[0])
        for name, w in zip(self.layer_names, ws[1:]):
            x = getattr(self, name)(x, w, update_emas=update_emas)
        if self.output_scale != 1:
            x = x * self.output_scale
        return x

    def extra_repr(self):
        return (f"w_dim={self.w_dim}, num_ws={self.num_ws}, img_resolution={self.img_resolution}, "
                f"num_layers={self.num_layers}, num_critical={self.num_critical}, margin_size={self.margin_size}")


class StyleGAN3Generator(Generator):
    """StyleGAN3-T (cfg='t', the default) or -R (cfg='r'); channel_base, channel_max, conv_kernel and
    use_radial_filters default to the config's values (CONFIGS) and can be set one by one.

    The other defaults are the paper's, as NVlabs/stylegan3 networks_stylegan3.py and train.py set them: a
    2-layer mapping network with w_avg_beta 0.998 (§3's simplified generator shortens StyleGAN2's 8), 14
    layers of which the last 2 are critically sampled, f_c from 2 to img_resolution / 2, minimum stopbands 2^2.1 and
    f_c * 2^0.3 at the ends, a 10-sample margin, filters of 6 taps per output sample, lrelu at twice the rate,
    conv_clamp 256, output_scale 0.25, magnitude EMA decay 0.999 (only used in training).
    """

    arch = "stylegan3"

    def __init__(self, img_resolution: int = 1024, z_dim: int = 512, w_dim: int = 512, mapping_depth: int = 2,
                 img_channels: int = 3, cfg: str = "t", channel_base: int | None = None,
                 channel_max: int | None = None, conv_kernel: int | None = None,
                 use_radial_filters: bool | None = None, num_layers: int = 14, num_critical: int = 2,
                 first_cutoff: float = 2.0, first_stopband: float = 2 ** 2.1, last_stopband_rel: float = 2 ** 0.3,
                 margin_size: int = 10, output_scale: float = 0.25, filter_size: int = 6, lrelu_upsampling: int = 2,
                 conv_clamp: float | None = 256, magnitude_ema_beta: float = 0.999,
                 mapping_lr_multiplier: float = 0.01, w_avg_beta: float | None = 0.998):
        config = config_of(locals())
        super().__init__(z_dim, w_dim, img_resolution, img_channels, mapping_depth)
        if cfg not in CONFIGS:
            raise ValueError(f"cfg must be one of {', '.join(map(repr, CONFIGS))} (StyleGAN3-T or -R), got {cfg!r}")
        # The config fills what was not given; the stored config holds the values used, so it rebuilds alone.
        chosen = {k: default if config[k] is None else config[k] for k, default in CONFIGS[cfg].items()}
        config.update(chosen)
        self.config = config
        self.synthesis = SynthesisNetwork(
            w_dim, img_resolution, img_channels, channel_base=chosen["channel_base"],
            channel_max=chosen["channel_max"], num_layers=num_layers, num_critical=num_critical,
            first_cutoff=first_cutoff, first_stopband=first_stopband, last_stopband_rel=last_stopband_rel,
            margin_size=margin_size, output_scale=output_scale, conv_kernel=chosen["conv_kernel"],
            filter_size=filter_size, lrelu_upsampling=lrelu_upsampling,
            use_radial_filters=bool(chosen["use_radial_filters"]), conv_clamp=conv_clamp,
            magnitude_ema_beta=magnitude_ema_beta)
        self.mapping = MappingNetwork(z_dim, w_dim, self.synthesis.num_ws, depth=mapping_depth,
                                      lr_multiplier=mapping_lr_multiplier, w_avg_beta=w_avg_beta)

    @torch.no_grad()
    def redraw_noise_(self, generator: torch.Generator | None = None) -> None:
        """Nothing to redraw: StyleGAN3 has no noise inputs, so every noise mode gives the same images."""
