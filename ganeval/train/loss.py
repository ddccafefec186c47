"""The losses of PGGAN, StyleGAN and StyleGAN2 behind one interface (NVlabs `accumulate_gradients`).

* Non-saturating logistic loss (StyleGAN, StyleGAN2): G minimises softplus(-D(G(z))),
  D minimises softplus(D(G(z))) + softplus(-D(x)).
* R1 (Mescheder et al. 2018): gamma/2 · ||∇x D(x)||² on reals. StyleGAN2 §B applies it lazily,
  every 16 D steps, with the penalty multiplied by the interval (the `gain`).
* Path-length regularisation (StyleGAN2 §3.2): (||J_w^T y||₂ - a)², y ~ N(0, I)/sqrt(H·W), with a the
  running mean of the lengths (decay 0.01), on batch_gpu / pl_batch_shrink samples, every 4 G steps.
* Style-mixing regularisation (StyleGAN §3.1): with probability p a minibatch switches from w1 to
  w2 at a random crossover among the currently active layers.
* WGAN-GP with drift (PGGAN §A.1): G minimises -D(G(z)); D minimises D(G(z)) - D(x)
  + lambda (||∇ D(x̂)|| - 1)² + eps_drift · D(x)², x̂ a random lerp of a real and a fake.

Running statistics that a step updates (W's mean for the truncation trick, the path-length mean a)
are accumulated over the whole minibatch and applied once per step in `end_phase`, after a sum
over processes: every process then holds the same numbers, whatever the number of processes.
"""

from __future__ import annotations

import contextlib
import math

import torch
import torch.nn.functional as F

from .. import dist

LOSSES = ("logistic", "wgangp")
PHASES = ("Gmain", "Greg", "Gboth", "Dmain", "Dreg", "Dboth")


# ----------------------------------------------------------------------------------------------------
# The regularisers as plain functions (tested against direct autograd computations).

def r1_penalty(real_logits: torch.Tensor, real_img: torch.Tensor) -> torch.Tensor:
    """Per-sample ||∇x D(x)||² of logits computed from `real_img` (which must require grad)."""
    (grads,) = torch.autograd.grad(outputs=[real_logits.sum()], inputs=[real_img], create_graph=True)
    return grads.square().sum(dim=[1, 2, 3])


def path_lengths(img: torch.Tensor, ws: torch.Tensor, pl_noise: torch.Tensor) -> torch.Tensor:
    """Per-sample ||J_w^T y|| with y = pl_noise: sqrt of the squared norm summed over w_dim, averaged over ws."""
    (grads,) = torch.autograd.grad(outputs=[(img * pl_noise).sum()], inputs=[ws], create_graph=True)
    return grads.square().sum(dim=2).mean(dim=1).sqrt()


def gradient_penalty(mixed_logits: torch.Tensor, mixed_img: torch.Tensor, target: float = 1.0) -> torch.Tensor:
    """Per-sample (||∇ D(x̂)|| - target)² (WGAN-GP)."""
    (grads,) = torch.autograd.grad(outputs=[mixed_logits.sum()], inputs=[mixed_img], create_graph=True)
    return (grads.square().sum(dim=[1, 2, 3]).sqrt() - target).square()


# ----------------------------------------------------------------------------------------------------

class StatsCollector:
    """Running sums of scalar statistics on the device (no host syncs); reduced over ranks on read."""

    def __init__(self):
        self.sums: dict[str, torch.Tensor] = {}
        self.counts: dict[str, int] = {}

    def report(self, name: str, value: torch.Tensor) -> None:
        value = value.detach().float()
        s = value.sum()
        self.sums[name] = self.sums[name] + s if name in self.sums else s
        self.counts[name] = self.counts.get(name, 0) + value.numel()

    def reduce(self) -> dict[str, float]:
        """Means since the last call, over all ranks (every rank must call it); then reset."""
        names = sorted(self.sums)
        if not names:
            return {}
        device = self.sums[names[0]].device
        t = torch.stack([torch.stack([self.sums[n].to(device), torch.tensor(float(self.counts[n]), device=device)])
                         for n in names])
        dist.all_reduce_sum(t)
        self.sums, self.counts = {}, {}
        return {n: float(s / c) for n, (s, c) in zip(names, t.tolist())}


class GANLoss:
    """accumulate_gradients(phase, real_img, gen_z, gain): forward + backward of one microbatch."""

    def __init__(self, G, D, *, progressive: bool, loss: str = "logistic", r1_gamma: float = 10.0,
                 style_mixing_prob: float = 0.9, pl_weight: float = 0.0, pl_batch_shrink: int = 2,
                 pl_decay: float = 0.01, wgan_lambda: float = 10.0, wgan_target: float = 1.0,
                 wgan_epsilon: float = 0.001, amp_dtype: torch.dtype | None = None):
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got '{loss}'")
        self.G, self.D = G, D
        self.progressive = progressive
        self.loss = loss
        self.r1_gamma = r1_gamma
        self.style_mixing_prob = style_mixing_prob
        self.pl_weight, self.pl_batch_shrink, self.pl_decay = pl_weight, pl_batch_shrink, pl_decay
        self.wgan_lambda, self.wgan_target, self.wgan_epsilon = wgan_lambda, wgan_target, wgan_epsilon
        self.amp_dtype = amp_dtype
        device = next(G.parameters()).device
        self.pl_mean = torch.zeros([], device=device)   # the path-length running mean a
        self.lod = 0.0
        self.stats = StatsCollector()
        self._w_sum = torch.zeros([G.w_dim], device=device)
        self._pl_sum = torch.zeros([2], device=device)   # [sum of lengths, count]
        self._w_count = 0

    # Networks.

    def _autocast(self, enabled: bool = True):
        if self.amp_dtype is None or not enabled:
            return contextlib.nullcontext()
        device_type = next(self.G.parameters()).device.type
        return torch.autocast(device_type=device_type, dtype=self.amp_dtype)

    def num_active_ws(self) -> int:
        """Style layers in use at the current lod (StyleGAN grows by len(ws) / len(blocks) per level)."""
        G = self.G
        if not self.progressive:
            return G.num_ws
        blocks = len(G.synthesis.block_resolutions)
        return G.num_ws // blocks * (blocks - math.floor(self.lod))

    def run_G(self, z: torch.Tensor, track_w: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        G = self.G
        ws = G.mapping(z, update_w_avg=False)   # w_avg is updated once per step in end_phase
        if track_w:
            self._w_sum += ws[:, 0].detach().sum(dim=0)
            self._w_count += ws.shape[0]
        active = self.num_active_ws()
        if self.style_mixing_prob > 0 and active > 1:
            cutoff = int(torch.randint(1, active, []))
            if float(torch.rand([])) < self.style_mixing_prob:
                ws = G.style_mix(ws, G.mapping(torch.randn_like(z), update_w_avg=False), cutoff)
        if self.progressive:
            img = G.synthesis(ws, lod=self.lod, native_resolution=True)
        else:
            img = G.synthesis(ws)
        return img, ws

    def run_D(self, img: torch.Tensor) -> torch.Tensor:
        logits = self.D(img, lod=self.lod) if self.progressive else self.D(img)
        return logits.float()

    # Phases.

    def accumulate_gradients(self, phase: str, real_img: torch.Tensor, gen_z: torch.Tensor, gain: float) -> None:
        """Backpropagate one microbatch's share of `phase`, scaled by `gain` (interval / rounds)."""
        if phase not in PHASES:
            raise ValueError(f"unknown phase '{phase}'")
        do_Gmain = phase in ("Gmain", "Gboth")
        do_Dmain = phase in ("Dmain", "Dboth")
        do_Gpl = phase in ("Greg", "Gboth") and self.pl_weight > 0
        do_Dr1 = phase in ("Dreg", "Dboth") and self.r1_gamma > 0
        wgan = self.loss == "wgangp"

        # Gmain: make D call the fakes real.
        if do_Gmain:
            with self._autocast():
                gen_img, _ = self.run_G(gen_z, track_w=True)
                gen_logits = self.run_D(gen_img)
            loss_G = -gen_logits if wgan else F.softplus(-gen_logits)
            self.stats.report("Loss/scores/fake", gen_logits)
            self.stats.report("Loss/G/loss", loss_G)
            loss_G.mean().mul(gain).backward()

        # Gpl: path-length regularisation, in full precision (second-order gradients).
        if do_Gpl:
            batch = max(gen_z.shape[0] // self.pl_batch_shrink, 1)
            gen_img, gen_ws = self.run_G(gen_z[:batch])
            pl_noise = torch.randn_like(gen_img) / math.sqrt(gen_img.shape[2] * gen_img.shape[3])
            lengths = path_lengths(gen_img, gen_ws, pl_noise)
            self._pl_sum += torch.stack([lengths.detach().sum(), torch.tensor(float(batch), device=lengths.device)])
            pl_penalty = (lengths - self.pl_mean).square()
            self.stats.report("Loss/pl_penalty", pl_penalty)
            loss_Gpl = pl_penalty * self.pl_weight
            self.stats.report("Loss/G/reg", loss_Gpl)
            loss_Gpl.mean().mul(gain).backward()

        # Dmain: fakes are fake, reals are real (the fakes need no graph through G).
        loss_Dgen = 0
        gen_img = None
        if do_Dmain:
            with torch.no_grad(), self._autocast():
                gen_img = self.run_G(gen_z)[0]
            with self._autocast():
                gen_logits = self.run_D(gen_img)
            self.stats.report("Loss/scores/fake", gen_logits)
            loss_Dgen = gen_logits if wgan else F.softplus(gen_logits)
            loss_Dgen.mean().mul(gain).backward()

        if do_Dmain or do_Dr1:
            real_tmp = real_img.detach().requires_grad_(do_Dr1)
            with self._autocast(enabled=not do_Dr1):
                real_logits = self.run_D(real_tmp)
            self.stats.report("Loss/scores/real", real_logits)
            loss_Dreal = 0
            if do_Dmain:
                loss_Dreal = -real_logits if wgan else F.softplus(-real_logits)
                if wgan:
                    drift = real_logits.square()
                    self.stats.report("Loss/drift", drift)
                    loss_Dreal = loss_Dreal + drift * self.wgan_epsilon
                self.stats.report("Loss/D/loss", loss_Dgen + loss_Dreal)
            loss_Dr1 = 0
            if do_Dr1:
                penalty = r1_penalty(real_logits, real_tmp)
                loss_Dr1 = penalty * (self.r1_gamma / 2)
                self.stats.report("Loss/r1_penalty", penalty)
                self.stats.report("Loss/D/reg", loss_Dr1)
            (real_logits * 0 + loss_Dreal + loss_Dr1).mean().mul(gain).backward()

        # WGAN-GP: the gradient penalty on random interpolates, every D step as in PGGAN.
        if do_Dmain and wgan and self.wgan_lambda > 0:
            t = torch.rand([real_img.shape[0], 1, 1, 1], device=real_img.device)
            mixed = torch.lerp(real_img.detach(), gen_img.detach().to(real_img.dtype), t).requires_grad_(True)
            gp = gradient_penalty(self.run_D(mixed), mixed, self.wgan_target)
            self.stats.report("Loss/gp", gp)
            (gp * (self.wgan_lambda / self.wgan_target ** 2)).mean().mul(gain).backward()

    @torch.no_grad()
    def end_phase(self, phase: str) -> None:
        """Apply the statistics a phase gathered, identically on every rank (before the optimizer step)."""
        if phase in ("Gmain", "Gboth") and self._w_count > 0:
            mapping = self.G.mapping
            t = torch.cat([self._w_sum, torch.tensor([float(self._w_count)], device=self._w_sum.device)])
            dist.all_reduce_sum(t)
            w_mean = t[:-1] / t[-1]
            if getattr(mapping, "w_avg_beta", None) is not None:
                mapping.w_avg.copy_(w_mean.lerp(mapping.w_avg, mapping.w_avg_beta))
            self._w_sum.zero_()
            self._w_count = 0
        if phase in ("Greg", "Gboth") and self._pl_sum[1] > 0:
            dist.all_reduce_sum(self._pl_sum)
            self.pl_mean.copy_(self.pl_mean.lerp(self._pl_sum[0] / self._pl_sum[1], self.pl_decay))
            self._pl_sum.zero_()

    def state_dict(self) -> dict:
        return {"pl_mean": self.pl_mean.detach().cpu().clone()}

    def load_state_dict(self, state: dict) -> None:
        self.pl_mean.copy_(state["pl_mean"])
