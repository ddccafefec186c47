"""Reading any supported checkpoint file, or a bundled model by name, safely.

`detect(path)` names the format: the file is read once (torch.load with weights_only=True, or a
pickle through the restricted unpickler) and each registered format (common.FORMATS) is asked
whether it claims the object; nothing from a file is ever imported or executed.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
from pathlib import Path

import torch

from ..assets import bundled_file, bundled_names
from ..errors import CheckpointError, ConfigError
from .common import FORMATS, Checkpoint
from .unpickler import restricted_load


def bundled_models() -> list[str]:
    return bundled_names(".pt")


def resolve_path(path_or_name: str | os.PathLike) -> Path:
    """A file path, or the name of a bundled model (ganeval.assets)."""
    p = Path(path_or_name)
    if p.is_file():
        return p
    if p.exists():
        raise CheckpointError(f"{p} is not a file")
    bundled = bundled_file(str(path_or_name), ".pt")
    if bundled is not None:
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


def training_data(ckpt: Checkpoint) -> str | None:
    """The dataset a checkpoint was trained on, as its file records it (ganeval's meta['data'], the path of an
    NVlabs snapshot's training_set_kwargs), or None when it does not say."""
    data = ckpt.meta.get("data") or ckpt.meta.get("training_set_path")
    return str(data) if data else None


def load_generator(path: str | os.PathLike, device="cpu"):
    """Load the generator to evaluate (G_ema if the file has one), in eval mode, on `device`."""
    if isinstance(path, torch.nn.Module):
        return path.to(device).eval()
    ckpt = load_checkpoint(path, device=device)
    G = ckpt.generator
    if G is None:
        raise CheckpointError(f"{path}: holds no generator")
    G.checkpoint_path = str(ckpt.path)
    G.training_data = training_data(ckpt)
    return G.to(device).eval()
