"""GAN-Control as a plugin: what it registers with the layers below it.

    ganeval.models   the architecture 'stylegan2-control' (StyleGAN2's discriminator)
    ganeval.train    its training options (--control, --control-*), trained with StyleGAN2's recipe, and
                     its loss: the GAN loss + λ · the factorised contrastive loss (loss.py)
    ganeval.report   a section for checkpoints with control encoders (report.py)

Nothing below ganeval.control imports it; the registries find it through the entry point in
pyproject.toml (ganeval/plugins.py).
"""

from __future__ import annotations

import copy

from ..models import register_arch
from ..models.stylegan2 import StyleGAN2Discriminator
from ..report.sections import Section, register_section
from ..train.extensions import TrainingExtension, register_extension
from .calibrate import resolve_taus
from .loss import ControlGANLoss, control_nets, load_embedding
from .model import StyleGAN2ControlGenerator
from .options import ARCH, OPTIONS, control_active, control_arch, validate_control
from .report import SECTION_COLUMNS, SECTION_INTRO, control_section, has_encoders, section_caption


def control_loss(options, device) -> tuple[type, dict]:
    """The loss of a GAN-Control run: ControlGANLoss with one embedding M per classifier set of --control-net."""
    taus = resolve_taus(options.control_tau, len(options.control))
    return ControlGANLoss, dict(
        embeddings=[load_embedding(net, options.control, device, kind=options.control_embedding)
                    for net in control_nets(options.control_net)],
        control_weight=options.control_weight, tau_pos=[t[0] for t in taus], tau_neg=[t[1] for t in taus],
        distance=options.control_distance, augment=options.control_augment, blur=options.control_blur)


register_arch(ARCH, StyleGAN2ControlGenerator, StyleGAN2Discriminator, progressive=False)
register_extension(TrainingExtension(
    name="control", options=copy.deepcopy(OPTIONS), active=control_active, resolve=control_arch,
    validate=validate_control, loss=control_loss, arch_defaults={ARCH: "stylegan2"}))
register_section(Section(
    name="control", title="GAN-Control", intro=SECTION_INTRO, columns=SECTION_COLUMNS, applies=has_encoders,
    make=control_section, caption=section_caption))
