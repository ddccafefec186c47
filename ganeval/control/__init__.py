"""GAN-Control (Shoshan et al., "GAN-Control: Explicitly Controllable GANs", ICCV 2021).

    model.py      StyleGAN2 with Z and W split into N+1 subspaces, one mapping MLP per subspace
                  (arch 'stylegan2-control', registered here)
    loss.py       the factorised contrastive loss (τ⁺, τ⁻, C⁺, C⁻), pair batches, the training hook
    options.py    `ganeval train --control ATTRS` option parsing and checks
    encoders.py   control encoders E_k: y^k -> w^k, trained on the generator; controlled generation
    metrics.py    controllability: accuracy, leakage, separability and PPL per subspace

Importing this package registers the architecture, so native checkpoints of it load.
"""

from __future__ import annotations

from ..models import ARCHS, register_arch
from ..models.stylegan2 import StyleGAN2Discriminator
from .model import SplitMappingNetwork, StyleGAN2ControlGenerator

if "stylegan2-control" not in ARCHS:
    register_arch("stylegan2-control", StyleGAN2ControlGenerator, StyleGAN2Discriminator, progressive=False)

__all__ = ["SplitMappingNetwork", "StyleGAN2ControlGenerator"]
