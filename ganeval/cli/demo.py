"""`ganeval demo`: the embedded default, runnable offline on a fresh machine."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.option("--out", default="reports/demo", show_default=True, type=click.Path(file_okay=False))
def demo(out):
    """Run the embedded default end to end and say where the output is."""
    import torch

    import ganeval
    from ganeval.generate import generate_images, style_mixing_grid
    from ganeval.images import save_image_grid

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    for arch in ("pggan", "stylegan", "stylegan2"):
        extra = {} if arch == "pggan" else dict(mapping_depth=8)
        G = ganeval.build_generator(arch, 64, channel_base=2048, channel_max=128, z_dim=128,
                                    **({} if arch == "pggan" else dict(w_dim=128)), **extra)
        path = out / f"{arch}-untrained.pt"
        ganeval.save_checkpoint(path, G_ema=G, meta={"note": "random weights (demo)"})
        G = ganeval.load_generator(path)
        save_image_grid(generate_images(G, list(range(16))), out / f"{arch}-samples.png", nrow=8)
        line = f"{arch:<10} {G.num_params():>9,} params  num_ws={G.num_ws:<3} has_w={G.has_w}"
        if G.has_w:
            images, nrow = style_mixing_grid(G, [0, 1, 2], [10, 11, 12, 13])
            save_image_grid(images, out / f"{arch}-mixing.png", nrow=nrow)
        click.echo(line)
    click.echo(f"wrote checkpoints and grids to {out}/")


COMMANDS = [demo]
