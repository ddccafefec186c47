"""Progressive growing (PGGAN §3, StyleGAN §C): where training stands after cur_nimg images.

The schedule is the TF reference's `training_schedule`: starting at `initial_resolution`, each level
is first trained stably for `lod_kimg` thousand images, then the next level fades in over
`fade_kimg` thousand images, until the full resolution is reached. The level of detail follows the
TF convention of the models: lod = k + f means the block at resolution R / 2^k is fading in with
alpha = 1 - f; lod = 0 is the fully grown network. StyleGAN2 does not grow (lod stays 0).

Reals shown to D are box-downsampled to the current level and, while a level fades in, blended
with their own 2x-box-downsampled-then-nearest-upsampled version with the same alpha as the
networks use, so D sees the same kind of image from both sides (TF `process_reals`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..images import box_downsample


@dataclass(frozen=True)
class Step:
    """The training parameters at one point of the schedule."""

    lod: float          # level of detail (float32-exact, as stored in the networks' lod buffers)
    resolution: int     # resolution of the level being trained (fading in when alpha < 1)
    alpha: float        # fade-in of that level, 1 when stable
    batch: int          # total minibatch over all processes
    batch_gpu: int      # per-process microbatch (one forward/backward pass)
    rounds: int         # gradient-accumulation rounds per process: batch = batch_gpu * world * rounds
    lr: float           # base learning rate (before the lazy-regularisation correction)


class GrowthSchedule:
    """cur_nimg -> Step. Non-progressive training is the special case of a single stable level."""

    def __init__(self, resolution: int, progressive: bool, batch: int, lr: float, *,
                 initial_resolution: int = 4, lod_kimg: float = 600, fade_kimg: float = 600,
                 batch_dict: dict[int, int] | None = None, lr_dict: dict[int, float] | None = None,
                 batch_gpu: int | None = None, world_size: int = 1):
        self.resolution_log2 = int(math.log2(resolution))
        self.progressive = progressive
        self.initial_resolution = min(initial_resolution, resolution) if progressive else resolution
        self.lod_kimg, self.fade_kimg = float(lod_kimg), float(fade_kimg)
        self.batch, self.lr = int(batch), float(lr)
        self.batch_dict = {int(k): int(v) for k, v in (batch_dict or {}).items()}
        self.lr_dict = {int(k): float(v) for k, v in (lr_dict or {}).items()}
        self.batch_gpu_max = batch_gpu
        self.world_size = world_size

    def levels(self) -> list[int]:
        """The resolutions this schedule trains at, smallest first."""
        return [2 ** i for i in range(int(math.log2(self.initial_resolution)), self.resolution_log2 + 1)]

    def batch_at(self, resolution: int) -> tuple[int, int, int]:
        """-> (batch, batch_gpu, rounds) at a level; raises ValueError if they do not divide."""
        batch = self.batch_dict.get(resolution, self.batch)
        per_process, rem = divmod(batch, self.world_size)
        if rem or per_process < 1:
            raise ValueError(f"minibatch {batch} at {resolution}x{resolution} is not divisible by the "
                             f"{self.world_size} processes")
        batch_gpu = min(self.batch_gpu_max or per_process, per_process)
        if per_process % batch_gpu:
            raise ValueError(f"minibatch {batch} at {resolution}x{resolution} is not a multiple of "
                             f"batch_gpu {batch_gpu} x {self.world_size} processes")
        return batch, batch_gpu, per_process // batch_gpu

    def lod_at(self, cur_nimg: int) -> float:
        if not self.progressive:
            return 0.0
        kimg = cur_nimg / 1000.0
        phase_dur = self.lod_kimg + self.fade_kimg
        phase_idx = int(np.floor(kimg / phase_dur)) if phase_dur > 0 else 0
        phase_kimg = kimg - phase_idx * phase_dur
        lod = self.resolution_log2 - np.floor(np.log2(self.initial_resolution)) - phase_idx
        if self.fade_kimg > 0:
            lod -= max(phase_kimg - self.lod_kimg, 0.0) / self.fade_kimg
        # Round to float32 once: the networks hold lod in a float32 buffer and reals must blend alike.
        return float(np.float32(max(lod, 0.0)))

    def __call__(self, cur_nimg: int) -> Step:
        lod = self.lod_at(cur_nimg)
        k = math.floor(lod)
        resolution = 2 ** (self.resolution_log2 - k)
        batch, batch_gpu, rounds = self.batch_at(resolution)
        return Step(lod=lod, resolution=resolution, alpha=1.0 - (lod - k), batch=batch, batch_gpu=batch_gpu,
                    rounds=rounds, lr=self.lr_dict.get(resolution, self.lr))


def fade_reals(img: torch.Tensor, lod: float) -> torch.Tensor:
    """Full-resolution reals [N, C, R, R] -> what D sees at `lod`: the level's box-downsampled image,
    blended during fade-in with its 2x coarser version (nearest-upsampled) with weight 1 - alpha."""
    k = math.floor(lod)
    res = img.shape[-1] >> k
    x = box_downsample(img, res)
    frac = lod - k
    if frac > 0 and res > 4:
        y = F.interpolate(box_downsample(x, res // 2), scale_factor=2, mode="nearest")
        x = torch.lerp(x, y, frac)
    return x
