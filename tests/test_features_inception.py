"""Inception-v3 unbiased logits for the Inception Score (ganeval.features.inception, 'inception-v3-compat-logits'):
the same network and file as the FID features, pool3 times the 2048 x 1008 softmax weights without the bias."""

import pytest
import torch

from ganeval.errors import WeightsNotFoundError
from ganeval.features import inception
from ganeval.features.registry import entry, extract, load_feature_net

pytestmark = pytest.mark.usefixtures("one_thread")
FILE = "weights-inception-2015-12-05-6726825d.pth"


@pytest.fixture(scope="module")
def standin(tmp_path_factory):
    path = tmp_path_factory.mktemp("inception") / FILE
    inception.write_standin_weights(path)
    return path


@pytest.fixture
def weights_dir(standin, monkeypatch):
    monkeypatch.setenv("GANEVAL_WEIGHTS", str(standin.parent))
    inception._CACHE.clear()
    yield standin.parent
    inception._CACHE.clear()


def _images(n=3, res=32, seed=0):
    return (torch.rand(n, 3, res, res, generator=torch.Generator().manual_seed(seed)) * 255).to(torch.uint8)


def test_logits_are_pool_features_times_the_softmax_weights_without_the_bias(weights_dir, standin):
    state = torch.load(standin, weights_only=True)
    assert state["fc.weight"].shape == (1008, 2048) and state["fc.bias"].abs().max() > 0.01   # a bias to leave out
    logits_net = inception.load_inception_logits("cpu")
    pool_net = inception.load_inception("cpu")
    x = _images(2)
    logits, pool = logits_net(x), pool_net(x)
    assert logits.shape == (2, inception.NUM_LOGITS) == (2, logits_net.dim) and logits.dtype == torch.float32
    torch.testing.assert_close(logits, pool @ state["fc.weight"].T, atol=1e-4, rtol=1e-4)
    assert (logits - (pool @ state["fc.weight"].T + state["fc.bias"])).abs().max() > 0.01
    # Both outputs stay cached side by side: sweeps alternate between FID and IS without rebuilding.
    assert inception.load_inception("cpu") is pool_net and inception.load_inception_logits("cpu") is logits_net


def test_registered_logits_net_batch_invariance_and_grayscale(weights_dir):
    e = entry(inception.NAME_LOGITS, "features")
    assert e.short == "logits" and entry(inception.NAME, "features").short is None
    net = load_feature_net(inception.NAME_LOGITS, "cpu")
    assert net.name == inception.NAME_LOGITS
    x = _images(3, seed=1)
    x[1] = x[1, :1]
    f = extract(net, x)
    for i in range(3):
        torch.testing.assert_close(extract(net, x[i:i + 1]), f[i:i + 1], atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(extract(net, x[1:2, :1]), f[1:2], atol=1e-4, rtol=1e-4)


def test_missing_file_is_one_line_naming_it_and_the_fetch(tmp_path, monkeypatch):
    monkeypatch.setenv("GANEVAL_WEIGHTS", str(tmp_path))
    with pytest.raises(WeightsNotFoundError) as e:
        inception.load_inception_logits("cpu")
    msg = str(e.value)
    assert "\n" not in msg and FILE in msg and "ganeval weights fetch inception-v3-compat" in msg
