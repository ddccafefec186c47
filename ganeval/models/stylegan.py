"""StyleGAN (Karras et al., CVPR 2019): mapping network, learned constant input, AdaIN styles,
per-channel noise, style mixing, progressive growing.

Each layer ends with the paper's epilogue: + noise·B (per-channel strength), + bias, lrelu·√2,
instance norm, then AdaIN's style: x·(y_s + 1) + y_b from a learned affine A(w). Upsampling is
nearest 2x, 3x3 conv, then a [1,2,1] blur. Two ws per resolution (num_ws = 2·log2(R) − 2).
"""

from __future__ import annotations

import torch
from torch import nn

from ..utils import at_least_float32
from .base import Generator, check_noise_mode, config_of
from .mapping import MappingNetwork
from .ops import Conv2dLayer, FullyConnectedLayer, bias_act, channels_for, filter2d, log2_int, setup_filter
from .pggan import ProgressiveDiscriminator, ProgressiveMixin, upscale2d


def instance_norm(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    x = x - x.mean(dim=[2, 3], keepdim=True)
    return x * (x.square().mean(dim=[2, 3], keepdim=True) + eps).rsqrt()


class StyleLayer(nn.Module):
    """[optional conv (2x up + blur)] -> noise -> bias -> lrelu -> instance norm -> AdaIN style."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, resolution: int, conv: bool = True,
                 up: bool = False, use_noise: bool = True, blur_filter=(1, 2, 1), use_instance_norm: bool = True):
        super().__init__()
        self.resolution, self.up, self.use_noise = resolution, up, use_noise
        self.use_instance_norm = use_instance_norm
        self.conv = Conv2dLayer(in_channels, out_channels, 3, bias=False) if conv else None
        if up and blur_filter is not None:
            self.register_buffer("blur_filter", setup_filter(blur_filter))
        else:
            self.blur_filter = None
        if use_noise:
            self.register_buffer("noise_const", torch.randn([resolution, resolution]))
            self.noise_strength = nn.Parameter(torch.zeros([out_channels]))
        self.bias = nn.Parameter(torch.zeros([out_channels]))
        self.affine = FullyConnectedLayer(w_dim, out_channels * 2)

    def forward(self, x, w, noise_mode: str = "random"):
        if self.conv is not None:
            x = self.conv(upscale2d(x) if self.up else x)
        if self.blur_filter is not None:
            x = filter2d(x, self.blur_filter)
        if self.use_noise and noise_mode != "none":
            if noise_mode == "random":
                noise = torch.randn([x.shape[0], 1, self.resolution, self.resolution], device=x.device)
            else:
                noise = self.noise_const[None, None]
            x = x + noise * self.noise_strength.reshape(1, -1, 1, 1)
        x = bias_act(x, self.bias, act="lrelu")
        if self.use_instance_norm:
            x = instance_norm(x)
        style = self.affine(w).reshape(x.shape[0], 2, -1, 1, 1)
        return x * (style[:, 0] + 1) + style[:, 1]


class StyleGANSynthesis(ProgressiveMixin, nn.Module):
    def __init__(self, w_dim: int, img_resolution: int, img_channels: int, channel_base: int = 16384,
                 channel_max: int = 512, use_noise: bool = True, blur_filter=(1, 2, 1),
                 use_instance_norm: bool = True):
        super().__init__()
        self.img_resolution = img_resolution
        self.max_lod = log2_int(img_resolution) - 2
        self.block_resolutions = [2 ** i for i in range(2, log2_int(img_resolution) + 1)]
        ch = {res: channels_for(res, channel_base, channel_max) for res in self.block_resolutions}
        self.num_ws = 2 * len(self.block_resolutions)
        kw = dict(w_dim=w_dim, use_noise=use_noise, blur_filter=blur_filter, use_instance_norm=use_instance_norm)
        self.const = nn.Parameter(torch.ones([ch[4], 4, 4]))
        for res in self.block_resolutions:
            if res == 4:
                conv0 = StyleLayer(ch[4], ch[4], resolution=4, conv=False, **kw)
            else:
                conv0 = StyleLayer(ch[res // 2], ch[res], resolution=res, up=True, **kw)
            setattr(self, f"b{res}_conv0", conv0)
            setattr(self, f"b{res}_conv1", StyleLayer(ch[res], ch[res], resolution=res, **kw))
            setattr(self, f"torgb{res}", Conv2dLayer(ch[res], img_channels, 1))
        self.register_buffer("lod", torch.zeros([]))

    def forward(self, ws: torch.Tensor, noise_mode: str = "random", lod: float | None = None,
                native_resolution: bool = False) -> torch.Tensor:
        check_noise_mode(noise_mode)
        ws = at_least_float32(ws)
        x = self.const.unsqueeze(0).repeat([ws.shape[0], 1, 1, 1])

        def block(i, res, x):
            x = getattr(self, f"b{res}_conv0")(x, ws[:, 2 * i], noise_mode=noise_mode)
            return getattr(self, f"b{res}_conv1")(x, ws[:, 2 * i + 1], noise_mode=noise_mode)

        return self.grow(block, x, lod, native_resolution)


class StyleGANGenerator(Generator):
    arch = "stylegan"

    def __init__(self, img_resolution: int = 1024, z_dim: int = 512, w_dim: int = 512, mapping_depth: int = 8,
                 img_channels: int = 3, channel_base: int = 16384, channel_max: int = 512, use_noise: bool = True,
                 blur_filter=(1, 2, 1), use_instance_norm: bool = True, mapping_lr_multiplier: float = 0.01,
                 w_avg_beta: float = 0.995, mapping_layer_features: int | None = None):
        config = config_of(locals())
        super().__init__(z_dim, w_dim, img_resolution, img_channels, mapping_depth)
        self.config = config
        self.synthesis = StyleGANSynthesis(w_dim, img_resolution, img_channels, channel_base, channel_max,
                                           use_noise=use_noise, blur_filter=blur_filter,
                                           use_instance_norm=use_instance_norm)
        self.mapping = MappingNetwork(z_dim, w_dim, self.synthesis.num_ws, depth=mapping_depth,
                                      layer_features=mapping_layer_features,
                                      lr_multiplier=mapping_lr_multiplier, w_avg_beta=w_avg_beta)


class StyleGANDiscriminator(ProgressiveDiscriminator):
    """StyleGAN's discriminator: PGGAN's, with a [1,2,1] blur before each downsampling conv."""

    arch = "stylegan"

    def __init__(self, img_resolution: int = 1024, img_channels: int = 3, channel_base: int = 16384,
                 channel_max: int = 512, mbstd_group_size: int | None = 4, mbstd_num_channels: int = 1,
                 blur_filter=(1, 2, 1)):
        super().__init__(img_resolution, img_channels, channel_base, channel_max, mbstd_group_size,
                         mbstd_num_channels, blur_filter=blur_filter)
