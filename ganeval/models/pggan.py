"""Progressive GAN (Karras et al., ICLR 2018): the "traditional" generator of the StyleGAN paper.

z (pixel-normalised) -> 4x4 dense -> per resolution: nearest 2x upsample, two 3x3 convs, each
followed by lrelu and pixel norm; one to-RGB per level. Progressive growing is driven by `lod`
(level of detail, TF convention): lod = k + f means the block at resolution R / 2^k is fading in
with alpha = 1 - f. There is no W space: `mapping` only normalises Z (has_w is False).

The progressive discriminator here is shared with StyleGAN (v1), which adds a [1,2,1] blur.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..utils import at_least_float32
from .base import Generator, check_noise_mode, config_of
from .mapping import MappingNetwork
from .ops import (
    Conv2dLayer,
    FullyConnectedLayer,
    MinibatchStdLayer,
    bias_act,
    channels_for,
    filter2d,
    log2_int,
    normalize_2nd_moment,
    setup_filter,
)


def upscale2d(x: torch.Tensor) -> torch.Tensor:
    """Nearest-neighbour 2x upsampling (TF upscale2d)."""
    return F.interpolate(x, scale_factor=2, mode="nearest")


def downscale2d(x: torch.Tensor) -> torch.Tensor:
    """2x2 box downsampling (TF downscale2d)."""
    return F.avg_pool2d(x, 2)


class ProgressiveMixin:
    """lod bookkeeping shared by the progressive generators and discriminators."""

    max_lod: int

    def set_lod(self, lod: float) -> None:
        if not 0 <= lod <= self.max_lod:
            raise ValueError(f"lod must be in [0, {self.max_lod}], got {lod}")
        self.lod.fill_(float(lod))

    def _level(self, lod: float | None) -> tuple[int, float]:
        """-> (top block index counted from 4x4, alpha of that block's fade-in)."""
        lod = float(self.lod) if lod is None else float(lod)
        k = math.floor(lod)
        frac = lod - k
        return self.max_lod - k, 1.0 - frac

    def current_resolution(self, lod: float | None = None) -> int:
        top, _ = self._level(lod)
        return 4 * 2 ** top

    def grow(self, block, x: torch.Tensor, lod: float | None, native_resolution: bool) -> torch.Tensor:
        """Run `block(i, res, x) -> x` from 4x4 up to the current level; during a fade-in, blend the
        upsampled to-RGB of the level below with the new level's by alpha (generators only)."""
        top, alpha = self._level(lod)
        prev = None
        for i, res in enumerate(self.block_resolutions[:top + 1]):
            x = block(i, res, x)
            if i == top - 1 and alpha < 1:
                prev = getattr(self, f"torgb{res}")(x)
        img = getattr(self, f"torgb{res}")(x)
        if prev is not None:
            img = torch.lerp(upscale2d(prev), img, alpha)
        return finish_resolution(img, self.img_resolution, native_resolution)


class PGGANSynthesis(ProgressiveMixin, nn.Module):
    def __init__(self, z_dim: int, img_resolution: int, img_channels: int, channel_base: int, channel_max: int,
                 use_pixel_norm: bool = True):
        super().__init__()
        self.img_resolution = img_resolution
        self.max_lod = log2_int(img_resolution) - 2
        self.use_pixel_norm = use_pixel_norm
        self.block_resolutions = [2 ** i for i in range(2, log2_int(img_resolution) + 1)]
        ch = {res: channels_for(res, channel_base, channel_max) for res in self.block_resolutions}
        self.num_ws = 1
        c4 = ch[4]
        # Dense 4x4 layer with gain √2/4 as in the reference (each of the 16 pixels gets fan-in z_dim).
        self.b4_fc = FullyConnectedLayer(z_dim, c4 * 16, bias=False, gain=math.sqrt(2) / 4)
        self.b4_bias = nn.Parameter(torch.zeros([c4]))
        self.b4_conv = Conv2dLayer(c4, c4, 3, activation="lrelu")
        self.torgb4 = Conv2dLayer(c4, img_channels, 1)
        for res in self.block_resolutions[1:]:
            setattr(self, f"b{res}_conv0", Conv2dLayer(ch[res // 2], ch[res], 3, activation="lrelu"))
            setattr(self, f"b{res}_conv1", Conv2dLayer(ch[res], ch[res], 3, activation="lrelu"))
            setattr(self, f"torgb{res}", Conv2dLayer(ch[res], img_channels, 1))
        self.register_buffer("lod", torch.zeros([]))

    def _pn(self, x):
        return normalize_2nd_moment(x) if self.use_pixel_norm else x

    def forward(self, ws: torch.Tensor, noise_mode: str = "random", lod: float | None = None,
                native_resolution: bool = False) -> torch.Tensor:
        check_noise_mode(noise_mode)
        z = at_least_float32(ws[:, 0])
        x = self.b4_fc(z).reshape(z.shape[0], -1, 4, 4)
        x = self._pn(bias_act(x, self.b4_bias, act="lrelu"))
        x = self._pn(self.b4_conv(x))

        def block(i, res, x):
            if i > 0:
                x = self._pn(getattr(self, f"b{res}_conv0")(upscale2d(x)))
                x = self._pn(getattr(self, f"b{res}_conv1")(x))
            return x

        return self.grow(block, x, lod, native_resolution)


def finish_resolution(img: torch.Tensor, img_resolution: int, native: bool) -> torch.Tensor:
    """A partially grown network's image is upsampled (nearest) to the full size unless native is asked."""
    if not native and img.shape[-1] < img_resolution:
        img = F.interpolate(img, size=(img_resolution, img_resolution), mode="nearest")
    return img


class PGGANGenerator(Generator):
    arch = "pggan"

    def __init__(self, img_resolution: int = 1024, z_dim: int = 512, img_channels: int = 3,
                 channel_base: int = 16384, channel_max: int = 512, use_pixel_norm: bool = True,
                 w_avg_beta: float = 0.995, mapping_depth: int = 0):
        config = config_of(locals(), drop=("mapping_depth",))
        if mapping_depth != 0:
            raise ValueError("PGGAN has no mapping network (mapping_depth must be 0)")
        super().__init__(z_dim, z_dim, img_resolution, img_channels, mapping_depth=0)
        self.config = config
        self.synthesis = PGGANSynthesis(z_dim, img_resolution, img_channels, channel_base, channel_max,
                                        use_pixel_norm=use_pixel_norm)
        # "Mapping" of depth 0: W is the normalised Z, broadcast to the single input layer.
        self.mapping = MappingNetwork(z_dim, z_dim, num_ws=1, depth=0, w_avg_beta=w_avg_beta)


# ----------------------------------------------------------------------------------------------------
# Progressive discriminator (PGGAN; StyleGAN v1 with blur_filter=[1,2,1]).

class ProgressiveDiscriminator(ProgressiveMixin, nn.Module):
    arch = "pggan"

    def __init__(self, img_resolution: int = 1024, img_channels: int = 3, channel_base: int = 16384,
                 channel_max: int = 512, mbstd_group_size: int | None = 4, mbstd_num_channels: int = 1,
                 blur_filter=None):
        config = config_of(locals())
        super().__init__()
        self.img_resolution, self.img_channels = img_resolution, img_channels
        self.max_lod = log2_int(img_resolution) - 2
        self.config = config
        self.block_resolutions = [2 ** i for i in range(log2_int(img_resolution), 2, -1)]
        ch = {res: channels_for(res, channel_base, channel_max) for res in self.block_resolutions + [4]}
        if blur_filter is not None:
            self.register_buffer("blur_filter", setup_filter(blur_filter))
        else:
            self.blur_filter = None
        for res in self.block_resolutions + [4]:
            setattr(self, f"fromrgb{res}", Conv2dLayer(img_channels, ch[res], 1, activation="lrelu"))
        for res in self.block_resolutions:
            setattr(self, f"b{res}_conv0", Conv2dLayer(ch[res], ch[res], 3, activation="lrelu"))
            setattr(self, f"b{res}_conv1", Conv2dLayer(ch[res], ch[res // 2], 3, activation="lrelu", pool=2))
        self.mbstd = MinibatchStdLayer(mbstd_group_size, mbstd_num_channels) if mbstd_num_channels > 0 else None
        self.b4_conv = Conv2dLayer(ch[4] + mbstd_num_channels, ch[4], 3, activation="lrelu")
        self.b4_fc = FullyConnectedLayer(ch[4] * 16, ch[4], activation="lrelu")
        self.b4_out = FullyConnectedLayer(ch[4], 1)
        self.register_buffer("lod", torch.zeros([]))

    def _block(self, res: int, x: torch.Tensor) -> torch.Tensor:
        x = getattr(self, f"b{res}_conv0")(x)
        if self.blur_filter is not None:
            x = filter2d(x, self.blur_filter)
        return getattr(self, f"b{res}_conv1")(x)  # conv, 2x2 average, bias, lrelu (TF order)

    def forward(self, img: torch.Tensor, lod: float | None = None) -> torch.Tensor:
        top, alpha = self._level(lod)
        res = 4 * 2 ** top
        if img.shape[-1] != res:  # full-size input to a partially grown D: box-downsample to its level
            img = F.adaptive_avg_pool2d(img, res)
        x = getattr(self, f"fromrgb{res}")(img)
        if res > 4:
            x = self._block(res, x)
            if alpha < 1:
                x = torch.lerp(getattr(self, f"fromrgb{res // 2}")(downscale2d(img)), x, alpha)
            res //= 2
            while res > 4:
                x = self._block(res, x)
                res //= 2
        if self.mbstd is not None:
            x = self.mbstd(x)
        x = self.b4_conv(x)
        return self.b4_out(self.b4_fc(x.flatten(1)))
