"""`ganeval train`: parse, resolve the options (ganeval.train.options), run the loop (ganeval.train.loop)."""

from __future__ import annotations

import click

# Options left unset fall back to the architecture's paper defaults, or, with --resume, to the values
# stored in the checkpoint; hence default=None everywhere and the defaults spelled out in the help.


def _comma_list(value: str | None) -> list[str] | None:
    return None if value is None else [v.strip() for v in value.split(",") if v.strip()]


@click.command()
@click.option("--arch", default=None, metavar="NAME", help="pggan | stylegan | stylegan2  [default: stylegan2]")
@click.option("--data", default=None, metavar="PATH|SPEC",
              help="Image folder, zip, CelebA-format directory, or synthfaces:N?res=R.")
@click.option("--resolution", type=int, default=None, help="Training resolution [default: the dataset's].")
@click.option("--kimg", type=float, default=None, help="Training length in thousands of real images [25000].")
@click.option("--batch", type=int, default=None,
              help="Total minibatch over all GPUs [pggan 16, stylegan 32 (512..32 by level), stylegan2 32].")
@click.option("--batch-gpu", type=int, default=None, help="Microbatch per GPU; the rest is gradient accumulation.")
@click.option("--batch-dict", default=None, metavar="RES:N,...", help="Per-resolution minibatch, e.g. 4:128,8:64.")
@click.option("--z-dim", type=int, default=None, help="Latent Z size [512].")
@click.option("--w-dim", type=int, default=None, help="Latent W size [512].")
@click.option("--mapping-depth", type=int, default=None, help="Mapping network layers, 0..8 [8].")
@click.option("--channel-base", type=int, default=None, help="Channels = min(base / res, max) [16384; 32768 sg2].")
@click.option("--channel-max", type=int, default=None, help="Channel cap [512].")
@click.option("--mbstd-group", type=int, default=None, help="Minibatch-stddev group size [4].")
@click.option("--loss", default=None, metavar="NAME", help="logistic | wgangp  [pggan: wgangp, else logistic]")
@click.option("--lr", type=float, default=None, help="Adam learning rate [pggan/stylegan 0.001, stylegan2 0.002].")
@click.option("--lr-dict", default=None, metavar="RES:LR,...", help="Per-resolution learning rates.")
@click.option("--r1-gamma", type=float, default=None, help="R1 weight [10; pggan 0].")
@click.option("--r1-interval", type=int, default=None, help="Lazy R1 every N D steps [stylegan2 16, else 1].")
@click.option("--pl-weight", type=float, default=None, help="Path-length weight [stylegan2 2, else 0].")
@click.option("--pl-interval", type=int, default=None, help="Lazy path length every N G steps [4].")
@click.option("--style-mixing", type=float, default=None, help="Style-mixing probability [0.9; pggan 0].")
@click.option("--ema-kimg", type=float, default=None, help="G_ema half-life in kimg [10].")
@click.option("--ema-rampup", type=float, default=None, help="Ramp the half-life up as rampup x kimg [off].")
@click.option("--lod-kimg", type=float, default=None, help="Progressive: kimg per stable level [600].")
@click.option("--fade-kimg", type=float, default=None, help="Progressive: kimg per fade-in [600].")
@click.option("--start-res", "lod_initial_resolution", type=int, default=None,
              help="Progressive: first resolution [pggan 4, stylegan 8].")
@click.option("--control", default=None, metavar="ATTRS",
              help="GAN-Control: split Z/W into one subspace per attribute (+ the rest), e.g. Smiling,Eyeglasses.")
@click.option("--control-dims", default=None, metavar="D1,..,DN+1", help="GAN-Control: z^k sizes [z-dim split evenly].")
@click.option("--control-weight", type=float, default=None, help="GAN-Control: weight of the contrastive loss [1].")
@click.option("--control-tau", default=None, metavar="TAU+,TAU-[,..]",
              help="GAN-Control: thresholds τ⁺,τ⁻ for every attribute, or one τ⁺,τ⁻ pair per attribute in "
                   "--control order (`ganeval control taus` suggests them) [0.1,0.5].")
@click.option("--control-distance", default=None, metavar="NAME", help="GAN-Control: l1 | l2 | cosine [cosine].")
@click.option("--control-net", default=None, metavar="NAME|PATH",
              help="GAN-Control: attribute classifiers giving M_k (a classifier file, or nvidia-celebahq[:DIR] "
                   "for real faces); several, comma-separated, average their losses [synthfaces-classifiers].")
@click.option("--control-embedding", type=click.Choice(["features", "prob"]), default=None,
              help="GAN-Control: M_k = the classifier's per-attribute features, or prob = its probability "
                   "(1-d; needs --control-distance l1 or l2) [features].")
@click.option("--control-augment", type=float, default=None, metavar="SIGMA",
              help="GAN-Control: M_k sees each image shifted by up to 2 px plus pixel noise of std SIGMA [0: off].")
@click.option("--control-blur", type=float, default=None, metavar="SIGMA",
              help="GAN-Control: M_k sees each image blurred by a Gaussian of std SIGMA pixels (before "
                   "--control-augment) [0: off].")
@click.option("--xflip/--no-xflip", default=None, help="X-flip augmentation [off].")
@click.option("--amp", default=None, metavar="bf16", help="bf16 autocast of the main phases (CUDA) [off].")
@click.option("--snap", type=float, default=None, help="Checkpoint + sample grid every N kimg [200].")
@click.option("--tick", "tick_kimg", type=float, default=None, help="Status line every N kimg [4].")
@click.option("--keep", type=int, default=None, help="Keep the last K checkpoints, 0 = all [5].")
@click.option("--metrics", default=None, metavar="PRESETS", help="Metric presets at each snapshot, comma-separated.")
@click.option("--metrics-samples", type=int, default=None, help="Samples per metric at snapshots [as the preset].")
@click.option("--resume", default=None, metavar="PATH|RUN_DIR|latest",
              help="Continue from a checkpoint (options default to the stored ones).")
@click.option("--seed", type=int, default=None, help="Random seed [0].")
@click.option("--device", default=None, help="cpu, cuda [cuda:<local rank> when available].")
@click.option("--workers", type=int, default=None, help="Data-loading processes [2].")
@click.option("--out", default=None, metavar="DIR", help="Parent of the run directories [runs].")
@click.option("--name", default=None, help="Run name [<data>-<arch>-<res>].")
@click.option("--dry-run", is_flag=True, help="Print the resolved options as JSON and exit.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or status lines.")
def train(batch_dict, lr_dict, metrics, dry_run, quiet, **given):
    """Train PGGAN, StyleGAN or StyleGAN2 (progressive growing for the first two).

    \b
      ganeval train --arch stylegan2 --data ffhq.zip --resolution 256 --kimg 25000 --batch 32
      ganeval train --arch stylegan --mapping-depth 8 --data synthfaces:70k?res=64 --kimg 500 --out runs/
      ganeval train --resume latest --out runs/            # continue the newest run exactly
      torchrun --nproc_per_node 8 --no-python ganeval train --arch stylegan2 --data ffhq.zip

    A run writes runs/NNNNN-<name>/: training_options.json, stats.jsonl (one line per tick),
    reals.png, fakes<kimg>.png and network-snapshot-<kimg>.pt (G, G_ema, D and the full training
    state), plus metrics.jsonl with --metrics.
    """
    from .. import dist
    from ..train.loop import train as run_training
    from ..train.options import parse_resolution_dict, resolve_options

    options = resolve_options(batch_dict=parse_resolution_dict(batch_dict, "batch_dict"),
                              lr_dict=parse_resolution_dict(lr_dict, "lr_dict"), metrics=_comma_list(metrics),
                              quiet=quiet or None, **given)
    if dry_run:
        if dist.is_main():
            click.echo(options.to_json())
        return
    run_training(options)


COMMANDS = [train]
