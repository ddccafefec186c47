"""NVIDIA's TensorFlow pickles (StyleGAN2 v4, StyleGAN v3, PGGAN v2) read without TensorFlow.

The pickles are fabricated with fake `dnnlib.tflib.network` / `tfutil` modules; StyleGAN and PGGAN
outputs are compared with forward passes written from the TF code in tests/_ckpt_fakes.py.
"""

import math
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ganeval.checkpoints import detect, load_checkpoint
from ganeval.errors import CheckpointError


def test_fused_upconv_is_nearest_upsampling_then_flipped_conv(ckpt_fakes):
    # TF's fused upscale2d_conv2d (StyleGAN, PGGAN): pad the 3x3 kernel, box-sum it to 4x4, conv2d_transpose.
    torch.manual_seed(0)
    x = torch.randn(2, 3, 5, 5)
    w_hwio = torch.randn(3, 3, 3, 4)
    fused = ckpt_fakes.tf_fused_upconv(x, w_hwio, gain=1.0)
    up = F.interpolate(x, scale_factor=2, mode="nearest")
    w = w_hwio.permute(3, 2, 0, 1) / math.sqrt(27)
    torch.testing.assert_close(fused, F.conv2d(up, w.flip([2, 3]), padding=1), rtol=0, atol=1e-5)
    assert (fused - F.conv2d(up, w, padding=1)).abs().max() > 0.1   # unflipped would be wrong
    # PGGAN stores the kernel as [k, k, out, in]: same identity after moving the axes.
    w_hwoi = torch.randn(3, 3, 4, 3)
    fused = ckpt_fakes.tf_fused_upconv(x, w_hwoi, gain=1.0, layout="HWOI")
    torch.testing.assert_close(fused, F.conv2d(up, w_hwoi.permute(2, 3, 0, 1).flip([2, 3]) / math.sqrt(27),
                                               padding=1), rtol=0, atol=1e-5)
    # ...and the fused downscaling conv is a 3x3 conv followed by 2x2 averaging (no flip).
    x2 = torch.randn(2, 3, 8, 8)
    wp = F.pad(w_hwio.permute(2, 3, 0, 1), [1, 1, 1, 1]).permute(2, 3, 0, 1)
    k4 = (wp[1:, 1:] + wp[:-1, 1:] + wp[1:, :-1] + wp[:-1, :-1]) * 0.25
    fused_down = F.conv2d(F.pad(x2, [1, 1, 1, 1]), k4.permute(3, 2, 0, 1), stride=2)
    torch.testing.assert_close(fused_down, F.avg_pool2d(F.conv2d(x2, w_hwio.permute(3, 2, 0, 1), padding=1), 2),
                               rtol=0, atol=1e-5)
    assert ckpt_fakes.tf_conv2d_transpose is not None


@pytest.fixture
def sg2(tiny_G, tiny_D):
    """Factory: sg2(arch) -> (G, D), a width-16 StyleGAN2 of that architecture with channel_base 256 and a 3-layer
    mapping, and its D (orig for orig, else resnet), in eval mode, with random noise strengths, biases and w_avg."""
    def make(arch):
        G = tiny_G(depth=3, width=16, channel_base=256, architecture=arch).eval()
        D = tiny_D(seed=None, width=16, channel_base=256, architecture="orig" if arch == "orig" else "resnet").eval()
        with torch.no_grad():
            for m in (G, D):
                for name, p in m.named_parameters():
                    if "noise_strength" in name or name.endswith("bias"):
                        p.add_(torch.randn_like(p) * 0.3)
            G.mapping.w_avg.normal_()
        return G, D
    return make


@pytest.mark.parametrize("arch", ["skip", "resnet"])
def test_stylegan2_tf_pickle(tmp_path, arch, sg2, ckpt_fakes):
    G, D = sg2(arch)
    marker = tmp_path / "executed"
    src = ckpt_fakes.MARKER_SRC.format(path=str(marker))
    src += "def G_main(latents_in, labels_in, truncation_psi=0.6, **kw):\n    pass\n"
    gs, d = ckpt_fakes.stylegan2_tf_pickle_states(G, D, module_src=src)
    path = tmp_path / "stylegan2-ffhq-config-f.pkl"
    ckpt_fakes.write_tf_pickle(path, (gs, d, gs))
    assert "dnnlib" not in sys.modules
    assert detect(path) == "tf-stylegan2"
    ck = load_checkpoint(path)
    assert not marker.exists()
    # Where the TF variables landed: flipped up-conv kernels, mod_bias + 1, noise order, dlatent_avg.
    v = {k: np.asarray(a) for k, a in gs["components"]["synthesis"]["variables"]}
    conv0 = ck.G_ema.synthesis.b8.conv0
    assert torch.equal(conv0.weight, torch.from_numpy(v["8x8/Conv0_up/weight"][::-1, ::-1].copy()).permute(3, 2, 0, 1))
    assert torch.equal(conv0.affine.bias, torch.from_numpy(v["8x8/Conv0_up/mod_bias"]) + 1)
    assert torch.equal(conv0.noise_const, torch.from_numpy(v["noise1"][0, 0]))
    assert torch.equal(ck.G_ema.synthesis.b16.conv1.noise_const, torch.from_numpy(v["noise4"][0, 0]))
    assert torch.equal(ck.G_ema.w_avg, G.w_avg)
    z = torch.randn(2, 16, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(ck.G_ema(z, truncation_psi=0.5, noise_mode="const"),
                                   G(z, truncation_psi=0.5, noise_mode="const"), rtol=0, atol=1e-6)
        img = torch.randn(4, 3, 16, 16)
        torch.testing.assert_close(ck.D(img), D(img), rtol=0, atol=1e-6)
    # The default truncation is read from the pickled source's function defaults, never by running it.
    assert "psi=0.6" in ck.meta["source_truncation"]


def test_stylegan_v1_tf_pickle_matches_tf_semantics(tmp_path, ckpt_fakes):
    gs, flat = ckpt_fakes.stylegan_tf_pickle_state(resolution=128)   # 128 px: the last up-conv is TF's fused one
    dv = ckpt_fakes.progressive_d_tf_variables(128, 128, 16)
    d = ckpt_fakes.tf_state("D", "training.networks_stylegan.D_basic",
                            dict(num_channels=3, resolution=128, label_size=0, fmap_base=128, fmap_max=16), dv,
                            version=3)
    path = tmp_path / "karras2019stylegan-ffhq.pkl"
    ckpt_fakes.write_tf_pickle(path, (gs, d, gs))
    assert detect(path) == "tf-stylegan"
    ck = load_checkpoint(path)
    assert ck.arch == "stylegan" and ck.G_ema.mapping_depth == 2
    z = torch.randn(3, 16, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ours = ck.G_ema(z, noise_mode="const")
    ref = ckpt_fakes.stylegan_tf_forward(flat, z, 128, 2).detach()
    torch.testing.assert_close(ours, ref, rtol=0, atol=1e-4 * ref.abs().max().item())
    assert torch.equal(ck.G_ema.w_avg, torch.from_numpy(np.float32(flat["dlatent_avg"])))
    assert "psi=0.7, cutoff=8" in ck.meta["source_truncation"] and "untruncated" in ck.meta["source_truncation"]
    # D: every weight lands where TF had it.
    T = {k: torch.as_tensor(np.asarray(a, dtype=np.float32)) for k, a in dv.items()}
    assert torch.equal(ck.D.b128_conv1.weight, T["128x128/Conv1_down/weight"].permute(3, 2, 0, 1))
    torch.testing.assert_close(ck.D.b128_conv1.bias, T["128x128/Conv1_down/bias"] / 2 ** 0.5)
    assert torch.equal(ck.D.fromrgb16.weight, T["FromRGB_lod3/weight"].permute(3, 2, 0, 1))


def test_pggan_tf_pickle_matches_tf_semantics(tmp_path, ckpt_fakes):
    v = ckpt_fakes.pggan_tf_variables(32, 128, 16)
    kw = dict(num_channels=3, resolution=32, label_size=0, fmap_base=128, fmap_max=16)
    gs = ckpt_fakes.tf_state("Gs", "networks.G_paper", kw, v, version=2)
    d = ckpt_fakes.tf_state("D", "networks.D_paper", kw, ckpt_fakes.progressive_d_tf_variables(32, 128, 16), version=2)
    path = tmp_path / "karras2018iclr-celebahq-1024x1024.pkl"
    ckpt_fakes.write_tf_pickle(path, (gs, d, gs), module="tfutil")
    assert "tfutil" not in sys.modules
    assert detect(path) == "tf-pggan"
    ck = load_checkpoint(path)
    assert ck.arch == "pggan" and not ck.G_ema.has_w
    z = torch.randn(3, 16, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ours = ck.G_ema(z)
    ref = ckpt_fakes.pggan_tf_forward(v, z, 32).detach()
    torch.testing.assert_close(ours, ref, rtol=0, atol=1e-5 * ref.abs().max().item())


def test_refusals(tmp_path, sg2, ckpt_fakes):
    # Theano-era PGGAN pickle: no version, a build_func_spec.
    ckpt_fakes.write_tf_pickle(tmp_path / "theano.pkl", {"build_func_spec": {"func": "G_paper"}, "param_values": []},
                               module="network")
    with pytest.raises(CheckpointError, match="Theano"):
        load_checkpoint(tmp_path / "theano.pkl")
    # Conditional StyleGAN2.
    G, _ = sg2("skip")
    gs, _ = ckpt_fakes.stylegan2_tf_pickle_states(G)
    gs["components"]["mapping"]["static_kwargs"]["label_size"] = 10
    ckpt_fakes.write_tf_pickle(tmp_path / "cond.pkl", gs)
    with pytest.raises(CheckpointError, match="conditional"):
        load_checkpoint(tmp_path / "cond.pkl")
    # A CelebA-HQ classifier is recognised, and pointed to the classifier loader.
    kw = dict(num_channels=3, resolution=32, fmap_base=128, fmap_max=16)
    dv = ckpt_fakes.progressive_d_tf_variables(32, 128, 16)
    st = ckpt_fakes.tf_state("D", "training.networks_stylegan.D_basic", kw, dv, version=3)
    ckpt_fakes.write_tf_pickle(tmp_path / "celebahq-classifier-00-male.pkl", st)
    assert detect(tmp_path / "celebahq-classifier-00-male.pkl") == "nvidia-classifier"
    with pytest.raises(CheckpointError, match="load_nvidia_classifiers"):
        load_checkpoint(tmp_path / "celebahq-classifier-00-male.pkl")
