"""`ganeval info` and `ganeval generate`."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import ConfigError
from .params import FiniteFloat, OutputFile


@click.command()
@click.argument("ckpt")
def info(ckpt):
    """Show a checkpoint's format, architecture and sizes. CKPT is a file or a bundled model name."""
    from ..checkpoints import load_checkpoint

    c = load_checkpoint(ckpt)
    G = c.generator
    rows = [
        ("file", c.path), ("format", c.format), ("arch", c.arch), ("resolution", G.img_resolution),
        ("z_dim / w_dim", f"{G.z_dim} / {G.w_dim}"), ("num_ws", G.num_ws),
        ("mapping depth", G.mapping_depth), ("W space", "yes" if G.has_w else "no (W = normalised Z)"),
    ]
    for name, net in (("G", c.G), ("G_ema", c.G_ema), ("D", c.D)):
        rows.append((f"{name} parameters", f"{sum(p.numel() for p in net.parameters()):,}" if net is not None
                     else "absent"))
    for k, v in c.meta.items():
        if isinstance(v, (str, int, float, bool)):
            rows.append((k, v))
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        click.echo(f"{k:<{width}}  {v}")
    card = c.meta.get("card") or _bundled_card(c.path)
    if card:
        click.echo("")
        click.echo(card.rstrip("\n"))


def _bundled_card(path) -> str | None:
    """The model card <stem>.md of a bundled checkpoint (None for other files)."""
    from ..assets import is_bundled

    if not path or not is_bundled(path):
        return None
    card = Path(path).with_suffix(".md")
    if not card.is_file():
        return None
    try:
        return card.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


@click.command()
@click.argument("ckpt")
@click.option("--seeds", default="0-15", show_default=True, help="Seeds, e.g. '0-15' or '1,5,9'.")
@click.option("--psi", type=FiniteFloat(), default=1.0, show_default=True, help="Truncation psi.")
@click.option("--cutoff", type=click.IntRange(min=0), default=None, help="Truncate only the first N ws.")
@click.option("--noise-mode", type=click.Choice(["const", "random", "none"]), default="const", show_default=True)
@click.option("--mix", "mix_seeds", default=None, metavar="SEEDS",
              help="Style-mixing grid: rows from --seeds, columns from these seeds.")
@click.option("--crossover", type=click.IntRange(min=0), default=None,
              help="Mixing crossover layer (default num_ws/2).")
@click.option("--nrow", type=click.IntRange(min=1), default=None, help="Images per row.")
@click.option("--out", required=True, type=OutputFile("png"), help="Output PNG.")
@click.option("--device", default=None, help="cpu, cuda, cuda:1 (default: cuda if available).")
def generate(ckpt, seeds, psi, cutoff, noise_mode, mix_seeds, crossover, nrow, out, device):
    """Write an image grid (or a style-mixing grid with --mix) from a checkpoint.

    \b
      ganeval generate ffhq.pt --seeds 0-15 --psi 0.7 --out grid.png
      ganeval generate ffhq.pt --seeds 1-4 --mix 10-14 --crossover 4 --out mix.png
    """
    from ..checkpoints import load_generator
    from ..images import save_image_grid
    from ..models.generate import generate_images, style_mixing_grid
    from ..utils import parse_seeds, resolve_device

    row_seeds = parse_seeds(seeds)
    dev = resolve_device(device)
    G = load_generator(ckpt, device=dev)
    if mix_seeds:
        if crossover is not None and not 0 <= crossover <= G.num_ws:
            raise ConfigError(f"--crossover must be in 0..{G.num_ws}")
        images, nrow = style_mixing_grid(G, row_seeds, parse_seeds(mix_seeds), crossover, psi=psi,
                                         noise_mode=noise_mode, device=dev)
    else:
        images = generate_images(G, row_seeds, psi=psi, truncation_cutoff=cutoff, noise_mode=noise_mode,
                                 device=dev)
    save_image_grid(images, out, nrow=nrow)
    click.echo(f"wrote {out} ({images.shape[0]} images of {images.shape[-1]}x{images.shape[-2]})")


COMMANDS = [info, generate]
