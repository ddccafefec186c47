"""Resumable metric runs (state_dir / --state): a killed run resumed gives the identical number.

A run is "killed" by a chunk hook that raises after k chunks were computed and stored; a real
SIGKILL of the command line is the slow test at the end. Other settings in the same state directory
are refused with one ConfigError line. The FID memory check (2k vs 20k images) is slow too.
"""

import inspect
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import ganeval
from ganeval.cli import main
from ganeval.errors import ConfigError
from ganeval.metrics import fid, runner
from ganeval.metrics.ppl import ppl
from ganeval.metrics.separability import separability

N = 120  # 8 blocks -> 8 chunks of one block


class Killed(Exception):
    pass


class Hook:
    """Records the chunks computed (per metric); raises Killed after `kill_after` of them."""

    def __init__(self, kill_after=None):
        self.kill_after, self.computed = kill_after, []

    def __call__(self, metric, chunk):
        self.computed.append((metric, chunk))
        if self.kill_after is not None and len(self.computed) >= self.kill_after:
            raise Killed

    def __enter__(self):
        runner.CHUNK_HOOKS.append(self)
        return self

    def __exit__(self, *exc):
        runner.CHUNK_HOOKS.remove(self)
        return False


@pytest.fixture
def run_metric(toy_dataset, tiny_classifiers):
    """Factory: run_metric(kind, G, state_dir=None, **kw) -> the table of one N-sample run of ppl, ls or fid
    (fid needs the test_fd fixture)."""
    def run(kind, G, state_dir=None, **kw):
        common = dict(seed=1, batch_size=8, device="cpu", progress=False, state_dir=state_dir)
        if kind == "ppl":
            return ppl(G, space="w", sampling="full", num_samples=N, distance="mse", bootstrap=50, **common, **kw)
        if kind == "ls":
            return separability(G, tiny_classifiers(resolution=8), num_samples=N, n_jobs=1, bootstrap=20, **common,
                                **kw)
        return fid(G, toy_dataset(n=40), num_samples=N, feature_net="test-fd", bootstrap=3, cache=False,
                          **common, **kw)
    return run


@pytest.mark.parametrize("kind", ["ppl", "ls", "fid"])
def test_killed_run_resumes_to_the_identical_number(kind, tmp_path, request, run_metric, tiny_G):
    if kind == "fid":
        request.getfixturevalue("test_fd")
    G = tiny_G(width=16, noise=0.5).eval()
    full = run_metric(kind, G)
    state = tmp_path / "state"
    with Hook(kill_after=3) as hook, pytest.raises(Killed):
        run_metric(kind, G, state)
    # FID computes (and stores) its reference first: 3 chunks of 40 reals, then the generated images.
    gen_dir = state / "generated" if kind == "fid" else state
    kill_after_gen = 0 if kind == "fid" else 3
    assert len(list(gen_dir.glob("chunk-*.npz"))) == kill_after_gen
    if kind == "fid":
        assert [m for m, _ in hook.computed] == ["reference"] * 3
        with Hook(kill_after=4), pytest.raises(Killed):  # killed again, now among the generated images
            run_metric(kind, G, state)
        assert len(list(gen_dir.glob("chunk-*.npz"))) == 4
    manifest = json.loads((gen_dir / "manifest.json").read_text())
    assert manifest["settings"]["seed"] == 1 and manifest["settings"]["num_samples"] == N
    assert not [p for p in gen_dir.iterdir() if p.name.startswith(".")]  # no temporary files left behind

    with Hook() as hook:
        resumed = run_metric(kind, G, state)
    done_before = 4 if kind == "fid" else 3
    assert sorted(c for _, c in hook.computed) == list(range(done_before, 8))  # only the missing chunks
    np.testing.assert_array_equal(resumed[["value", "ci_low", "ci_high"]].to_numpy(float),
                                  full[["value", "ci_low", "ci_high"]].to_numpy(float))
    with Hook() as hook:  # a finished state re-runs without computing anything
        again = run_metric(kind, G, state)
    assert hook.computed == [] and again["value"].equals(full["value"])


def test_other_settings_are_refused(tmp_path, run_metric, tiny_G):
    G = tiny_G(width=16, noise=0.5).eval()
    state = tmp_path / "state"
    run_metric("ppl", G, state)
    for change, expected in [(dict(seed=2), "seed 1 -> 2"), (dict(num_samples=64), "num_samples 120 -> 64"),
                             (dict(space="z"), "space w -> z")]:
        kw = dict(seed=1, num_samples=N, space="w") | change
        with pytest.raises(ConfigError) as e:
            ppl(G, sampling="full", distance="mse", bootstrap=50, batch_size=8, device="cpu", progress=False,
                state_dir=state, **kw)
        assert expected in str(e.value) and "\n" not in str(e.value) and str(state) in str(e.value)
    with pytest.raises(ConfigError, match="generator"):  # another checkpoint
        run_metric("ppl", tiny_G(seed=1, width=16, noise=0.5).eval(), state)
    with pytest.raises(ConfigError, match="holds a ppl run, not ls"):  # another metric
        run_metric("ls", G, state)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not empty"):
        run_metric("ppl", G, tmp_path / "other")
    assert (tmp_path / "other" / "notes.txt").read_text() == "mine"


def test_damaged_chunk_is_recomputed(tmp_path, run_metric, tiny_G):
    G = tiny_G(width=16, noise=0.5).eval()
    state = tmp_path / "state"
    full = run_metric("ppl", G, state)
    (state / "chunk-000002.npz").write_bytes(b"not a zip")
    five = state / "chunk-000005.npz"
    five.write_bytes(five.read_bytes()[:200])  # cut short (a disk error: a kill cannot, writes are atomic)
    with Hook() as hook:
        again = run_metric("ppl", G, state)
    assert hook.computed == [("ppl", 2), ("ppl", 5)] and again["value"][0] == full["value"][0]


@pytest.mark.parametrize("kind", ["ppl", "fid"])
def test_altered_chunk_is_recomputed(kind, tmp_path, run_metric, tiny_G, test_fd):
    """A chunk rewritten in the same format with other values (its metadata kept) does not match the checksum the
    manifest recorded: it is recomputed, and the number is the uninterrupted run's."""
    G = tiny_G(width=16, noise=0.5).eval()
    state = tmp_path / "state"
    full = run_metric(kind, G, state)
    manifest = json.loads((state / "generated" / "manifest.json" if kind == "fid" else state / "manifest.json")
                          .read_text())
    assert len(manifest["chunks"]) == len(list((state / "generated" if kind == "fid" else state).glob("chunk-*.npz")))
    chunk = (state / "generated" if kind == "fid" else state) / "chunk-000003.npz"
    with np.load(chunk) as data:
        arrays = {k: data[k] for k in data.files}
    for k in arrays:
        if k != "__meta__":
            arrays[k] = arrays[k] * 1.5 + 1   # valid-looking: same names, dtypes and shapes
    with open(chunk, "wb") as f:
        np.savez(f, **arrays)
    with Hook() as hook:
        again = run_metric(kind, G, state)
    assert hook.computed == [(("generated-features" if kind == "fid" else "ppl"), 3)]
    np.testing.assert_array_equal(again[["value", "ci_low", "ci_high"]].to_numpy(float),
                                  full[["value", "ci_low", "ci_high"]].to_numpy(float))


def test_cli_state_resume_and_refusal(tmp_path, tiny_G):
    import pandas as pd

    ckpt = tmp_path / "tiny.pt"
    ganeval.save_checkpoint(ckpt, G=tiny_G(width=16, noise=0.5).eval())

    def cli(state, *extra):
        return CliRunner().invoke(main, ["ppl", "--ckpt", str(ckpt), "--samples", "48", "--distance", "mse",
                                         "--device", "cpu", "--quiet", "--state", str(state), *extra])

    r = cli(tmp_path / "full", "--no-crop", "--out", str(tmp_path / "full.csv"))
    assert r.exit_code == 0, r.output
    with Hook(kill_after=2):
        r = cli(tmp_path / "state", "--no-crop")
    assert isinstance(r.exception, Killed)
    r = cli(tmp_path / "state", "--no-crop", "--out", str(tmp_path / "resumed.csv"))
    assert r.exit_code == 0, r.output
    assert pd.read_csv(tmp_path / "resumed.csv")["value"][0] == pd.read_csv(tmp_path / "full.csv")["value"][0]
    # Another preset (--crop: ppl_wend instead of ppl2_wend) or another seed in the same folder: one line, exit 2.
    for extra, expected in [(["--crop"], "crop False -> True"), (["--no-crop", "--seed", "5"], "seed 0 -> 5")]:
        r = cli(tmp_path / "state", *extra)
        assert r.exit_code == 2 and "holds another run" in r.output and expected in r.output, r.output
        assert r.output.strip().count("\n") == 0 and "Traceback" not in r.output


def test_evaluate_api_state_per_preset(tmp_path, tiny_G):
    G = tiny_G(width=16, noise=0.5).eval()
    a = ganeval.evaluate(G, "ppl2_wend,ppl_wfull", num_samples=32, distance="mse", device="cpu",
                         state_dir=tmp_path / "s")
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == ["ppl2_wend", "ppl_wfull"]
    with Hook() as hook:
        b = ganeval.evaluate(G, "ppl2_wend,ppl_wfull", num_samples=32, distance="mse", device="cpu",
                             state_dir=tmp_path / "s")
    assert hook.computed == [] and a["value"].equals(b["value"])


# ----------------------------------------------------------------------------------------------------- slow

@pytest.mark.slow
def test_sigkill_and_resume_from_the_command_line(tmp_path, tiny_G):
    """A real kill -9 in the middle of `ganeval ppl --state`, then the same command: the uninterrupted number."""
    ckpt = tmp_path / "tiny.pt"
    ganeval.save_checkpoint(ckpt, G=tiny_G(width=16, noise=0.5).eval())
    exe = str(Path(sys.executable).parent / "ganeval")
    args = [exe, "ppl", "--ckpt", str(ckpt), "--samples", "3000", "--distance", "mse", "--no-crop", "--device", "cpu",
            "--quiet"]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    full = subprocess.run([*args, "--out", str(tmp_path / "full.csv")], env=env, capture_output=True, text=True)
    assert full.returncode == 0, full.stderr
    state = tmp_path / "state"
    proc = subprocess.Popen([*args, "--state", str(state)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and len(list(state.glob("chunk-*.npz"))) < 10:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = len(list(state.glob("chunk-*.npz")))
    assert 10 <= done < len(runner.chunk_layout(3000))
    resumed = subprocess.run([*args, "--state", str(state), "--out", str(tmp_path / "resumed.csv")], env=env,
                             capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert not list(state.glob(".*")) and len(list(state.glob("chunk-*.npz"))) == len(runner.chunk_layout(3000))
    import pandas as pd

    a, b = pd.read_csv(tmp_path / "full.csv"), pd.read_csv(tmp_path / "resumed.csv")
    np.testing.assert_array_equal(a[["value", "ci_low", "ci_high"]].to_numpy(), b[["value", "ci_low", "ci_high"]]
                                  .to_numpy())


# Run in a fresh interpreter, which gets the ToyDataset class (conftest.py) as source text in {toy_dataset}.
_MEMORY_SCRIPT = r"""
import resource, torch
torch.set_num_threads(1)
import ganeval
from torch import nn
from ganeval.features.registry import register_feature_net
from ganeval.metrics import fid, reference_stats
from ganeval.metrics.generated import generated_features

class Wide(nn.Module):  # uint8 16x16 -> 2048 features, like Inception's pool3
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3 * 16 * 16, 2048)
    def forward(self, x):
        return torch.tanh(self.lin(x.float().flatten(1) / 127.5 - 1))

register_feature_net("wide", lambda device: Wide().to(device))
torch.manual_seed(0)
G = ganeval.build_generator("stylegan2", 16, channel_base=128, channel_max=16, z_dim=16, w_dim=16, mapping_depth=2)
{toy_dataset}
ref = reference_stats(ToyDataset(n=64), 16, "wide", cache=False)
def rss_kb():
    return int(open("/proc/self/statm").read().split()[1]) * resource.getpagesize() // 1024
peak = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # noqa: E731
base = rss_kb()
# The sample-dependent part alone (generator + feature net + streaming sums), then the whole metric
# (adds the 2048 x 2048 matrix square root, the same for any count).
fs = generated_features(G, {n}, "wide", 0, 64, torch.device("cpu"))
features_peak = peak()
del fs
df = fid(G, ref, num_samples={n}, feature_net="wide", batch_size=64, bootstrap=0, device="cpu", progress=False)
print(base, features_peak, peak(), df["value"][0])
"""


@pytest.mark.slow
def test_fid_memory_does_not_grow_with_the_sample_count(tmp_path, toy_dataset):
    """Peak RSS growth of FID over 20k images stays within 1.5x of that over 2k (2048-d features: keeping
    them would cost 160 MB at 20k; the streaming sums are 2 x 32 MB whatever the count)."""
    features, whole = {}, {}
    for n in (2_000, 20_000):
        script = _MEMORY_SCRIPT.format(toy_dataset=inspect.getsource(toy_dataset), n=n)
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                             env=dict(os.environ, OMP_NUM_THREADS="1"), timeout=900)
        assert out.returncode == 0, out.stderr
        base, features_peak, whole_peak, _ = out.stdout.split()
        features[n], whole[n] = int(features_peak) - int(base), int(whole_peak) - int(base)
    mb = {k: f"2k {v[2000] / 1024:.1f} MB, 20k {v[20000] / 1024:.1f} MB" for k, v in
          dict(features=features, whole=whole).items()}
    print(f"peak RSS growth: generated features {mb['features']}; whole fid() {mb['whole']}")
    assert features[20_000] <= 1.5 * features[2_000] and whole[20_000] <= 1.5 * whole[2_000]
