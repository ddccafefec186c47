"""Losses and regularisers of ganeval.train against direct autograd computations on toy networks."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ganeval import build_discriminator, build_generator
from ganeval.train.loop import make_phases
from ganeval.train.loss import GANLoss, gradient_penalty, path_lengths, r1_penalty
from ganeval.train.options import resolve_options

TINY = dict(channel_base=64, channel_max=16)



class ToyD(nn.Module):
    """Per-sample nonlinear critic (no cross-sample coupling, so per-sample autograd is the reference)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.fc = nn.Linear(4 * 8 * 8, 1)

    def forward(self, x):
        return self.fc(F.softplus(self.conv(x)).flatten(1))


class ToySynthesis(nn.Module):
    """img = tanh(A · ws), per sample: ws [N, num_ws, w_dim] -> [N, 3, 4, 4]."""

    def __init__(self, num_ws=3, w_dim=5):
        super().__init__()
        self.A = nn.Parameter(torch.randn(num_ws * w_dim, 3 * 16) * 0.3)

    def forward(self, ws):
        return torch.tanh(ws.flatten(1) @ self.A).reshape(-1, 3, 4, 4)


def test_r1_matches_per_sample_autograd():
    torch.manual_seed(0)
    D = ToyD()
    x = torch.randn(5, 3, 8, 8, requires_grad=True)
    penalty = r1_penalty(D(x), x)
    for i in range(5):
        xi = x[i:i + 1].detach().requires_grad_(True)
        (g,) = torch.autograd.grad(D(xi).sum(), xi)
        assert torch.allclose(penalty[i], g.square().sum(), rtol=1e-5)
    # The penalty is differentiable w.r.t. D's weights (create_graph) and matches the direct gradient.
    (gw,) = torch.autograd.grad(penalty.sum(), D.conv.weight)
    ref = torch.zeros_like(gw)
    for i in range(5):
        xi = x[i:i + 1].detach().requires_grad_(True)
        (g,) = torch.autograd.grad(D(xi).sum(), xi, create_graph=True)
        ref += torch.autograd.grad(g.square().sum(), D.conv.weight)[0]
    assert torch.allclose(gw, ref, rtol=1e-4, atol=1e-7)


def test_r1_and_gradient_penalty_of_a_linear_critic():
    a = torch.randn(3, 8, 8)
    x = torch.randn(4, 3, 8, 8, requires_grad=True)
    logits = (x * a).sum(dim=[1, 2, 3])[:, None]
    assert torch.allclose(r1_penalty(logits, x), a.square().sum().expand(4), rtol=1e-6)
    logits = (x * a).sum(dim=[1, 2, 3])[:, None]
    assert torch.allclose(gradient_penalty(logits, x), (a.norm() - 1).square().expand(4), rtol=1e-5)


def test_path_lengths_match_the_jacobian():
    torch.manual_seed(1)
    synth = ToySynthesis()
    ws = torch.randn(4, 3, 5, requires_grad=True)
    img = synth(ws)
    y = torch.randn_like(img) / math.sqrt(16)
    lengths = path_lengths(img, ws, y)
    for i in range(4):
        J = torch.autograd.functional.jacobian(lambda w: synth(w[None])[0], ws[i].detach())  # [3,4,4,3,5]
        jty = (J.reshape(48, 15).T @ y[i].reshape(48)).reshape(3, 5)
        assert torch.allclose(lengths[i], jty.square().sum(dim=1).mean().sqrt(), rtol=1e-5)
    # Differentiable w.r.t. the synthesis weights (the path-length penalty trains G).
    (gA,) = torch.autograd.grad((lengths - 0.5).square().sum(), synth.A)
    assert torch.isfinite(gA).all() and gA.abs().sum() > 0


def _tiny_sg2(**loss_kwargs):
    torch.manual_seed(0)
    G = build_generator("stylegan2", 8, z_dim=8, w_dim=8, mapping_depth=2, **TINY)
    D = build_discriminator("stylegan2", 8, **TINY)
    return G, D, GANLoss(G, D, progressive=False, **loss_kwargs)


def test_lazy_r1_phase_is_gamma_half_mean_penalty_times_gain():
    G, D, loss = _tiny_sg2(r1_gamma=4.0, style_mixing_prob=0.0)
    real = torch.randn(4, 3, 8, 8)
    D.requires_grad_(True)
    loss.accumulate_gradients("Dreg", real, torch.randn(4, 8), gain=16)
    got = [p.grad.clone() for p in D.parameters()]
    D.zero_grad(set_to_none=True)
    x = real.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(D(x).sum(), x, create_graph=True)
    (g.square().sum(dim=[1, 2, 3]) * 2.0).mean().mul(16).backward()
    for a, b in zip(got, D.parameters()):
        ref = b.grad if b.grad is not None else torch.zeros_like(a)  # e.g. the output bias: no R1 gradient
        assert torch.allclose(a, ref, rtol=1e-4, atol=1e-6)


def test_logistic_and_wgangp_d_losses_match_direct_computation(monkeypatch):
    G, D, loss = _tiny_sg2(r1_gamma=0.0)
    real, fake = torch.randn(4, 3, 8, 8), torch.randn(4, 3, 8, 8)
    monkeypatch.setattr(loss, "run_G", lambda z, track_w=False: (fake, None))
    D.requires_grad_(True)

    def grads(fn):
        D.zero_grad(set_to_none=True)
        fn()
        return [p.grad.clone() for p in D.parameters()]

    got = grads(lambda: loss.accumulate_gradients("Dmain", real, torch.randn(4, 8), gain=1))
    ref = grads(lambda: (F.softplus(D(fake)).mean() + F.softplus(-D(real)).mean()).backward())
    assert all(torch.allclose(a, b, rtol=1e-4, atol=1e-6) for a, b in zip(got, ref))

    loss.loss, loss.wgan_lambda, loss.wgan_epsilon = "wgangp", 10.0, 1e-3
    torch.manual_seed(5)
    got = grads(lambda: loss.accumulate_gradients("Dmain", real, torch.randn(4, 8), gain=1))

    def wgan_gp():
        torch.manual_seed(5)
        torch.randn(4, 8)  # the latents drawn above
        t = torch.rand([4, 1, 1, 1])
        mixed = torch.lerp(real, fake, t).requires_grad_(True)
        (g,) = torch.autograd.grad(D(mixed).sum(), mixed, create_graph=True)
        gp = (g.square().sum(dim=[1, 2, 3]).sqrt() - 1).square()
        d_real = D(real)
        (D(fake).mean() - d_real.mean() + 1e-3 * d_real.square().mean() + 10 * gp.mean()).backward()

    ref = grads(wgan_gp)
    assert all(torch.allclose(a, b, rtol=1e-4, atol=1e-6) for a, b in zip(got, ref))


def test_nonsaturating_g_loss_and_w_avg_tracking():
    G, D, loss = _tiny_sg2(style_mixing_prob=0.0)
    G.requires_grad_(True)
    z1, z2 = torch.randn(4, 8), torch.randn(4, 8)
    w_avg0 = G.mapping.w_avg.clone()
    for z in (z1, z2):  # two accumulation rounds
        loss.accumulate_gradients("Gmain", torch.zeros(4, 3, 8, 8), z, gain=0.5)
    stats = loss.stats.reduce()
    with torch.no_grad():  # per round: the minibatch-stddev groups stay within a microbatch
        ref = torch.cat([F.softplus(-D(G.synthesis(G.mapping(z, update_w_avg=False), noise_mode="none")))
                         for z in (z1, z2)])
    # noise_strength starts at 0 in StyleGAN2, so the random-noise forward equals the noiseless one.
    assert stats["Loss/G/loss"] == pytest.approx(ref.mean().item(), rel=1e-5)
    assert G.mapping.w_avg.equal(w_avg0), "w_avg must not move during the rounds"
    loss.end_phase("Gmain")
    with torch.no_grad():
        w_mean = G.mapping(torch.cat([z1, z2]), update_w_avg=False)[:, 0].mean(dim=0)
    assert torch.allclose(G.mapping.w_avg, w_mean.lerp(w_avg0, 0.995), atol=1e-6)


def test_path_length_running_mean_and_batch_shrink():
    G, D, loss = _tiny_sg2(style_mixing_prob=0.0, pl_weight=2.0, pl_batch_shrink=2, pl_decay=0.01)
    G.requires_grad_(True)
    calls = []
    run_G = loss.run_G
    loss.run_G = lambda z, track_w=False: calls.append(z.shape[0]) or run_G(z, track_w)
    loss.accumulate_gradients("Greg", torch.zeros(6, 3, 8, 8), torch.randn(6, 8), gain=4)
    assert calls == [3]
    assert loss.pl_mean.item() == 0  # the mean moves once per step, after the phase
    pl_sum = loss._pl_sum.clone()
    loss.end_phase("Greg")
    assert torch.allclose(loss.pl_mean, 0.01 * pl_sum[0] / pl_sum[1])
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in G.synthesis.parameters())


def test_style_mixing_uses_active_layers_only():
    torch.manual_seed(0)
    G = build_generator("stylegan", 16, z_dim=8, w_dim=8, mapping_depth=1, **TINY)
    D = build_discriminator("stylegan", 16, **TINY)
    loss = GANLoss(G, D, progressive=True, style_mixing_prob=1.0)
    assert G.num_ws == 6
    for lod, active in ((0.0, 6), (0.5, 6), (1.0, 4), (1.5, 4), (2.0, 2)):
        loss.lod = lod
        assert loss.num_active_ws() == active
    loss.lod = 1.0
    seen = set()
    for seed in range(20):
        torch.manual_seed(seed)
        with torch.no_grad():
            _, ws = loss.run_G(torch.randn(2, 8))
        # Mixed ws: layers < cutoff from w1, the rest from w2 (two distinct constant runs).
        changes = [i for i in range(1, 6) if not torch.equal(ws[:, i], ws[:, i - 1])]
        assert len(changes) == 1
        seen.add(changes[0])
    assert seen == {1, 2, 3}  # crossovers among the 4 active layers only


def test_lazy_regularisation_adam_correction():
    opts = resolve_options(arch="stylegan2", data=torch.utils.data.TensorDataset(torch.zeros(1)), resolution=8,
                           **TINY)
    G = build_generator("stylegan2", 8, **TINY)
    D = build_discriminator("stylegan2", 8, **TINY)
    phases = {p.name: p for p in make_phases(G, D, opts)}
    assert list(phases) == ["Gmain", "Greg", "Dmain", "Dreg"]
    assert phases["Greg"].interval == 4 and phases["Dreg"].interval == 16
    g, d = phases["Gmain"].opt.param_groups[0], phases["Dmain"].opt.param_groups[0]
    assert g["lr"] == pytest.approx(0.002 * 4 / 5) and d["lr"] == pytest.approx(0.002 * 16 / 17)
    assert d["betas"][1] == pytest.approx(0.99 ** (16 / 17)) and d["betas"][0] == 0
    assert phases["Gmain"].opt is phases["Greg"].opt
    sg1 = resolve_options(arch="stylegan", data=opts.dataset, resolution=8, **TINY)
    assert [p.name for p in make_phases(build_generator("stylegan", 8, **TINY),
                                        build_discriminator("stylegan", 8, **TINY), sg1)] == ["Gmain", "Dboth"]
