"""ganeval: the StyleGAN family (PGGAN, StyleGAN, StyleGAN2, GAN-Control) and the metrics of its papers.

Public API (re-exports; each is imported on first use, so `import ganeval` stays light):

    build_generator, build_discriminator      the generator core (ganeval.models)
    load_generator, load_checkpoint,          any supported checkpoint format, bundled models by name
    save_checkpoint, detect                   (ganeval.checkpoints)
    evaluate, list_presets, RunOptions        named metric presets -> one tidy DataFrame (ganeval.metrics)
    write_table, read_table                   .csv / .parquet / .json(l) result tables (ganeval.metrics.tables)

The package layers and what each may import are in .importlinter; nothing inside ganeval imports
this module.
"""

from __future__ import annotations

import importlib

from ._version import __version__

_EXPORTS = {
    "Generator": "ganeval.models", "build_generator": "ganeval.models", "build_discriminator": "ganeval.models",
    "Checkpoint": "ganeval.checkpoints", "detect": "ganeval.checkpoints", "load_checkpoint": "ganeval.checkpoints",
    "load_generator": "ganeval.checkpoints", "save_checkpoint": "ganeval.checkpoints",
    "RunOptions": "ganeval.metrics", "evaluate": "ganeval.metrics", "list_presets": "ganeval.metrics",
    "read_table": "ganeval.metrics", "write_table": "ganeval.metrics",
}

__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str):
    # PEP 562: the first `ganeval.evaluate` imports the metrics (torch, pandas), not `import ganeval`.
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'ganeval' has no attribute '{name}'")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
