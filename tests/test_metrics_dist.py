"""Metrics sharded over processes: one process = two gloo processes = another batch size, bit for bit.

The sample stream is cut into chunks of 16-sample blocks that depend only on the sample count; the
processes of a job compute chunks round robin and every process receives every chunk's result in
chunk order (ganeval.dist.map_ordered), so PPL distances, LS latents + logits and FID feature sums
come out exactly as in one process. Two gloo processes on the CPU stand in for torchrun on GPUs.
LS is run with both SVM solvers: liblinear's fits are shared out per (space, attribute), the batched
solver's per space.
"""

import importlib
import pickle
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import ganeval
from ganeval import dist
from ganeval.errors import ConfigError
from ganeval.features import registry
from ganeval.metrics import evaluate, fid, kid, runner
from ganeval.metrics.ppl import ppl
from ganeval.metrics.separability import separability

N = 200  # 13 blocks of 16 -> 13 chunks of one block: 7 rounds over 2 processes, the last one uneven



@pytest.fixture
def toys(toy_dataset, tiny_classifiers, tiny_features):
    """The toy reals, classifiers and feature net (classes of conftest.py), for this process and the workers."""
    return types.SimpleNamespace(dataset=toy_dataset, classifiers=tiny_classifiers, features=tiny_features)


def register_test_fd(toys):
    registry.register_feature_net("test-fd", lambda device: toys.features().to(device), short="test")


def all_metrics(G, batch_size: int, toys, ppl_state=None) -> dict[str, pd.DataFrame]:
    """Every metric once on G (CPU); the reference of FID/KID is computed, not cached, so it is sharded too."""
    ref = toys.dataset(n=40)
    common = dict(seed=3, batch_size=batch_size, device="cpu", progress=False)
    return {
        "ppl_zfull": ppl(G, space="z", sampling="full", crop=True, num_samples=N, distance="mse", bootstrap=100,
                         state_dir=ppl_state, **common),
        "ppl_wend": ppl(G, space="w", sampling="end", num_samples=N, distance="mse", bootstrap=100, **common),
        "ls": separability(G, toys.classifiers(resolution=8), attrs="all", num_samples=N, n_jobs=1, bootstrap=50,
                           **common),
        # The batched SVM solver: one solve per space, the spaces shared out over the processes.
        "ls_batched": separability(G, toys.classifiers(resolution=8), attrs="all", num_samples=N, svm="batched",
                                   bootstrap=50, **common),
        "fid": fid(G, ref, num_samples=N, feature_net="test-fd", bootstrap=4, cache=False, **common),
        "kid": kid(G, ref, num_samples=N, feature_net="test-fd", num_subsets=5, max_subset_size=32,
                          bootstrap=3, cache=False, **common),
        # FID and KID in one generation pass (metrics/generated.py), its chunks shared out like every other run.
        "grouped": evaluate(G, "fid50k_full,kid50k", reference=ref, num_samples=N, feature_net="test-fd", bootstrap=3,
                            cache=False, **common),
    }


NUMBERS = ["value", "ci_low", "ci_high"]


def assert_identical(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k][NUMBERS].to_numpy(float), b[k][NUMBERS].to_numpy(float), err_msg=k)
        if k.startswith("ls"):
            for col in ("attr", "space", "svm_accuracy", "label_balance", "num_kept", "svm_iter", "svm_solver"):
                assert a[k][col].equals(b[k][col]), col


class Stop(Exception):
    pass


def _stop_after(k):
    seen = []

    def hook(metric, chunk):
        seen.append(chunk)
        if len(seen) >= k:
            raise Stop(f"stopped after {k} chunks")
    return hook


def _worker(tmp: str, ckpt: str, ppl_state: str, toys) -> None:
    """One of two gloo processes: all metrics at batch 8, resuming a PPL run that one process started."""
    torch.set_num_threads(1)
    dist.init("cpu")
    register_test_fd(toys)
    G = ganeval.load_generator(ckpt)
    computed = []
    runner.CHUNK_HOOKS.append(lambda metric, chunk: computed.append(chunk))
    resumed = ppl(G, space="z", sampling="full", crop=True, num_samples=N, distance="mse", bootstrap=100, seed=3,
                  batch_size=8, device="cpu", progress=False, state_dir=ppl_state)
    runner.CHUNK_HOOKS.clear()
    # All metrics; ppl_zfull now loads every chunk from the state directory.
    res = dict(metrics=all_metrics(G, batch_size=8, toys=toys, ppl_state=ppl_state), resumed=resumed,
               computed_ppl=computed)
    # Helpers: ordered results on every rank, and a failure on one rank raised on all of them.
    res["ordered"] = [(i, r) for i, r in dist.map_ordered(lambda i: (i, dist.rank()), range(5))]
    res["sharded"] = dist.map_sharded(lambda items: [x * 10 for x in items], list(range(7)))

    def fail_on_3(i):
        if i == 3:
            raise ConfigError("item 3 is bad")
        return i
    try:
        list(dist.map_ordered(fail_on_3, range(6)))
        res["error"] = None
    except ConfigError as e:
        res["error"] = str(e)
    with open(Path(tmp) / f"rank{dist.rank()}.pkl", "wb") as f:
        pickle.dump(res, f)


def test_single_process_helpers_are_identities():
    assert dist.shard_blocks(["a", "b", "c"]) == [(0, "a"), (1, "b"), (2, "c")]
    assert dist.gather_blocks([(2, "c"), (0, "a")]) == ["a", "c"]
    assert dist.map_sharded(lambda xs: [x + 1 for x in xs], [1, 2, 3]) == [2, 3, 4]
    assert list(dist.map_ordered(lambda x: x * x, [3, 1])) == [(3, 9), (1, 1)]
    with pytest.raises(ConfigError):  # a single process raises where it fails
        list(dist.map_ordered(lambda x: (_ for _ in ()).throw(ConfigError("bad")), [1]))
    assert dist.local_world_size() == 1


def test_chunk_layout_depends_only_on_the_sample_count():
    assert runner.chunk_blocks(200) == 1 and len(runner.chunk_layout(200)) == 13
    assert runner.chunk_blocks(50_000) == 49 and len(runner.chunk_layout(50_000)) == 64
    assert runner.chunk_blocks(200_000) == 64 and len(runner.chunk_layout(200_000)) == 196
    layout = runner.chunk_layout(50_000)
    assert [b for chunk in layout for b in chunk] == ganeval.metrics.sampling.blocks(50_000)
    assert sum(runner.chunk_size(c) for c in layout) == 50_000


def test_one_process_two_processes_and_batch_sizes_agree(tmp_path, tiny_G, toys):
    # Non-zero noise strengths, so per-block noise handling shows in the numbers.
    G = tiny_G(width=16, noise=0.5).eval()
    ckpt = tmp_path / "tiny.pt"
    ganeval.save_checkpoint(ckpt, G=G)
    G = ganeval.load_generator(ckpt)
    register_test_fd(toys)
    try:
        one_8 = all_metrics(G, batch_size=8, toys=toys)
        one_32 = all_metrics(G, batch_size=32, toys=toys)
        # A PPL run of one process, killed after 5 of 13 chunks; the two processes below resume it.
        runner.CHUNK_HOOKS.append(_stop_after(5))
        try:
            with pytest.raises(Stop):
                ppl(G, space="z", sampling="full", crop=True, num_samples=N, distance="mse", bootstrap=100, seed=3,
                    batch_size=8, device="cpu", progress=False, state_dir=tmp_path / "ppl_state")
        finally:
            runner.CHUNK_HOOKS.pop()
    finally:
        registry.unregister("test-fd")
    assert_identical(one_8, one_32)

    # `toys` is pickled for the workers: its classes by reference, as conftest.<name>; the workers import
    # tests/conftest.py through the sys.path they inherit from this process, as they import this module.
    dist.spawn(_worker, nprocs=2, args=(str(tmp_path), str(ckpt), str(tmp_path / "ppl_state"), toys))
    r0, r1 = (pickle.loads((tmp_path / f"rank{r}.pkl").read_bytes()) for r in (0, 1))
    assert_identical(one_8, r0["metrics"])
    assert_identical(one_8, r1["metrics"])  # every process ends with the same table
    # The resumed PPL run computed only the 8 missing chunks, shared by the two processes.
    assert sorted(r0["computed_ppl"] + r1["computed_ppl"]) == list(range(5, 13))
    assert r0["computed_ppl"] == [6, 8, 10, 12] and r1["computed_ppl"] == [5, 7, 9, 11]  # chunk c on rank c % 2
    assert_identical(dict(ppl_zfull=one_8["ppl_zfull"]), dict(ppl_zfull=r0["resumed"]))
    assert r0["ordered"] == r1["ordered"] == [(i, (i, i % 2)) for i in range(5)]
    assert r0["sharded"] == r1["sharded"] == [x * 10 for x in range(7)]
    assert r0["error"] == r1["error"] == "item 3 is bad"


def test_parallel_svm_fits_are_deterministic(monkeypatch):
    """Fits in worker processes give the serial loop's predictions (threads would not: liblinear's global RNG)."""
    sep = importlib.import_module("ganeval.metrics.separability")

    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 24)).astype(np.float32)
    tasks = []
    for i in range(4):
        rows = rng.choice(3000, 1500, replace=False)
        y = (X[rows] @ rng.normal(size=24) + rng.normal(size=1500) > 0).astype(int)  # noisy: many iterations
        tasks.append((X, rows, y, 100 + i))
    serial = sep._fit_all(tasks, n_jobs=1)
    monkeypatch.setattr(sep, "SERIAL_WORK", 0)
    parallel = sep._fit_all(tasks, n_jobs=2)
    for s, p in zip(serial, parallel):
        assert np.array_equal(s["pred"], p["pred"]) and s["n_iter"] == p["n_iter"]


@pytest.mark.slow
def test_cli_under_torchrun_matches_one_process(tmp_path, tiny_G):
    """`torchrun --nproc_per_node 2 --no-python ganeval ppl ...`: the same table, printed once, written by rank 0."""
    ckpt = tmp_path / "tiny.pt"
    ganeval.save_checkpoint(ckpt, G=tiny_G(width=16, noise=0.5).eval())
    bindir = Path(sys.executable).parent
    args = ["ppl", "--ckpt", str(ckpt), "--device", "cpu", "--no-crop", "--samples", "100", "--distance", "mse",
            "--quiet"]
    env = dict(__import__("os").environ, OMP_NUM_THREADS="1")
    one = subprocess.run([str(bindir / "ganeval"), *args, "--out", str(tmp_path / "one.csv")], env=env,
                         capture_output=True, text=True, timeout=300)
    assert one.returncode == 0, one.stderr
    two = subprocess.run([str(bindir / "torchrun"), "--nproc_per_node", "2", "--master_port", str(dist.free_port()),
                          "--no-python", str(bindir / "ganeval"), *args, "--out", str(tmp_path / "two.csv"),
                          "--state", str(tmp_path / "state")], env=env, capture_output=True, text=True, timeout=300)
    assert two.returncode == 0, two.stderr
    assert two.stdout.count("ppl2_wend_mse") == 1  # one table, from rank 0
    a, b = pd.read_csv(tmp_path / "one.csv"), pd.read_csv(tmp_path / "two.csv")
    np.testing.assert_array_equal(a[NUMBERS].to_numpy(), b[NUMBERS].to_numpy())
    assert len(list((tmp_path / "state").glob("chunk-*.npz"))) == 7
