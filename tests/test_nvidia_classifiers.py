"""NVIDIA's CelebA-HQ attribute classifiers: TF D_basic pickles rebuilt in PyTorch, checked against TF semantics."""

import pytest
import torch
from _ckpt_fakes import d_basic_tf_forward, progressive_d_tf_variables, tf_state, write_tf_pickle

from ganeval.errors import CheckpointError, WeightsNotFoundError
from ganeval.features.nvidia_classifiers import classifier_filename, load_nvidia_classifiers

KW = dict(num_channels=3, resolution=128, label_size=0, fmap_base=128, fmap_max=16)  # 128 px: the fused down-conv


def _write(directory, index, seed, func="training.networks_stylegan.D_basic", **kw):
    v = progressive_d_tf_variables(128, 128, 16, seed=seed)
    write_tf_pickle(directory / classifier_filename(index), tf_state("D", func, {**KW, **kw}, v, version=3))
    return v


def test_classifiers_match_tf_d_basic_in_groups_of_four(tmp_path, monkeypatch):
    v0, v19 = _write(tmp_path, 0, 0), _write(tmp_path, 19, 1)
    clf = load_nvidia_classifiers(tmp_path, attrs="male,eyeglasses")
    assert clf.attr_names == ["male", "eyeglasses"] and clf.resolution == 128
    img = torch.randn(10, 3, 128, 128, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        logits = clf(img)
    # NVIDIA's metric ran the classifiers on minibatches of 4: the minibatch-stddev group is that minibatch.
    chunks = [img[0:4], img[4:8], img[8:10]]
    ref = torch.stack([torch.cat([d_basic_tf_forward(v, c, 128) for c in chunks])[:, 0] for v in (v0, v19)], dim=1)
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


def test_missing_and_wrong_files(tmp_path):
    _write(tmp_path, 0, 0)
    with pytest.raises(WeightsNotFoundError, match="celebahq-classifier-01-smiling.pkl and 38 more"):
        load_nvidia_classifiers(tmp_path)
    _write(tmp_path, 1, 1, func="training.networks_stylegan2.D_stylegan2")
    with pytest.raises(CheckpointError, match="expected StyleGAN's D_basic"):
        load_nvidia_classifiers(tmp_path, attrs=[0, 1])
    _write(tmp_path, 2, 2, label_size=3)
    with pytest.raises(CheckpointError, match="label_size"):
        load_nvidia_classifiers(tmp_path, attrs=[2])
