"""GAN-Control (Shoshan et al., "GAN-Control: Explicitly Controllable GANs", ICCV 2021), as a plugin.

    model.py      StyleGAN2 with Z and W split into N+1 subspaces, one mapping MLP per subspace
                  (arch 'stylegan2-control')
    loss.py       the factorised contrastive loss (τ⁺, τ⁻, C⁺, C⁻), pair batches, the training hook
    options.py    `ganeval train --control ATTRS` options, parsing and checks
    calibrate.py  thresholds τ± from the embedding distances of real or generated images
    encoders.py   control encoders E_k: y^k -> w^k, trained on the generator; controlled generation
    metrics.py    controllability: accuracy, leakage, separability and PPL per subspace
    report.py     the report section of checkpoints with encoders
    plugin.py     registers the architecture, the training options and loss, and the report section

Importing this package registers it (ganeval/plugins.py loads it through its entry point).
"""

from __future__ import annotations

from . import plugin  # noqa: F401 - registers the architecture, training extension and report section
from .model import SplitMappingNetwork, StyleGAN2ControlGenerator

__all__ = ["SplitMappingNetwork", "StyleGAN2ControlGenerator"]
