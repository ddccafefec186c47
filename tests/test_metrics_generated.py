"""One generation pass for the metrics that read features of the same generated images: each image is generated
once, every feature net runs on it once, and every number is the one its preset gives alone (generated.py)."""

import numpy as np
import pandas as pd
import pytest
import torch
from test_features_vgg16 import torchvision_state_dict

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


@pytest.fixture
def standin_nets(tmp_path, monkeypatch):
    """The presets' own feature nets with random stand-in weights: Inception (FID, KID, IS logits) of the real
    architecture; NVIDIA's VGG16 fc7 narrowed (the full one costs 15 GFLOP an image) under its registered name."""
    from ganeval.features import inception, vgg16

    inception.write_standin_weights(tmp_path / "weights-inception-2015-12-05-6726825d.pth")
    monkeypatch.setenv("GANEVAL_WEIGHTS", str(tmp_path))
    inception._CACHE.clear()
    small = (4, "M", 8, "M", 8, "M", 8, "M", 8, "M")
    state = torchvision_state_dict(small, 16)
    torch.save(state, tmp_path / "vgg16-397923af.pth")
    original = registry.entry(vgg16.NAME, "features")
    registry.register(vgg16.NAME, "features", lambda device: vgg16.load_vgg16_fc7(device, cfg=small, fc=16),
                      short=original.short)
    yield
    registry.register(original.name, original.kind, original.factory, original.short)
    inception._CACHE.clear()
    vgg16._CACHE.clear()


def test_fid_kid_pr_and_is_generate_each_image_once(metric_G, toy_dataset, standin_nets):
    """The four presets of the papers' tables in one evaluate: Inception pool features (FID, KID), Inception logits
    (IS) and VGG16 features (precision/recall) all from one generation pass; each value as its solo run, bit for
    bit."""
    G, ref = metric_G(), toy_dataset(n=8)
    presets = ["fid50k_full", "kid50k_full", "pr50k3_full", "is50k"]
    kw = dict(num_samples=16, bootstrap=0, seed=5)
    count = Counter(G)
    grouped = evaluate(G, presets, reference=ref, cache=False, **kw)
    assert count.images == 16 and count.calls == 1
    assert list(grouped["metric"]) == ["fid50k_full", "kid50k_full", "pr50k3_full_precision", "pr50k3_full_recall",
                                       "is50k"]
    solo = [run_preset(p, G, reference=ref, cache=False, **kw) if p != "is50k" else run_preset(p, G, **kw)
            for p in presets]
    assert count.images == 16 + 4 * 16                       # alone, each preset generates its own images
    assert_same_numbers(grouped, pd.concat(solo, ignore_index=True))
    assert np.isfinite(grouped["value"]).all() and (grouped["value"][grouped.metric == "is50k"] >= 1).all()


def test_a_generator_against_its_own_images(metric_G, toy_dataset, test_fd):
    """Reals that are the generator's own images (same seeds): every generated feature sits on a real one, so
    precision = recall = coverage = 1 and FID = 0; density counts the real balls around each point (>= 1/k)."""
    from ganeval.metrics import generated
    from ganeval.metrics.density_coverage import density_coverage_metric
    from ganeval.metrics.precision_recall import precision_recall_metric

    G = metric_G()
    images = generated._compute(G, {"pixels": lambda img: img.reshape(len(img), -1)}, 9, 64, "cpu", 1.0, None)(
        [(0, 0, 16), (1, 16, 32)], lambda n: None)["pixels"]
    own = toy_dataset(n=32)
    own.x = torch.from_numpy(images).to(torch.uint8).reshape(32, 3, 16, 16)
    own.identity = "own images"
    kw = dict(num_samples=32, feature_net=test_fd, seed=9, bootstrap=20, cache=False)
    pr = precision_recall_metric(G, own, num_real=None, **kw)
    assert list(pr["value"]) == [1.0, 1.0] and list(pr["metric"]) == ["pr3_test_precision", "pr3_test_recall"]
    dc = density_coverage_metric(G, own, num_real=None, **kw)
    assert dc["value"].iloc[1] == 1.0 and dc["value"].iloc[0] >= 1 / 5
    assert (dc["ci_low"] <= dc["value"]).all() and (dc["value"] <= dc["ci_high"]).all()
    same = fid(G, own, **{k: v for k, v in kw.items() if k != "bootstrap"})
    assert same["value"].iloc[0] == pytest.approx(0, abs=1e-6)
    other = precision_recall_metric(G, toy_dataset(n=32), num_real=None, **kw)
    assert other["value"].max() < 1
