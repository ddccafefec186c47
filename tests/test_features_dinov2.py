"""DINOv2 ViT-L/14 features (ganeval.features.dinov2): Meta's state-dict layout, the hub model's positional-embedding
resampling, the two resizes of the owners, and the weights registry.

The stand-in files are random ViTs written under Meta's names (mask_token included, pos_embed for 518 px), so the
loading path and timm's key mapping really run; the features are compared with a forward pass written out here
from the official model's definition (dinov2/models/vision_transformer.py, dinov2/layers/)."""

import dataclasses
import functools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from ganeval.errors import WeightsNotFoundError
from ganeval.features import dinov2
from ganeval.features import weights as W
from ganeval.features.registry import REGISTRY, entry, extract, load_feature_net

pytestmark = pytest.mark.usefixtures("one_thread")

SMALL = dict(embed_dim=32, depth=2, num_heads=2)      # a ViT/14 with the code path of ViT-L/14, 50k parameters
GRID_518 = 37                                          # the official file's pos_embed grid: 518 px / 14


def official_state_dict(dim=32, depth=2, grid=GRID_518, seed=0, device=None) -> dict:
    """A random DINOv2 ViT/14 state dict under the names of Meta's `dinov2_vitl14_pretrain.pth`."""
    g = torch.Generator().manual_seed(seed)

    def r(*shape, std=0.2):
        if device == "meta":
            return torch.empty(*shape, device="meta")
        return torch.randn(*shape, generator=g) * std

    sd = {"cls_token": r(1, 1, dim, std=1), "pos_embed": r(1, 1 + grid * grid, dim, std=1), "mask_token": r(1, dim),
          "patch_embed.proj.weight": r(dim, 3, 14, 14, std=0.05), "patch_embed.proj.bias": r(dim),
          "norm.weight": 1 + r(dim), "norm.bias": r(dim)}
    for i in range(depth):
        p = f"blocks.{i}."
        sd.update({p + "norm1.weight": 1 + r(dim), p + "norm1.bias": r(dim),
                   p + "attn.qkv.weight": r(3 * dim, dim), p + "attn.qkv.bias": r(3 * dim),
                   p + "attn.proj.weight": r(dim, dim), p + "attn.proj.bias": r(dim), p + "ls1.gamma": 1 + r(dim),
                   p + "norm2.weight": 1 + r(dim), p + "norm2.bias": r(dim),
                   p + "mlp.fc1.weight": r(4 * dim, dim), p + "mlp.fc1.bias": r(4 * dim),
                   p + "mlp.fc2.weight": r(dim, 4 * dim), p + "mlp.fc2.bias": r(dim), p + "ls2.gamma": 1 + r(dim)})
    return sd


def reference_forward(sd: dict, x: torch.Tensor, num_heads: int) -> torch.Tensor:
    """The hub model's forward, written out: patch conv, [CLS] + tokens + interpolate_pos_encoding, pre-norm blocks with
    LayerScale, final LayerNorm (eps 1e-6), the CLS token."""
    n, dim = len(x), sd["cls_token"].shape[-1]
    tok = F.conv2d(x, sd["patch_embed.proj.weight"], sd["patch_embed.proj.bias"], stride=14)
    grid = tok.shape[-1]
    tok = torch.cat([sd["cls_token"].expand(n, -1, -1), tok.flatten(2).transpose(1, 2)], dim=1)
    m = math.isqrt(sd["pos_embed"].shape[1] - 1)
    patches = sd["pos_embed"][:, 1:].reshape(1, m, m, dim).permute(0, 3, 1, 2)
    patches = F.interpolate(patches, scale_factor=((grid + 0.1) / m,) * 2, mode="bicubic")  # the hub's call
    tok = tok + torch.cat([sd["pos_embed"][:, :1], patches.flatten(2).transpose(1, 2)], dim=1)
    ln = lambda t, p: F.layer_norm(t, (dim,), sd[p + ".weight"], sd[p + ".bias"], eps=1e-6)  # noqa: E731
    hd = dim // num_heads
    for i in range(sum(k.endswith("ls1.gamma") for k in sd)):
        p = f"blocks.{i}."
        qkv = F.linear(ln(tok, p + "norm1"), sd[p + "attn.qkv.weight"], sd[p + "attn.qkv.bias"])
        q, k, v = qkv.reshape(n, -1, 3, num_heads, hd).permute(2, 0, 3, 1, 4)
        a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hd), dim=-1) @ v
        a = F.linear(a.transpose(1, 2).reshape(n, -1, dim), sd[p + "attn.proj.weight"], sd[p + "attn.proj.bias"])
        tok = tok + sd[p + "ls1.gamma"] * a
        h = F.gelu(F.linear(ln(tok, p + "norm2"), sd[p + "mlp.fc1.weight"], sd[p + "mlp.fc1.bias"]))
        tok = tok + sd[p + "ls2.gamma"] * F.linear(h, sd[p + "mlp.fc2.weight"], sd[p + "mlp.fc2.bias"])
    return ln(tok, "norm")[:, 0]


def reference_preprocess(img: np.ndarray, resize: str) -> torch.Tensor:
    """HWC uint8 -> the network input, through PIL: 8-bit BICUBIC (dgm-eval), or float ('F' mode) BICUBIC per
    channel, which torch's antialiased bicubic equals up to float round-off (EDM2's default)."""
    if resize == "pil":
        x = np.asarray(Image.fromarray(img, "RGB").resize((224, 224), Image.Resampling.BICUBIC), np.float64)
    else:
        x = np.stack([np.asarray(Image.fromarray(img[..., c].astype(np.float32), "F")
                                 .resize((224, 224), Image.Resampling.BICUBIC)) for c in range(3)], -1)
    x = torch.from_numpy(x).permute(2, 0, 1)[None].float() / 255
    mean, std = torch.tensor(dinov2.IMAGENET_MEAN).view(1, 3, 1, 1), torch.tensor(dinov2.IMAGENET_STD).view(1, 3, 1, 1)
    return (x - mean) / std


@pytest.fixture
def weights_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("GANEVAL_WEIGHTS", str(tmp_path))
    dinov2._CACHE.clear()
    yield tmp_path
    dinov2._CACHE.clear()


@pytest.fixture
def small_file(weights_dir):
    sd = official_state_dict()
    torch.save(sd, weights_dir / "dinov2_vitl14_pretrain.pth")
    return sd


def _images(n=3, h=40, w=40, seed=0):
    return (torch.rand(n, 3, h, w, generator=torch.Generator().manual_seed(seed)) * 255).to(torch.uint8)


def _cubic(t: float, a: float = -0.75) -> float:
    """Keys' cubic convolution kernel; torch's bicubic (without antialiasing) uses a = -0.75."""
    t = abs(t)
    if t <= 1:
        return (a + 2) * t ** 3 - (a + 3) * t ** 2 + 1
    return a * t ** 3 - 5 * a * t ** 2 + 8 * a * t - 4 * a if t < 2 else 0.0


def _resample_by_hand(f: torch.Tensor, out: int, coord) -> torch.Tensor:
    """Separable cubic convolution of the square field f at the source coordinates coord(i), borders clamped."""
    m = f.shape[0]
    res = torch.zeros(out, out, dtype=torch.float64)
    for i in range(out):
        for j in range(out):
            y, x = coord(i), coord(j)
            for dy in range(-1, 3):
                for dx in range(-1, 3):
                    yy, xx = math.floor(y) + dy, math.floor(x) + dx
                    w = _cubic(y - yy) * _cubic(x - xx)
                    res[i, j] += w * float(f[min(max(yy, 0), m - 1), min(max(xx, 0), m - 1)])
    return res


def test_hub_pos_embed_samples_where_the_hub_model_does():
    """The hub resamples with scale_factor (16 + 0.1) / 37, not size 16: output patch i samples the 37-grid at
    (i + 0.5) * 37 / 16.1 - 0.5, with the bicubic kernel a = -0.75 and no antialiasing."""
    f = torch.randn(37, 37, generator=torch.Generator().manual_seed(0))
    pos = torch.cat([torch.tensor([[[7.0]]]), f.reshape(1, 37 * 37, 1)], dim=1)
    out = dinov2.hub_pos_embed(pos, 16)
    assert out.shape == (1, 1 + 16 * 16, 1) and out[0, 0, 0] == 7.0   # the CLS entry is kept
    grid = out[0, 1:, 0].reshape(16, 16).double()
    hub = _resample_by_hand(f, 16, lambda i: (i + 0.5) * 37 / 16.1 - 0.5)
    torch.testing.assert_close(grid, hub, atol=1e-4, rtol=0)
    by_size = _resample_by_hand(f, 16, lambda i: (i + 0.5) * 37 / 16 - 0.5)    # what size=16 would give
    assert (grid - by_size).abs().max() > 0.1
    assert dinov2.hub_pos_embed(out, 16) is out                                 # the right size is left alone


def test_official_file_loads_and_gives_the_reference_features(small_file):
    net = dinov2.load_dinov2("cpu", arch=SMALL)
    x = _images(2, 50, 50)
    f = net(x)
    assert f.shape == (2, 32) and f.dtype == torch.float32
    ref = reference_forward(small_file, net.preprocess(x), num_heads=2)
    torch.testing.assert_close(f, ref, atol=1e-4, rtol=1e-4)
    assert f.std() > 0.1   # the features are not degenerate
    # The hub's resampled embedding was loaded, and mask_token (unused at inference) dropped.
    torch.testing.assert_close(net.vit.pos_embed, dinov2.hub_pos_embed(small_file["pos_embed"], 16))
    assert "mask_token" not in net.vit.state_dict()


@pytest.mark.parametrize("resize", ["torch", "pil"])
def test_preprocessing_is_the_owners_resize_and_imagenet_normalisation(resize, weights_dir, small_file):
    net = dinov2.load_dinov2("cpu", resize=resize, arch=SMALL)
    img = _images(1, 30, 47, seed=3)[0].permute(1, 2, 0).numpy().copy()   # not square: both owners squash
    got = net.preprocess(torch.from_numpy(img).permute(2, 0, 1)[None])
    assert got.shape == (1, 3, 224, 224)
    atol = 0 if resize == "pil" else 1e-2 / 255 / 0.224   # torch's float bicubic = PIL's 'F' mode to ~1e-2 levels
    torch.testing.assert_close(got, reference_preprocess(img, resize), atol=atol + 1e-6, rtol=0)
    # A constant image stays constant: (v / 255 - mean) / std in each channel.
    const = torch.full((1, 3, 64, 64), 200, dtype=torch.uint8)
    expect = (200 / 255 - torch.tensor(dinov2.IMAGENET_MEAN)) / torch.tensor(dinov2.IMAGENET_STD)
    torch.testing.assert_close(net.preprocess(const), expect.view(1, 3, 1, 1).expand(1, 3, 224, 224),
                               atol=1e-5, rtol=0)


def test_the_two_resizes_differ_only_by_rounding_and_clipping(small_file):
    """EDM2's float resize and dgm-eval's 8-bit one: within a few gray levels, most pixels within one."""
    img = _images(1, 64, 64, seed=5)
    a = dinov2.load_dinov2("cpu", resize="torch", arch=SMALL).preprocess(img)
    b = dinov2.load_dinov2("cpu", resize="pil", arch=SMALL).preprocess(img)
    levels = ((a - b) * torch.tensor(dinov2.IMAGENET_STD).view(1, 3, 1, 1) * 255).abs()
    assert 0 < levels.max() < 40 and (levels <= 1).float().mean() > 0.5


@pytest.mark.parametrize("name", [dinov2.NAME, dinov2.NAME_PIL])
def test_registered_nets_batch_invariance_and_grayscale(name, small_file, monkeypatch):
    # The registered factories build ViT-L; give them the small config (the same code path).
    e = entry(name, "features")
    monkeypatch.setitem(REGISTRY, name, dataclasses.replace(e, factory=functools.partial(e.factory, arch=SMALL)))
    net = load_feature_net(name, "cpu")
    assert net.dim == 32 and e.short == ("dinov2" if name == dinov2.NAME else "dinov2pil")
    assert net.name == name
    x = _images(3, 33, 33, seed=1)
    x[1] = x[1, :1]   # a gray image
    f = extract(net, x)
    for i in range(3):
        torch.testing.assert_close(extract(net, x[i:i + 1]), f[i:i + 1], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(extract(net, x[1:2, :1]), f[1:2], atol=1e-5, rtol=1e-5)   # 1 channel -> RGB


def test_shares_one_network_between_the_resizes_and_rebuilds_for_a_new_file(weights_dir, small_file):
    a, b = dinov2.load_dinov2("cpu", arch=SMALL), dinov2.load_dinov2("cpu", resize="pil", arch=SMALL)
    assert a.vit is b.vit
    torch.save(official_state_dict(seed=1), weights_dir / "dinov2_vitl14_pretrain.pth")
    c = dinov2.load_dinov2("cpu", arch=SMALL)
    assert c.vit is not a.vit and not torch.equal(c.vit.cls_token, a.vit.cls_token)


def test_the_full_vit_l_maps_onto_timm(weights_dir):
    """ViT-L/14 itself, on the meta device (no 1.2 GB of weights): every official name and shape lands on timm's
    `vit_large_patch14_dinov2` at 224 px, and the output is 1024-d."""
    sd = official_state_dict(dim=1024, depth=24, device="meta")
    vit = dinov2.build_vit()
    mapped = dinov2.map_state_dict(sd, vit)
    W.load_into(vit, mapped, "dinov2_vitl14_pretrain.pth", dinov2.WEIGHTS, assign=True)
    assert vit.pos_embed.shape == (1, 257, 1024) and vit.num_features == dinov2.FEATURE_DIM
    assert vit(torch.empty(1, 3, 224, 224, device="meta")).shape == (1, 1024)


def test_missing_file_is_one_line_naming_it_and_the_fetch(weights_dir):
    with pytest.raises(WeightsNotFoundError) as e:
        dinov2.load_dinov2("cpu")
    msg = str(e.value)
    assert "\n" not in msg and "dinov2_vitl14_pretrain.pth" in msg and "ganeval weights fetch dinov2-vitl14" in msg


def test_another_network_or_size_is_one_line(weights_dir):
    path = weights_dir / "dinov2_vitl14_pretrain.pth"
    torch.save({"fc.weight": torch.zeros(2, 2)}, path)
    with pytest.raises(W.WeightsFileError, match="no 'cls_token'") as e:
        dinov2.load_dinov2("cpu", arch=SMALL)
    assert "\n" not in str(e.value) and str(path) in str(e.value)
    torch.save(official_state_dict(dim=48), path)   # a wider ViT than the one built
    with pytest.raises(W.WeightsFileError, match="shape") as e:
        dinov2.load_dinov2("cpu", arch=SMALL)
    assert "\n" not in str(e.value)
    torch.save(official_state_dict(depth=3), path)  # a deeper one
    with pytest.raises(W.WeightsFileError, match="unexpected 'blocks.2"):
        dinov2.load_dinov2("cpu", arch=SMALL)


def test_no_published_hash_so_any_file_is_used_and_reported_unverified(weights_dir, small_file, monkeypatch):
    monkeypatch.delenv(W.ALLOW_UNVERIFIED)
    e = W.get_entry("dinov2-vitl14")
    assert e.sha256 is None and e.sha256_prefix is None and e.url.endswith("/dinov2_vitl14_pretrain.pth")
    assert dinov2.load_dinov2("cpu", arch=SMALL)(_images(1)).shape == (1, 32)
    assert W.verify("dinov2-vitl14")["status"] == "unverified"
