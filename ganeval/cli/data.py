"""`ganeval data ...` (datasets, the synthfaces benchmark) and `ganeval classifiers ...`."""

from __future__ import annotations

import click

from ..errors import ConfigError
from .params import FiniteFloat, OutputFile

# The largest set one command draws: 10 million faces (CelebA has 0.2 million; the benchmark uses 70,000).
MAX_FACES = 10_000_000


@click.group("data")
def data_group():
    """Datasets: the synthfaces benchmark and the CelebA format."""


@data_group.command("synthfaces")
@click.option("--n", "count", type=click.IntRange(min=1, max=MAX_FACES), default=70_000, show_default=True,
              help="Number of faces.")
@click.option("--resolution", type=click.Choice(["32", "64", "128", "256"]), default="64", show_default=True)
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--out", type=click.Path(), default=None,
              help="Output directory (CelebA format), or a .zip file with --zip. Omit to print --stats only.")
@click.option("--zip", "as_zip", is_flag=True, help="Write one zip file instead of a directory.")
@click.option("--format", "image_format", type=click.Choice(["png", "jpg"]), default="png", show_default=True)
@click.option("--stats", is_flag=True, help="Print label frequencies and the 40 x 40 label correlation matrix.")
@click.option("--workers", type=click.IntRange(min=0), default=0, show_default=True,
              help="Render in this many processes (the images do not depend on it).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def synthfaces_cmd(count, resolution, seed, out, as_zip, image_format, stats, workers, quiet):
    """Draw the synthfaces benchmark and write it in CelebA format.

    \b
      ganeval data synthfaces --n 70000 --resolution 64 --seed 0 --out data/synthfaces64
      ganeval data synthfaces --n 70000 --out data/synthfaces64.zip --zip
      ganeval data synthfaces --n 20000 --stats            # labels only, no images
    """
    import pandas as pd

    from ..data.synthfaces import export_synthfaces, label_statistics

    if out is None and not stats:
        raise ConfigError("nothing to do: give --out DIR and/or --stats")
    if out is not None:
        path = export_synthfaces(out, count, int(resolution), seed, zip=as_zip, image_format=image_format,
                                 workers=workers, progress=not quiet)
        click.echo(f"wrote {count} faces ({resolution} px, seed {seed}) to {path}")
    if stats:
        freq, corr = label_statistics(count, seed)
        with pd.option_context("display.width", 250, "display.max_columns", 50, "display.max_rows", 100):
            click.echo(freq.round(3).to_string(index=False))
            click.echo("")
            click.echo(corr.round(2).to_string())


@click.group("classifiers")
def classifiers_group():
    """The 40 attribute classifiers (linear separability; synth-lpips / synth-fd trunks)."""


@classifiers_group.command("train")
@click.option("--data", required=True, help="CelebA-format dir/zip or a synthfaces spec, e.g. 'synthfaces:30000'.")
@click.option("--resolution", type=click.IntRange(min=8), default=64, show_default=True,
              help="Classifier input resolution.")
@click.option("--out", required=True, type=OutputFile(), help="Output .pt file.")
@click.option("--steps", type=click.IntRange(min=1), default=3000, show_default=True)
@click.option("--epochs", type=FiniteFloat(0, lo_open=True), default=None,
              help="Train for this many epochs instead of --steps.")
@click.option("--batch", type=click.IntRange(min=1), default=64, show_default=True)
@click.option("--lr", type=FiniteFloat(0, lo_open=True), default=2e-3, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--split", default="train", show_default=True, help="train | val | test | all.")
@click.option("--channels", default=None, metavar="C1,C2,..",
              help="Channels per stride-2 block of each network, one per halving down to 4x4 [4,8,16,32 at 64 px].")
@click.option("--hidden", type=click.IntRange(min=1), default=32, show_default=True,
              help="Width of each network's dense layer (the embedding M_k).")
@click.option("--device", default=None, help="cpu, cuda, cuda:1 (default: cuda if available).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def train_cmd(data, resolution, out, steps, epochs, batch, lr, seed, split, channels, hidden, device, quiet):
    """Train the 40 classifiers and save them.

    \b
      ganeval classifiers train --data synthfaces:30000 --resolution 64 --out clf.pt --steps 6000
      ganeval classifiers train --data ~/data/celeba --resolution 64 --out celeba64.pt --epochs 5
    """
    from ..features.attributes import save_classifiers, train_classifiers

    if channels is not None:
        try:
            channels = tuple(int(c) for c in channels.split(","))
        except ValueError:
            raise ConfigError(f"--channels wants comma-separated integers, got {channels!r}") from None
        if min(channels) < 1:
            raise ConfigError(f"--channels must be positive, got {channels}")
    model = train_classifiers(data, resolution=resolution, steps=steps, epochs=epochs, batch=batch, lr=lr,
                              seed=seed, device=device, split=split, channels=channels, hidden=hidden,
                              progress=not quiet)
    save_classifiers(model, out, meta=model.meta)
    click.echo(f"wrote {out} ({model.meta['steps']} steps on {model.meta['train_images']} images, "
               f"{model.meta['train_time_s']} s)")


@classifiers_group.command("eval")
@click.option("--classifiers", "name", default="synthfaces-classifiers", show_default=True,
              help="Bundled name or a .pt file.")
@click.option("--data", required=True, help="CelebA-format dir/zip or a synthfaces spec.")
@click.option("--split", default="test", show_default=True, help="train | val | test | all.")
@click.option("--batch", type=click.IntRange(min=1), default=256, show_default=True)
@click.option("--device", default=None, help="cpu, cuda, cuda:1 (default: cuda if available).")
@click.option("--csv", "csv_out", type=OutputFile(), default=None, help="Also write the table as CSV.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def eval_cmd(name, data, split, batch, device, csv_out, quiet):
    """Per-attribute accuracy and balanced accuracy of classifiers on a labelled dataset.

    \b
      ganeval classifiers eval --data 'synthfaces:20000?seed=1' --split all
      ganeval classifiers eval --classifiers celeba64.pt --data ~/data/celeba
    """
    import pandas as pd

    from ..features.attributes import evaluate_classifiers, load_classifiers
    from ..utils import atomic_write, resolve_device

    model = load_classifiers(name, device=resolve_device(device))
    df = evaluate_classifiers(model, data, split=split, batch_size=batch, progress=not quiet)
    with pd.option_context("display.width", 200, "display.max_rows", 100):
        click.echo(df.round(4).to_string(index=False))
    if csv_out:
        with atomic_write(csv_out, suffix=".csv") as tmp:
            df.to_csv(tmp, index=False)


COMMANDS = [data_group, classifiers_group]
