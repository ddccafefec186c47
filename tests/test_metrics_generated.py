"""One generation pass for the metrics that read features of the same generated images: each image is generated
once, every feature net runs on it once, and every number is the one its preset gives alone (generated.py)."""

import numpy as np
import pytest
import torch

from ganeval.features import registry
from ganeval.metrics import evaluate, fid, kid, run_preset, runner, truncation_sweep
from ganeval.metrics.generated import share_generation

pytestmark = pytest.mark.usefixtures("one_thread")
NUMBERS = ["value", "ci_low", "ci_high"]


class Counter:
    """Counts synthesis calls and images of a generator and of every copy the metrics make (hooks are copied)."""

    def __init__(self, G):
        self.calls, self.images = 0, 0
        G.synthesis.register_forward_hook(self)

    def __deepcopy__(self, memo):
        return self    # the metrics' private copies of G count here too

    def __call__(self, module, args, out):
        self.calls += 1
        self.images += out.shape[0]


@pytest.fixture
def nets(test_fd, tiny_features):
    """Two feature nets: test-fd and test-fd2 (another random conv)."""

    class Other(tiny_features):
        def __init__(self):
            super().__init__()
            with torch.no_grad():
                self.conv.weight.mul_(-0.5)

    registry.register_feature_net("test-fd2", lambda device: Other().to(device), short="test2")
    yield test_fd, "test-fd2"
    registry.unregister("test-fd2")


def assert_same_numbers(a, b):
    np.testing.assert_array_equal(a[NUMBERS].to_numpy(float), b[NUMBERS].to_numpy(float))


def test_grouped_presets_generate_each_image_once_and_give_the_numbers_they_give_alone(metric_G, toy_dataset, nets):
    G, ref = metric_G(), toy_dataset(n=40)
    kw = dict(reference=ref, num_samples=40, feature_net=nets[0], bootstrap=3, seed=7, cache=False)
    alone = [run_preset(p, G, **kw) for p in ("fid50k_full", "kid50k")]
    count = Counter(G)
    grouped = evaluate(G, "fid50k_full,kid50k", **kw)
    assert count.images == 40 and count.calls == 3          # 40 samples = blocks of 16, 16, 8: generated once
    for i, df in enumerate(alone):
        assert_same_numbers(grouped.iloc[[i]].reset_index(drop=True), df)
    count.images = 0
    evaluate(G, "fid50k_full", **kw)
    assert count.images == 40                                # a lone preset: its own pass, as before


def test_two_feature_nets_share_the_pass(metric_G, toy_dataset, nets):
    G, ref = metric_G(), toy_dataset(n=24)
    kw = dict(num_samples=24, bootstrap=4, seed=3, cache=False, batch_size=8)
    alone = [fid(G, ref, feature_net=n, **kw) for n in nets] + [kid(G, ref, feature_net=nets[1], num_real=None, **kw)]
    count = Counter(G)
    with share_generation(G, {24: [nets[0], nets[1], nets[1]]}, seed=3, batch_size=8):
        together = [fid(G, ref, feature_net=n, **kw) for n in nets] + [kid(G, ref, feature_net=nets[1],
                                                                             num_real=None, **kw)]
        assert count.images == 24
        # Another seed, psi, batch size or sample count is not the planned pass: it runs alone.
        fid(G, ref, feature_net=nets[0], **{**kw, "seed": 4})
        assert count.images == 48
        fid(G, ref, feature_net=nets[0], **{**kw, "num_samples": 16})
        assert count.images == 64
    for a, b in zip(alone, together):
        assert_same_numbers(a, b)


def test_grouped_run_resumes_from_its_state(metric_G, toy_dataset, nets, tmp_path):
    G, ref = metric_G(), toy_dataset(n=48)
    kw = dict(reference=ref, num_samples=48, feature_net=nets[0], bootstrap=0, seed=1, cache=False,
              state_dir=tmp_path / "s")
    full = evaluate(G, "fid50k_full,kid50k", **{**kw, "state_dir": None})

    class Killed(Exception):
        pass

    def kill(metric, chunk):
        if metric == "generated-features-shared" and chunk == 1:
            raise Killed

    runner.CHUNK_HOOKS.append(kill)
    try:
        with pytest.raises(Killed):
            evaluate(G, "fid50k_full,kid50k", **kw)
    finally:
        runner.CHUNK_HOOKS.remove(kill)
    count = Counter(G)
    resumed = evaluate(G, "fid50k_full,kid50k", **kw)
    assert count.images == 48 - 2 * 16                       # chunks 0 and 1 (a block each) were kept
    assert_same_numbers(resumed, full)
    count.images = 0
    assert_same_numbers(evaluate(G, "fid50k_full,kid50k", **kw), full)
    assert count.images == 0                                 # everything from the state folder


def test_truncation_sweep_shares_per_psi(metric_G, toy_dataset, nets):
    G, ref = metric_G(), toy_dataset(n=16)
    count = Counter(G)
    df = truncation_sweep(G, [0.5, 1.0], metrics="fid50k_full,kid50k", num_samples=16, reference=ref,
                          feature_net=nets[0], bootstrap=0, cache=False)
    assert count.images == 2 * 16 and list(df["psi"]) == [0.5, 0.5, 1.0, 1.0]
