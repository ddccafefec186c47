"""Building blocks of the StyleGAN family in pure PyTorch (no compiled extensions; CPU always works).

Equalized learning rate (PGGAN §4.1): weights are stored as N(0, 1) / lr_multiplier and scaled at
run time by lr_multiplier / sqrt(fan_in), so Adam sees every parameter on the same scale.
Resampling follows StyleGAN2's upfirdn2d: upsample by zero insertion, pad, FIR-filter, downsample.
Semantics (padding, weight flips) match the NVlabs reference so that foreign checkpoints give
the same images.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

SQRT2 = math.sqrt(2)


# ----------------------------------------------------------------------------------------------------
# Activations.

def bias_act(x: torch.Tensor, b: torch.Tensor | None = None, act: str = "linear", gain: float | None = None,
             clamp: float | None = None, dim: int = 1, alpha: float = 0.2) -> torch.Tensor:
    """Add bias, apply the activation, multiply by its gain (√2 for lrelu), optionally clamp to ±clamp."""
    if b is not None:
        shape = [1] * x.ndim
        shape[dim] = -1
        x = x + b.reshape(shape)
    if act == "lrelu":
        x = F.leaky_relu(x, alpha)
        default_gain = SQRT2
    elif act == "relu":
        x = F.relu(x)
        default_gain = SQRT2
    elif act == "linear":
        default_gain = 1.0
    else:
        raise ValueError(f"unknown activation '{act}'")
    gain = default_gain if gain is None else gain
    if gain != 1:
        x = x * gain
    if clamp is not None and clamp >= 0:
        x = x.clamp(-clamp, clamp)
    return x


def normalize_2nd_moment(x: torch.Tensor, dim: int = 1, eps: float = 1e-8) -> torch.Tensor:
    """Pixel norm (PGGAN §4.2) / the normalisation of z at the start of the mapping network."""
    return x * (x.square().mean(dim=dim, keepdim=True) + eps).rsqrt()


class PixelNorm(nn.Module):
    def forward(self, x):
        return normalize_2nd_moment(x)


# ----------------------------------------------------------------------------------------------------
# FIR filtering with up/downsampling.

def setup_filter(f, normalize: bool = True, separable: bool = False) -> torch.Tensor:
    """[1,3,3,1] -> normalised 2D (outer product) or 1D filter tensor."""
    f = torch.as_tensor(f, dtype=torch.float32)
    if f.ndim == 1 and not separable:
        f = f.outer(f)
    if normalize:
        f = f / f.sum()
    return f


def _pad4(padding) -> tuple[int, int, int, int]:
    if isinstance(padding, int):
        return padding, padding, padding, padding
    if len(padding) == 2:
        return padding[0], padding[0], padding[1], padding[1]
    return tuple(padding)


def upfirdn2d(x: torch.Tensor, f: torch.Tensor | None, up: int = 1, down: int = 1, padding=0,
              gain: float = 1.0) -> torch.Tensor:
    """Upsample (zero insertion), pad (negative = crop), convolve with f, downsample (keep every down-th).

    `padding` is [x0, x1, y0, y1] with respect to the upsampled image. f is a 2D filter, a 1D filter
    applied separably (rows, then columns), or None (no filtering: only the gain). It is a true
    convolution (f flipped), as NVlabs' upfirdn2d with flip_filter=False; the filters of the StyleGAN
    family are symmetric anyway.
    """
    n, c, h, w = x.shape
    px0, px1, py0, py1 = _pad4(padding)
    if up > 1:
        x = x.reshape(n, c, h, 1, w, 1)
        x = F.pad(x, [0, up - 1, 0, 0, 0, up - 1])
        x = x.reshape(n, c, h * up, w * up)
    x = F.pad(x, [max(px0, 0), max(px1, 0), max(py0, 0), max(py1, 0)])
    x = x[:, :, max(-py0, 0): x.shape[2] - max(-py1, 0), max(-px0, 0): x.shape[3] - max(-px1, 0)]
    if f is None:
        if gain != 1:
            x = x * gain
    else:
        f = f.to(x.dtype) * (gain ** (f.ndim / 2))
        if f.ndim == 2:
            weight = f.flip([0, 1])[None, None].repeat(c, 1, 1, 1)
            x = F.conv2d(x, weight, groups=c)
        else:
            fk = f.flip([0])
            x = F.conv2d(x, fk[None, None, None, :].repeat(c, 1, 1, 1), groups=c)
            x = F.conv2d(x, fk[None, None, :, None].repeat(c, 1, 1, 1), groups=c)
    if down > 1:
        x = x[:, :, ::down, ::down]
    return x


def _fir_1d(x: torch.Tensor, f: torch.Tensor, up: int, down: int, pad0: int, pad1: int, dim: int) -> torch.Tensor:
    """upfirdn along one axis (dim 3: width, 2: height) as one depthwise (transposed) convolution.

    Upsampling is a transposed convolution of stride `up` with f itself: it scatters x[i] * f[k] to up * i + k,
    which is the full convolution of the zero-inserted signal without multiplying the zeros. The padding given
    for the upsampled signal then becomes a crop (or zero pad) of that full convolution; a crop equal on both
    sides is the transposed convolution's own `padding`, which saves a copy. Downsampling is a convolution of
    stride `down` with f flipped: only the kept outputs are computed.
    """
    c, taps = x.shape[1], f.shape[0]
    width = dim == 3
    kernel = f.reshape([1, 1, 1, taps] if width else [1, 1, taps, 1]).expand(c, -1, -1, -1).contiguous()

    def pad(t, p0, p1):
        return F.pad(t, [p0, p1] if width else [0, 0, p0, p1]) if p0 or p1 else t

    if up > 1:
        crop0, crop1 = taps - 1 - pad0, taps - up - pad1
        crop = crop0 if crop0 == crop1 and crop0 > 0 else 0
        x = F.conv_transpose2d(x, kernel, stride=(1, up) if width else (up, 1), groups=c,
                               padding=(0, crop) if width else (crop, 0))
        x = pad(x, crop - crop0, crop - crop1)
        if down > 1:
            x = x[..., ::down] if width else x[:, :, ::down]
        return x
    return F.conv2d(pad(x, pad0, pad1), kernel.flip([2, 3]), stride=(1, down) if width else (down, 1), groups=c)


def upfirdn2d_strided(x: torch.Tensor, f: torch.Tensor | None, up: int = 1, down: int = 1, padding=0,
                      gain: float = 1.0) -> torch.Tensor:
    """upfirdn2d with the same result (up to float rounding), computed without the zero products of upsampling
    and the discarded outputs of downsampling: transposed or strided depthwise convolutions, in channels-last
    layout, which oneDNN runs several times faster on CPUs. StyleGAN3's filtered nonlinearity uses it; the
    other architectures keep upfirdn2d, which reproduces NVlabs' reference bit for bit."""
    if f is None:
        return upfirdn2d(x, None, up=up, down=down, padding=padding, gain=gain)
    px0, px1, py0, py1 = _pad4(padding)
    x = x.contiguous(memory_format=torch.channels_last)
    f = f.to(x.dtype) * (gain ** (f.ndim / 2))
    if f.ndim == 1:
        x = _fir_1d(x, f, up, down, px0, px1, dim=3)
        return _fir_1d(x, f, up, down, py0, py1, dim=2)
    c, (fh, fw) = x.shape[1], f.shape
    kernel = f[None, None].expand(c, -1, -1, -1).contiguous()
    if up > 1:
        x = F.conv_transpose2d(x, kernel, stride=up, groups=c)
        x = F.pad(x, [px0 - (fw - 1), up + px1 - fw, py0 - (fh - 1), up + py1 - fh])
        return x[:, :, ::down, ::down] if down > 1 else x
    if px0 or px1 or py0 or py1:
        x = F.pad(x, [px0, px1, py0, py1])
    return F.conv2d(x, kernel.flip([2, 3]), stride=down, groups=c)


def upsample2d(x: torch.Tensor, f: torch.Tensor, up: int = 2) -> torch.Tensor:
    """Filtered upsampling by `up` with output size in*up (StyleGAN2 skip-image upsampling)."""
    fw = f.shape[-1]
    p0 = (fw + up - 1) // 2
    p1 = (fw - up) // 2
    return upfirdn2d(x, f, up=up, padding=[p0, p1, p0, p1], gain=up ** 2)


def downsample2d(x: torch.Tensor, f: torch.Tensor, down: int = 2) -> torch.Tensor:
    fw = f.shape[-1]
    p0 = (fw - down + 1) // 2
    p1 = (fw - down) // 2
    return upfirdn2d(x, f, down=down, padding=[p0, p1, p0, p1])


def filter2d(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    """Blur keeping the size (StyleGAN1's [1,2,1] blur after upsampling)."""
    fw = f.shape[-1]
    return upfirdn2d(x, f, padding=[fw // 2, (fw - 1) // 2, fw // 2, (fw - 1) // 2])


def conv2d_resample(x: torch.Tensor, w: torch.Tensor, f: torch.Tensor | None = None, up: int = 1,
                    down: int = 1, padding: int = 0, groups: int = 1, flip_weight: bool = True) -> torch.Tensor:
    """Convolution with optional up/downsampling through the filter f, padding applied once.

    Semantics (as in StyleGAN2): up -> upsample by zero insertion, FIR filter with gain up²,
    convolve; down -> FIR filter, convolve, keep every down-th sample. flip_weight=True means
    correlation (torch conv2d), False means true convolution; StyleGAN2's up-convs use False,
    which is why TF checkpoints need their Conv0_up weights flipped.
    """
    kh, kw = w.shape[-2:]
    px0 = px1 = py0 = py1 = padding
    if f is not None:
        fw = f.shape[-1]
        if up > 1:
            px0 += (fw + up - 1) // 2
            px1 += (fw - up) // 2
        if down > 1:
            px0 += (fw - down + 1) // 2
            px1 += (fw - down) // 2
        py0, py1 = px0, px1

    if not flip_weight:
        w = w.flip([2, 3])

    if down > 1 and up == 1:
        if kw == 1:  # 1x1: downsample first, then convolve (cheaper, identical result)
            x = upfirdn2d(x, f, down=down, padding=[px0, px1, py0, py1])
            return F.conv2d(x, w, groups=groups)
        x = upfirdn2d(x, f, padding=[px0, px1, py0, py1])
        return F.conv2d(x, w, stride=down, groups=groups)

    if up > 1 and down == 1:
        if kw == 1:  # 1x1: convolve first, then upsample
            x = F.conv2d(x, w, groups=groups)
            return upfirdn2d(x, f, up=up, padding=[px0, px1, py0, py1], gain=up ** 2)
        # Transposed strided convolution = zero insertion + convolution with the flipped kernel,
        # at a quarter of the cost; then the FIR filter with the remaining padding.
        out_c, in_c_per_group = w.shape[:2]
        if groups == 1:
            wt = w.transpose(0, 1)
        else:
            wt = w.reshape(groups, out_c // groups, in_c_per_group, kh, kw).transpose(1, 2)
            wt = wt.reshape(groups * in_c_per_group, out_c // groups, kh, kw)
        wt = wt.flip([2, 3])
        px0 -= kw - 1
        px1 -= kw - up
        py0 -= kh - 1
        py1 -= kh - up
        pxt = max(min(-px0, -px1), 0)
        pyt = max(min(-py0, -py1), 0)
        x = F.conv_transpose2d(x, wt, stride=up, padding=[pyt, pxt], groups=groups)
        return upfirdn2d(x, f, padding=[px0 + pxt, px1 + pxt, py0 + pyt, py1 + pyt], gain=up ** 2)

    if up == 1 and down == 1:
        return F.conv2d(x, w, padding=padding, groups=groups)
    raise ValueError("simultaneous up- and downsampling is not supported")


# ----------------------------------------------------------------------------------------------------
# Equalized-learning-rate layers.

class FullyConnectedLayer(nn.Module):
    """Dense layer with equalized learning rate and an optional lr multiplier (mapping: 0.01)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, activation: str = "linear",
                 lr_multiplier: float = 1.0, bias_init: float = 0.0, gain: float = 1.0):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.activation = activation
        self.weight = nn.Parameter(torch.randn([out_features, in_features]) / lr_multiplier)
        self.bias = nn.Parameter(torch.full([out_features], float(bias_init))) if bias else None
        self.weight_gain = gain * lr_multiplier / math.sqrt(in_features)
        self.bias_gain = lr_multiplier

    def forward(self, x):
        w = self.weight.to(x.dtype) * self.weight_gain
        b = self.bias
        if b is not None:
            b = b.to(x.dtype) * self.bias_gain if self.bias_gain != 1 else b.to(x.dtype)
        if self.activation == "linear" and b is not None:
            return torch.addmm(b.unsqueeze(0), x, w.t())
        return bias_act(x.matmul(w.t()), b, act=self.activation)

    def extra_repr(self):
        return f"in={self.in_features}, out={self.out_features}, act={self.activation}"


class Conv2dLayer(nn.Module):
    """Convolution with equalized learning rate, optional up/down resampling, bias, activation, clamp."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, bias: bool = True,
                 activation: str = "linear", up: int = 1, down: int = 1, resample_filter=(1, 3, 3, 1),
                 conv_clamp: float | None = None, gain: float = 1.0, pool: int = 1):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.activation = activation
        self.up, self.down = up, down
        # PGGAN / StyleGAN (v1) downsample by 2x2 averaging between the convolution and its bias + lrelu.
        self.pool = pool
        self.conv_clamp = conv_clamp
        self.register_buffer("resample_filter", setup_filter(resample_filter))
        self.padding = kernel_size // 2
        self.weight_gain = gain / math.sqrt(in_channels * kernel_size ** 2)
        self.weight = nn.Parameter(torch.randn([out_channels, in_channels, kernel_size, kernel_size]))
        self.bias = nn.Parameter(torch.zeros([out_channels])) if bias else None

    def forward(self, x, gain: float = 1.0):
        w = self.weight * self.weight_gain
        x = conv2d_resample(x, w.to(x.dtype), self.resample_filter, up=self.up, down=self.down,
                            padding=self.padding, flip_weight=(self.up == 1))
        if self.pool > 1:
            x = F.avg_pool2d(x, self.pool)
        act_gain = (SQRT2 if self.activation in ("lrelu", "relu") else 1.0) * gain
        clamp = self.conv_clamp * gain if self.conv_clamp is not None else None
        b = self.bias.to(x.dtype) if self.bias is not None else None
        return bias_act(x, b, act=self.activation, gain=act_gain, clamp=clamp)

    def extra_repr(self):
        return (f"{self.in_channels}->{self.out_channels}, k={self.weight.shape[-1]}, up={self.up}, "
                f"down={self.down}, act={self.activation}")


def modulated_conv2d(x: torch.Tensor, weight: torch.Tensor, styles: torch.Tensor, noise: torch.Tensor | None = None,
                     up: int = 1, padding: int = 0, resample_filter: torch.Tensor | None = None,
                     demodulate: bool = True, flip_weight: bool = True) -> torch.Tensor:
    """StyleGAN2 §2.2: scale the weight per sample by the style, demodulate, convolve.

    The batch is folded into the group dimension so one grouped convolution handles every
    sample's own weights.
    """
    batch = x.shape[0]
    out_c, in_c, kh, kw = weight.shape
    w = weight.unsqueeze(0) * styles.reshape(batch, 1, -1, 1, 1)  # [N, O, I, k, k]
    if demodulate:
        w = w * (w.square().sum(dim=[2, 3, 4]) + 1e-8).rsqrt().reshape(batch, -1, 1, 1, 1)
    x = x.reshape(1, -1, *x.shape[2:])
    w = w.reshape(-1, in_c, kh, kw)
    x = conv2d_resample(x, w.to(x.dtype), resample_filter, up=up, padding=padding, groups=batch,
                        flip_weight=flip_weight)
    x = x.reshape(batch, -1, *x.shape[2:])
    if noise is not None:
        x = x + noise
    return x


class MinibatchStdLayer(nn.Module):
    """PGGAN §3: append the stddev over groups of samples as extra feature maps."""

    def __init__(self, group_size: int | None = 4, num_channels: int = 1):
        super().__init__()
        self.group_size, self.num_channels = group_size, num_channels

    def forward(self, x):
        n, c, h, w = x.shape
        g = min(self.group_size, n) if self.group_size is not None else n
        if n % g:
            g = math.gcd(n, g)  # fall back to a group size that divides the batch
        f = self.num_channels
        y = x.reshape(g, -1, f, c // f, h, w)
        y = y - y.mean(dim=0)
        y = (y.square().mean(dim=0) + 1e-8).sqrt()
        y = y.mean(dim=[2, 3, 4]).reshape(-1, f, 1, 1)
        y = y.repeat(g, 1, h, w)
        return torch.cat([x, y], dim=1)

    def extra_repr(self):
        return f"group_size={self.group_size}, num_channels={self.num_channels}"


def channels_for(res: int, channel_base: int, channel_max: int) -> int:
    """The papers' channel formula: channel_base / resolution, capped at channel_max."""
    return int(min(channel_base // res, channel_max))


def log2_int(x: int) -> int:
    v = int(np.log2(x))
    return v if 2 ** v == x else -1
