"""Is a controlled model's control a pixel-level pattern? `control evaluate`'s accuracy (both judges) of images
rendered with w^k = E_k(0) / E_k(1), classified as they are and after a Gaussian blur, pixel noise or a 2x
down-and-up sampling. Control the training net keeps under blur while the judge does not see it is not a
high-frequency pattern; accuracy that rises under blur was hidden by high-frequency texture.

    python experiments/2026-11-gan-control/gan_control_blur.py [CKPT] [N]

Defaults: synthfaces-stylegan2-control, 200 latents.

Prints one line per attribute: transform: training-net / judge accuracy.
"""

import sys

import torch
import torch.nn.functional as F

from ganeval.control.encoders import controlled_ws, load_control
from ganeval.control.loss import gaussian_blur  # what --control-blur applies (5 taps at these sigmas)
from ganeval.data.attributes import resolve_attrs
from ganeval.metrics.separability import load_judge

TRANSFORMS = {
    "none": lambda x: x,
    "blur0.7": lambda x: gaussian_blur(x, 0.7),
    "blur1.0": lambda x: gaussian_blur(x, 1.0),
    "noise0.1": lambda x: x + 0.1 * torch.randn_like(x),
    "down2": lambda x: F.interpolate(F.avg_pool2d(x, 2), scale_factor=2, mode="bilinear", align_corners=False),
}


@torch.no_grad()
def main(ckpt: str = "synthfaces-stylegan2-control", n: int = 200) -> None:
    G, enc = load_control(ckpt)
    G.eval()
    nets = {name: load_judge(name, "cpu") for name in ("synthfaces-classifiers", "synthfaces-judge")}
    z = torch.randn(n, G.z_dim, generator=torch.Generator().manual_seed(1))
    for k, attr in enumerate(G.control_attrs):
        imgs = {}
        for v in (0, 1):
            parts = []
            for i in range(0, n, 50):
                torch.manual_seed(i)   # the same noise for both values
                ws = controlled_ws(G, enc, z[i:i + 50], {k: float(v)})
                parts.append(G.synthesis(ws, noise_mode="random").clamp(-1, 1))
            imgs[v] = torch.cat(parts)
        cells = []
        for tname, t in TRANSFORMS.items():
            accs = []
            for clf in nets.values():
                torch.manual_seed(0)
                a = resolve_attrs([attr], list(clf.attr_names))[0]
                p1, p0 = (torch.sigmoid(clf(t(imgs[v]))[:, a]) for v in (1, 0))
                accs.append(0.5 * float((p1 > 0.5).float().mean() + (p0 <= 0.5).float().mean()))
            cells.append(f"{tname}: {accs[0]:.2f} / {accs[1]:.2f}")
        print(f"{attr:16s}", "  ".join(cells), flush=True)


if __name__ == "__main__":
    main(*(sys.argv[1:2]), *(int(a) for a in sys.argv[2:3]))
