"""VGG16 fc7 features for precision/recall (ganeval.features.vgg16): torchvision's state-dict layout, the TF1
bilinear resize to 224, ImageNet normalisation on 0..255 pixels, fc7 after its ReLU, and the weights registry.

Stand-in files are random VGGs with configuration D's structure (small widths) under torchvision's names; the
features are compared with a forward pass written out here (Simonyan & Zisserman 2015, table 1, column D)."""

import dataclasses
import functools

import pytest
import torch
import torch.nn.functional as F
import torchvision

from ganeval.errors import WeightsNotFoundError
from ganeval.features import vgg16
from ganeval.features import weights as W
from ganeval.features.registry import REGISTRY, entry, extract, load_feature_net

pytestmark = pytest.mark.usefixtures("one_thread")

SMALL = (4, 4, "M", 8, 8, "M", 8, 8, 8, "M", 8, 8, 8, "M", 8, 8, 8, "M")   # configuration D, narrow
FC = 16
FILE = "vgg16-397923af.pth"


def torchvision_state_dict(cfg=SMALL, fc=FC, seed=0) -> dict:
    """A random VGG under torchvision's names: features.<i> (a conv every 2 indices, a pool 1), classifier.0/3/6."""
    g = torch.Generator().manual_seed(seed)
    sd, i, cin = {}, 0, 3
    for c in cfg:
        if c == "M":
            i += 1
            continue
        sd[f"features.{i}.weight"] = torch.randn(c, cin, 3, 3, generator=g) * (2 / (9 * cin)) ** 0.5
        sd[f"features.{i}.bias"] = torch.randn(c, generator=g) * 0.1
        i, cin = i + 2, c
    for j, (fin, fout) in {0: (cin * 49, fc), 3: (fc, fc), 6: (fc, 1000)}.items():
        sd[f"classifier.{j}.weight"] = torch.randn(fout, fin, generator=g) * (2 / fin) ** 0.5
        sd[f"classifier.{j}.bias"] = torch.randn(fout, generator=g) * 0.1
    return sd


def reference_fc7(sd: dict, x: torch.Tensor, cfg=SMALL) -> torch.Tensor:
    """3 x 3 convolutions (padding 1) with ReLU, 2 x 2 max pools, 7 x 7 average pool, fc6 + ReLU, fc7 + ReLU."""
    i = 0
    for c in cfg:
        if c == "M":
            x, i = F.max_pool2d(x, 2), i + 1
        else:
            x, i = F.relu(F.conv2d(x, sd[f"features.{i}.weight"], sd[f"features.{i}.bias"], padding=1)), i + 2
    x = F.adaptive_avg_pool2d(x, 7).flatten(1)
    x = F.relu(F.linear(x, sd["classifier.0.weight"], sd["classifier.0.bias"]))
    return F.relu(F.linear(x, sd["classifier.3.weight"], sd["classifier.3.bias"]))


@pytest.fixture
def weights_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("GANEVAL_WEIGHTS", str(tmp_path))
    vgg16._CACHE.clear()
    yield tmp_path
    vgg16._CACHE.clear()


@pytest.fixture
def small_file(weights_dir):
    sd = torchvision_state_dict()
    torch.save(sd, weights_dir / FILE)
    return sd


def _images(n=3, h=40, w=40, seed=0):
    return (torch.rand(n, 3, h, w, generator=torch.Generator().manual_seed(seed)) * 255).to(torch.uint8)


def test_torchvision_file_loads_and_gives_the_reference_features(small_file):
    net = vgg16.load_vgg16_fc7("cpu", cfg=SMALL, fc=FC)
    x = _images(2, 64, 64)
    f = net(x)
    assert f.shape == (2, FC) and net.dim == FC and f.dtype == torch.float32 and (f >= 0).all() and (f > 0).any()
    torch.testing.assert_close(f, reference_fc7(small_file, net.preprocess(x)), atol=1e-5, rtol=1e-5)


def test_preprocessing_is_tf1_bilinear_and_imagenet_normalisation_on_0_255(small_file):
    """TF1's resize_bilinear (align_corners=False) samples source pixel = output pixel x in / out, no half-pixel
    offset and no antialiasing: 448 -> 224 keeps every other pixel, 112 -> 224 interleaves pixels and midpoints."""
    net = vgg16.load_vgg16_fc7("cpu", cfg=SMALL, fc=FC)
    mean = 255 * torch.tensor(vgg16.IMAGENET_MEAN).view(1, 3, 1, 1)
    std = 255 * torch.tensor(vgg16.IMAGENET_STD).view(1, 3, 1, 1)
    unnorm = lambda t: net.preprocess(t) * std + mean  # noqa: E731
    x = _images(1, 224, 224)
    torch.testing.assert_close(net.preprocess(x), (x.float() - mean) / std)        # 224 px: no resize
    big = _images(1, 448, 448, seed=1)
    torch.testing.assert_close(unnorm(big), big[..., ::2, ::2].float(), atol=1e-3, rtol=0)
    small = _images(1, 112, 112, seed=2).float()
    up = unnorm(small.to(torch.uint8))
    torch.testing.assert_close(up[..., ::2, ::2], small, atol=1e-3, rtol=0)
    torch.testing.assert_close(up[..., ::2, 1:-1:2], (small[..., :-1] + small[..., 1:]) / 2, atol=1e-3, rtol=0)
    torch.testing.assert_close(up[..., ::2, -1], small[..., -1], atol=1e-3, rtol=0)   # clamped at the border


def test_registered_net_batch_invariance_and_grayscale(small_file, monkeypatch):
    e = entry(vgg16.NAME, "features")
    assert e.short == "vgg16"
    monkeypatch.setitem(REGISTRY, vgg16.NAME, dataclasses.replace(e, factory=functools.partial(e.factory, cfg=SMALL,
                                                                                                fc=FC)))
    net = load_feature_net(vgg16.NAME, "cpu")
    x = _images(3, 50, 50, seed=3)
    x[0] = x[0, :1]
    f = extract(net, x)
    for i in range(3):
        torch.testing.assert_close(extract(net, x[i:i + 1]), f[i:i + 1], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(extract(net, x[:1, :1]), f[:1], atol=1e-5, rtol=1e-5)


def test_the_full_vgg16_is_torchvisions_layout():
    """Configuration D at full width on the meta device: torchvision's own vgg16() state dict loads, 4096-d out."""
    with torch.device("meta"):
        tv = torchvision.models.vgg16()
        net = vgg16.VGG16FC7()
    W.load_into(net, tv.state_dict(), FILE, vgg16.WEIGHTS, assign=True)
    assert net(torch.empty(1, 3, 224, 224, device="meta")).shape == (1, vgg16.FEATURE_DIM)


def test_missing_file_is_one_line_naming_it_and_the_fetch(weights_dir):
    with pytest.raises(WeightsNotFoundError) as e:
        vgg16.load_vgg16_fc7("cpu")
    msg = str(e.value)
    assert "\n" not in msg and FILE in msg and "ganeval weights fetch vgg16" in msg


def test_a_trunk_only_file_or_another_size_is_one_line(weights_dir):
    path = weights_dir / FILE
    torch.save({k: v for k, v in torchvision_state_dict().items() if k.startswith("features.")}, path)
    with pytest.raises(W.WeightsFileError, match="no 'classifier.3.weight'") as e:
        vgg16.load_vgg16_fc7("cpu", cfg=SMALL, fc=FC)
    assert "\n" not in str(e.value) and str(path) in str(e.value)
    torch.save(torchvision_state_dict(fc=8), path)
    with pytest.raises(W.WeightsFileError, match="shape"):
        vgg16.load_vgg16_fc7("cpu", cfg=SMALL, fc=FC)


def test_the_torch_hub_hash_prefix_is_checked(small_file, monkeypatch):
    """vgg16-397923af.pth must hash to 397923af...: a stand-in under that name is refused unless allowed."""
    monkeypatch.delenv(W.ALLOW_UNVERIFIED)
    with pytest.raises(W.WeightsHashError) as e:
        vgg16.load_vgg16_fc7("cpu", cfg=SMALL, fc=FC)
    assert "\n" not in str(e.value) and "ganeval weights fetch vgg16" in str(e.value)
