"""NVIDIA's CelebA-HQ attribute classifiers: TF D_basic pickles rebuilt in PyTorch, checked against TF semantics."""

import numpy as np
import pytest
import torch

from ganeval.errors import CheckpointError, WeightsNotFoundError
from ganeval.features.nvidia_classifiers import classifier_filename, load_nvidia_classifiers

KW = dict(num_channels=3, resolution=128, label_size=0, fmap_base=128, fmap_max=16)  # 128 px: the fused down-conv


@pytest.fixture
def write_classifier(ckpt_fakes):
    """Factory: write_classifier(directory, index, seed, func=D_basic, **kw) writes a fake TF pickle of D_basic
    (random variables drawn from `seed`) as classifier `index` of `directory` and returns its variables."""
    def write(directory, index, seed, func="training.networks_stylegan.D_basic", **kw):
        v = ckpt_fakes.progressive_d_tf_variables(128, 128, 16, seed=seed)
        ckpt_fakes.write_tf_pickle(directory / classifier_filename(index),
                                   ckpt_fakes.tf_state("D", func, {**KW, **kw}, v, version=3))
        return v
    return write


def test_classifiers_match_tf_d_basic_in_groups_of_four(tmp_path, monkeypatch, write_classifier, ckpt_fakes):
    v0, v19 = write_classifier(tmp_path, 0, 0), write_classifier(tmp_path, 19, 1)
    clf = load_nvidia_classifiers(tmp_path, attrs="male,eyeglasses")
    assert clf.attr_names == ["male", "eyeglasses"] and clf.resolution == 128
    img = torch.randn(10, 3, 128, 128, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        logits = clf(img)
    # NVIDIA's metric ran the classifiers on minibatches of 4: the minibatch-stddev group is that minibatch.
    chunks = [img[0:4], img[4:8], img[8:10]]
    ref = torch.stack([torch.cat([ckpt_fakes.d_basic_tf_forward(v, c, 128) for c in chunks])[:, 0]
                       for v in (v0, v19)], dim=1)
    assert logits.shape == (10, 2)
    torch.testing.assert_close(logits, ref.detach(), rtol=0, atol=1e-4)
    # The batch dependence is real: the same image in another group gets another logit.
    with torch.no_grad():
        assert not torch.allclose(clf(img[[0, 5, 6, 7]])[0], logits[0])
        clf.images_per_pass, clf.attrs_per_pass = 4, 1   # memory blocking does not change the numbers
        torch.testing.assert_close(clf(img), logits, rtol=0, atol=1e-6)

    monkeypatch.setenv("GANEVAL_WEIGHTS", str(tmp_path))   # found through the weights registry
    with torch.no_grad():
        torch.testing.assert_close(load_nvidia_classifiers(None, attrs=[19])(img[:4])[:, 0], logits[:4, 1])


def test_missing_and_wrong_files(tmp_path, write_classifier):
    write_classifier(tmp_path, 0, 0)
    with pytest.raises(WeightsNotFoundError, match="celebahq-classifier-01-smiling.pkl and 38 more"):
        load_nvidia_classifiers(tmp_path)
    write_classifier(tmp_path, 1, 1, func="training.networks_stylegan2.D_stylegan2")
    with pytest.raises(CheckpointError, match="expected StyleGAN's D_basic"):
        load_nvidia_classifiers(tmp_path, attrs=[0, 1])
    write_classifier(tmp_path, 2, 2, label_size=3)
    with pytest.raises(CheckpointError, match="label_size"):
        load_nvidia_classifiers(tmp_path, attrs=[2])


def test_embed_is_the_layer_before_the_logit_and_larger_images_are_box_downsampled(tmp_path, write_classifier):
    import torch.nn.functional as F

    from ganeval.errors import ConfigError

    write_classifier(tmp_path, 0, 0)
    write_classifier(tmp_path, 19, 1)
    clf = load_nvidia_classifiers(tmp_path, attrs="male,eyeglasses")
    img = torch.randn(8, 3, 128, 128, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        logits, e = clf(img), clf.embed(img)
        assert e.shape == (8, 2, clf.dense0_w.shape[-1])
        # Dense1 applied to the embedding gives the logits back.
        torch.testing.assert_close(torch.einsum("nai,aio->nao", e, clf.dense1_w)[..., 0] + clf.dense1_b[:, 0], logits)
        # A 256 px image whose 2x2 blocks are constant is the 128 px image after the box filter.
        big = F.interpolate(img, scale_factor=2, mode="nearest")
        torch.testing.assert_close(clf(big), logits, rtol=0, atol=1e-5)
    with pytest.raises(ConfigError, match="128x128"):
        clf(torch.zeros(4, 3, 100, 100))


def test_gan_control_supervised_by_nvidia_classifiers(tmp_path, ckpt_fakes, train_tiny_control):
    """`--control-net nvidia-celebahq:DIR`: GAN-Control on real-face classifiers (only the controlled
    attributes' networks are loaded), M_k = their Dense0 features; gradients reach the generator."""
    import json

    from ganeval.control.loss import load_embedding
    from ganeval.data.attributes import NVIDIA_ATTRS

    kw = dict(KW, resolution=16)
    for seed, name in enumerate(["smiling", "eyeglasses"]):
        v = ckpt_fakes.progressive_d_tf_variables(16, 128, 16, seed=seed)
        ckpt_fakes.write_tf_pickle(tmp_path / classifier_filename(NVIDIA_ATTRS.index(name)),
                                   ckpt_fakes.tf_state("D", "training.networks_stylegan.D_basic", kw, v, version=3))
    emb = load_embedding(f"nvidia-celebahq:{tmp_path}", ["smiling", "eyeglasses"], "cpu")
    assert emb.clf.attr_names == ["smiling", "eyeglasses"]
    img = torch.randn(4, 3, 32, 32, requires_grad=True)         # 2x the classifiers' size: box-downsampled
    ms = emb(img)
    assert [m.shape for m in ms] == [(4, 16), (4, 16)]
    ms[1].square().sum().backward()
    assert img.grad is not None and img.grad.abs().sum() > 0

    run_dir = train_tiny_control(tmp_path / "runs", f"nvidia-celebahq:{tmp_path}")
    stats = [json.loads(line) for line in open(run_dir / "stats.jsonl")]
    assert stats and all(np.isfinite(r["Loss/control/Lc"]) and r["Loss/control/Lc"] > 0 for r in stats)
