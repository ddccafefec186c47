"""Sample chunks: the unit of work, of distribution over processes and of resumable state.

A metric's samples come in blocks of 16 whose random numbers depend only on (seed, block)
(sampling.py). Consecutive blocks are grouped into chunks whose size depends only on the sample
count (`chunk_layout`), so neither the batch size nor the number of processes changes what a
chunk holds. `run_chunks` computes the chunks, round robin over the processes of a torchrun job
(`ganeval.dist.map_ordered`), and hands every process every chunk's result in chunk order: what the
metric then sums, sorts or keeps is exactly what one process would have, bit for bit.

With a state directory each finished chunk is written atomically as ``chunk-000123.npz`` next to
``manifest.json``, which holds the run's settings (every option that changes a number in the
table, the generator's content hash, the ganeval version), their hash, and the sha256 of every
finished chunk's arrays (recorded by the main process, which sees every chunk). Running the same
command again loads the finished chunks whose arrays still match their checksum and computes the
rest: a truncated, corrupted, foreign or altered chunk is recomputed, never mixed in. A run with
other settings is refused (ConfigError). Chunks rather than blocks are stored so a 200k-sample run
makes about 200 files, not 12,500.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import zipfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import torch

from .. import dist
from .._version import __version__
from ..errors import ConfigError, GanevalError
from ..utils import atomic_write
from . import sampling as streams
from .common import progress_bar

MAX_CHUNK_BLOCKS = 64   # 1,024 samples: a lost chunk costs little when a job is pre-empted
TARGET_CHUNKS = 64      # smaller runs still split into ~64 chunks, so many processes have work
STATE_FORMAT = 1
MANIFEST = "manifest.json"

Block = tuple[int, int, int]  # (block index, first sample, stop)

# Test hooks: called as hook(metric, chunk_index) after a chunk is computed (and stored), on the process
# that computed it. Raising from one simulates a job killed after that chunk.
CHUNK_HOOKS: list[Callable[[str, int], None]] = []


def chunk_blocks(num_samples: int) -> int:
    """Blocks per chunk: about num_blocks / 64, between 1 and 64 (a function of the sample count only)."""
    num_blocks = math.ceil(num_samples / streams.BLOCK_SIZE)
    return min(MAX_CHUNK_BLOCKS, max(1, math.ceil(num_blocks / TARGET_CHUNKS)))


class ChunkLayout(Sequence):
    """The blocks of samples 0..num_samples-1 grouped into chunks, each made when it is asked for (a long run
    holds no list of millions of blocks)."""

    def __init__(self, num_samples: int):
        self.num_samples = int(num_samples)
        self.per_chunk = chunk_blocks(self.num_samples)
        self.num_blocks = math.ceil(self.num_samples / streams.BLOCK_SIZE)

    def __len__(self) -> int:
        return math.ceil(self.num_blocks / self.per_chunk)

    def __getitem__(self, c: int) -> list[Block]:
        c = c + len(self) if c < 0 else c
        if not 0 <= c < len(self):
            raise IndexError(c)
        n, size = self.num_samples, streams.BLOCK_SIZE
        return [(b, b * size, min((b + 1) * size, n))
                for b in range(c * self.per_chunk, min((c + 1) * self.per_chunk, self.num_blocks))]


def chunk_layout(num_samples: int) -> ChunkLayout:
    """The blocks of samples 0..num_samples-1 grouped into chunks."""
    return ChunkLayout(num_samples)


# Sample counts beyond this are no plan (10 billion images): refused before any work.
MAX_SAMPLES = 10 ** 10


def check_plan(num_samples: int, bytes_per_sample: int, what: str) -> None:
    """One ConfigError line when `num_samples` cannot run here: beyond MAX_SAMPLES, or keeping more bytes per
    sample in memory than half this machine has (a metric that streams passes 0 and is bounded by chunks)."""
    if not 1 <= num_samples <= MAX_SAMPLES:
        raise ConfigError(f"{what}: {num_samples:,} samples; the count must be in 1..{MAX_SAMPLES:,}")
    need = num_samples * bytes_per_sample
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") if hasattr(os, "sysconf") else 0
    if total and need > total // 2:
        raise ConfigError(f"{what}: {num_samples:,} samples keep {need / 2 ** 30:,.1f} GiB in memory, more than half "
                          f"of this machine's {total / 2 ** 30:,.0f} GiB; lower --samples")


def chunk_size(chunk: list[Block]) -> int:
    return sum(stop - start for _, start, stop in chunk)


# ---------------------------------------------------------------------------------------------------------
# Fingerprints of what a run depends on.

# Const-noise buffers are redrawn by the metrics (PPL) or unused (random noise): not part of the content.
_SKIPPED_BUFFERS = ("noise_const",)


def content_hash(module) -> str:
    """sha256 over a module's parameters and buffers (names, dtypes, shapes, bytes), device-independent."""
    h = hashlib.sha256()
    state = module.state_dict() if hasattr(module, "state_dict") else {}
    for name in sorted(state):
        if name.endswith(_SKIPPED_BUFFERS):
            continue
        t = state[name]
        if not torch.is_tensor(t):
            h.update(f"{name}={t!r};".encode())
            continue
        t = t.detach().cpu().contiguous()
        h.update(f"{name}:{t.dtype}:{tuple(t.shape)};".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    for attr in ("arch", "img_resolution", "z_dim", "w_dim", "mapping_depth", "attr_names", "resolution"):
        if hasattr(module, attr):
            h.update(f"{attr}={getattr(module, attr)!r};".encode())
    return h.hexdigest()


def array_hash(*arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        if a is None:
            h.update(b"none;")
            continue
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype}:{a.shape};".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def payload_hash(payload: dict) -> str:
    """sha256 over a chunk's arrays: names, dtypes, shapes and bytes."""
    h = hashlib.sha256()
    for k in sorted(payload):
        a = np.ascontiguousarray(payload[k])
        h.update(f"{k}:{a.dtype}:{a.shape};".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _jsonable(settings: dict) -> dict:
    return json.loads(json.dumps(settings, sort_keys=True, default=str))


def settings_hash(settings: dict) -> str:
    return hashlib.sha256(json.dumps(_jsonable(settings), sort_keys=True).encode()).hexdigest()


def _short(v) -> str:
    s = str(v)
    return s[:12] + "…" if len(s) > 16 and all(c in "0123456789abcdef" for c in s) else s


def _differences(old: dict, new: dict) -> str:
    keys = [k for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
    parts = [f"{k} {_short(old.get(k, '(unset)'))} -> {_short(new.get(k, '(unset)'))}" for k in keys[:4]]
    if len(keys) > 4:
        parts.append(f"and {len(keys) - 4} more")
    return ", ".join(parts) or "settings hash differs"


# ---------------------------------------------------------------------------------------------------------
# The state directory.

class StateDir:
    """manifest.json + chunk-NNNNNN.npz files of one metric run (see the module docstring)."""

    def __init__(self, path: Path, key: str, num_chunks: int, done: dict[int, str]):
        # done: chunk index -> the sha256 the manifest recorded for its arrays (files present on disk).
        self.path, self.key, self.num_chunks, self.done = path, key, num_chunks, done

    @staticmethod
    def chunk_name(c: int) -> str:
        return f"chunk-{c:06d}.npz"

    @classmethod
    def open(cls, path, metric: str, settings: dict, num_chunks: int) -> StateDir:
        """Create or validate the directory (on the main process) and list its finished chunks (every process)."""
        path = Path(path)
        settings = _jsonable(dict(settings, metric=metric))
        key = settings_hash(settings)
        verdict = None
        if dist.is_main():
            try:
                verdict = ("ok", sorted(cls._prepare(path, metric, settings, key, num_chunks).items()))
            except GanevalError as e:
                verdict = ("error", e)
            except OSError as e:
                verdict = ("error", ConfigError(f"cannot use state directory {path}: {e.strerror or e}"))
        verdict = dist.broadcast_object(verdict)
        if verdict[0] == "error":
            raise verdict[1]
        return cls(path, key, num_chunks, dict(verdict[1]))

    @classmethod
    def _prepare(cls, path: Path, metric: str, settings: dict, key: str, num_chunks: int) -> dict[int, str]:
        manifest = path / MANIFEST
        recorded: dict[int, str] = {}
        if path.exists() and not path.is_dir():
            raise ConfigError(f"state directory {path} is a file")
        if manifest.is_file():
            try:
                old = json.loads(manifest.read_text())
                old_key, old_settings = old["settings_hash"], old["settings"]
                recorded = {int(c): str(h) for c, h in (old.get("chunks") or {}).items()}
            except (OSError, ValueError, KeyError, TypeError, AttributeError):
                raise ConfigError(f"{manifest} is not a ganeval state manifest; use another --state directory") \
                    from None
            if old_settings.get("metric") != metric:
                raise ConfigError(f"state directory {path} holds a {old_settings.get('metric')} run, not {metric}; "
                                  f"use another --state directory")
            if old_key != key:
                raise ConfigError(f"state directory {path} holds another run ({_differences(old_settings, settings)}); "
                                  f"use another --state directory or delete this one")
        else:
            if path.is_dir() and any(path.iterdir()):
                raise ConfigError(f"state directory {path} is not empty and holds no {MANIFEST}; "
                                  f"give an empty or new directory")
            cls._write_manifest(path, dict(format=STATE_FORMAT, metric=metric, settings_hash=key, settings=settings,
                                           num_chunks=num_chunks, ganeval_version=__version__, chunks={}))
        for f in path.glob(".*.tmp"):
            f.unlink(missing_ok=True)  # left by a process killed while writing a chunk or the manifest; never read
        done = {}
        for f in path.glob("chunk-*.npz"):
            try:
                c = int(f.stem.split("-")[1])
            except (IndexError, ValueError):
                continue
            if 0 <= c < num_chunks and c in recorded:   # a file without a recorded checksum is redone
                done[c] = recorded[c]
        return done

    @staticmethod
    def _write_manifest(path: Path, body: dict) -> None:
        with atomic_write(path / MANIFEST, suffix=".json") as tmp:
            tmp.write_text(json.dumps(body, indent=1, sort_keys=True))

    def record(self, finished: dict[int, str]) -> None:
        """Add chunks' checksums to the manifest (main process only; rewritten atomically)."""
        manifest = self.path / MANIFEST
        try:
            body = json.loads(manifest.read_text())
            body["chunks"] = {**(body.get("chunks") or {}), **{str(c): h for c, h in finished.items()}}
            self._write_manifest(self.path, body)
        except OSError as e:
            raise ConfigError(f"cannot update {manifest}: {e.strerror or e}") from None
        self.done.update(finished)

    def load(self, c: int, num: int) -> dict | None:
        """Chunk c's arrays, or None when the file is missing, unreadable, from elsewhere or altered since its
        checksum was recorded (then it is redone)."""
        try:
            with np.load(self.path / self.chunk_name(c), allow_pickle=False) as data:
                meta = json.loads(str(data["__meta__"]))
                if meta.get("settings_hash") != self.key or meta.get("chunk") != c or meta.get("num") != num:
                    return None
                payload = {k: data[k] for k in data.files if k != "__meta__"}
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            return None
        return payload if payload_hash(payload) == self.done.get(c) else None

    def save(self, c: int, num: int, payload: dict) -> None:
        """Write chunk c atomically (temporary file, then rename): a kill never leaves half a chunk."""
        meta = json.dumps(dict(settings_hash=self.key, chunk=c, num=num))
        try:
            with atomic_write(self.path / self.chunk_name(c), suffix=".npz") as tmp, open(tmp, "wb") as f:
                np.savez(f, __meta__=np.array(meta), **payload)
        except OSError as e:
            raise ConfigError(f"cannot write {self.path / self.chunk_name(c)}: {e.strerror or e}") from None


# ---------------------------------------------------------------------------------------------------------
# The runner.

def run_chunks(metric: str, num_samples: int, compute: Callable[[list[Block], Callable[[int], None]], dict], *,
               settings: dict | None = None, modules: dict | None = None, state_dir=None,
               progress: bool | None = None, desc: str | None = None, unit: str = "img",
               bytes_per_sample: int = 0) -> Iterator[tuple[list[Block], dict]]:
    """Yield (chunk, compute(chunk, tick)) for every chunk of `num_samples`, in order, on every process.

    `compute` returns a dict of numpy arrays (the chunk's distances, latents, logits or features) and
    calls tick(n) as samples finish (progress bar). With `state_dir`, finished chunks are stored and
    reused; `settings` (JSON-able protocol options) and `modules` (name -> nn.Module, content-hashed)
    identify the run; the sample count, block and chunk sizes and the ganeval version are added here.
    `bytes_per_sample`: what the caller keeps of every sample after its chunk (checked against the memory).
    """
    check_plan(num_samples, bytes_per_sample, desc or metric)
    layout = chunk_layout(num_samples)
    store = None
    if state_dir is not None:
        full = dict(settings or {}, num_samples=int(num_samples), block_size=streams.BLOCK_SIZE,
                    chunk_blocks=chunk_blocks(num_samples), ganeval_version=__version__)
        for name, module in (modules or {}).items():
            full[name] = content_hash(module)
        store = StateDir.open(state_dir, metric, full, len(layout))

    with progress_bar(num_samples, desc or metric, progress, unit) as bar:
        def tick(n: int) -> None:
            bar.update(n)

        def work(c: int) -> dict:
            num = chunk_size(layout[c])
            if store is not None and c in store.done:
                payload = store.load(c, num)
                if payload is not None:
                    return payload
            payload = {k: np.ascontiguousarray(v) for k, v in compute(layout[c], tick).items()}
            if store is not None:
                store.save(c, num, payload)
                if dist.is_main():   # at once, so a run killed after this chunk keeps it
                    store.record({c: payload_hash(payload)})
            for hook in CHUNK_HOOKS:
                hook(metric, c)
            return payload

        finished = 0
        for c, payload in dist.map_ordered(work, range(len(layout))):
            # The bar counts this process's samples as they finish and catches up on the others' per round.
            finished += chunk_size(layout[c])
            if finished > bar.n:
                bar.update(finished - bar.n)
            if store is not None and dist.is_main():
                digest = payload_hash(payload)
                if store.done.get(c) != digest:   # computed by another process (loaded chunks match their record)
                    store.record({c: digest})
            yield layout[c], payload


def sub_state(state_dir, *parts) -> str | None:
    """state_dir/part/... (None stays None): one directory per preset, psi or checkpoint."""
    if state_dir is None:
        return None
    return os.fspath(Path(state_dir).joinpath(*[str(p) for p in parts]))
