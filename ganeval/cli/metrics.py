"""`ganeval ppl | separability | fid | truncation | evaluate | presets`: the metrics as commands.

Each command parses its options, calls one library function, prints the table and writes it with
--out (.csv, .parquet, .json, .jsonl; atomically).

The commands run unchanged under torchrun (`torchrun --nproc_per_node 8 --no-python ganeval ppl ...`):
every process computes its share of the sample blocks and gets the whole result; only the main
process shows progress, prints and writes. `--state DIR` makes a run resumable: re-running the same
command after a kill continues from the blocks already in DIR.
"""

from __future__ import annotations

import functools
import sys

import click

from .params import FiniteFloat, OutputDir, OutputFile

SHOWN = ["metric", "space", "attr", "psi", "value", "ci_low", "ci_high", "num_samples", "protocol_samples",
         "feature_net", "time_s", "note"]


def _common(f):
    """--ckpt, --device, --batch-size, --seed, --samples, --out, --quiet."""
    options = [
        click.option("--ckpt", required=True, help="Checkpoint file or bundled model name."),
        click.option("--device", default=None, help="cpu, cuda, cuda:1 (default: cuda if available)."),
        click.option("--batch-size", type=click.IntRange(min=1), default=None,
                     help="Images (PPL: pairs) per network call; does not change the result."),
        click.option("--seed", type=int, default=0, show_default=True, help="Seed of every sample stream."),
        click.option("--samples", type=click.IntRange(min=2), default=None,
                     help="Override the protocol's sample count (quick looks; rows keep protocol_samples)."),
        click.option("--out", type=OutputFile("table"), default=None,
                     help="Write the table: .csv, .parquet, .json or .jsonl."),
        click.option("--quiet", is_flag=True, help="No progress bar."),
        _state_option,
    ]
    for opt in reversed(options):
        f = opt(f)
    return f


_state_option = click.option(
    "--state", type=OutputDir(), default=None,
    help="Keep finished sample blocks in this folder; the same command re-run after a kill resumes from them.")


def _distributed(f):
    """Run a command as one process of a torchrun job (or alone): quiet errors off the main process, clean exit."""
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        from .. import dist
        from ..errors import GanevalError

        try:
            return f(*args, **kwargs)
        except GanevalError:
            if not dist.is_main():
                sys.exit(2)  # every process raises the same error; the main one prints it once
            raise
        finally:
            dist.shutdown()

    return wrapper


def _load(ckpt, device):
    from ..checkpoints import load_generator
    from ..metrics.common import metric_device

    return load_generator(ckpt, device=metric_device(device))  # under torchrun: joins the job, own GPU


def _emit(df, out, ckpt=None) -> None:
    import pandas as pd

    from .. import dist

    if not dist.is_main():
        return
    if ckpt is not None:
        df["checkpoint"] = str(ckpt)
    cols = [c for c in SHOWN if c in df.columns and not df[c].isna().all()]
    with pd.option_context("display.width", 200, "display.max_rows", 500, "display.max_columns", 20):
        click.echo(df[cols].to_string(index=False, float_format=lambda v: f"{v:.6g}"))
    # What the rows say about their own numbers (an SVM that failed or stopped early, classifiers that do not
    # know the generator's data, fewer samples than dimensions) is said on stderr too, not only in the file.
    for col in ("warning", "svm_note"):
        if col in df.columns:
            for text in dict.fromkeys(str(t) for t in df[col].dropna() if str(t)):
                click.echo(f"ganeval: warning: {text}", err=True)
    if out:
        from ..metrics.tables import write_table

        write_table(df, out)
        click.echo(f"wrote {out}", err=True)


def _given(name: str) -> bool:
    """Whether the user typed option `name` (not its default)."""
    source = click.get_current_context().get_parameter_source(name)
    return source is not None and source != click.core.ParameterSource.DEFAULT


def _progress(quiet):
    return False if quiet else None


@click.command()
@_common
@click.option("--space", type=click.Choice(["w", "z"]), default="w", show_default=True)
@click.option("--sampling", type=click.Choice(["end", "full"]), default="end", show_default=True)
@click.option("--crop/--no-crop", default=True, show_default=True,
              help="Face crop (the ppl_* presets); --no-crop with w/end is ppl2_wend.")
@click.option("--distance", default="lpips-vgg16", show_default=True,
              help="lpips-vgg16 (NVIDIA; needs vgg16-397923af.pth), synth-lpips (bundled), mse.")
@click.option("--epsilon", type=FiniteFloat(0, lo_open=True), default=1e-4, show_default=True,
              help="Finite-difference step (method fd).")
@click.option("--method", type=click.Choice(["fd", "jvp"]), default="fd", show_default=True,
              help="fd: the papers' finite difference (the reference); jvp: its eps -> 0 limit by forward-mode AD.")
@click.option("--precision", type=click.Choice(["fp32", "bf16"]), default="fp32", show_default=True,
              help="bf16 autocast of generator and distance net (method jvp only).")
@click.option("--resize-rule", type=click.Choice(["tf", "ada"]), default="tf", show_default=True,
              help="Downsample factor from the cropped size (StyleGAN/StyleGAN2 TF) or from the model size (ADA/SG3).")
@click.option("--psi", type=FiniteFloat(), default=1.0, show_default=True, help="Truncation psi (protocol: 1).")
@click.option("--cutoff", type=click.IntRange(min=0), default=None, help="Truncate only the first N ws.")
@click.option("--bootstrap", type=click.IntRange(min=0), default=1000, show_default=True,
              help="Bootstrap replicates for the 95% interval (0: none).")
@_distributed
def ppl(ckpt, device, batch_size, seed, samples, out, quiet, state, space, sampling, crop, distance, epsilon,
        method, precision, resize_rule, psi, cutoff, bootstrap):
    """Perceptual path length (StyleGAN §4.2; NVIDIA's protocol).

    \b
      ganeval ppl --ckpt ffhq.pt --space w --sampling end            # ppl_wend, 100k samples
      ganeval ppl --ckpt ffhq.pt --no-crop --samples 2000            # ppl2_wend, quick look
      ganeval ppl --ckpt synthfaces-stylegan-map8 --no-crop --distance synth-lpips --samples 200
      ganeval ppl --ckpt synthfaces-stylegan-map8 --no-crop --distance synth-lpips --samples 200 --method jvp
      torchrun --nproc_per_node 8 --no-python ganeval ppl --ckpt ffhq.pt --state runs/ppl_wend
    """
    from ..metrics.presets import ppl_preset, run_preset

    if method == "jvp" and _given("epsilon"):
        raise click.UsageError("--epsilon is the finite difference's step; --method jvp has none")
    if precision != "fp32" and method != "jvp":
        raise click.BadParameter("bf16 needs --method jvp (the finite difference over epsilon=1e-4 is lost "
                                 "in bf16 rounding)", param_hint="--precision")
    G = _load(ckpt, device)
    df = run_preset(ppl_preset(space, sampling, crop), G, num_samples=samples, distance=distance, epsilon=epsilon,
                    method=method, precision=precision, resize_rule=resize_rule, truncation_psi=psi,
                    truncation_cutoff=cutoff, bootstrap=bootstrap,
                    seed=seed, batch_size=batch_size, device=device, progress=_progress(quiet), state_dir=state)
    _emit(df, out, ckpt)


@click.command()
@_common
@click.option("--attrs", default="all", show_default=True, help="'all' or a comma list of names / indices.")
@click.option("--classifiers", default="synthfaces-classifiers", show_default=True,
              help="Attribute classifiers: bundled name or file.")
@click.option("--keep", type=click.IntRange(min=1), default=None, help="Most confident samples kept (default half).")
@click.option("--svm", type=click.Choice(["liblinear", "batched"]), default="liblinear", show_default=True,
              help="liblinear: the 2019 LinearSVC fits (the reference); batched: all attributes of a space in one "
                   "converged Newton solve (fast).")
@click.option("--n-jobs", type=click.IntRange(min=1), default=None,
              help="Parallel SVM fits per process (worker processes; default min(8, cores per process)).")
@click.option("--psi", type=FiniteFloat(), default=1.0, show_default=True, help="Truncation psi (protocol: 1).")
@click.option("--bootstrap", type=click.IntRange(min=0), default=200, show_default=True)
@_distributed
def separability(ckpt, device, batch_size, seed, samples, out, quiet, state, attrs, classifiers, keep, svm, n_jobs,
                 psi, bootstrap):
    """Linear separability of Z and W (StyleGAN §4.2; NVIDIA's protocol, 200k samples, keep 100k).

    \b
      ganeval separability --ckpt ffhq.pt --attrs all --classifiers synthfaces-classifiers
      ganeval separability --ckpt synthfaces-stylegan-map8 --attrs male,smiling --samples 1000
      ganeval separability --ckpt synthfaces-stylegan-map8 --samples 1000 --svm batched
    """
    from ..metrics.presets import run_preset

    if svm == "batched" and _given("n_jobs"):
        raise click.UsageError("--n-jobs sets liblinear's worker processes; --svm batched solves in this process")
    G = _load(ckpt, device)
    df = run_preset("ls", G, num_samples=samples, classifiers=classifiers, attrs=attrs, num_keep=keep, svm=svm,
                    n_jobs=n_jobs, truncation_psi=psi, bootstrap=bootstrap, seed=seed, batch_size=batch_size,
                    device=device,                    progress=_progress(quiet), state_dir=state)
    _emit(df, out, ckpt)


@click.command()
@_common
@click.option("--data", required=True, help="Reals: image folder, zip, CelebA folder, dataset spec or stats .npz.")
@click.option("--metric", "metric", default="fid50k_full", show_default=True,
              type=click.Choice(["fid50k_full", "fid50k", "kid50k", "kid50k_full", "fd_synth", "fd_dinov2",
                                 "fd_clip50k_full", "pr50k3_full", "pr50k3", "dc50k5"]))
@click.option("--feature-net", default=None,
              help="The preset's network by default; e.g. synth-fd (rows: fd_synth...), dinov2-vitl14-pil.")
@click.option("--num-real", type=click.IntRange(min=2), default=None, help="Override the protocol's real count.")
@click.option("--xflip", is_flag=True, help="Mirror the reals (fid50k/kid50k only; fid50k_full never flips).")
@click.option("--no-cache", is_flag=True, help="Do not read or write cached reference statistics.")
@click.option("--save-ref", type=OutputFile(), default=None,
              help="Also save the reference statistics to this .npz (reusable with --data).")
@click.option("--psi", type=FiniteFloat(), default=1.0, show_default=True, help="Truncation psi (protocol: 1).")
@click.option("--bootstrap", type=click.IntRange(min=0), default=10, show_default=True)
@_distributed
def fid(ckpt, device, batch_size, seed, samples, out, quiet, state, data, metric, feature_net, num_real, xflip,
        no_cache, save_ref, psi, bootstrap):
    """FID, KID and the other metrics against real images (fid50k_full, kid50k_full, pr50k3_full, fd_dinov2, ...).

    \b
      ganeval fid --ckpt ffhq.pt --data ffhq.zip                       # fid50k_full
      ganeval fid --ckpt ffhq.pt --data ffhq.zip --metric kid50k
      ganeval fid --ckpt ffhq.pt --data ffhq.zip --metric pr50k3_full  # precision and recall
      ganeval fid --ckpt synthfaces-stylegan-map8 --data 'synthfaces:500?res=64' --feature-net synth-fd \\
          --samples 200
    """
    from .. import dist
    from ..metrics.presets import preset_reference_stats, run_preset
    from ..metrics.runner import sub_state

    G = _load(ckpt, device)
    reference = data
    if save_ref or num_real is not None:
        reference = preset_reference_stats(metric, data, G.img_resolution, num_real=num_real, feature_net=feature_net,
                                           xflip=xflip, cache=not no_cache, device=device, batch_size=batch_size,
                                           progress=_progress(quiet), state_dir=sub_state(state, "reference"))
        if save_ref and dist.is_main():
            reference.save(save_ref)
            click.echo(f"wrote {save_ref}", err=True)
    df = run_preset(metric, G, num_samples=samples, reference=reference, feature_net=feature_net, xflip=xflip,
                    cache=not no_cache, truncation_psi=psi, bootstrap=bootstrap, seed=seed, batch_size=batch_size,
                    device=device, progress=_progress(quiet), state_dir=state)
    df["reference"] = str(data)
    _emit(df, out, ckpt)


@click.command()
@_common
@click.option("--psi", "psis", default="0.5:1.0:0.1", show_default=True, help="'lo:hi:step' or 'a,b,c'.")
@click.option("--cutoff", type=click.IntRange(min=0), default=None, help="Truncate only the first N ws.")
@click.option("--metrics", default="fid50k_full", show_default=True, help="Comma list of presets.")
@click.option("--data", default=None, help="Reals for FID/KID presets.")
@click.option("--classifiers", default=None, help="Classifiers for the ls preset (default: bundled).")
@click.option("--plot", type=OutputFile("plot"), default=None, help="Save metric vs psi (.png, .pdf, .svg).")
@_distributed
def truncation(ckpt, device, batch_size, seed, samples, out, quiet, state, psis, cutoff, metrics, data, classifiers,
               plot):
    """Metric presets over a grid of truncation psi, one table (and a plot with --plot).

    \b
      ganeval truncation --ckpt ffhq.pt --data ffhq.zip --psi 0.5:1.0:0.1 --metrics fid50k_full --plot fid_psi.png
      ganeval truncation --ckpt synthfaces-stylegan-map8 --psi 0.5,0.7,1 --metrics ppl2_wend_synth --samples 100
    """
    from .. import dist
    from ..metrics.truncation import plot_truncation, truncation_sweep

    G = _load(ckpt, device)
    df = truncation_sweep(G, psis, metrics, truncation_cutoff=cutoff, num_samples=samples, progress=_progress(quiet),
                          reference=data, classifiers=classifiers, seed=seed, batch_size=batch_size, device=device,
                          state_dir=state)
    _emit(df, out, ckpt)
    if plot and dist.is_main():
        plot_truncation(df, plot)
        click.echo(f"wrote {plot}", err=True)


@click.command()
@click.option("--ckpt", "ckpts", multiple=True, required=True,
              help="Checkpoint file or bundled name (repeat for several).")
@click.option("--metrics", default="fid50k_full", show_default=True,
              help="Comma list of presets (see `ganeval presets`).")
@click.option("--data", default=None, help="Reals for FID/KID presets.")
@click.option("--classifiers", default=None, help="Classifiers for the ls preset (default: bundled).")
@click.option("--psi", type=FiniteFloat(), default=None, help="Truncation psi for every preset (protocol: 1).")
@click.option("--device", default=None)
@click.option("--batch-size", type=click.IntRange(min=1), default=None)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--samples", type=click.IntRange(min=2), default=None, help="Override every preset's sample count.")
@click.option("--out", type=OutputFile("table"), default=None)
@click.option("--quiet", is_flag=True)
@_state_option
@_distributed
def evaluate(ckpts, metrics, data, classifiers, psi, device, batch_size, seed, samples, out, quiet, state):
    """Several metric presets on one or more checkpoints, one tidy table.

    \b
      ganeval evaluate --ckpt ffhq.pt --metrics ppl_wend,ls,fid50k_full --data ffhq.zip
      ganeval evaluate --ckpt a.pt --ckpt b.pt --metrics ppl2_wend_synth,fd_synth --data synthfaces:10000 --samples 1000
      torchrun --nproc_per_node 8 --no-python ganeval evaluate --ckpt ffhq.pt --metrics ppl_wend,ls --state runs/ffhq

    \b
    --state DIR keeps each preset's finished blocks in DIR/<preset>/ (DIR/<i>-<checkpoint>/<preset>/ with
    several checkpoints); the same command re-run after a kill resumes.
    """
    from pathlib import Path

    from ..metrics import evaluate as evaluate_fn
    from ..metrics.presets import parse_presets
    from ..metrics.runner import sub_state

    names = parse_presets(metrics)

    def state_of(i, c):
        return state if len(ckpts) == 1 else sub_state(state, f"{i}-{Path(c).stem}")

    frames = [evaluate_fn(c, names, reference=data, classifiers=classifiers, num_samples=samples, seed=seed,
                          batch_size=batch_size, device=device, truncation_psi=psi, progress=_progress(quiet),
                          state_dir=state_of(i, c))
              for i, c in enumerate(ckpts)]
    import pandas as pd

    _emit(pd.concat(frames, ignore_index=True), out)


@click.command()
def presets():
    """List the metric presets and their protocol settings."""
    import pandas as pd

    from ..metrics.presets import presets_table

    with pd.option_context("display.width", 200, "display.max_colwidth", 80):
        click.echo(presets_table().to_string(index=False))


COMMANDS = [ppl, separability, fid, truncation, evaluate, presets]
