"""`ganeval project`: the StyleGAN2 projector from the command line."""

from __future__ import annotations

import click

from .params import OutputDir


@click.command()
@click.argument("ckpt")
@click.option("--target", required=True, type=click.Path(), help="An image file or a folder of images.")
@click.option("--steps", type=click.IntRange(min=1), default=1000, show_default=True)
@click.option("--space", type=click.Choice(["w", "w+"]), default="w", show_default=True)
@click.option("--distance", default="lpips-vgg16", show_default=True,
              help="Registered distance: lpips-vgg16, synth-lpips, mse, ...")
@click.option("--no-noise-opt", is_flag=True, help="Keep the noise maps fixed (optimise w only).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", required=True, type=OutputDir(), help="Output folder.")
@click.option("--device", default=None, help="cpu, cuda, cuda:1 (default: cuda if available).")
@click.option("--quiet", is_flag=True)
def project(ckpt, target, steps, space, distance, no_noise_opt, seed, out, device, quiet):
    """Find the latent that reproduces each target image (StyleGAN2 projector).

    \b
      ganeval project ffhq.pt --target face.png --steps 1000 --space w --out proj/
      ganeval project synthfaces-stylegan-map8 --target imgs/ --distance synth-lpips --out proj/

    Writes projected_w.npz, <name>.png (target | reconstruction), <name>-progress.png and results.csv.
    """
    from ..checkpoints import load_generator
    from ..projection import project_files
    from ..utils import resolve_device

    G = load_generator(ckpt, device=resolve_device(device))
    result = project_files(G, target, out, steps=steps, space=space, distance=distance,
                           optimize_noise=not no_noise_opt, seed=seed, progress=False if quiet else None)
    if not quiet:
        click.echo(result.table.to_string(index=False))
    click.echo(f"wrote {len(result.table)} projection(s) to {out}/")


COMMANDS = [project]
