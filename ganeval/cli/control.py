"""`ganeval control train|generate|evaluate|taus`: GAN-Control's encoders, controlled images, metrics and thresholds."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import ConfigError
from .params import FiniteFloat, OutputFile


@click.group("control")
def control_group():
    """GAN-Control: set attributes of a generator trained with `ganeval train --control ATTRS`.

    \b
      ganeval train --arch stylegan2 --control Smiling,Eyeglasses --data "synthfaces:5000?res=32" --out runs/
      ganeval control train runs/00000-.../network-snapshot-000012.000.pt --out ctrl.pt
      ganeval control generate ctrl.pt --set Smiling=1,Eyeglasses=0 --seeds 0-7 --out grid.png
      ganeval control evaluate ctrl.pt --samples 500 --out control.csv
    """


@control_group.command("train")
@click.argument("ckpt")
@click.option("--out", default=None, type=OutputFile(),
              help="Checkpoint to write (a copy of CKPT plus the encoders) [CKPT-control.pt].")
@click.option("--classifiers", default=None, metavar="NAME|PATH",
              help="Attribute classifiers giving y^k [the (first) --control-net of training, else "
                   "synthfaces-classifiers].")
@click.option("--samples", type=click.IntRange(min=2), default=2000, show_default=True,
              help="Generated samples (w^k, y^k).")
@click.option("--steps", type=click.IntRange(min=1), default=500, show_default=True,
              help="Adam steps of the encoder fit.")
@click.option("--hidden", type=click.IntRange(min=1), default=64, show_default=True,
              help="Hidden width of each encoder MLP.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--device", default=None, help="cpu, cuda [cuda if available].")
@click.option("--quiet", "-q", is_flag=True)
def train_cmd(ckpt, out, classifiers, samples, steps, hidden, seed, device, quiet):
    """Fit the control encoders E_k: y^k -> w^k on samples of the generator in CKPT."""
    from ..control.encoders import load_control, save_with_encoders, train_encoders
    from ..control.metrics import training_net

    if samples < 2 or steps < 1:
        raise ConfigError("--samples must be >= 2 and --steps >= 1")
    G, _ = load_control(ckpt, need_encoders=False)
    classifiers = classifiers or training_net(G.checkpoint_path)
    enc = train_encoders(G, classifiers, num_samples=samples, steps=steps, seed=seed, device=device, hidden=hidden,
                         log=None if quiet else (lambda m: click.echo(m, err=True)))
    out = out or str(Path(G.checkpoint_path).with_name(Path(G.checkpoint_path).stem + "-control.pt"))
    save_with_encoders(G.checkpoint_path, out, enc)
    r2 = ", ".join(f"{a} {v:.3f}" for a, v in enc.meta["r2"].items())
    click.echo(f"wrote {out} (encoders for {', '.join(enc.attrs)}; R² of w^k from y^k: {r2})")


@control_group.command("generate")
@click.argument("ckpt")
@click.option("--set", "set_values", default=None, metavar="ATTR=V,...",
              help="Attribute values in [0, 1], e.g. Smiling=1,Eyeglasses=0; unset subspaces are sampled.")
@click.option("--seeds", default="0-7", show_default=True, help="Seeds, e.g. '0-7' or '1,5,9'.")
@click.option("--psi", type=FiniteFloat(), default=1.0, show_default=True, help="Truncation psi.")
@click.option("--noise-mode", type=click.Choice(["const", "random", "none"]), default="const", show_default=True)
@click.option("--nrow", type=click.IntRange(min=1), default=None, help="Images per row.")
@click.option("--out", required=True, type=OutputFile("png"), help="Output PNG.")
@click.option("--device", default=None, help="cpu, cuda [cuda if available].")
def generate_cmd(ckpt, set_values, seeds, psi, noise_mode, nrow, out, device):
    """Write an image grid with the attributes in --set fixed by the control encoders."""
    from ..control.encoders import generate_controlled, load_control, parse_set
    from ..images import save_image_grid
    from ..utils import parse_seeds, resolve_device

    if not out.lower().endswith(".png"):
        raise ConfigError(f"--out must be a .png file, got '{out}'")
    seed_list = parse_seeds(seeds)
    dev = resolve_device(device)
    G, enc = load_control(ckpt, device=dev)
    values = parse_set(set_values, G)
    images = generate_controlled(G, enc, seed_list, values, truncation_psi=psi, noise_mode=noise_mode)
    save_image_grid(images, out, nrow=nrow)
    click.echo(f"wrote {out} ({images.shape[0]} images of {images.shape[-1]}x{images.shape[-2]})")


@control_group.command("evaluate")
@click.argument("ckpt")
@click.option("--classifiers", default=None, metavar="NAME|PATH[,..]",
              help="Classifier sets that judge the images, each giving its own rows [the training net, plus the "
                   "independent synthfaces-judge when the training net is synthfaces-classifiers].")
@click.option("--samples", type=click.IntRange(min=2), default=1000, show_default=True,
              help="Samples per attribute and value.")
@click.option("--ls-samples", type=click.IntRange(min=0), default=2000, show_default=True,
              help="Samples for separability per subspace (0 = skip).")
@click.option("--ppl-samples", type=click.IntRange(min=0), default=0, show_default=True,
              help="Pairs for PPL per subspace (0 = skip).")
@click.option("--ppl-distance", default="synth-lpips", show_default=True, help="PPL distance (registered name).")
@click.option("--baseline", default=None, metavar="CKPT",
              help="Also steer this uncontrolled generator along SVM normals in W (same attributes, same rows).")
@click.option("--steer-quantile", type=FiniteFloat(0, 1), default=0.9, show_default=True,
              help="Baseline edit strength: 'set to 1' moves w to this quantile of the positives' SVM distance "
                   "('set to 0': 1 - it of the negatives').")
@click.option("--steer-match", default=None, metavar="JUDGE",
              help="Instead, choose each attribute's baseline edit strength so that the effect JUDGE (one of the "
                   "judges) sees equals GAN-Control's: leakage compared at equal effect.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--device", default=None, help="cpu, cuda [cuda if available].")
@click.option("--out", default=None, type=OutputFile("table"),
              help="Write the rows (.csv .parquet .json .jsonl).")
def evaluate_cmd(ckpt, classifiers, samples, ls_samples, ppl_samples, ppl_distance, baseline, steer_quantile,
                 steer_match, seed, device, out):
    """Controllability: accuracy of set attributes, leakage into the others, LS and PPL per subspace."""
    import pandas as pd

    from ..control.encoders import load_control
    from ..control.metrics import control_metrics, default_judges, subspace_ppl, subspace_separability, training_nets

    if out:
        from ..metrics.tables import table_suffix

        table_suffix(out)   # fail before the work
    if not 0 < steer_quantile < 1:
        raise ConfigError(f"--steer-quantile must lie in (0, 1), got {steer_quantile}")
    G, enc = load_control(ckpt, device=device or "cpu")
    nets = training_nets(G.checkpoint_path)   # read once
    trained_on = nets[0]   # it supervises the baseline's SVMs too
    judges = [c.strip() for c in classifiers.split(",") if c.strip()] if classifiers else []
    judges = judges or default_judges(trained_on=nets)
    if steer_match is not None and (not baseline or steer_match not in judges):
        raise ConfigError(f"--steer-match {steer_match}: needs --baseline and one of the judges ({', '.join(judges)})")
    dfs = [control_metrics(G, enc, judges, num_samples=samples, seed=seed, device=device)]
    if ls_samples:
        dfs.append(subspace_separability(G, trained_on, num_samples=ls_samples, seed=seed, device=device))
    if ppl_samples:
        dfs.append(subspace_ppl(G, num_samples=ppl_samples, distance=ppl_distance, seed=seed, device=device))
    if baseline:
        from ..checkpoints import load_generator
        from ..control.metrics import steering_metrics

        # The SVMs learn from the net GAN-Control was trained against: same supervision, same judges.
        match = None
        if steer_match:   # GAN-Control's effect per attribute, as steer_match judged it
            ctrl = dfs[0][(dfs[0].metric == "control_effect") & (dfs[0].feature_net == steer_match)
                          & (dfs[0].attr != "ALL")]
            match = dict(zip(ctrl.attr, ctrl.value))
        dfs.append(steering_metrics(load_generator(baseline), judges, attrs=list(G.control_attrs),
                                    num_samples=samples, quantile=steer_quantile, seed=seed, device=device,
                                    fit_classifiers=trained_on, match_effect=match, match_net=steer_match))
    df = pd.concat(dfs, ignore_index=True)
    if out:
        from ..metrics.tables import write_table

        write_table(df, out)   # atomically; .csv, .parquet, .json or .jsonl
    shown = ("metric", "control_method", "feature_net", "attr", "subspace", "space", "value", "ci_low", "ci_high",
             "leak_controlled", "steer_scale")
    cols = [c for c in shown if c in df.columns]
    click.echo(df[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    if out:
        click.echo(f"wrote {out}")


@control_group.command("taus")
@click.option("--control", "attrs", required=True, metavar="ATTRS", help="The attributes, e.g. Male,Smiling.")
@click.option("--control-net", default="synthfaces-classifiers", show_default=True, metavar="NAME|PATH",
              help="The classifiers giving M_k (as `train --control-net`).")
@click.option("--control-embedding", type=click.Choice(["features", "prob"]), default="features", show_default=True)
@click.option("--control-distance", type=click.Choice(["l1", "l2", "cosine"]), default="cosine", show_default=True)
@click.option("--data", default="synthfaces:1000?res=64&seed=3", show_default=True,
              help="Labelled real images (dataset path or spec).")
@click.option("--samples", type=click.IntRange(min=2), default=600, show_default=True,
              help="Images (all their pairs are measured).")
@click.option("--generator", "ckpt", default=None, metavar="CKPT",
              help="Measure this generator's images (seeds 0..N-1) instead, labelled by the control net's "
                   "decisions: what the loss sees of a trained model, beside the real faces' table.")
@click.option("--tau", default=None, metavar="TAU+,TAU-[,..]", help="Floors at these thresholds [the suggested].")
@click.option("--q-pos", type=FiniteFloat(0, 1), default=0.5, show_default=True,
              help="τ⁺ suggested = this quantile of the same-label distances.")
@click.option("--q-neg", type=FiniteFloat(0, 1), default=0.5, show_default=True,
              help="τ⁻ suggested = this quantile of the different-label distances.")
@click.option("--device", default=None, help="cpu, cuda [cuda if available].")
@click.option("--out", default=None, type=OutputFile("table"), help="Write the table (.csv .parquet .json).")
def taus_cmd(attrs, control_net, control_embedding, control_distance, data, samples, ckpt, tau, q_pos, q_neg, device,
             out):
    """Per-attribute thresholds τ⁺_k / τ⁻_k from the M_k distances of labelled real images, and loss floors
    (or, with --generator, the same distances on a generator's images)."""
    import torch

    from ..control.calibrate import embed_images, embedding_distances, tau_option
    from ..control.loss import load_embedding
    from ..control.options import _list, canonical_attrs
    from ..data.attributes import resolve_attrs
    from ..utils import resolve_device

    if out:
        from ..metrics.tables import table_suffix

        table_suffix(out)   # fail before the work
    if samples < 3:
        raise ConfigError("calibrating thresholds needs at least 3 labelled images (--samples)")
    if control_embedding == "prob" and control_distance == "cosine":
        raise ConfigError("--control-embedding prob is one number per image: use --control-distance l1 or l2")
    attrs = canonical_attrs(attrs)
    if ckpt and not tau:   # floors at the thresholds the model was trained with, when it says which
        from ..checkpoints import resolve_path
        from ..train.options import recorded_options

        resolve_path(ckpt)   # a missing file is named as such, not as missing thresholds
        stored = recorded_options(ckpt)
        if stored.get("control_tau") and list(stored.get("control") or []) == attrs:
            tau = ",".join(str(t) for t in stored["control_tau"])
        else:
            raise ConfigError(f"--generator {ckpt}: no stored thresholds for --control {','.join(attrs)}; "
                              "add --tau (those it was trained with)")
    device = resolve_device(device)
    embedding = load_embedding(control_net, attrs, device, kind=control_embedding)
    if ckpt:
        from ..checkpoints import load_checkpoint
        from ..control.encoders import attribute_probabilities
        from ..images import from_uint8
        from ..models.generate import generate_images

        G = load_checkpoint(ckpt, device=device).generator.eval()
        # Random noise as in training, seeded: the table does not depend on what ran before.
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            torch.manual_seed(0)
            images = generate_images(G, list(range(samples)), noise_mode="random", device=device)
        labels = torch.cat([(attribute_probabilities(embedding.clf, from_uint8(images[i:i + 200].to(device)),
                                                     embedding.attr_idx) > 0.5).long().cpu()
                            for i in range(0, samples, 200)])
    else:
        from ..features.attributes import _labelled, _load_all

        ds = _labelled(data, None, None)   # thresholds are read off labelled images
        images, labels = _load_all(torch.utils.data.Subset(ds, range(min(samples, len(ds)))))
        labels = labels[:, resolve_attrs(attrs)]
    df = embedding_distances(embed_images(embedding, images), labels, attrs, control_distance,
                             tau=_list(tau, float, "tau") if tau else None, q_pos=q_pos, q_neg=q_neg,
                             one_label_ok=bool(ckpt))
    df.insert(0, "images", str(ckpt) if ckpt else str(data))
    if ckpt:   # thresholds are suggested from real images only
        df = df.drop(columns=["suggested_tau_pos", "suggested_tau_neg"])
    if out:
        from ..metrics.tables import write_table

        write_table(df, out)
    click.echo(df.drop(columns="images").to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    for r in df[df.auc < 0.6].itertuples():
        click.echo(f"warning: {r.attr}: M_k hardly tells the labels apart on these images (AUC {r.auc:.2f}); "
                   "the loss cannot control it through this embedding", err=True)
    if not ckpt:
        click.echo(f"suggested: --control {','.join(attrs)} --control-tau {tau_option(df)}")
    if out:
        click.echo(f"wrote {out}")


COMMANDS = [control_group]
