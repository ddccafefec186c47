"""ganeval.dist and multi-process training: two gloo processes = one process with the same minibatch.

The conditions for equality (documented in ganeval/train/loop.py): the same total minibatch and the
same per-process microbatch batch_gpu (one process then runs two accumulation rounds); latents,
noise, style-mixing draws, path-length noise and the data of microbatch j are seeded by
(seed, step, phase, j), so they do not depend on which process computes j; minibatch-stddev groups
and R1/path-length batches live inside a microbatch; gradients, W's running mean and the
path-length mean are averaged over the whole minibatch. Only the float summation order differs.
"""

import json
from pathlib import Path

import pytest
import torch

from ganeval import dist, load_checkpoint
from ganeval.train import GrowthSchedule, SampleStream, train
from ganeval.train.data import StepBatches

# The runs of this module (tiny_options: conftest.py): a StyleGAN2, 12 steps of 8 images.
SCHEDULE = dict(batch=8, kimg=0.048, r1_interval=2, pl_interval=2, ema_kimg=0.02, snap=0, tick_kimg=0.016)


def test_single_process_helpers_are_identities():
    assert (dist.rank(), dist.world_size(), dist.is_main(), dist.is_initialized()) == (0, 1, True, False)
    t = torch.arange(4.0)
    assert dist.all_reduce_mean(t) is t and t.tolist() == [0, 1, 2, 3]
    assert dist.all_gather(t) is t and dist.all_gather_object({"a": 1}) == [{"a": 1}]
    assert dist.shard(list(range(5))) == [0, 1, 2, 3, 4] and dist.broadcast_object(3) == 3
    assert dist.device("cpu") == torch.device("cpu")
    dist.barrier()


def test_data_order_does_not_depend_on_the_number_of_processes():
    sched = lambda world: GrowthSchedule(16, False, batch=8, lr=0.002, batch_gpu=2, world_size=world)  # noqa: E731
    stream = SampleStream(10, seed=3)
    assert sorted(stream.indices(0, 10)) == list(range(10)) and stream.indices(10, 20) != stream.indices(0, 10)

    def microbatches(world):
        """Step -> {global microbatch j: indices}, gathered from every rank's StepBatches."""
        steps = {}
        for rank in range(world):
            for step, idx in enumerate(StepBatches(stream, sched(world), 8, 40, rank, world)):
                for r in range(len(idx) // 2):
                    steps.setdefault(step, {})[r * world + rank] = idx[2 * r: 2 * r + 2]
        return steps

    one, two, four = microbatches(1), microbatches(2), microbatches(4)
    assert len(one) == 4 and one == two == four
    assert one[0][0] == stream.indices(8, 10) and one[3][3] == stream.indices(38, 40)


def _worker(tmp: str, opts) -> None:
    torch.set_num_threads(1)
    dist.init("cpu")
    rank, world = dist.rank(), dist.world_size()
    t = torch.full([3], float(rank + 1))
    res = {
        "rank": rank, "world": world, "main": dist.is_main(),
        "mean": dist.all_reduce_mean(t.clone()).tolist(),
        "sum": dist.all_reduce_sum(t.clone()).tolist(),
        "gather": dist.all_gather(torch.arange(rank + 1.0)).tolist(),   # ragged: 1 and 2 items
        "objects": dist.all_gather_object({"r": rank}),
        "bcast": dist.broadcast_object(f"from {rank}"),
        "shard": dist.shard(list(range(7))),
    }
    p = torch.nn.Linear(2, 1)
    p.weight.grad = torch.full_like(p.weight, float(rank))
    p.bias.grad = torch.tensor([float("nan")])
    dist.all_reduce_grads(p.parameters())
    res["grad"] = p.weight.grad.flatten().tolist() + p.bias.grad.tolist()
    run_dir = train(opts)
    res["run_dir"] = str(run_dir)
    Path(tmp, f"rank{rank}.json").write_text(json.dumps(res))


def test_two_gloo_processes_match_one_process(tmp_path, tiny_options):
    # The options are resolved here (they do not depend on the process) and pickled for both workers.
    opts = tiny_options(tmp_path / "two", schedule=SCHEDULE, batch_gpu=4)
    dist.spawn(_worker, nprocs=2, args=(str(tmp_path), opts))
    r0, r1 = (json.loads((tmp_path / f"rank{i}.json").read_text()) for i in range(2))
    assert (r0["rank"], r1["rank"], r0["world"], r0["main"], r1["main"]) == (0, 1, 2, True, False)
    assert r0["mean"] == r1["mean"] == [1.5] * 3 and r0["sum"] == [3.0] * 3
    assert r0["gather"] == r1["gather"] == [0.0, 0.0, 1.0]
    assert r1["objects"] == [{"r": 0}, {"r": 1}] and r1["bcast"] == "from 0"
    assert (r0["shard"], r1["shard"]) == ([0, 2, 4, 6], [1, 3, 5])
    assert r0["grad"] == r1["grad"] == [0.5, 0.5, 0.0]       # averaged, non-finite zeroed
    assert r0["run_dir"] == r1["run_dir"]                      # one run directory, made by rank 0
    two = load_checkpoint(Path(r0["run_dir"]) / "network-snapshot-000000.048.pt")
    assert len(list((tmp_path / "two").iterdir())) == 1

    # One process, the same total minibatch of 8 in two rounds of batch_gpu = 4.
    one_dir = train(tiny_options(tmp_path / "one", schedule=SCHEDULE, batch_gpu=4))
    one = load_checkpoint(one_dir / "network-snapshot-000000.048.pt")
    max_diff = 0.0
    for net in ("G", "G_ema", "D"):
        a, b = getattr(one, net).state_dict(), getattr(two, net).state_dict()
        for k in a:
            assert torch.allclose(a[k], b[k], rtol=1e-4, atol=1e-5), f"{net}.{k}"
            max_diff = max(max_diff, (a[k] - b[k]).abs().max().item())
    assert torch.allclose(one.training_state["loss"]["pl_mean"], two.training_state["loss"]["pl_mean"], rtol=1e-5)

    # A different microbatch (minibatch-stddev groups of a batch of 8) is a different computation.
    other_dir = train(tiny_options(tmp_path / "other", schedule=SCHEDULE, batch_gpu=8))
    other = load_checkpoint(other_dir / "network-snapshot-000000.048.pt")
    other_diff = max((one.G.state_dict()[k] - other.G.state_dict()[k]).abs().max().item() for k in one.G.state_dict())
    assert other_diff > 100 * max(max_diff, 1e-7)


@pytest.mark.slow
def test_torchrun_cli_matches_one_process(tmp_path, tiny_dataset):
    """The same `ganeval train` command under `torchrun --nproc_per_node 2` (gloo) and in one process."""
    import os
    import shutil
    import subprocess
    import sys

    from PIL import Image

    folder = tmp_path / "imgs"
    folder.mkdir()
    for i, img in enumerate(tiny_dataset(n=16).images):
        Image.fromarray(img.permute(1, 2, 0).numpy()).save(folder / f"{i:03d}.png")
    exe = shutil.which("ganeval") or str(Path(sys.executable).parent / "ganeval")
    args = ["train", "--arch", "stylegan2", "--data", str(folder), "--kimg", "0.032", "--batch", "8",
            "--batch-gpu", "4", "--z-dim", "16", "--w-dim", "16", "--mapping-depth", "2", "--channel-base", "128",
            "--channel-max", "16",
            "--r1-interval", "2", "--pl-interval", "2", "--workers", "0", "--snap", "0", "--device", "cpu", "--quiet"]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--no-python", exe, *args,
                    "--out", str(tmp_path / "two")], check=True, env=env, timeout=600)
    subprocess.run([exe, *args, "--out", str(tmp_path / "one")], check=True, env=env, timeout=600)
    name = "00000-imgs-stylegan2-16/network-snapshot-000000.032.pt"
    one, two = load_checkpoint(tmp_path / "one" / name), load_checkpoint(tmp_path / "two" / name)
    for net in ("G", "G_ema", "D"):
        a, b = getattr(one, net).state_dict(), getattr(two, net).state_dict()
        assert all(torch.allclose(a[k], b[k], rtol=1e-4, atol=1e-5) for k in a), net
