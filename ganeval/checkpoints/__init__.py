"""Loading and saving checkpoints of any supported format.

    ganeval.load_checkpoint(path) -> Checkpoint(G, G_ema, D, arch, config, meta, format, ...)
    ganeval.load_generator(path_or_bundled_name) -> Generator (G_ema when present)
    ganeval.save_checkpoint(path, G=..., G_ema=..., D=...)

`detect(path)` names the format. Each format lives in its own module and registers a (sniff, load)
pair in common.FORMATS when imported (native first, then the foreign ones, in the order below);
nothing from a file is ever imported or executed.
"""

from . import native, nvlabs, rosinality, tensorflow  # noqa: F401 - registration order = sniffing order
from .common import FORMATS, Checkpoint, Format, register_format
from .convert import convert_checkpoint, save_rosinality
from .load import bundled_models, container, detect, load_checkpoint, load_generator, resolve_path, torch_load_safely
from .native import save_checkpoint

__all__ = ["Checkpoint", "FORMATS", "Format", "bundled_models", "container", "convert_checkpoint",
           "detect", "load_checkpoint", "load_generator", "register_format", "resolve_path", "save_checkpoint",
           "save_rosinality", "torch_load_safely"]
