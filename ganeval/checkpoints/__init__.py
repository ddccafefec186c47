"""Loading and saving checkpoints of any supported format.

    ganeval.load_checkpoint(path) -> Checkpoint(G, G_ema, D, arch, config, meta, format, ...)
    ganeval.load_generator(path_or_bundled_name) -> Generator (G_ema when present)
    ganeval.save_checkpoint(path, G=..., G_ema=..., D=...)

`detect(path)` names the format. Each foreign format lives in its own module and registers a
(sniff, load) pair in FORMATS; nothing from a file is ever imported or executed.
"""

from __future__ import annotations

import os
import pickle
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..errors import CheckpointError
from .native import is_native, load_native, save_checkpoint

PRETRAINED_DIR = Path(__file__).resolve().parent.parent.parent / "pretrained"


@dataclass
class Checkpoint:
    G: torch.nn.Module | None
    G_ema: torch.nn.Module | None
    D: torch.nn.Module | None
    arch: str
    config: dict
    meta: dict = field(default_factory=dict)
    format: str = "ganeval"
    path: str = ""
    training_state: dict | None = None
    D_config: dict | None = None

    @property
    def generator(self):
        """The network to evaluate: G_ema when present (as the papers report), else G."""
        return self.G_ema if self.G_ema is not None else self.G


@dataclass(frozen=True)
class Format:
    name: str
    sniff: Callable[[Path, object], bool]   # (path, torch-loaded object or None) -> bool
    load: Callable[..., Checkpoint]         # (path, obj, device) -> Checkpoint


FORMATS: list[Format] = [
    Format("ganeval", lambda path, obj: is_native(obj), lambda path, obj, device: load_native(obj, str(path), device)),
]


def register_format(fmt: Format, first: bool = False) -> None:
    FORMATS.insert(0, fmt) if first else FORMATS.append(fmt)


def bundled_models() -> list[str]:
    return sorted(p.stem for p in PRETRAINED_DIR.glob("*.pt")) if PRETRAINED_DIR.is_dir() else []


def resolve_path(path_or_name: str | os.PathLike) -> Path:
    """A file path, or the name of a model bundled under pretrained/."""
    p = Path(path_or_name)
    if p.is_file():
        return p
    if p.exists():
        raise CheckpointError(f"{p} is not a file")
    bundled = PRETRAINED_DIR / f"{path_or_name}.pt"
    if bundled.is_file():
        return bundled
    names = bundled_models()
    hint = f" (bundled models: {', '.join(names)})" if names else ""
    raise CheckpointError(f"no such checkpoint file or bundled model: '{path_or_name}'{hint}")


def torch_load_safely(path: Path):
    """torch.load with weights_only=True; any failure becomes one CheckpointError line."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile, ValueError, KeyError,
            AttributeError, IndexError, TypeError, OSError, UnicodeDecodeError, MemoryError, OverflowError) as e:
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        if "Unsupported global" in msg or "weights_only" in msg:
            raise CheckpointError(f"{path}: refused: the file needs code to load ({msg[:160]})") from None
        raise CheckpointError(f"{path}: cannot read checkpoint: truncated, corrupt or not a checkpoint "
                              f"({type(e).__name__}: {msg[:160]})") from None


def _read(path: Path):
    """-> (format, obj). Torch-zip files are loaded once here and handed to the loader."""
    with open(path, "rb") as f:
        head = f.read(8)
    obj = None
    if head.startswith(b"PK"):
        obj = torch_load_safely(path)
    for fmt in FORMATS:
        if fmt.sniff(path, obj):
            return fmt, obj
    if obj is None and not head:
        raise CheckpointError(f"{path}: empty file")
    raise CheckpointError(f"{path}: unknown checkpoint format (supported: {', '.join(f.name for f in FORMATS)})")


def detect(path: str | os.PathLike) -> str:
    """Name the format of a checkpoint file (or bundled model name)."""
    return _read(resolve_path(path))[0].name


def load_checkpoint(path: str | os.PathLike, device="cpu") -> Checkpoint:
    path = resolve_path(path)
    fmt, obj = _read(path)
    ckpt = fmt.load(path, obj, device)
    ckpt.format = fmt.name
    return ckpt


def load_generator(path: str | os.PathLike, device="cpu"):
    """Load the generator to evaluate (G_ema if the file has one), in eval mode, on `device`."""
    if isinstance(path, torch.nn.Module):
        return path.to(device).eval()
    ckpt = load_checkpoint(path, device=device)
    G = ckpt.generator
    if G is None:
        raise CheckpointError(f"{path}: holds no generator")
    G.checkpoint_path = str(ckpt.path)
    return G.to(device).eval()


__all__ = ["Checkpoint", "FORMATS", "Format", "PRETRAINED_DIR", "bundled_models", "detect", "load_checkpoint",
           "load_generator", "register_format", "resolve_path", "save_checkpoint", "torch_load_safely"]
