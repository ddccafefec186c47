"""A fine-tuning start for a run that came back as G_ema only (the bundled models): a new discriminator trained
alone, the generator frozen, for KIMG kimg against the snapshot's G_ema (StyleGAN2's logistic loss, lazy R1 with
gamma 1 every 16 steps, minibatch 64, lr 0.0025 — the bundled pair's settings), written as a weights-only
checkpoint (G = G_ema = the snapshot, D = the new one) that `ganeval train --resume` takes as a fine-tuning start.

    python experiments/2026-11-gan-control/new_discriminator.py SNAPSHOT OUT.pt [KIMG] [DATA]

Defaults: 6 kimg, synthfaces:70000?res=64.

Why train D first: a random D gives the generator random gradients, and Adam turns them into full-size steps.
"""

import sys
import time
from dataclasses import replace

import torch

from ganeval.checkpoints import load_checkpoint, save_checkpoint
from ganeval.data import open_dataset
from ganeval.images import from_uint8
from ganeval.models import build_discriminator
from ganeval.train.loop import make_phases
from ganeval.train.loss import GANLoss
from ganeval.train.options import TrainingOptions


def main(snapshot: str, out: str, kimg: float = 6.0, data: str = "synthfaces:70000?res=64", batch: int = 64,
         lr: float = 0.0025, r1_interval: int = 16, seed: int = 0) -> None:
    ckpt = load_checkpoint(snapshot)
    G = (ckpt.G_ema if ckpt.G_ema is not None else ckpt.generator).train().requires_grad_(False)
    torch.manual_seed(seed)
    D = build_discriminator(G.arch, G.img_resolution, img_channels=G.img_channels, channel_base=1024,
                            channel_max=128).train()
    loss = GANLoss(G, D, progressive=False, loss="logistic", r1_gamma=1.0, style_mixing_prob=0.9, pl_weight=0.0)
    # D's Adam as the training loop sets it up (lazy R1: lr and betas scaled by interval / (interval + 1)).
    options = replace(TrainingOptions(), lr=lr, r1_gamma=1.0, r1_interval=r1_interval)
    opt = make_phases(G, D, options)[-1].opt
    ds = open_dataset(data)
    gen = torch.Generator().manual_seed(seed + 1)
    steps, t0 = int(kimg * 1000 / batch), time.time()
    for step in range(steps):
        idx = torch.randint(len(ds), [batch], generator=gen)
        real = from_uint8(torch.stack([torch.as_tensor(ds[int(i)][0]) for i in idx]))
        z = torch.randn(batch, G.z_dim, generator=gen)
        for phase, gain in [("Dmain", 1.0)] + ([("Dreg", float(r1_interval))] if step % r1_interval == 0 else []):
            D.requires_grad_(True)
            opt.zero_grad(set_to_none=True)
            loss.accumulate_gradients(phase, real, z, gain)
            opt.step()
            D.requires_grad_(False)
        if step % 10 == 0 or step == steps - 1:
            s = {k: v for k, v in loss.stats.reduce().items() if k in ("Loss/D/loss", "Loss/scores/real",
                                                                        "Loss/scores/fake")}
            print(f"step {step}/{steps} {time.time() - t0:.0f}s", " ".join(f"{k} {v:+.3f}" for k, v in s.items()),
                  flush=True)
    save_checkpoint(out, G=G, G_ema=G, D=D, meta={"new_discriminator_kimg": kimg, "from": str(snapshot)})
    print(f"wrote {out}")


if __name__ == "__main__":
    args = sys.argv[1:]
    if len(args) < 2:
        sys.exit(__doc__)
    main(args[0], args[1], float(args[2]) if len(args) > 2 else 6.0, *(args[3:4]))
