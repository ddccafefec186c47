"""Small helpers shared across ganeval: atomic writes, range parsing, devices, hashing."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import torch

from .errors import ConfigError


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path next to `path`; rename it over `path` only if the block succeeds.

    Nothing half-written is ever left under the final name: a crash or an exception removes the
    temporary file instead.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix + ".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    # mkstemp makes the file 0600; give the final file the permissions a plain open() would.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def parse_range(spec: str | int | list) -> list[int]:
    """Parse '0-15', '1,4,6-8' or an int into a list of ints (inclusive ranges)."""
    if isinstance(spec, int):
        return [spec]
    if isinstance(spec, (list, tuple)):
        return [int(s) for s in spec]
    out: list[int] = []
    for part in str(spec).split(","):
        part = part.strip()
        if not part:
            continue
        try:
            if "-" in part[1:]:
                lo, hi = part.split("-", 1) if not part.startswith("-") else part[1:].split("-", 1)
                lo = int(lo) if not part.startswith("-") else -int(lo)
                hi = int(hi)
                if hi < lo:
                    raise ValueError
                out.extend(range(lo, hi + 1))
            else:
                out.append(int(part))
        except ValueError:
            raise ConfigError(f"cannot parse range '{spec}': expected e.g. '0-15' or '1,4,6-8'") from None
    if not out:
        raise ConfigError(f"empty range '{spec}'")
    return out


def parse_float_range(spec: str) -> list[float]:
    """Parse 'a:b:step' (inclusive of b within tolerance) or 'a,b,c' into floats."""
    spec = str(spec).strip()
    try:
        if ":" in spec:
            lo, hi, step = (float(s) for s in spec.split(":"))
            if step <= 0 or hi < lo:
                raise ValueError
            n = int(round((hi - lo) / step))
            return [round(lo + i * step, 10) for i in range(n + 1)]
        return [float(s) for s in spec.split(",") if s.strip()]
    except ValueError:
        raise ConfigError(f"cannot parse '{spec}': expected 'lo:hi:step' or 'a,b,c'") from None


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """None means CUDA when present, else CPU."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ConfigError(f"unknown device '{device}'") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device '{device}' requested but CUDA is not available")
    return dev


def at_least_float32(x: torch.Tensor) -> torch.Tensor:
    """x as float32, or unchanged when it is float64: half-precision values are computed on in float32, and a
    float64 model stays float64 (the derivative checks of tests/test_metrics_ppl_jvp.py run in float64)."""
    return x if x.dtype == torch.float64 else x.float()


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def cache_dir() -> Path:
    """User cache for ganeval (reference statistics, metric results): $GANEVAL_CACHE or ~/.cache/ganeval."""
    root = os.environ.get("GANEVAL_CACHE")
    return Path(root) if root else Path.home() / ".cache" / "ganeval"
