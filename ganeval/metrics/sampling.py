"""Seeded sample streams whose i-th sample depends only on (seed, stream, i).

Every random quantity of a metric (latents, interpolation positions, noise, bootstrap weights) is
drawn per fixed-size block of ``BLOCK_SIZE`` consecutive samples, from a generator seeded by a hash of
(seed, stream name, block index). So

* results do not depend on the runtime batch size: a batch is cut from, or assembled out of, whole
  blocks and re-slices the same numbers;
* blocks are independent units of work: runner.py groups them into chunks, shares the chunks out
  over the processes of a torchrun job, stores them for resumed runs and hands every process all
  results in block order. No metric knows about ranks.

Two block-level protocols follow from the block size (both documented in the metric rows):

* PPL shares one noise draw "per minibatch" (NVIDIA): here, per block of 16 pairs, the
  per-GPU minibatch of the StyleGAN (2019) code;
* metrics with per-sample random noise (FID, LS) run the synthesis network once per block, with
  the global torch RNG forked and seeded from (seed, stream, block), because the generator draws
  its 'random' noise from that RNG.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator

import torch

BLOCK_SIZE = 16


def block_seed(seed: int, stream: str, block: int) -> int:
    """A 63-bit seed for one block of one stream."""
    digest = hashlib.sha256(f"ganeval/{int(seed)}/{stream}/{int(block)}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def block_generator(seed: int, stream: str, block: int) -> torch.Generator:
    """A CPU torch.Generator for one block of one stream (draw on the CPU, then move: device-independent)."""
    g = torch.Generator(device="cpu")
    g.manual_seed(block_seed(seed, stream, block))
    return g


def blocks(num_samples: int, block_size: int = BLOCK_SIZE) -> list[tuple[int, int, int]]:
    """(block index, start, stop) for the samples 0..num_samples-1; the last block may be partial."""
    return [(b, s, min(s + block_size, num_samples)) for b, s in enumerate(range(0, num_samples, block_size))]


def _draw(seed: int, stream: str, start: int, stop: int, shape: tuple, kind: str) -> torch.Tensor:
    out = []
    for b in range(start // BLOCK_SIZE, (max(stop, start + 1) - 1) // BLOCK_SIZE + 1):
        g = block_generator(seed, stream, b)
        full = (torch.randn if kind == "normal" else torch.rand)((BLOCK_SIZE, *shape), generator=g)
        lo, hi = max(start, b * BLOCK_SIZE) - b * BLOCK_SIZE, min(stop, (b + 1) * BLOCK_SIZE) - b * BLOCK_SIZE
        out.append(full[lo:hi])
    return torch.cat(out)[: max(stop - start, 0)]


def normal(seed: int, stream: str, start: int, stop: int, *shape: int) -> torch.Tensor:
    """Samples start..stop-1 of an N(0, 1) stream, each of `shape`, on the CPU."""
    return _draw(seed, stream, start, stop, shape, "normal")


def uniform(seed: int, stream: str, start: int, stop: int, *shape: int) -> torch.Tensor:
    """Samples start..stop-1 of a U[0, 1) stream, each of `shape`, on the CPU."""
    return _draw(seed, stream, start, stop, shape, "uniform")


@contextlib.contextmanager
def seeded_global_rng(seed: int, stream: str, block: int, device: torch.device | str = "cpu") -> Iterator[None]:
    """Fork the global torch RNG (CPU and `device`) and seed it for one block; restore it afterwards.

    Used around ``G.synthesis(..., noise_mode='random')``: the per-sample noise of a block then depends
    only on (seed, stream, block). CPU and CUDA RNGs differ, so the noise differs between devices.
    """
    device = torch.device(device)
    devices = [device] if device.type == "cuda" else []
    s = block_seed(seed, stream, block)
    with torch.random.fork_rng(devices=devices):
        # Seed only the RNGs this block uses, so nothing outside the fork is touched.
        torch.random.default_generator.manual_seed(s)
        if device.type == "cuda":
            with torch.cuda.device(device):
                torch.cuda.manual_seed(s)
        yield
