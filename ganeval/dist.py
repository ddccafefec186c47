"""Everything that knows about processes and ranks (torch.distributed), in one place.

One process per GPU, started by torchrun (or `spawn` below for CPU tests); a plain single process
needs no setup at all: every helper then degrades to the identity.

    ganeval.dist.init()                    # reads RANK / WORLD_SIZE / LOCAL_RANK from torchrun
    dev = ganeval.dist.device()            # cuda:<local rank> or cpu
    ganeval.dist.all_reduce_mean(t)        # in place, returns t
    ganeval.dist.shard(range(n))           # this rank's share: items rank, rank + world, ...

NCCL is used for CUDA devices, gloo for the CPU. Collectives must be called by every rank in the
same order; the helpers do not check that.
"""

from __future__ import annotations

import datetime
import os
import pickle
import socket
from collections.abc import Callable, Iterable, Sequence

import torch
import torch.distributed as tdist
import torch.multiprocessing as mp

_created_group = False  # whether init() created the process group (so shutdown() may destroy it)


# ----------------------------------------------------------------------------------------------------
# Set-up.

def _env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


def init(device: str | torch.device | None = None, timeout_s: float = 1800) -> torch.device:
    """Join the process group described by torchrun's environment; return this rank's device.

    Without WORLD_SIZE > 1 in the environment nothing is initialised (a single process). `device`
    'cpu' forces gloo even where CUDA exists; None means cuda:<LOCAL_RANK> when CUDA is available.
    Calling init() again is harmless.
    """
    global _created_group
    dev = _rank_device(device)
    if _env_int("WORLD_SIZE", 1) > 1 and tdist.is_available() and not tdist.is_initialized():
        if dev.type == "cuda":
            torch.cuda.set_device(dev)
        backend = "nccl" if dev.type == "cuda" else "gloo"
        tdist.init_process_group(backend=backend, init_method="env://", timeout=datetime.timedelta(seconds=timeout_s))
        _created_group = True
    return dev


def _rank_device(device: str | torch.device | None) -> torch.device:
    if device is not None and device != "auto":
        dev = torch.device(device)
        if dev.type == "cuda" and dev.index is None and world_size() > 1:
            dev = torch.device("cuda", local_rank())
        return dev
    if torch.cuda.is_available():
        return torch.device("cuda", local_rank() % max(torch.cuda.device_count(), 1))
    return torch.device("cpu")


def device(device: str | torch.device | None = None) -> torch.device:
    """This rank's device: `device` if given, else cuda:<local rank> when CUDA exists, else cpu."""
    return _rank_device(device)


def shutdown() -> None:
    """Leave the process group if init() created it."""
    global _created_group
    if _created_group and tdist.is_initialized():
        tdist.destroy_process_group()
    _created_group = False


def is_initialized() -> bool:
    return tdist.is_available() and tdist.is_initialized()


def rank() -> int:
    if is_initialized():
        return tdist.get_rank()
    return _env_int("RANK", 0) if _env_int("WORLD_SIZE", 1) > 1 else 0


def world_size() -> int:
    return tdist.get_world_size() if is_initialized() else max(_env_int("WORLD_SIZE", 1), 1)


def local_rank() -> int:
    return _env_int("LOCAL_RANK", 0) if world_size() > 1 else 0


def is_main() -> bool:
    return rank() == 0


def barrier() -> None:
    if is_initialized() and world_size() > 1:
        tdist.barrier()


# ----------------------------------------------------------------------------------------------------
# Collectives (identities in a single process).

def _active() -> bool:
    return is_initialized() and world_size() > 1


def all_reduce_sum(t: torch.Tensor) -> torch.Tensor:
    """Sum over ranks, in place; returns t."""
    if _active():
        tdist.all_reduce(t, op=tdist.ReduceOp.SUM)
    return t


def all_reduce_mean(t: torch.Tensor) -> torch.Tensor:
    """Mean over ranks, in place; returns t."""
    if _active():
        tdist.all_reduce(t, op=tdist.ReduceOp.SUM)
        t /= world_size()
    return t


def broadcast(t: torch.Tensor, src: int = 0) -> torch.Tensor:
    """Copy rank `src`'s tensor to every rank, in place; returns t."""
    if _active():
        tdist.broadcast(t, src=src)
    return t


def broadcast_object(obj, src: int = 0):
    """Rank `src`'s picklable object, on every rank."""
    if not _active():
        return obj
    box = [obj]
    tdist.broadcast_object_list(box, src=src)
    return box[0]


def broadcast_module(module: torch.nn.Module, src: int = 0) -> None:
    """Make every rank's parameters and buffers equal to rank `src`'s."""
    if not _active():
        return
    for t in list(module.parameters()) + list(module.buffers()):
        with torch.no_grad():
            tdist.broadcast(t.data, src=src)


def all_gather_object(obj) -> list:
    """[obj of rank 0, obj of rank 1, ...] on every rank."""
    if not _active():
        return [obj]
    out = [None] * world_size()
    tdist.all_gather_object(out, obj)
    return out


def all_gather(t: torch.Tensor) -> torch.Tensor:
    """Concatenate every rank's tensor along dim 0 (in rank order); first dims may differ."""
    if not _active():
        return t
    t = t.contiguous()
    sizes = torch.tensor([t.shape[0]], device=t.device, dtype=torch.int64)
    all_sizes = [torch.zeros_like(sizes) for _ in range(world_size())]
    tdist.all_gather(all_sizes, sizes)
    n_max = int(max(s.item() for s in all_sizes))
    padded = torch.zeros([n_max, *t.shape[1:]], dtype=t.dtype, device=t.device)
    padded[: t.shape[0]] = t
    parts = [torch.empty_like(padded) for _ in range(world_size())]
    tdist.all_gather(parts, padded)
    return torch.cat([p[: int(s.item())] for p, s in zip(parts, all_sizes)])


def all_reduce_grads(params: Iterable[torch.nn.Parameter], nan_to_num: bool = True) -> None:
    """Average the gradients of `params` over ranks with one flat all-reduce (manual DDP).

    Parameters without a gradient are skipped; every rank runs the same code, so the same ones are
    missing everywhere. Non-finite entries are replaced (as NVlabs does) so one bad sample cannot
    poison the weights of every rank.
    """
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return
    if _active():
        flat = torch.cat([g.flatten() for g in grads])
        all_reduce_mean(flat)
        offset = 0
        for g in grads:
            g.copy_(flat[offset: offset + g.numel()].view_as(g))
            offset += g.numel()
    if nan_to_num:
        for g in grads:
            torch.nan_to_num(g, nan=0.0, posinf=1e5, neginf=-1e5, out=g)


# ----------------------------------------------------------------------------------------------------
# Work splitting.

def shard(items: Sequence | torch.Tensor | range):
    """This rank's share of `items`: elements rank, rank + world, rank + 2·world, ..."""
    return items[rank()::world_size()]


# ----------------------------------------------------------------------------------------------------
# Local multi-process launcher (CPU tests, or torchrun-less use on one machine).

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _spawn_entry(local: int, fn: Callable, nprocs: int, port: int, args: tuple) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(local), LOCAL_RANK=str(local),
                      WORLD_SIZE=str(nprocs), LOCAL_WORLD_SIZE=str(nprocs))
    try:
        fn(*args)
    finally:
        shutdown()


def spawn(fn: Callable, nprocs: int, args: tuple = ()) -> None:
    """Run fn(*args) in `nprocs` fresh processes that see torchrun's environment (ranks 0..nprocs-1).

    `fn` must be importable (module level) and call `init()` itself. Raises if any process fails.
    """
    mp.spawn(_spawn_entry, args=(fn, nprocs, free_port(), args), nprocs=nprocs, join=True)


__all__ = [
    "all_gather", "all_gather_object", "all_reduce_grads", "all_reduce_mean", "all_reduce_sum", "barrier",
    "broadcast", "broadcast_module", "broadcast_object", "device", "free_port", "init", "is_initialized",
    "is_main", "local_rank", "rank", "shard", "shutdown", "spawn", "world_size",
]


# ----------------------------------------------------------------------------------------------------
# Ordered work over ranks (appended for the metrics: sample chunks, SVM fits). A metric hands over a
# list of work items and gets every result back, in item order, on every rank: what it then sums,
# sorts or keeps is exactly what a single process would have, so the number cannot depend on the
# number of processes. A failure on one rank is raised on every rank instead of leaving the others
# waiting in a collective.

from collections.abc import Iterator  # noqa: E402 - appended section


class _Failure:
    """An exception travelling to the other ranks (as itself if it survives pickling)."""

    def __init__(self, error: BaseException):
        try:
            pickle.loads(pickle.dumps(error))
            self.error = error
        except Exception:  # noqa: BLE001 - unpicklable exception: send its text
            self.error = RuntimeError(f"{type(error).__name__}: {error}")
        self.rank = rank()
        self.original = error  # re-raised on its own rank, with its traceback; never sent

    def __getstate__(self):
        return {"error": self.error, "rank": self.rank, "original": None}


def _gather_checked(result) -> list:
    """all_gather_object of (rank's result or _Failure); re-raises the first failure on every rank."""
    parts = all_gather_object(result)
    if isinstance(result, _Failure):
        raise result.original
    for part in parts:
        if isinstance(part, _Failure):
            raise part.error
    return parts


def _run(fn: Callable, *args):
    try:
        return fn(*args)
    except Exception as e:  # noqa: BLE001 - forwarded to every rank, then re-raised here
        if not _active():
            raise
        return _Failure(e)


def local_world_size() -> int:
    """Processes on this machine (torchrun's LOCAL_WORLD_SIZE); 1 in a single process."""
    return max(_env_int("LOCAL_WORLD_SIZE", 1), 1) if world_size() > 1 else 1


def shard_blocks(items: Sequence) -> list[tuple[int, object]]:
    """This rank's (index, item) pairs of `items`, round robin: indices rank, rank + world, ..."""
    return [(i, items[i]) for i in range(rank(), len(items), world_size())]


def gather_blocks(mine: Iterable[tuple[int, object]]) -> list:
    """Every rank's (index, result) pairs merged into one list in index order, on every rank."""
    merged = {}
    for part in _gather_checked(list(mine)):
        merged.update(part)
    return [merged[i] for i in sorted(merged)]


def map_sharded(fn: Callable[[list], list], items: Sequence) -> list:
    """fn(this rank's items) -> their results; all results in item order, on every rank.

    Each rank gets a round-robin share (`shard_blocks`) and may process it as it likes (e.g. in a
    pool of workers); fn must return one result per item, in the order given.
    """
    pairs = shard_blocks(items)
    results = _run(fn, [item for _, item in pairs])
    if isinstance(results, _Failure):
        _gather_checked(results)  # raises on every rank
    if len(results) != len(pairs):
        raise RuntimeError(f"map_sharded: {len(results)} results for {len(pairs)} items")
    return gather_blocks(zip((i for i, _ in pairs), results))


def map_ordered(fn: Callable, items: Sequence) -> Iterator[tuple[object, object]]:
    """Yield (item, fn(item)) for every item, in item order, on every rank.

    The ranks work in rounds of `world_size` items (item i on rank i % world); after each round every
    rank receives that round's results, so memory holds one round and nobody waits for more than one
    item. A single process just computes the items in order. Every rank must pass the same items.
    """
    items = list(items)
    if not _active():
        for item in items:
            yield item, fn(item)
        return
    world, me = world_size(), rank()
    for start in range(0, len(items), world):
        group = items[start:start + world]
        mine = _run(fn, group[me]) if me < len(group) else None
        results = _gather_checked(mine)
        yield from zip(group, results[:len(group)])


__all__ += ["gather_blocks", "local_world_size", "map_ordered", "map_sharded", "shard_blocks"]
