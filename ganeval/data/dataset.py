"""One dataset interface for training, FID reference statistics and attribute classifiers.

`open_dataset(path_or_spec, resolution=None, split=None, xflip=False)` opens

* an image folder (recursive; png, jpg, jpeg, webp; sorted by relative path),
* a .zip of images (same rules inside the zip),
* a CelebA-format directory or zip (detected by `list_attr_celeba.txt`, see `ganeval.data.celeba`),
* the synthetic benchmark `synthfaces[:N][?res=R&seed=S]` (see `ganeval.data.synthfaces`).

Contract: `ds[i] -> (img, labels)` with `img` a uint8 tensor [C, H, W] at `ds.resolution` and
`labels` an int64 tensor of 0/1 in NVIDIA attribute order (or shape [0] when unlabelled).
Attributes: `name`, `resolution`, `num_channels`, `attr_names` (NVIDIA names or []), `identity`
(changes whenever the content would), `resize_filter`, `split`, `xflip`, and `len(ds)`. With
`xflip` the dataset doubles: index `i + n` is image `i` mirrored left-right, as in NVIDIA's code.

Image preparation: non-square images are centre-cropped to a square; then an image larger than
`resolution` by an integer factor is box-filtered (exact integer mean, rounded half up), any other
size change uses PIL's Lanczos filter. `resolution=None` keeps the first image's size.
"""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..errors import DataError
from . import synthfaces
from .attributes import NVIDIA_ATTRS
from .celeba import (
    ATTR_FILES,
    IMAGE_EXTS,
    SPLITS,
    CelebASource,
    hash_strings,
    normalize_split,
    open_zip_per_process,
)


def box_downsample_uint8(img: torch.Tensor, factor: int) -> torch.Tensor:
    """Exact box filter on uint8 [..., H, W]: integer mean of factor x factor blocks, rounded half up."""
    if factor == 1:
        return img
    *lead, h, w = img.shape
    x = img.reshape(*lead, h // factor, factor, w // factor, factor).to(torch.int32).sum(dim=(-3, -1))
    n = factor * factor
    return ((x + n // 2) // n).to(torch.uint8)


def resize_uint8(img: torch.Tensor, resolution: int) -> torch.Tensor:
    """uint8 [C, H, W] (square) -> [C, R, R]: box for integer down-factors, PIL Lanczos otherwise."""
    size = img.shape[-1]
    if size == resolution:
        return img
    if size > resolution and size % resolution == 0:
        return box_downsample_uint8(img, size // resolution)
    arr = img.permute(1, 2, 0).numpy()
    pil = Image.fromarray(arr[..., 0] if arr.shape[2] == 1 else arr)
    out = np.array(pil.resize((resolution, resolution), Image.LANCZOS))
    out = out[..., None] if out.ndim == 2 else out
    return torch.from_numpy(np.ascontiguousarray(out)).permute(2, 0, 1).contiguous()


def resize_filter_for(size: int, resolution: int) -> str:
    if size == resolution:
        return "none"
    return "box" if size > resolution and size % resolution == 0 else "lanczos"


GRAY_MODES = ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F")


def _pil_to_tensor(img: Image.Image, channels: int) -> torch.Tensor:
    """PIL image -> uint8 [C, S, S]: convert mode (per image, so a grayscale image in an RGB set is repeated to
    RGB), centre-crop to a square. 16-bit grayscale is scaled to 8 bits (v / 257, rounded): PIL's own
    conversion would clip every value above 255 to white."""
    if img.mode in ("I", "I;16", "I;16B", "I;16L"):
        arr = np.clip(np.round(np.asarray(img, dtype=np.float64) / 257), 0, 255).astype(np.uint8)
        img = Image.fromarray(arr, mode="L")
    img = img.convert("L" if channels == 1 else "RGB")
    w, h = img.size
    if w != h:
        s = min(w, h)
        left, top = (w - s) // 2, (h - s) // 2
        img = img.crop((left, top, left + s, top + s))
    arr = np.array(img)  # a writable copy
    arr = arr[..., None] if arr.ndim == 2 else arr
    return torch.from_numpy(arr).permute(2, 0, 1).contiguous()


class ImageDataset(torch.utils.data.Dataset):
    """Base class: subclasses provide `_raw_count`, `_load_raw(j) -> uint8 [C, S, S]` and labels."""

    name: str
    resolution: int
    num_channels: int
    attr_names: list[str]
    identity: str
    resize_filter: str
    split: str | None
    xflip: bool

    def __init__(self, *, name: str, indices: np.ndarray, labels: np.ndarray | None, resolution: int,
                 num_channels: int, resize_filter: str, identity: str, split: str | None, xflip: bool):
        self.name = name
        self._indices = np.asarray(indices, dtype=np.int64)
        self._labels = None if labels is None else torch.from_numpy(np.asarray(labels, dtype=np.int64))
        self.resolution = int(resolution)
        self.num_channels = int(num_channels)
        self.attr_names = list(NVIDIA_ATTRS) if labels is not None else []
        self.resize_filter = resize_filter
        self.split = split
        self.xflip = bool(xflip)
        self.identity = f"{identity}|res={self.resolution}|split={split or 'all'}|xflip={int(self.xflip)}"
        if len(self._indices) == 0:
            raise DataError(f"{name}: no images{f' in split {split}' if split else ''}")

    @property
    def has_labels(self) -> bool:
        return self._labels is not None

    @property
    def labels(self) -> torch.Tensor:
        """All labels [len(ds), 40] (or [len(ds), 0]) without loading any image."""
        n = len(self._indices)
        lab = self._labels[self._indices] if self._labels is not None else torch.zeros(n, 0, dtype=torch.int64)
        return torch.cat([lab, lab]) if self.xflip else lab

    def __len__(self) -> int:
        return len(self._indices) * (2 if self.xflip else 1)

    def _locate(self, i: int) -> tuple[int, bool]:
        n = len(self._indices)
        if not -len(self) <= i < len(self):
            raise IndexError(f"index {i} out of range for a dataset of {len(self)} images")
        i %= len(self)
        return int(self._indices[i % n]), i >= n

    def _label(self, j: int) -> torch.Tensor:
        return self._labels[j].clone() if self._labels is not None else torch.zeros(0, dtype=torch.int64)

    def _load_raw(self, j: int) -> torch.Tensor:
        raise NotImplementedError

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        j, flip = self._locate(int(i))
        img = resize_uint8(self._load_raw(j), self.resolution)
        if flip:
            img = img.flip(-1).contiguous()
        return img, self._label(j)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(name={self.name!r}, len={len(self)}, resolution={self.resolution}, "
                f"channels={self.num_channels}, labels={len(self.attr_names)}, split={self.split}, "
                f"xflip={self.xflip})")


class _PilDataset(ImageDataset):
    """Datasets whose images are files (folder, zip, CelebA): PIL decode, then crop/resize."""

    def _open(self, j: int, load: bool = True) -> Image.Image:
        """Image j; `load=False` reads its header only (mode and size)."""
        raise NotImplementedError

    def _all_raw(self) -> range:
        return range(len(self.files))

    def _load_raw(self, j: int) -> torch.Tensor:
        return _pil_to_tensor(self._open(j), self.num_channels)

    def _probe(self, j: int, resolution: int | None) -> tuple[int, int, str]:
        """Resolution and resize filter from the first image; channels: 1 only when every image is grayscale
        (a folder whose first image is grayscale is scanned: one RGB image makes the whole set RGB)."""
        img = self._open(j)
        channels = 1 if img.mode in GRAY_MODES else 3
        if channels == 1 and any(self._open(k, load=False).mode not in GRAY_MODES for k in self._all_raw()):
            channels = 3
        size = min(img.size)
        resolution = int(resolution or size)
        return channels, resolution, resize_filter_for(size, resolution)


class FolderDataset(_PilDataset):
    def __init__(self, path: Path, resolution=None, split=None, xflip=False):
        self.path = path
        files = []
        for root, dirs, names in os.walk(path):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for n in names:
                if not n.startswith(".") and os.path.splitext(n)[1].lower() in IMAGE_EXTS:
                    files.append(os.path.relpath(os.path.join(root, n), path))
        files.sort(key=lambda f: Path(f).as_posix())
        if not files:
            raise DataError(f"no images (png/jpg/webp) found in {path}")
        self.files = files
        stats = []
        for f in files:
            st = os.stat(path / f)
            stats.append(repr((f, st.st_size, st.st_mtime_ns)))
        identity = f"folder:{path.resolve()}|n={len(files)}|files={hash_strings(stats)}"
        if split is not None:
            raise DataError(f"{path}: an image folder has no train/val/test split (use a CelebA-format dataset)")
        channels, res, rf = self._probe(0, resolution)
        super().__init__(name=path.name, indices=np.arange(len(files)), labels=None, resolution=res,
                         num_channels=channels, resize_filter=rf, identity=identity, split=None, xflip=xflip)

    def _open(self, j: int, load: bool = True) -> Image.Image:
        f = self.path / self.files[j]
        try:
            img = Image.open(f)
            if load:
                img.load()
            return img
        except (OSError, ValueError, Image.DecompressionBombError) as e:
            raise DataError(f"cannot read image {f}: {e}") from None


class ZipDataset(_PilDataset):
    def __init__(self, path: Path, resolution=None, split=None, xflip=False):
        self.path = path
        self._zip = None
        self._zip_pid = None
        infos = [i for i in self._zipfile().infolist() if not i.is_dir()
                 and os.path.splitext(i.filename)[1].lower() in IMAGE_EXTS
                 and not any(part.startswith(".") for part in Path(i.filename).parts)]
        infos.sort(key=lambda i: i.filename)
        if not infos:
            raise DataError(f"no images (png/jpg/webp) found in {path}")
        if split is not None:
            raise DataError(f"{path}: a zip of images has no train/val/test split (use a CelebA-format dataset)")
        self.files = [i.filename for i in infos]
        listing = hash_strings(repr((i.filename, i.CRC, i.file_size)) for i in infos)
        identity = f"zip:{path.resolve()}|n={len(infos)}|files={listing}"
        channels, res, rf = self._probe(0, resolution)
        super().__init__(name=path.stem, indices=np.arange(len(infos)), labels=None, resolution=res,
                         num_channels=channels, resize_filter=rf, identity=identity, split=None, xflip=xflip)

    def _zipfile(self) -> zipfile.ZipFile:
        return open_zip_per_process(self)

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_zip"] = None
        return state

    def _open(self, j: int, load: bool = True) -> Image.Image:
        try:
            img = Image.open(io.BytesIO(self._zipfile().read(self.files[j])))
            if load:
                img.load()
            return img
        except (OSError, ValueError, KeyError, Image.DecompressionBombError) as e:
            raise DataError(f"cannot read image {self.files[j]} in {self.path}: {e}") from None


class CelebADataset(_PilDataset):
    def __init__(self, path: Path, resolution=None, split=None, xflip=False):
        self.source = CelebASource(path)
        if split is None:
            indices = np.arange(len(self.source))
        elif self.source.partition is None:
            raise DataError(f"{path}: no list_eval_partition.txt, so there is no '{split}' split (use split=all)")
        else:
            indices = np.nonzero(self.source.partition == SPLITS[split])[0]
        identity = f"celeba:{path.resolve()}|{self.source.fingerprint}"
        name = path.stem if path.is_file() else path.name
        if len(self.source) == 0:
            raise DataError(f"{path}: the attribute file lists no images")
        channels, res, rf = self._probe(int(indices[0]) if len(indices) else 0, resolution)
        super().__init__(name=name, indices=indices, labels=self.source.labels, resolution=res,
                         num_channels=channels, resize_filter=rf, identity=identity, split=split, xflip=xflip)

    def _open(self, j: int, load: bool = True) -> Image.Image:
        return self.source.open(j)

    def _all_raw(self) -> range:
        return range(len(self.source))


class SynthFacesDataset(ImageDataset):
    """The synthetic benchmark, drawn on the fly; batches (DataLoader `__getitems__`) render together."""

    def __init__(self, spec: synthfaces.SynthFacesSpec, resolution=None, split=None, xflip=False):
        self.spec = spec
        n = spec.count
        if split is None:
            indices = np.arange(n)
        else:
            bounds = [0, (n * 8) // 10, (n * 9) // 10, n]  # = synthetic_partition
            code = SPLITS[split]
            indices = np.arange(bounds[code], bounds[code + 1])
        resolution = int(resolution or spec.resolution)
        labels = synthfaces.sample_labels(np.arange(n), spec.seed).numpy()
        super().__init__(name="synthfaces", indices=indices, labels=labels, resolution=resolution,
                         num_channels=3, resize_filter=resize_filter_for(spec.resolution, resolution),
                         identity=spec.identity, split=split, xflip=xflip)

    def _load_raw(self, j: int) -> torch.Tensor:
        return synthfaces.render([j], self.spec.seed, self.spec.resolution)[0][0]

    def __getitems__(self, indices) -> list[tuple[torch.Tensor, torch.Tensor]]:
        located = [self._locate(int(i)) for i in indices]
        raw = sorted({j for j, _ in located})
        images, _ = synthfaces.render(raw, self.spec.seed, self.spec.resolution)
        pos = {j: k for k, j in enumerate(raw)}
        out = []
        for j, flip in located:
            img = resize_uint8(images[pos[j]], self.resolution)
            out.append((img.flip(-1).contiguous() if flip else img, self._label(j)))
        return out


def open_dataset(path_or_spec, resolution: int | None = None, split: str | None = None,
                 xflip: bool = False) -> ImageDataset:
    """Open an image folder, a zip, a CelebA-format directory/zip or a `synthfaces` spec.

    Args:
        path_or_spec: a path, or `synthfaces[:N][?res=R&seed=S]` (N defaults to 70000, R to
            `resolution` or 64, S to 0; N accepts `70k`).
        resolution: output size in pixels (default: the data's own, i.e. the first image's).
        split: 'train' | 'val' | 'test' | None (= all). CelebA-format data uses
            list_eval_partition.txt; synthfaces uses the first 80 % / next 10 % / last 10 % of indices.
        xflip: append a mirrored copy of every image (doubles len).
    """
    if isinstance(path_or_spec, ImageDataset):
        return path_or_spec
    split = normalize_split(split)
    if resolution is not None:
        resolution = int(resolution)
        if not 1 <= resolution <= 8192:
            raise DataError(f"bad resolution {resolution}")
    if synthfaces.is_spec(path_or_spec):
        default = resolution if resolution in synthfaces.RESOLUTIONS else synthfaces.DEFAULT_RESOLUTION
        if resolution is not None and resolution not in synthfaces.RESOLUTIONS:
            default = min([r for r in synthfaces.RESOLUTIONS if r >= resolution] or [max(synthfaces.RESOLUTIONS)])
        spec = synthfaces.parse_spec(path_or_spec, default_resolution=default)
        return SynthFacesDataset(spec, resolution, split, xflip)
    path = Path(os.fspath(path_or_spec)).expanduser()
    if not path.exists():
        raise DataError(f"dataset not found: {path}")
    if path.is_dir():
        if any((path / f).is_file() for f in ATTR_FILES):
            return CelebADataset(path, resolution, split, xflip)
        return FolderDataset(path, resolution, split, xflip)
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            celeba = any(Path(n).name in ATTR_FILES and n.count("/") <= 1 for n in zf.namelist())
        return (CelebADataset if celeba else ZipDataset)(path, resolution, split, xflip)
    raise DataError(f"{path} is neither a folder, a zip, nor a synthfaces spec")
