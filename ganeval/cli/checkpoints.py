"""`ganeval convert`: rewrite a checkpoint of any supported format as ganeval's or rosinality's."""

from __future__ import annotations

import click

from .params import OutputFile


@click.command()
@click.argument("src", metavar="IN")
@click.argument("dst", metavar="OUT", type=OutputFile())
@click.option("--to", "to", type=click.Choice(["native", "rosinality"]), default="native", show_default=True,
              help="Output format.")
def convert(src, dst, to):
    """Convert a checkpoint, keeping G, G_ema, D and the W average.

    IN is any file `ganeval info` reads (ganeval, rosinality .pt, NVlabs .pkl, TensorFlow .pkl).

    \b
      ganeval convert network-snapshot-025000.pkl ffhq.pt
      ganeval convert stylegan2-ffhq-config-f.pkl ffhq-rosinality.pt --to rosinality
    """
    from ..checkpoints import convert_checkpoint

    summary = convert_checkpoint(src, dst, to=to)
    click.echo(f"wrote {summary['path']} ({summary['target']} format from {summary['source_format']}: "
               f"{', '.join(summary['written'])})")


COMMANDS = [convert]
