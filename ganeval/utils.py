"""Small helpers shared across ganeval: atomic writes, range parsing, devices, hashing."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import torch

from .errors import ConfigError


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path next to `path`; rename it over `path` only if the block succeeds.

    Nothing half-written is ever left under the final name: a crash or an exception removes the
    temporary file instead. A `path` that is a symlink, a directory, a FIFO or a device is refused (the
    rename would replace it with a regular file).
    """
    path = Path(path)
    check_output_path(path)
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


@contextlib.contextmanager
def staged_dir(out: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary folder next to `out`; when the block succeeds, its files move into `out` (renames on
    one file system, so a full disk cannot stop them halfway), else it is removed. A folder of outputs is then
    complete or absent: never half a dataset or half a report."""
    out = check_output_path(out, directory=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        yield tmp
        if not out.exists():
            os.replace(tmp, out)
        else:
            for f in sorted(p for p in tmp.rglob("*") if not p.is_dir()):
                dest = out / f.relative_to(tmp)
                dest.parent.mkdir(parents=True, exist_ok=True)
                os.replace(f, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def remove_stale_temporaries(folder: str | os.PathLike, older_than_s: float = 3600) -> None:
    """Remove atomic_write's temporary files (.NAME.XXXX.tmp) that a killed process left in `folder`; younger
    ones may belong to a process writing right now and stay."""
    now = time.time()
    for f in Path(folder).glob(".*.tmp"):
        with contextlib.suppress(OSError):
            if f.is_file() and now - f.stat().st_mtime > older_than_s:
                f.unlink()


def check_output_path(path: str | os.PathLike, directory: bool = False) -> Path:
    """Refuse, in one ConfigError line and before any work, an output that cannot or must not be written:
    a symlink, FIFO or device (or an existing file where a folder is wanted, and the reverse), a parent that
    is a file, a folder without write permission. Returns the path."""
    path = Path(path)
    if path.is_symlink():
        raise ConfigError(f"will not write '{path}': it is a symbolic link")
    if path.exists():
        if directory and not path.is_dir():
            raise ConfigError(f"cannot write the folder '{path}': a file of that name exists")
        if not directory and not path.is_file():
            what = "a folder" if path.is_dir() else "not a regular file (a FIFO or device)"
            raise ConfigError(f"will not write '{path}': it is {what}")
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise ConfigError(f"cannot write '{path}': '{parent}' is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise ConfigError(f"cannot write '{path}': permission denied")
    return path


def parse_range(spec: str | int | list, lo: int | None = None, hi: int | None = None,
                max_count: int | None = None, what: str = "range") -> list[int]:
    """Parse '0-15', '1,4,6-8' or an int into a list of ints (inclusive ranges).

    Every value must lie in [lo, hi] and there may be at most `max_count` of them; both are checked on
    the parsed spans, before a list is built (so '0-10000000000' fails at once instead of filling memory).
    """
    if isinstance(spec, int):
        spans = [(spec, spec)]
    elif isinstance(spec, (list, tuple)):
        spans = [(int(s), int(s)) for s in spec]
    else:
        spans = []
        for part in str(spec).split(","):
            part = part.strip()
            if not part:
                continue
            try:
                if "-" in part[1:]:
                    a, b = part.split("-", 1) if not part.startswith("-") else part[1:].split("-", 1)
                    a = int(a) if not part.startswith("-") else -int(a)
                    b = int(b)
                    if b < a:
                        raise ValueError
                    spans.append((a, b))
                else:
                    spans.append((int(part), int(part)))
            except ValueError:
                raise ConfigError(f"cannot parse {what} '{spec}': expected e.g. '0-15' or '1,4,6-8'") from None
    if not spans:
        raise ConfigError(f"empty {what} '{spec}'")
    for a, b in spans:
        if (lo is not None and a < lo) or (hi is not None and b > hi):
            raise ConfigError(f"{what} '{spec}': values must lie in {lo}..{hi}")
    count = sum(b - a + 1 for a, b in spans)
    if max_count is not None and count > max_count:
        raise ConfigError(f"{what} '{spec}' names {count:,} values; at most {max_count:,} at a time")
    return [v for a, b in spans for v in range(a, b + 1)]


MAX_SEED = 2 ** 32 - 1   # seeds of `ganeval generate` as in NVlabs' generate.py (numpy RandomState's range)


def parse_seeds(spec: str | int | list, max_count: int = 4096) -> list[int]:
    """Seeds for image grids: parse_range with 0 <= seed <= 2^32 - 1 and at most `max_count` images."""
    return parse_range(spec, 0, MAX_SEED, max_count, what="seeds")


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
