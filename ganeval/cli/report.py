"""`ganeval compare`: a side-by-side report of many checkpoints."""

from __future__ import annotations

import shlex
import sys

import click

from .params import OutputDir


@click.command()
@click.argument("checkpoints", nargs=-1, required=True)
@click.option("--metrics", default="ppl_zfull,ppl_wfull,ppl_zend,ppl_wend,ls,fid50k_full", show_default=True,
              help="Comma-separated metric presets (see `ganeval presets`).")
@click.option("--out", required=True, type=OutputDir(), help="Report folder (index.html etc.).")
@click.option("--label", "labels", multiple=True, help="Label per checkpoint, in order (default: from the file).")
@click.option("--samples", default=None, metavar="N|PRESET=N,...",
              help="Sample counts: one for every preset, or per preset ('ppl=200,ls=2000,fd_synth=1000').")
@click.option("--data", default=None, help="Reference data for FID/FD (folder, zip, CelebA dir, synthfaces:N).")
@click.option("--classifiers", default=None, help="Attribute classifiers for LS (name or path).")
@click.option("--distance", default=None, help="PPL distance (lpips-vgg16, synth-lpips, mse).")
@click.option("--psi", default=None, help="Also plot truncation curves over this psi grid, e.g. 0.5:1.0:0.1.")
@click.option("--truncation-metrics", default=None, help="Presets for the truncation curves (default: the first).")
@click.option("--no-grids", is_flag=True, help="Skip the image grids.")
@click.option("--no-cache", is_flag=True, help="Recompute every number.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--batch-size", type=click.IntRange(min=1), default=None)
@click.option("--device", default=None)
@click.option("--jobs", type=click.IntRange(min=1), default=1, show_default=True,
              help="Checkpoints evaluated at once (CPU worker processes; same numbers as 1).")
@click.option("--quiet", is_flag=True)
def compare(checkpoints, metrics, out, labels, samples, data, classifiers, distance, psi, truncation_metrics,
            no_grids, no_cache, seed, batch_size, device, jobs, quiet):
    """Compute every metric for every checkpoint and write a report folder.

    \b
      ganeval compare map0.pt map1.pt map2.pt map8.pt --metrics ppl_zfull,ppl_wfull,ls,fid50k_full \\
          --data ffhq.zip --out reports/mapping-depth/
    """
    from ..metrics.presets import parse_presets
    from ..report import compare as run
    from ..report.compare import parse_samples

    presets = parse_presets(metrics)
    res = run(list(checkpoints), presets, out=out, labels=list(labels), num_samples=parse_samples(samples, presets),
              psis=psi, jobs=jobs,
              truncation_metrics=parse_presets(truncation_metrics) if truncation_metrics else None,
              grids=not no_grids, cache=not no_cache, device=device, progress=False if quiet else None,
              command="ganeval " + " ".join(shlex.quote(a) for a in sys.argv[1:]), seed=seed,
              batch_size=batch_size, reference=data, classifiers=classifiers, distance=distance)
    click.echo(res.wide.to_string())
    click.echo(f"report: {res.files.get('index.html', out)}")


COMMANDS = [compare]
