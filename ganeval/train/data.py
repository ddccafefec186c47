"""Training data: a deterministic stream of dataset indices, cut into per-process microbatches.

The i-th image shown in training is `stream[i]`, a function of (seed, i) only: epoch e is a
permutation of the dataset drawn from (seed, e). A step that starts at cur_nimg with minibatch B
takes stream[cur_nimg : cur_nimg + B], split into microbatches of batch_gpu images; microbatch
j = round · world_size + rank goes to process `rank` in accumulation round `round`. So the data
order does not depend on the number of processes, and the sampler's position after a resume is
simply cur_nimg.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import torch
import torch.nn.functional as F

from ..errors import DataError
from ..images import box_downsample


def derive_seed(*parts) -> int:
    """A 63-bit seed from any tuple of ints/strings (for per-epoch, per-step, per-microbatch streams)."""
    digest = hashlib.sha256("/".join(str(p) for p in ("ganeval.train", *parts)).encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


class SampleStream:
    """stream[i]: the dataset index of the i-th training image (reshuffled every epoch)."""

    def __init__(self, num_items: int, seed: int = 0, shuffle: bool = True):
        if num_items < 1:
            raise DataError("the training set is empty")
        self.num_items, self.seed, self.shuffle = num_items, seed, shuffle
        self._epoch, self._perm = -1, None

    def _permutation(self, epoch: int) -> torch.Tensor:
        if epoch != self._epoch:
            if self.shuffle:
                g = torch.Generator().manual_seed(derive_seed(self.seed, "epoch", epoch))
                self._perm = torch.randperm(self.num_items, generator=g)
            else:
                self._perm = torch.arange(self.num_items)
            self._epoch = epoch
        return self._perm

    def indices(self, start: int, stop: int) -> list[int]:
        out = []
        for i in range(start, stop):
            epoch, pos = divmod(i, self.num_items)
            out.append(int(self._permutation(epoch)[pos]))
        return out


class StepBatches:
    """Iterable of this process's dataset indices for each step from `start_nimg` to `total_nimg`.

    Used as a DataLoader batch_sampler so that workers prefetch in order. `schedule(cur_nimg)`
    gives the step's batch sizes; the loop follows the same schedule.
    """

    def __init__(self, stream: SampleStream, schedule, start_nimg: int, total_nimg: int, rank: int, world_size: int):
        self.stream, self.schedule = stream, schedule
        self.start_nimg, self.total_nimg = start_nimg, total_nimg
        self.rank, self.world_size = rank, world_size

    def __iter__(self) -> Iterator[list[int]]:
        cur_nimg = self.start_nimg
        while cur_nimg < self.total_nimg:
            s = self.schedule(cur_nimg)
            idx = []
            for r in range(s.rounds):
                j = r * self.world_size + self.rank
                lo = cur_nimg + j * s.batch_gpu
                idx += self.stream.indices(lo, lo + s.batch_gpu)
            yield idx
            cur_nimg += s.batch


def collate_images(items) -> torch.Tensor:
    """[(img uint8 [C, H, W], labels), ...] -> uint8 [N, C, H, W] (labels are unused: unconditional GANs)."""
    imgs = [torch.as_tensor(item[0] if isinstance(item, (tuple, list)) else item) for item in items]
    return torch.stack(imgs)


def make_loader(dataset, batches: StepBatches, workers: int = 0, pin_memory: bool = False):
    return torch.utils.data.DataLoader(dataset, batch_sampler=batches, num_workers=workers,
                                       collate_fn=collate_images, pin_memory=pin_memory,
                                       prefetch_factor=2 if workers > 0 else None,
                                       persistent_workers=False)


def to_resolution(img: torch.Tensor, resolution: int) -> torch.Tensor:
    """Float NCHW -> `resolution` px: box filter for integer factors down (NVlabs), else antialiased bilinear."""
    h = img.shape[-1]
    if h == resolution and img.shape[-2] == resolution:
        return img
    if h > resolution and h % resolution == 0 and img.shape[-2] == h:
        return box_downsample(img, resolution)
    return F.interpolate(img, size=(resolution, resolution), mode="bilinear", align_corners=False,
                         antialias=h > resolution)


class InMemoryDataset(torch.utils.data.Dataset):
    """A dataset held in one uint8 tensor [N, C, H, W]: `ds[i] -> (img, None)`, with the
    `resolution` and `name` attributes of ganeval.data datasets (for tests and tensor pipelines)."""

    def __init__(self, images: torch.Tensor, name: str = "memory"):
        if images.dtype != torch.uint8 or images.ndim != 4 or images.shape[-1] != images.shape[-2]:
            raise DataError("InMemoryDataset needs a uint8 tensor [N, C, H, W] of square images")
        self.images, self.name = images, name
        self.resolution = int(images.shape[-1])

    def __len__(self) -> int:
        return self.images.shape[0]

    def __getitem__(self, i):
        return self.images[i], None


class XFlipDataset(torch.utils.data.Dataset):
    """`dataset` followed by its mirror images (index i + n = image i flipped left-right), as
    ganeval.data and NVIDIA's loaders do with xflip; for dataset objects handed to the loop directly."""

    def __init__(self, dataset):
        self.dataset = dataset
        self.name = getattr(dataset, "name", "dataset")
        self.resolution = getattr(dataset, "resolution", None)

    def __len__(self) -> int:
        return 2 * len(self.dataset)

    def __getitem__(self, i):
        n = len(self.dataset)
        img, labels = self.dataset[i % n]
        img = torch.as_tensor(img)
        return (img.flip(-1) if i >= n else img), labels

