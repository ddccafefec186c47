"""CLIP ViT-B/32 image embeddings (ganeval.features.clip): OpenAI's state-dict layout read from safetensors or a
weights-only torch file, clean-fid's resize and crop, and the weights registry.

The stand-in files are random CLIP models written under OpenAI's names (text tower included, as in open_clip's
files); the embeddings are compared with a forward pass written out here from OpenAI's model definition
(clip/model.py, https://github.com/openai/CLIP: VisionTransformer with QuickGELU)."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from safetensors.torch import save_file

from ganeval.errors import WeightsNotFoundError
from ganeval.features import clip
from ganeval.features import weights as W
from ganeval.features.registry import REGISTRY, entry, extract, load_feature_net
from ganeval.features.resize import clip_resize_crop

pytestmark = pytest.mark.usefixtures("one_thread")

# A small CLIP with the code path of ViT-B/32 (224 px, patch 32, QuickGELU): 2 blocks of width 64, 2 heads.
SMALL = dict(embed_dim=16, vision_cfg=dict(image_size=224, layers=2, width=64, patch_size=32, head_width=32),
             text_cfg=dict(context_length=8, vocab_size=50, width=32, heads=2, layers=1))
FILE = "open_clip_vit_b_32_openai.safetensors"


def official_state_dict(width=64, layers=2, embed=16, patch=32, text_width=32, seed=0, device=None) -> dict:
    """A random CLIP state dict under OpenAI's names (clip/model.py `CLIP`), both towers."""
    g = torch.Generator().manual_seed(seed)

    def r(*shape, std=0.1):
        if device == "meta":
            return torch.empty(*shape, device="meta")
        return torch.randn(*shape, generator=g) * std

    grid = 224 // patch
    sd = {"visual.conv1.weight": r(width, 3, patch, patch, std=0.02), "visual.class_embedding": r(width, std=1),
          "visual.positional_embedding": r(grid * grid + 1, width, std=1), "visual.proj": r(width, embed),
          "visual.ln_pre.weight": 1 + r(width), "visual.ln_pre.bias": r(width),
          "visual.ln_post.weight": 1 + r(width), "visual.ln_post.bias": r(width)}

    def blocks(prefix, w, n):
        for i in range(n):
            p = f"{prefix}resblocks.{i}."
            sd.update({p + "ln_1.weight": 1 + r(w), p + "ln_1.bias": r(w),
                       p + "attn.in_proj_weight": r(3 * w, w), p + "attn.in_proj_bias": r(3 * w),
                       p + "attn.out_proj.weight": r(w, w), p + "attn.out_proj.bias": r(w),
                       p + "ln_2.weight": 1 + r(w), p + "ln_2.bias": r(w),
                       p + "mlp.c_fc.weight": r(4 * w, w), p + "mlp.c_fc.bias": r(4 * w),
                       p + "mlp.c_proj.weight": r(w, 4 * w), p + "mlp.c_proj.bias": r(w)})

    blocks("visual.transformer.", width, layers)
    blocks("transformer.", text_width, 1)
    sd.update({"token_embedding.weight": r(50, text_width), "positional_embedding": r(8, text_width),
               "ln_final.weight": 1 + r(text_width), "ln_final.bias": r(text_width),
               "text_projection": r(text_width, embed), "logit_scale": torch.tensor(math.log(1 / 0.07))})
    return sd


def reference_encode_image(sd: dict, x: torch.Tensor, heads: int) -> torch.Tensor:
    """OpenAI's `VisionTransformer.forward`, written out: patch conv (no bias), [class] + patches + positions,
    ln_pre, residual attention blocks with QuickGELU MLPs, ln_post of the class token, times proj."""
    n, width = len(x), sd["visual.class_embedding"].shape[0]
    patch = sd["visual.conv1.weight"].shape[-1]
    t = F.conv2d(x, sd["visual.conv1.weight"], stride=patch).flatten(2).transpose(1, 2)
    t = torch.cat([sd["visual.class_embedding"].expand(n, 1, -1), t], dim=1) + sd["visual.positional_embedding"]
    ln = lambda v, p: F.layer_norm(v, (width,), sd[p + ".weight"], sd[p + ".bias"], eps=1e-5)  # noqa: E731
    t = ln(t, "visual.ln_pre")
    hd = width // heads
    for i in range(sum(k.endswith("attn.in_proj_weight") for k in sd if k.startswith("visual."))):
        p = f"visual.transformer.resblocks.{i}."
        q, k, v = F.linear(ln(t, p + "ln_1"), sd[p + "attn.in_proj_weight"], sd[p + "attn.in_proj_bias"]).chunk(3, -1)
        q, k, v = (z.reshape(n, -1, heads, hd).transpose(1, 2) for z in (q, k, v))
        a = (torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hd), -1) @ v).transpose(1, 2).reshape(n, -1, width)
        t = t + F.linear(a, sd[p + "attn.out_proj.weight"], sd[p + "attn.out_proj.bias"])
        h = F.linear(ln(t, p + "ln_2"), sd[p + "mlp.c_fc.weight"], sd[p + "mlp.c_fc.bias"])
        t = t + F.linear(h * torch.sigmoid(1.702 * h), sd[p + "mlp.c_proj.weight"], sd[p + "mlp.c_proj.bias"])
    return ln(t[:, 0], "visual.ln_post") @ sd["visual.proj"]


@pytest.fixture
def weights_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("GANEVAL_WEIGHTS", str(tmp_path))
    clip._CACHE.clear()
    yield tmp_path
    clip._CACHE.clear()


@pytest.fixture
def small_file(weights_dir):
    sd = official_state_dict()
    save_file(sd, str(weights_dir / FILE))
    return sd


def _images(n=3, h=40, w=40, seed=0):
    return (torch.rand(n, 3, h, w, generator=torch.Generator().manual_seed(seed)) * 255).to(torch.uint8)


def test_official_file_loads_and_gives_the_reference_embeddings(small_file, weights_dir):
    net = clip.load_clip("cpu", model_cfg=SMALL)
    x = _images(2, 64, 64)
    f = net(x)
    assert f.shape == (2, 16) and f.dtype == torch.float32
    torch.testing.assert_close(f, reference_encode_image(small_file, net.preprocess(x), heads=2), atol=1e-4, rtol=1e-4)
    assert not torch.allclose(f.norm(dim=1), torch.ones(2))   # clean-fid takes the embedding unnormalised
    # The weights-only torch file of the same repository (open_clip_pytorch_model.bin) gives the same network, under
    # its own name or the registered one.
    for path in (weights_dir / "open_clip_pytorch_model.bin", weights_dir / FILE):
        clip._CACHE.clear()
        torch.save(small_file, path)
        torch.testing.assert_close(clip.load_clip("cpu", path=path, model_cfg=SMALL)(x), f)


def test_preprocessing_is_clean_fids_resize_crop_and_clip_normalisation(small_file):
    """Shorter side to 224 with PIL's BICUBIC (torchvision Resize on a PIL image), then the central 224 x 224."""
    net = clip.load_clip("cpu", model_cfg=SMALL)
    img = _images(1, 100, 150, seed=2)[0]                   # H 100, W 150 -> 224 x 336, crop columns 56..279
    pil = Image.fromarray(img.permute(1, 2, 0).numpy(), "RGB").resize((336, 224), Image.Resampling.BICUBIC)
    expect = torch.from_numpy(np.asarray(pil)[:, 56:280].copy()).permute(2, 0, 1)[None].float() / 255
    expect = (expect - torch.tensor(clip.CLIP_MEAN).view(1, 3, 1, 1)) / torch.tensor(clip.CLIP_STD).view(1, 3, 1, 1)
    torch.testing.assert_close(net.preprocess(img[None]), expect, atol=1e-6, rtol=0)
    const = torch.full((1, 3, 50, 50), 100, dtype=torch.uint8)
    v = (100 / 255 - torch.tensor(clip.CLIP_MEAN)) / torch.tensor(clip.CLIP_STD)
    torch.testing.assert_close(net.preprocess(const), v.view(1, 3, 1, 1).expand(1, 3, 224, 224), atol=1e-6, rtol=0)


@pytest.mark.parametrize("hw", [(100, 150), (151, 100), (224, 300), (225, 225), (80, 81), (224, 224), (500, 333)])
def test_resize_and_crop_are_torchvisions_on_pil_images(hw):
    """clean-fid's transforms themselves (torchvision Resize(224, BICUBIC) and CenterCrop(224) on PIL images),
    including the rounding of odd margins."""
    from torchvision import transforms

    img = _images(1, *hw, seed=4)[0]
    t = transforms.Compose([transforms.Resize(224, interpolation=transforms.InterpolationMode.BICUBIC),
                            transforms.CenterCrop(224)])
    expect = np.asarray(t(Image.fromarray(img.permute(1, 2, 0).numpy(), "RGB")))
    assert torch.equal(clip_resize_crop(img[None])[0], torch.from_numpy(expect.copy()).permute(2, 0, 1))


def test_registered_net_batch_invariance_and_grayscale(small_file, monkeypatch):
    import dataclasses
    import functools

    e = entry(clip.NAME, "features")
    assert e.short == "clip"
    monkeypatch.setitem(REGISTRY, clip.NAME, dataclasses.replace(e, factory=functools.partial(e.factory,
                                                                                              model_cfg=SMALL)))
    net = load_feature_net(clip.NAME, "cpu")
    x = _images(3, 48, 48, seed=1)
    x[2] = x[2, :1]
    f = extract(net, x)
    for i in range(3):
        torch.testing.assert_close(extract(net, x[i:i + 1]), f[i:i + 1], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(extract(net, x[2:3, :1]), f[2:3], atol=1e-5, rtol=1e-5)


def test_the_full_vit_b_32_takes_openais_layout():
    """ViT-B/32 itself on the meta device: OpenAI's names and shapes (width 768, 12 blocks, 7 x 7 patches + class,
    projection to 512) land on open_clip's image tower, built with QuickGELU."""
    sd = official_state_dict(width=768, layers=12, embed=512, text_width=512, device="meta")
    visual = clip.build_clip().visual
    assert type(visual.transformer.resblocks[0].mlp.gelu).__name__ == "QuickGELU"
    tower = {k.removeprefix("visual."): v for k, v in sd.items() if k.startswith("visual.")}
    W.load_into(visual, tower, FILE, clip.WEIGHTS, assign=True)
    assert visual(torch.empty(1, 3, 224, 224, device="meta")).shape == (1, clip.FEATURE_DIM)


def test_missing_file_is_one_line_naming_it_and_the_fetch(weights_dir):
    with pytest.raises(WeightsNotFoundError) as e:
        clip.load_clip("cpu")
    msg = str(e.value)
    assert "\n" not in msg and FILE in msg and "ganeval weights fetch clip-vitb32" in msg


@pytest.mark.filterwarnings("ignore:`torch.jit:FutureWarning")
def test_torchscript_random_and_foreign_files_are_refused_in_one_line(weights_dir):
    """OpenAI's own ViT-B-32.pt is TorchScript: only torch.jit.load reads it, compiling the file's code; refused."""
    path = weights_dir / FILE
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), str(path))
    for content in ("torchscript", b"\x00" * 64, "other-net", "tower-missing"):
        if content == "other-net":
            save_file({"fc.weight": torch.zeros(2, 2)}, str(path))
        elif content == "tower-missing":
            save_file({k: v for k, v in official_state_dict().items() if k != "visual.ln_post.bias"}, str(path))
        elif isinstance(content, bytes):
            path.write_bytes(content)
        clip._CACHE.clear()
        with pytest.raises(W.WeightsFileError) as e:
            clip.load_clip("cpu", model_cfg=SMALL)
        assert "\n" not in str(e.value) and str(path) in str(e.value), content
        if content == "torchscript":
            assert "TorchScript" in str(e.value)
        if content == "tower-missing":
            assert "no 'ln_post.bias'" in str(e.value)


def test_no_published_hash_so_the_file_is_reported_unverified(small_file, monkeypatch):
    monkeypatch.delenv(W.ALLOW_UNVERIFIED)
    e = W.get_entry("clip-vitb32")
    assert e.sha256 is None and e.url.endswith("timm/vit_base_patch32_clip_224.openai/resolve/main/"
                                               "open_clip_model.safetensors")
    assert clip.load_clip("cpu", model_cfg=SMALL)(_images(1)).shape == (1, 16)
    assert W.verify("clip-vitb32")["status"] == "unverified"
