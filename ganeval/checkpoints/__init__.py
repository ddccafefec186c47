"""Loading and saving checkpoints of any supported format.

    ganeval.load_checkpoint(path) -> Checkpoint(G, G_ema, D, arch, config, meta, format, ...)
    ganeval.load_generator(path_or_bundled_name) -> Generator (G_ema when present)
    ganeval.save_checkpoint(path, G=..., G_ema=..., D=...)

`detect(path)` names the format. Each foreign format lives in its own module and registers a
(sniff, load) pair in FORMATS; nothing from a file is ever imported or executed.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..errors import CheckpointError, ConfigError
from .native import is_native, load_native, save_checkpoint
from .unpickler import restricted_load

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
    """torch.load with weights_only=True (argparse.Namespace allowed: rosinality's `args`); one-line errors."""
    ctx = contextlib.nullcontext()
    if hasattr(torch.serialization, "safe_globals"):
        ctx = torch.serialization.safe_globals([argparse.Namespace])
    try:
        with ctx:
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch.load on a corrupt file can fail in many ways; the user gets one line
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        if "Weights only load failed" in str(e) or "Unsupported global" in str(e):
            m = re.search(r"GLOBAL ([\w.]+)", str(e))
            what = f"'{m.group(1)}'" if m else f"code ({msg[:160]})"
            raise CheckpointError(f"{path}: refused: the file needs {what}, which ganeval never loads "
                                  f"(torch.load weights_only=True; no code is run)") from None
        raise CheckpointError(f"{path}: cannot read checkpoint: truncated, corrupt or not a checkpoint "
                              f"({type(e).__name__}: {msg[:160]})") from None


# torch.save's legacy (pre-1.6) format starts with a pickled magic number.
_TORCH_LEGACY_MAGIC = b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19."


def container(path: Path) -> str:
    """What kind of file this is: 'torch' (zip or legacy torch.save), 'pickle', 'empty' or 'unknown'."""
    with open(path, "rb") as f:
        head = f.read(16)
    if not head:
        return "empty"
    if head.startswith(b"PK\x03\x04") or head.startswith(_TORCH_LEGACY_MAGIC):
        return "torch"
    if head[:1] == b"\x80" and len(head) > 1 and 2 <= head[1] <= 5:
        return "pickle"
    if head[:1] in (b"(", b"c", b"]", b"}"):  # protocol 0/1 pickles
        return "pickle"
    return "unknown"


def _describe(obj) -> str:
    if isinstance(obj, dict):
        keys = ", ".join(sorted(str(k) for k in list(obj)[:8]))
        return f"a dict with keys {keys}{', ...' if len(obj) > 8 else ''}"
    return f"a {type(obj).__name__}"


def _read(path: Path):
    """-> (format, obj). The file is read once, safely, and the object handed to the loader."""
    kind = container(path)
    if kind == "empty":
        raise CheckpointError(f"{path}: empty file")
    if kind == "unknown":
        raise CheckpointError(f"{path}: unknown checkpoint format: not a torch.save file or a pickle "
                              f"(supported: {', '.join(f.name for f in FORMATS)})")
    obj = torch_load_safely(path) if kind == "torch" else restricted_load(path)
    for fmt in FORMATS:
        try:
            if fmt.sniff(path, obj):
                return fmt, obj
        except CheckpointError:
            raise
        except Exception:  # a sniffer that trips over an odd object simply does not claim it
            continue
    raise CheckpointError(f"{path}: unknown checkpoint format: {_describe(obj)} "
                          f"(supported: {', '.join(f.name for f in FORMATS)})")


def detect(path: str | os.PathLike) -> str:
    """Name the format of a checkpoint file (or bundled model name)."""
    return _read(resolve_path(path))[0].name


def load_checkpoint(path: str | os.PathLike, device="cpu") -> Checkpoint:
    path = resolve_path(path)
    fmt, obj = _read(path)
    try:
        ckpt = fmt.load(path, obj, device)
    except CheckpointError as e:
        msg = str(e)
        raise CheckpointError(msg if msg.startswith(f"{path}:") else f"{path}: {msg}") from None
    except ConfigError as e:
        raise CheckpointError(f"{path}: the {fmt.name} checkpoint's settings are not supported ({e})") from None
    except Exception as e:
        # Values that pass the format check but do not make a network (odd shapes, bad kwargs, garbage).
        msg = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
        raise CheckpointError(f"{path}: not a valid {fmt.name} checkpoint ({type(e).__name__}: {msg})") from None
    ckpt.format = fmt.name
    ckpt.path = str(path)
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


# The foreign formats register themselves (imported last: they use Checkpoint and register_format).
from . import nvlabs, rosinality, tensorflow  # noqa: E402,F401
from .convert import convert_checkpoint, save_rosinality  # noqa: E402

__all__ = ["Checkpoint", "FORMATS", "Format", "PRETRAINED_DIR", "bundled_models", "container", "convert_checkpoint",
           "detect", "load_checkpoint", "load_generator", "register_format", "resolve_path", "save_checkpoint",
           "save_rosinality", "torch_load_safely"]
