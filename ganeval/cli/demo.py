"""`ganeval demo`: the embedded default — the mapping-depth study on the bundled models, offline, in minutes."""

from __future__ import annotations

import os
import time

import click

from .params import FiniteFloat, OutputDir

# The StyleGAN paper's Table 4 at toy scale: four mapping depths and the traditional generator.
DEMO_MODELS = [("synthfaces-stylegan-map0", "StyleGAN map0"), ("synthfaces-stylegan-map1", "StyleGAN map1"),
               ("synthfaces-stylegan-map2", "StyleGAN map2"), ("synthfaces-stylegan-map8", "StyleGAN map8"),
               ("synthfaces-pggan", "PGGAN (traditional)")]
DEMO_METRICS = ["ppl_zfull", "ppl_wfull", "ppl_zend", "ppl_wend", "ls", "fd_synth"]
# Sized for < 5 minutes on 2 CPU cores (experiments/2026-11-mapping-depth-synthfaces/README.md has the large run).
DEMO_SAMPLES = {"ppl_zfull": 100, "ppl_wfull": 100, "ppl_zend": 100, "ppl_wend": 100, "ls": 800, "fd_synth": 400}
DEMO_REFERENCE = 1000
DEMO_PSIS = [0.5, 0.75, 1.0]


def demo_options(scale: float = 1.0) -> dict:
    """The keyword arguments of `ganeval.report.compare` that the demo runs (sample counts times `scale`)."""
    return dict(
        checkpoints=[name for name, _ in DEMO_MODELS], labels=[label for _, label in DEMO_MODELS],
        metrics=DEMO_METRICS, num_samples={k: max(16, round(v * scale)) for k, v in DEMO_SAMPLES.items()},
        reference=f"synthfaces:{max(200, round(DEMO_REFERENCE * scale))}?res=64", classifiers="synthfaces-classifiers",
        distance="synth-lpips", psis=DEMO_PSIS, truncation_metrics=["fd_synth"], seed=0)


@click.command()
@click.option("--out", default="reports/demo", show_default=True, type=OutputDir())
@click.option("--scale", type=FiniteFloat(0.01, 100), default=1.0, show_default=True,
              help="Multiply the sample counts (5: the committed example report, about 6 minutes on 2 cores).")
@click.option("--jobs", type=click.IntRange(min=1), default=None, help="Worker processes [CPU cores, at most 5].")
@click.option("--quiet", is_flag=True)
def demo(out, scale, jobs, quiet):
    """The mapping-depth study on the bundled synthfaces models: table, plots, grids -> OUT/index.html.

    Runs `ganeval compare` on StyleGAN with mapping depth 0/1/2/8 and PGGAN (all in pretrained/),
    with PPL (Z/W, full/end, synth-lpips distance), linear separability (bundled classifiers) and
    synthfaces-FD, plus FD truncation curves. Offline; no downloads.
    """
    from ..report import compare

    t0 = time.time()
    opts = demo_options(scale)
    jobs = jobs or max(1, min(len(DEMO_MODELS), os.cpu_count() or 1))
    command = "ganeval demo" + (f" --scale {scale:g}" if scale != 1 else "") + f" --out {out}"
    res = compare(opts.pop("checkpoints"), opts.pop("metrics"), out=out, jobs=jobs, command=command,
                  progress=False if quiet else None, **opts)
    click.echo(res.wide.to_string())
    click.echo(f"\nreport: {res.files['index.html']}  (open it in a browser; table.md, results.csv beside it)")
    click.echo(f"took {time.time() - t0:.0f} s with {jobs} worker process(es)")


COMMANDS = [demo]
