"""ganeval: the StyleGAN family (PGGAN, StyleGAN, StyleGAN2, GAN-Control) and the metrics of its papers.

Public API (re-exports only):

    build_generator, build_discriminator      the generator core (ganeval.models)
    load_generator, load_checkpoint,          any supported checkpoint format, bundled models by name
    save_checkpoint, detect                   (ganeval.checkpoints)
    evaluate, list_presets                    named metric presets -> one tidy DataFrame (ganeval.api)
    write_table, read_table                   .csv / .parquet / .json(l) result tables
"""

__version__ = "0.1.0"

from .api import evaluate, read_table, write_table  # noqa: E402
from .checkpoints import Checkpoint, detect, load_checkpoint, load_generator, save_checkpoint  # noqa: E402
from .metrics.registry import list_presets  # noqa: E402
from .models import Generator, build_discriminator, build_generator  # noqa: E402

__all__ = [
    "Checkpoint", "Generator", "__version__", "build_discriminator", "build_generator", "detect", "evaluate",
    "list_presets", "load_checkpoint", "load_generator", "read_table", "save_checkpoint", "write_table",
]
