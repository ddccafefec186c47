"""ganeval: the StyleGAN family (PGGAN, StyleGAN, StyleGAN2, GAN-Control) and the metrics of its papers.

Public API (re-exports only):

    build_generator, build_discriminator      the generator core (ganeval.models)
    load_generator, load_checkpoint,          any supported checkpoint format, bundled models by name
    save_checkpoint, detect                   (ganeval.checkpoints)
"""

__version__ = "0.1.0"

from .checkpoints import Checkpoint, detect, load_checkpoint, load_generator, save_checkpoint  # noqa: E402
from .models import Generator, build_discriminator, build_generator  # noqa: E402

__all__ = [
    "Checkpoint", "Generator", "__version__", "build_discriminator", "build_generator", "detect",
    "load_checkpoint", "load_generator", "save_checkpoint",
]
