"""GAN-Control's contrastive loss (ganeval/control/loss.py): by hand, pair batches, the embeddings M_k and
their augmentation, several control nets, and training with the loss."""

import json
import math

import pytest
import torch
import torch.nn.functional as F

from ganeval import load_checkpoint
from ganeval.checkpoints import save_checkpoint
from ganeval.control.loss import (
    contrastive_loss,
    contrastive_terms,
    make_pair_batch,
    pairwise_distance,
    same_subvector,
)
from ganeval.control.model import offsets
from ganeval.errors import ConfigError
from ganeval.features.attributes import AttributeClassifiers, save_classifiers
from ganeval.train import resolve_options, train


def toy_batch():
    """4 latents, subspaces z^1 = [0:1], z^2 = [1:2], rest = [2:4]; (0, 1) share z^1, (2, 3) share z^2."""
    z = torch.tensor([[1.0, 2.0, 0.1, 0.2],
                      [1.0, 3.0, 0.3, 0.4],
                      [4.0, 5.0, 0.5, 0.6],
                      [6.0, 5.0, 0.7, 0.8]])
    return z, offsets([1, 1, 2])


def test_loss_matches_hand_computation():
    z, slices = toy_batch()
    e1 = torch.tensor([[0.0], [0.3], [1.0], [2.0]])      # M_1 embeddings (1-D: L1 distance = |difference|)
    e2 = torch.tensor([[0.0], [1.0], [5.0], [5.05]])     # M_2
    tau_pos, tau_neg = 0.1, 1.5
    # Attribute 1: same = {(0,1), (1,0)} -> C⁺ = 2; the other 10 ordered pairs -> C⁻ = 10.
    #   pos: 2 · max(0.3 - 0.1, 0) / 2 = 0.2
    #   neg: 2 · [max(1.5-1, 0) + max(1.5-2, 0) + max(1.5-0.7, 0) + max(1.5-1.7, 0) + max(1.5-1, 0)] / 10
    #        = 2 · (0.5 + 0 + 0.8 + 0 + 0.5) / 10 = 0.36                       (pairs 02, 03, 12, 13, 23)
    # Attribute 2: same = {(2,3), (3,2)}: d = 0.05 < τ⁺ -> pos 0; neg: only d(0,1) = 1 < 1.5 -> 2 · 0.5 / 10 = 0.1
    loss, terms = contrastive_loss([e1, e2], z, slices[:2], tau_pos, tau_neg, distance="l1")
    assert [t["C_pos"] for t in terms] == [2, 2] and [t["C_neg"] for t in terms] == [10, 10]
    assert float(terms[0]["pos"]) == pytest.approx(0.2, abs=1e-6)
    assert float(terms[0]["neg"]) == pytest.approx(0.36, abs=1e-6)
    assert float(terms[1]["pos"]) == pytest.approx(0.0, abs=1e-6)
    assert float(terms[1]["neg"]) == pytest.approx(0.1, abs=1e-6)
    assert float(loss) == pytest.approx(0.66, abs=1e-6)

    # Per-attribute thresholds: τ⁺_2 = 0.01 now penalises the (2,3) pair: 2 · 0.04 / 2.
    loss2, terms2 = contrastive_loss([e1, e2], z, slices[:2], [0.1, 0.01], [1.5, 1.5], distance="l1")
    assert float(terms2[1]["pos"]) == pytest.approx(0.04, abs=1e-6)
    assert float(loss2) == pytest.approx(0.70, abs=1e-6)

    # Gradient by hand: the pull term 2 · (|e_1 - e_0| - τ⁺) / 2 gives ∓1 to samples 0, 1; each active push
    # term 2 · (τ⁻ - |e_i - e_j|) / 10 (pairs 02, 12, 23) gives ±0.2 apart.
    e1g = e1.clone().requires_grad_(True)
    contrastive_loss([e1g, e2], z, slices[:2], tau_pos, tau_neg, distance="l1")[0].backward()
    assert torch.allclose(e1g.grad.ravel(), torch.tensor([-0.8, 1.2, -0.2, -0.2]), atol=1e-6)


def test_loss_edge_cases_and_distances():
    torch.manual_seed(0)
    e = torch.randn(5, 3)
    d = pairwise_distance(e, "l2")
    assert torch.allclose(d, torch.cdist(e, e), atol=1e-5)
    assert torch.allclose(pairwise_distance(e, "l1"), torch.cdist(e, e, p=1), atol=1e-5)
    cos = F.cosine_similarity(e[:, None], e[None], dim=-1)
    assert torch.allclose(pairwise_distance(e, "cosine"), 1 - cos, atol=1e-5)
    with pytest.raises(ValueError):
        pairwise_distance(e, "hamming")
    # No pair shares z^k (C⁺ = 0): the pull term is 0, not NaN.
    same = torch.zeros(5, 5, dtype=torch.bool)
    t = contrastive_terms(d, same, 0.1, 10.0)
    assert t["C_pos"] == 0 and t["C_neg"] == 20 and float(t["pos"]) == 0
    assert float(t["neg"]) == pytest.approx(
        float((10 - d).clamp_min(0).masked_fill(torch.eye(5, dtype=torch.bool), 0).sum() / 20))   # i ≠ j only


def test_pair_batch_shares_exactly_one_subvector():
    slices = offsets([3, 2, 4, 5])          # N = 3 controlled + the rest
    z = torch.randn(13, 14, generator=torch.Generator().manual_seed(1))
    zp, shared = make_pair_batch(z, slices, 3, generator=torch.Generator().manual_seed(2))
    assert torch.equal(zp[0::2], z[0::2]) and shared[-1] == -1     # odd last sample unpaired
    assert sorted(set(shared[:12].tolist())) == [0, 1, 2]          # 6 pairs cycle through the 3 attributes
    for p in range(6):
        i, j, k = 2 * p, 2 * p + 1, int(shared[2 * p])
        assert shared[j] == k
        for s, sl in enumerate(slices):
            if s == k:
                assert torch.equal(zp[i, sl], zp[j, sl])
            else:   # every other sub-vector differs (elementwise: independent draws), the rest never shared
                assert (zp[i, sl] != zp[j, sl]).all() and torch.equal(zp[j, sl], z[j, sl])   # j keeps its own
    for k in range(3):
        same = same_subvector(zp, slices[k])
        expect = torch.zeros(13, 13, dtype=torch.bool)
        for p in range(6):
            if shared[2 * p] == k:
                expect[2 * p, 2 * p + 1] = expect[2 * p + 1, 2 * p] = True
        assert torch.equal(same, expect)
    assert not same_subvector(zp, slices[3]).any()


def test_training_with_contrastive_loss(trained_control, tiny_dataset):
    run_dir, clf_path = trained_control
    stats = [json.loads(line) for line in open(run_dir / "stats.jsonl")]
    assert stats
    for r in stats:
        for key in ("Loss/G/loss", "Loss/D/loss", "Loss/control/Lc", "Loss/control/smiling/neg",
                    "Loss/control/eyeglasses/pos"):
            assert math.isfinite(r[key]), key
    assert math.isfinite(stats[0]["Loss/pl_penalty"]) and math.isfinite(stats[0]["Loss/r1_penalty"])
    saved = json.loads((run_dir / "training_options.json").read_text())
    assert saved["arch"] == "stylegan2-control" and saved["control"] == ["smiling", "eyeglasses"]
    assert saved["G_kwargs"]["control_dims"] == [4, 4, 8]
    snap = sorted(run_dir.glob("network-snapshot-*.pt"))[-1]
    ckpt = load_checkpoint(snap)
    assert ckpt.arch == "stylegan2-control" and ckpt.G_ema.control_attrs == ["smiling", "eyeglasses"]
    z = torch.randn(2, 16)
    img1, img2 = ckpt.G_ema(z, noise_mode="const"), load_checkpoint(snap).G_ema(z, noise_mode="const")
    assert torch.isfinite(img1).all() and torch.equal(img1, img2)
    # Resuming keeps the variant (options come from the checkpoint).
    again = resolve_options(resume=str(snap), data=tiny_dataset(), kimg=0.040, workers=0, quiet=True)
    assert again.arch == "stylegan2-control" and again.control == ["smiling", "eyeglasses"]
    assert again.control_net == str(clf_path)
    resumed = train(again)
    assert load_checkpoint(sorted(resumed.glob("network-snapshot-*.pt"))[-1]).meta["kimg"] == pytest.approx(0.040)


def test_augment_for_embedding_shifts_and_adds_noise(tiny_dataset):
    """--control-augment: each image is a replicate-padded copy shifted by at most 2 px, plus N(0, σ²) noise; the
    same seed gives the same augmentation; gradients reach the generator's images."""
    from ganeval.control.loss import augment_for_embedding

    x = torch.randn(6, 3, 8, 8, requires_grad=True)
    padded = F.pad(x.detach(), (2, 2, 2, 2), mode="replicate")
    torch.manual_seed(3)
    y = augment_for_embedding(x, 0.0)
    offsets_seen = set()
    for i in range(6):
        hits = [(a, b) for a in range(5) for b in range(5) if torch.equal(padded[i, :, a:a + 8, b:b + 8], y[i])]
        assert len(hits) == 1
        offsets_seen.add(hits[0])
    assert len(offsets_seen) > 1                     # not one shift for the whole batch
    torch.manual_seed(3)
    assert torch.equal(augment_for_embedding(x, 0.0), y)
    torch.manual_seed(3)
    big = torch.zeros(2, 3, 64, 64)
    noise = augment_for_embedding(big, 0.25)       # a constant image: only the noise is left
    assert abs(float(noise.std()) - 0.25) < 0.01 and abs(float(noise.mean())) < 0.01
    augment_for_embedding(x, 0.1).sum().backward()
    torch.testing.assert_close(x.grad.sum(), torch.tensor(6 * 3 * 8 * 8.0))   # every output pixel is one input pixel
    with pytest.raises(ConfigError, match="control-augment"):
        resolve_options(arch="stylegan2", control="Smiling", control_augment=-1, data=tiny_dataset())


def test_gaussian_blur_for_embedding(tmp_path, monkeypatch, tiny_dataset, train_tiny_control):
    """--control-blur: a normalised separable Gaussian (impulse response = outer product of the 1-d taps out to
    ceil(2σ)); constants pass unchanged; the training loop blurs the generator's images before M_k."""
    import ganeval.control.loss as control_loss

    img = torch.zeros(1, 3, 9, 9)
    img[0, :, 4, 4] = 1
    out = control_loss.gaussian_blur(img, 1.0)
    taps = torch.exp(-torch.arange(-2.0, 3.0) ** 2 / 2)
    taps = taps / taps.sum()
    expect = torch.zeros(9, 9)
    expect[2:7, 2:7] = taps[:, None] * taps[None, :]
    for c in range(3):
        torch.testing.assert_close(out[0, c], expect)
    assert control_loss.gaussian_blur(img, 0.3)[0, 0, 3:6, 3:6].sum() == pytest.approx(1.0)   # r = 1 taps
    const = torch.full((2, 3, 8, 8), 0.3)
    torch.testing.assert_close(control_loss.gaussian_blur(const, 1.5), const)   # edges replicated
    seen = []

    def spy(x, sigma):
        seen.append((tuple(x.shape), sigma))
        return control_loss.gaussian_blur.__wrapped__(x, sigma)

    spy.__wrapped__ = control_loss.gaussian_blur
    monkeypatch.setattr(control_loss, "gaussian_blur", spy)
    torch.manual_seed(0)
    clf_path = save_classifiers(AttributeClassifiers(resolution=16, channels=(4, 8), hidden=8), tmp_path / "c.pt")
    run_dir = train_tiny_control(tmp_path, str(clf_path), control_blur=0.7)
    assert seen and all(shape[1:] == (3, 16, 16) and sigma == 0.7 for shape, sigma in seen)
    assert json.loads((run_dir / "training_options.json").read_text())["control_blur"] == 0.7
    with pytest.raises(ConfigError, match="control-blur"):
        resolve_options(arch="stylegan2", control="Smiling", control_blur=-1, data=tiny_dataset())


def test_prob_embedding_and_training_with_it(tmp_path, train_tiny_control):
    """--control-embedding prob: M_k(I) = σ(logit_k(I)) as a [B, 1] embedding, gradients reach the image; a
    controlled run trains with it (and --control-augment) and stores the choices (so a resume keeps them)."""
    from ganeval.control.loss import load_embedding

    torch.manual_seed(0)
    clf = AttributeClassifiers(resolution=16, channels=(4, 8), hidden=8)
    img = torch.rand(5, 3, 16, 16, requires_grad=True)
    emb = load_embedding(clf, ["eyeglasses", "smiling"], "cpu", kind="prob")
    m = emb(img)
    expect = torch.sigmoid(clf(img))
    assert [t.shape for t in m] == [(5, 1), (5, 1)]
    torch.testing.assert_close(m[0][:, 0], expect[:, clf.attr_names.index("eyeglasses")])
    torch.testing.assert_close(m[1][:, 0], expect[:, clf.attr_names.index("smiling")])
    m[0].sum().backward()
    assert img.grad.abs().sum() > 0
    # The features kind is the classifier's per-attribute dense features, as before.
    feats = load_embedding(clf, ["smiling"], "cpu")(img.detach())[0]
    torch.testing.assert_close(feats, clf.embed(img.detach())[:, clf.attr_names.index("smiling")])

    clf_path = save_classifiers(clf, tmp_path / "clf.pt")
    # Per-attribute thresholds: smiling τ⁺,τ⁻ = 0.1,0.5, eyeglasses 0.1,0.05.
    run_dir = train_tiny_control(tmp_path, str(clf_path), control_embedding="prob", control_distance="l1",
                                 control_tau="0.1,0.5,0.1,0.05", control_augment=0.1)
    stats = [json.loads(line) for line in open(run_dir / "stats.jsonl")]
    assert stats and all(math.isfinite(r["Loss/control/Lc"]) for r in stats)
    # An l1 distance of probabilities is at most 1, so the pos term is at most 1 - τ⁺ (logits would be unbounded).
    assert all(r[f"Loss/control/{a}/pos"] <= 0.9 + 1e-6 for r in stats for a in ("smiling", "eyeglasses"))
    # max(τ⁻ - d, 0) <= τ⁻: each attribute's push term is bounded by its own τ⁻, and smiling's exceeds
    # eyeglasses' bound (an untrained generator's probabilities barely differ), so the thresholds are not shared.
    assert all(r["Loss/control/eyeglasses/neg"] <= 0.05 + 1e-6 for r in stats)
    assert all(r["Loss/control/smiling/neg"] <= 0.5 + 1e-6 for r in stats)
    assert max(r["Loss/control/smiling/neg"] for r in stats) > 0.05
    saved = json.loads((run_dir / "training_options.json").read_text())
    assert saved["control_embedding"] == "prob" and saved["control_distance"] == "l1"
    assert saved["control_tau"] == [0.1, 0.5, 0.1, 0.05]
    assert saved["control_augment"] == 0.1


def test_several_control_nets_average_their_losses(tmp_path, monkeypatch, train_tiny_control):
    """--control-net A,B: L_c and each attribute's pos / neg terms are the means of A's and B's computed alone
    ([A, A] is A); a run trains against both, stores them, and is judged by both by default."""
    from ganeval.control.loss import control_nets, load_embedding, multi_net_contrastive_loss
    from ganeval.control.metrics import default_judges, training_net

    torch.manual_seed(0)
    clf_a = AttributeClassifiers(resolution=16, channels=(4, 8), hidden=8)
    clf_b = AttributeClassifiers(resolution=16, channels=(6, 8), hidden=4)
    emb_a, emb_b = (load_embedding(c, ["smiling", "eyeglasses"], "cpu") for c in (clf_a, clf_b))
    slices = offsets([4, 4, 8])
    z, _ = make_pair_batch(torch.randn(6, 16), slices, 2)
    img = torch.rand(6, 3, 16, 16)
    la, ta = contrastive_loss(emb_a(img), z, slices[:2], 0.1, 0.9)
    lb, tb = contrastive_loss(emb_b(img), z, slices[:2], 0.1, 0.9)
    assert la > 0 and lb > 0 and not torch.isclose(la, lb)
    both, terms = multi_net_contrastive_loss([emb_a, emb_b], img, z, slices[:2], 0.1, 0.9)
    torch.testing.assert_close(both, (la + lb) / 2)
    for k in range(2):
        for part in ("pos", "neg"):
            torch.testing.assert_close(terms[k][part], (ta[k][part] + tb[k][part]) / 2)
    torch.testing.assert_close(multi_net_contrastive_loss([emb_a, emb_a], img, z, slices[:2], 0.1, 0.9)[0], la)
    assert control_nets(" a.pt, b.pt ") == ["a.pt", "b.pt"] and control_nets(clf_a) == [clf_a]
    with pytest.raises(ConfigError, match="control-net"):
        control_nets(" , ")

    import ganeval.control.loss as control_loss

    seen = []   # the training step's embedding sets: both files, in --control-net order

    def spy(embeddings, *args):
        seen.append([e.clf.source for e in embeddings])
        return multi_net_contrastive_loss(embeddings, *args)

    monkeypatch.setattr(control_loss, "multi_net_contrastive_loss", spy)
    path_a, path_b = save_classifiers(clf_a, tmp_path / "a.pt"), save_classifiers(clf_b, tmp_path / "b.pt")
    run_dir = train_tiny_control(tmp_path, f"{path_a},{path_b}")
    assert seen and all(s == [str(path_a), str(path_b)] for s in seen)
    stats = [json.loads(line) for line in open(run_dir / "stats.jsonl")]
    assert stats and all(math.isfinite(r["Loss/control/Lc"]) for r in stats)
    snap = sorted(run_dir.glob("network-snapshot-*.pt"))[-1]
    assert training_net(snap) == str(path_a)   # the first gives the encoders' y^k and the SVM labels
    assert default_judges(snap) == [str(path_a), str(path_b)]
    # A bundled file keeps G_ema alone and the run's options as JSON in its meta (pretrained/make_bundle.py):
    # it still says which sets it was trained against.
    from ganeval.train.options import stored_options

    options = (run_dir / "training_options.json").read_text()
    bundled = tmp_path / "bundled.pt"
    save_checkpoint(bundled, G_ema=load_checkpoint(snap).G_ema, meta={"training_options": options})
    assert stored_options(bundled) == {} and default_judges(bundled) == [str(path_a), str(path_b)]
