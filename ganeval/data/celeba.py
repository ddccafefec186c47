"""The CelebA on-disk format: read a user's CelebA / CelebA-HQ copy, write synthfaces (or any labelled
dataset) in the same layout.

Layout (a directory or a .zip holding the same names)::

    img_align_celeba/000001.png ...     images (png or jpg; real CelebA ships jpg)
    list_attr_celeba.txt                line 1: image count; line 2: the 40 attribute names;
                                        then one row per image: `filename +1/-1 x 40`
    list_eval_partition.txt             `filename 0|1|2` = train / val / test (optional)

CelebA-HQ as distributed with CelebAMask-HQ (`CelebA-HQ-img/*.jpg` and
`CelebAMask-HQ-attribute-anno.txt`, same row format, no partition file) is read too. Attribute
columns are matched by name, so a file in any column order works; labels come out 0/1 in NVIDIA
order (`ganeval.data.attributes.NVIDIA_ATTRS`).
"""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm.auto import tqdm

from ..errors import DataError
from ..utils import atomic_write, staged_dir
from .attributes import CELEBA_ATTRS, CELEBA_TO_NVIDIA, celeba_to_nvidia

ATTR_FILES = ("list_attr_celeba.txt", "CelebAMask-HQ-attribute-anno.txt")
PARTITION_FILE = "list_eval_partition.txt"
IMAGE_DIRS = ("img_align_celeba", "img_align_celeba_png", "img_celeba", "CelebA-HQ-img")
IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".webp")
SPLITS = {"train": 0, "val": 1, "test": 2}
_SPLIT_ALIASES = {"train": "train", "0": "train", "val": "val", "valid": "val", "validation": "val", "1": "val",
                  "test": "test", "2": "test"}


def normalize_split(split) -> str | None:
    """'train' | 'val' | 'test' | None (= every image); accepts 0/1/2, 'valid', 'validation', 'all'."""
    if split is None or str(split).lower() in ("all", "none", ""):
        return None
    key = str(split).strip().lower()
    if key not in _SPLIT_ALIASES:
        raise DataError(f"unknown split '{split}' (expected train, val, test or all)")
    return _SPLIT_ALIASES[key]


def synthetic_partition(index: int, count: int) -> int:
    """The 80/10/10 split by index used for synthfaces (0 = train, 1 = val, 2 = test)."""
    if index < (count * 8) // 10:
        return 0
    return 1 if index < (count * 9) // 10 else 2


# ---------------------------------------------------------------------------------------------
# Reading.
# ---------------------------------------------------------------------------------------------

def parse_attr_file(text: str, where: str = "list_attr_celeba.txt") -> tuple[list[str], np.ndarray]:
    """Filenames and labels [N, 40] (int64 0/1, NVIDIA order) from the text of an attribute file."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if len(lines) < 2:
        raise DataError(f"{where}: expected a count line and an attribute-name line")
    try:
        count = int(lines[0].split()[0])
    except ValueError:
        raise DataError(f"{where}: first line must be the image count, got '{lines[0][:40]}'") from None
    names = lines[1].split()
    known = {celeba_to_nvidia(c): j for j, c in enumerate(CELEBA_ATTRS)}
    try:
        cols = [known[celeba_to_nvidia(n)] for n in names]
    except KeyError as e:
        raise DataError(f"{where}: unknown attribute name {e.args[0]!r} on line 2") from None
    if sorted(cols) != list(range(len(CELEBA_ATTRS))):
        raise DataError(f"{where}: line 2 must name the 40 CelebA attributes, got {len(names)} names")
    rows = lines[2:]
    if len(rows) != count:
        raise DataError(f"{where}: header says {count} images but {len(rows)} rows follow")
    filenames, values = [], np.empty((len(rows), 40), dtype=np.int64)
    for i, row in enumerate(rows):
        parts = row.split()
        if len(parts) != 41:
            raise DataError(f"{where}: row {i + 3} has {len(parts) - 1} attribute columns, expected 40")
        filenames.append(parts[0])
        try:
            v = [int(x) for x in parts[1:]]
        except ValueError:
            raise DataError(f"{where}: row {i + 3} has a non-integer attribute value") from None
        if any(x not in (-1, 0, 1) for x in v):
            raise DataError(f"{where}: row {i + 3}: attribute values must be +1 / -1")
        values[i] = v
    celeba_order = np.empty_like(values)
    celeba_order[:, cols] = values
    return filenames, (celeba_order[:, CELEBA_TO_NVIDIA] > 0).astype(np.int64)


def parse_partition_file(text: str, where: str = PARTITION_FILE) -> dict[str, int]:
    out = {}
    for i, row in enumerate(text.splitlines()):
        parts = row.split()
        if not parts:
            continue
        if len(parts) != 2 or parts[1] not in ("0", "1", "2"):
            raise DataError(f"{where}: line {i + 1} must be 'filename 0|1|2'")
        out[parts[0]] = int(parts[1])
    return out


class CelebASource:
    """Images + labels of a CelebA-format directory or zip (see the module docstring)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._zip: zipfile.ZipFile | None = None
        self._zip_pid = None
        if self.path.is_dir():
            self.kind = "dir"
            names = {p.name for p in self.path.iterdir()}
            attr = next((f for f in ATTR_FILES if f in names), None)
            if attr is None:
                raise DataError(f"{self.path}: no {ATTR_FILES[0]} (not a CelebA-format directory)")
            self.root = ""
            self.attr_name = attr
            attr_text = self._read_text(attr)
            part_text = self._read_text(PARTITION_FILE) if PARTITION_FILE in names else None
            image_dir = next((self.path / d for d in IMAGE_DIRS if (self.path / d).is_dir()), self.path)
            # Kaggle's copy nests img_align_celeba/img_align_celeba/.
            if (image_dir / image_dir.name).is_dir():
                image_dir = image_dir / image_dir.name
            files = {}
            for entry in os.scandir(image_dir):
                stem, ext = os.path.splitext(entry.name)
                if ext.lower() in IMAGE_EXTS and entry.is_file():
                    files[stem] = entry
            self._lookup = {k: e.path for k, e in files.items()}
            stat = sorted((k, e.stat().st_size, e.stat().st_mtime_ns) for k, e in files.items())
            self.fingerprint = f"{len(stat)}:{hash_strings(map(repr, stat))}"
        else:
            self.kind = "zip"
            zf = self._open_zip()
            members = {i.filename: i for i in zf.infolist() if not i.is_dir()}
            attr_path = next((m for m in members if Path(m).name in ATTR_FILES and m.count("/") <= 1), None)
            if attr_path is None:
                raise DataError(f"{self.path}: no {ATTR_FILES[0]} in the zip (not a CelebA-format zip)")
            self.root = attr_path[: -len(Path(attr_path).name)]
            self.attr_name = attr_path
            attr_text = self._read_text(attr_path)
            part_path = self.root + PARTITION_FILE
            part_text = self._read_text(part_path) if part_path in members else None
            self._lookup = {}
            for m in members:
                stem, ext = os.path.splitext(Path(m).name)
                if ext.lower() in IMAGE_EXTS and m.startswith(self.root):
                    self._lookup[stem] = m
            stat = sorted((m, i.CRC, i.file_size) for m, i in members.items())
            self.fingerprint = f"{len(stat)}:{hash_strings(map(repr, stat))}"
        self.filenames, self.labels = parse_attr_file(attr_text, f"{self.path.name}/{Path(self.attr_name).name}")
        self.fingerprint += f":{hash_strings([attr_text, part_text or ''])}"
        missing = [f for f in self.filenames if os.path.splitext(f)[0] not in self._lookup]
        if missing:
            raise DataError(f"{self.path}: {len(missing)} images listed in {Path(self.attr_name).name} are missing "
                            f"(first: {missing[0]})")
        self.partition = None
        if part_text is not None:
            part = parse_partition_file(part_text, f"{self.path.name}/{PARTITION_FILE}")
            try:
                self.partition = np.array([part[f] for f in self.filenames], dtype=np.int64)
            except KeyError as e:
                raise DataError(f"{self.path}: {e.args[0]} has no row in {PARTITION_FILE}") from None

    def _open_zip(self) -> zipfile.ZipFile:
        return open_zip_per_process(self)

    def _read_text(self, name: str) -> str:
        try:
            if self.kind == "dir":
                return (self.path / name).read_text()
            return self._open_zip().read(name).decode()
        except (OSError, UnicodeDecodeError, KeyError) as e:
            raise DataError(f"cannot read {self.path / name}: {e}") from None

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_zip"] = None  # reopened lazily in each DataLoader worker
        return state

    def __len__(self) -> int:
        return len(self.filenames)

    def describe(self, i: int) -> str:
        return f"{self.path}/{self._lookup[os.path.splitext(self.filenames[i])[0]]}"

    def open(self, i: int) -> Image.Image:
        ref = self._lookup[os.path.splitext(self.filenames[i])[0]]
        try:
            if self.kind == "dir":
                img = Image.open(ref)
            else:
                img = Image.open(io.BytesIO(self._open_zip().read(ref)))
            img.load()
            return img
        except (OSError, ValueError, Image.DecompressionBombError) as e:
            raise DataError(f"cannot read image {self.filenames[i]} in {self.path}: {e}") from None



def open_zip_per_process(owner) -> zipfile.ZipFile:
    """owner._zip opened lazily, once per process (a ZipFile handle must not cross a DataLoader fork)."""
    if owner._zip is None or owner._zip_pid != os.getpid():
        try:
            owner._zip = zipfile.ZipFile(owner.path)
        except (OSError, zipfile.BadZipFile) as e:
            raise DataError(f"cannot open zip {owner.path}: {e}") from None
        owner._zip_pid = os.getpid()
    return owner._zip

def hash_strings(items: Iterable[str]) -> str:
    h = hashlib.sha256()
    for s in items:
        h.update(s.encode())
        h.update(b"\0")
    return h.hexdigest()[:16]


# ---------------------------------------------------------------------------------------------
# Writing.
# ---------------------------------------------------------------------------------------------

def _encode(img: torch.Tensor, fmt: str) -> bytes:
    arr = img.detach().cpu().permute(1, 2, 0).numpy()
    pil = Image.fromarray(arr[..., 0] if arr.shape[2] == 1 else arr)
    buf = io.BytesIO()
    if fmt == "png":
        pil.save(buf, format="PNG")
    else:
        pil.save(buf, format="JPEG", quality=95)
    return buf.getvalue()


def write_celeba(out: str | os.PathLike, items: Iterable, count: int | None = None,
                 partition: Sequence[int] | Callable[[int], int] | None = None, image_format: str = "png",
                 zip: bool = False, progress: bool = False) -> Path:
    """Write labelled images in CelebA format to directory `out` (or to the zip file `out` if `zip`).

    `items` yields `(img uint8 [C, H, W], labels int 0/1 [40] in NVIDIA order)`, one per image (an
    `ImageDataset` does), or whole batches `([N, C, H, W], [N, 40])`. `partition` gives 0/1/2
    (train/val/test) per image, as a sequence or a function of the index; default: all train.
    The dataset is written into a temporary folder (or zip) and moved to `out` when complete, so an
    interrupted export never leaves a partial dataset. A directory `out` must be empty or absent.
    """
    out = Path(out)
    if image_format not in ("png", "jpg"):
        raise DataError(f"image format must be png or jpg, got '{image_format}'")
    if zip:
        if out.is_dir():
            raise DataError(f"{out} is a directory; --zip needs a file name such as {out}.zip")
    elif out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise DataError(f"output {out} exists and is not an empty directory")
    if count is None and hasattr(items, "__len__"):
        count = len(items)
    digits = max(6, len(str(count or 0)))
    names: list[str] = []
    rows: list[str] = []

    def records():
        for img, lab in items:
            if img.dim() == 3:
                img, lab = img[None], torch.as_tensor(lab)[None]
            lab = torch.as_tensor(lab)
            if lab.dim() != 2 or lab.shape[1] != 40:
                raise DataError("write_celeba needs 40 attribute labels per image (the dataset is unlabelled)")
            for k in range(len(img)):
                name = f"{len(names) + 1:0{digits}d}.{image_format}"
                names.append(name)
                celeba = np.empty(40, dtype=np.int64)
                celeba[CELEBA_TO_NVIDIA] = lab[k].cpu().numpy()
                rows.append(name + " " + " ".join("1" if x else "-1" for x in celeba))
                yield name, _encode(img[k], image_format)

    bar = tqdm(total=count, disable=not progress, unit="img", desc="writing")
    if zip:
        with atomic_write(out, suffix=".zip") as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as zf:
            for name, data in records():
                zf.writestr(f"{IMAGE_DIRS[0]}/{name}", data)
                bar.update(1)
            if not names:
                raise DataError("write_celeba: no images to write")
            zf.writestr(PARTITION_FILE, _partition_text(names, partition))
            zf.writestr(ATTR_FILES[0], _attr_text(rows))
    else:
        with staged_dir(out) as stage:   # a full disk or a kill leaves no half dataset under `out`
            image_dir = stage / IMAGE_DIRS[0]
            image_dir.mkdir(parents=True)
            for name, data in records():
                (image_dir / name).write_bytes(data)
                bar.update(1)
            if not names:
                raise DataError("write_celeba: no images to write")
            (stage / PARTITION_FILE).write_text(_partition_text(names, partition))
            (stage / ATTR_FILES[0]).write_text(_attr_text(rows))
    bar.close()
    return out


def _attr_text(rows: list[str]) -> str:
    return f"{len(rows)}\n" + " ".join(CELEBA_ATTRS) + "\n" + "\n".join(rows) + "\n"


def _partition_text(names: list[str], partition) -> str:
    if partition is None:
        part = [0] * len(names)
    elif callable(partition):
        part = [int(partition(i)) for i in range(len(names))]
    else:
        part = [int(p) for p in partition]
        if len(part) != len(names):
            raise DataError(f"partition has {len(part)} entries for {len(names)} images")
    return "".join(f"{n} {p}\n" for n, p in zip(names, part))
