"""The training loop (after NVlabs/stylegan2-ada-pytorch training_loop.py, progressive growing after
the TF StyleGAN/PGGAN loops).

Every step shows `batch` real images (all processes together): for each phase in Gmain, Greg, Dmain,
Dreg whose interval divides the step index, gradients are accumulated over the microbatches, averaged
over processes and applied; then G_ema follows G. Time is counted in images shown (cur_nimg, kimg);
maintenance (status line, stats.jsonl) happens once per tick, snapshots every `snap` kimg.

Determinism. Every random number of microbatch j in phase p of step s (latents, style-mixing draws,
noise inputs, path-length noise, WGAN-GP interpolation factors) comes from the global torch RNG
seeded with hash(seed, s, p, j), and the real images of microbatch j are fixed by the sample stream
(train/data.py). Hence on one device:

* a resumed run continues exactly: the state at a step boundary is the networks, the Adam moments,
  the path-length mean, cur_nimg and the step index (all in the checkpoint);
* N processes with per-process microbatch batch_gpu compute what one process computes with the same
  batch and batch_gpu (it then runs N accumulation rounds): same latents, images, noise, minibatch-
  stddev groups and R1/path-length batches; gradients are averaged over the whole minibatch in both
  cases, and W's running mean and the path-length mean are updated from whole-minibatch sums. Only
  the floating-point summation order differs.

On CUDA, cuDNN's kernel choice makes runs close but not bit-identical. The global RNG states
(torch, CUDA, numpy, python; rank 0's) and the sampler position are stored too, for code outside the
loop; the loop itself re-seeds per microbatch.

Where this differs from the references, and why:
* w_avg moves once per G step with the mean W of the whole minibatch (NVlabs: at every training-mode
  mapping call, per GPU) — so that it is the same on every process and after a resume;
* the path-length penalty uses the running mean a from before the step, which is then updated with the
  minibatch's mean length (NVlabs updates a with the microbatch first; a moves by 1 % per update);
* accumulated microbatch losses are divided by the number of rounds (a mean over the minibatch; NVlabs
  sums rounds, which Adam absorbs up to its epsilon);
* TF's minibatch_repeats = 4 (the same reals for 4 steps) is not reproduced: every step draws new reals.
"""

from __future__ import annotations

import copy
import json
import math
import os
import random
import re
import resource
import shutil
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from .. import dist
from ..checkpoints import load_checkpoint, save_checkpoint
from ..data import open_dataset
from ..errors import ConfigError, DataError
from ..images import save_image_grid
from ..metrics import evaluate
from ..models import build_discriminator, build_generator
from .data import SampleStream, StepBatches, XFlipDataset, derive_seed, make_loader, to_resolution
from .extensions import extensions
from .loss import GANLoss
from .options import TrainingOptions, data_name, run_snapshots
from .schedule import GrowthSchedule, fade_reals

STATE_VERSION = 1


@dataclass
class Phase:
    name: str                       # Gmain | Greg | Gboth | Dmain | Dreg | Dboth
    module: torch.nn.Module
    opt: torch.optim.Optimizer
    interval: int
    mb_ratio: float                 # lazy-regularisation correction of lr and betas (StyleGAN2 §B)


# ----------------------------------------------------------------------------------------------------
# Set-up helpers.

def open_training_set(options: TrainingOptions):
    if options.dataset is not None:
        return XFlipDataset(options.dataset) if options.xflip else options.dataset
    return open_dataset(options.data, resolution=options.resolution, xflip=options.xflip)


def make_phases(G, D, options: TrainingOptions) -> list[Phase]:
    """Gmain/Greg (path length) and Dmain/Dreg (R1) with lazy intervals, or G/Dboth when not lazy."""
    phases = []
    g_reg = options.pl_interval if options.pl_weight > 0 else None
    d_reg = options.r1_interval if options.r1_gamma > 0 else None
    for name, module, reg_interval in (("G", G, g_reg), ("D", D, d_reg)):
        if reg_interval is None or reg_interval <= 1:
            opt = torch.optim.Adam(module.parameters(), lr=options.lr, betas=options.betas, eps=options.eps)
            phases.append(Phase(name + ("both" if reg_interval else "main"), module, opt, 1, 1.0))
        else:
            # Lazy regularisation: the optimizer sees (interval + 1) / interval as many steps.
            mb_ratio = reg_interval / (reg_interval + 1)
            betas = tuple(b ** mb_ratio for b in options.betas)
            opt = torch.optim.Adam(module.parameters(), lr=options.lr * mb_ratio, betas=betas, eps=options.eps)
            phases += [Phase(name + "main", module, opt, 1, mb_ratio), Phase(name + "reg", module, opt,
                                                                              reg_interval, mb_ratio)]
    return phases


def level_changed(prev_lod: float, lod: float) -> bool:
    """A level was added or a fade-in ended (TF: reset_opt_for_new_lod)."""
    return math.floor(lod) != math.floor(prev_lod) or math.ceil(lod) != math.ceil(prev_lod)


def next_run_dir(out: str | os.PathLike, desc: str) -> Path:
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    ids = [int(m.group(1)) for p in root.iterdir() if (m := re.match(r"^(\d{5})-", p.name))]
    run_dir = root / f"{max(ids, default=-1) + 1:05d}-{desc}"
    run_dir.mkdir()
    return run_dir


def seed_everything(seed: int) -> None:
    """Seed the global torch (CPU + CUDA) RNG for one microbatch of one phase."""
    torch.manual_seed(seed)


def rng_state() -> dict:
    np_state = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {"key": torch.from_numpy(np_state[1].astype(np.int64)), "pos": int(np_state[2]),
                  "has_gauss": int(np_state[3]), "cached_gaussian": float(np_state[4])},
        "python": random.getstate(),
    }


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    if state.get("cuda") and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(state["cuda"])
    n = state["numpy"]
    np.random.set_state(("MT19937", n["key"].numpy().astype(np.uint32), n["pos"], n["has_gauss"],
                         n["cached_gaussian"]))
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))


def peak_memory_gb(device: torch.device) -> dict:
    out = {"cpu_mem_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20}
    if device.type == "cuda":
        out["gpu_mem_gb"] = torch.cuda.max_memory_allocated(device) / 2 ** 30
    return out


def format_time(seconds: float) -> str:
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    return f"{s // 3600}h {(s // 60) % 60:02d}m"


def grid_shape(resolution: int) -> tuple[int, int]:
    """Images per row and rows of the sample grids (about a screen, at least 4x4, at most 8x8)."""
    return int(np.clip(1920 // resolution, 4, 8)), int(np.clip(1080 // resolution, 4, 8))


@torch.no_grad()
def render_grid(G_ema, grid_z: torch.Tensor, batch: int) -> torch.Tensor:
    return torch.cat([G_ema(z, noise_mode="const").cpu() for z in grid_z.split(batch)])


# ----------------------------------------------------------------------------------------------------

def train(options: TrainingOptions) -> Path:
    """Train (or continue) a run as described by `options`; returns the run directory.

    A write that fails (a full disk, a folder that became read-only) ends in one ConfigError line, and a new
    run folder that holds no snapshot yet is removed rather than left half made.
    """
    made: dict = {}
    try:
        return _train(options, made)
    except OSError as e:
        run_dir = made.get("run_dir")
        if run_dir is not None and dist.is_main() and not run_snapshots(run_dir):
            shutil.rmtree(run_dir, ignore_errors=True)
        where = f" {e.filename}" if e.filename else ""
        raise ConfigError(f"training stopped: cannot write{where}: {e.strerror or e}") from None


def _train(options: TrainingOptions, made: dict) -> Path:
    device = dist.init(options.device)
    rank, world = dist.rank(), dist.world_size()
    main = rank == 0
    if device.type == "cuda":
        # Full fp32 matmuls/convs unless --amp: TF32 would change the numbers, which no measurement has cleared.
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cudnn.benchmark = True
    amp_dtype = torch.bfloat16 if options.amp == "bf16" else None

    # Load training set.
    training_set = open_training_set(options)
    if len(training_set) == 0:
        raise DataError(f"{options.data}: the dataset is empty")
    first = torch.as_tensor(training_set[0][0])
    img_channels = int(first.shape[0])
    resolution = options.resolution or int(getattr(training_set, "resolution", first.shape[-1]))
    options = replace(options, resolution=resolution)

    # Construct networks (or load them to resume).
    resume_state = None
    if options.resume:
        ckpt = load_checkpoint(options.resume)
        if ckpt.G is None or ckpt.D is None:
            raise ConfigError(f"{options.resume}: resuming needs G and D in the checkpoint")
        if ckpt.arch != options.arch or ckpt.G.img_resolution != resolution:
            raise ConfigError(f"{options.resume}: holds a {ckpt.arch} at {ckpt.G.img_resolution}px, "
                              f"not {options.arch} at {resolution}px")
        G, D = ckpt.G, ckpt.D
        G_ema = ckpt.G_ema if ckpt.G_ema is not None else copy.deepcopy(G)
        resume_state = ckpt.training_state  # None: weights only (fine-tuning start)
    else:
        torch.manual_seed(options.seed)
        G = build_generator(options.arch, resolution, img_channels=img_channels, **options.G_kwargs)
        D = build_discriminator(options.arch, resolution, img_channels=img_channels, **options.D_kwargs)
        G_ema = copy.deepcopy(G)
    G, D, G_ema = G.to(device).train(), D.to(device).train(), G_ema.to(device).eval()
    for module in (G, D, G_ema):
        module.requires_grad_(False)
        dist.broadcast_module(module)
    z_dim = G.z_dim

    # Losses, phases, schedule. A plugin may bring its own loss (GAN-Control: GAN loss + λ · contrastive loss).
    loss_cls, loss_extra = GANLoss, {}
    for ext in extensions():
        if ext.loss is not None and ext.active(options.plugin_options):
            loss_cls, loss_extra = ext.loss(options, device)
    loss = loss_cls(G, D, progressive=options.progressive, loss=options.loss, r1_gamma=options.r1_gamma,
                    style_mixing_prob=options.style_mixing, pl_weight=options.pl_weight,
                    pl_batch_shrink=options.pl_batch_shrink, pl_decay=options.pl_decay,
                    wgan_lambda=options.wgan_lambda, wgan_epsilon=options.wgan_epsilon, amp_dtype=amp_dtype,
                    **loss_extra)
    phases = make_phases(G, D, options)
    opts = {"G": phases[0].opt, "D": phases[-1].opt}
    schedule = GrowthSchedule(resolution, options.progressive, options.batch, options.lr,
                              initial_resolution=options.lod_initial_resolution, lod_kimg=options.lod_kimg,
                              fade_kimg=options.fade_kimg, batch_dict=options.batch_dict, lr_dict=options.lr_dict,
                              batch_gpu=options.batch_gpu, world_size=world)
    try:
        for res in schedule.levels():
            schedule.batch_at(res)
    except ValueError as e:
        raise ConfigError(str(e)) from None

    # Training state.
    cur_nimg, batch_idx, cur_tick, tick_start_nimg, prev_lod, total_time = 0, 0, 0, 0, -1.0, 0.0
    if resume_state is not None:
        if resume_state.get("version", 0) > STATE_VERSION:
            raise ConfigError(f"{options.resume}: written by a newer ganeval")
        cur_nimg, batch_idx = int(resume_state["cur_nimg"]), int(resume_state["batch_idx"])
        cur_tick, tick_start_nimg = int(resume_state["cur_tick"]), int(resume_state["tick_start_nimg"])
        prev_lod, total_time = float(resume_state["prev_lod"]), float(resume_state.get("total_time", 0.0))
        for key, opt in opts.items():
            opt.load_state_dict(resume_state[f"{key}_opt"])
        loss.load_state_dict(resume_state["loss"])
        set_rng_state(resume_state["rng"])
    total_nimg = int(round(options.kimg * 1000))

    # Data stream from the current position.
    stream = SampleStream(len(training_set), seed=options.seed)
    batches = StepBatches(stream, schedule, cur_nimg, total_nimg, rank, world)
    loader = iter(make_loader(training_set, batches, workers=options.workers, pin_memory=device.type == "cuda"))

    # Run directory, options, initial grids (rank 0).
    run_dir = None
    grid_w, grid_h = grid_shape(resolution)
    grid_z = torch.randn([grid_w * grid_h, z_dim], generator=torch.Generator().manual_seed(options.seed)).to(device)
    show = main and not options.quiet
    if main:
        desc = options.name or f"{data_name(options.data, options.dataset)}-{options.arch}-{resolution}"
        run_dir = next_run_dir(options.out, desc)
        made["run_dir"] = run_dir
        with open(run_dir / "training_options.json", "w") as f:
            f.write(options.to_json() + "\n")
        reals = torch.stack([torch.as_tensor(training_set[i][0]) for i in stream.indices(0, grid_w * grid_h)])
        save_image_grid(to_resolution(reals.float(), resolution).round().clamp(0, 255).to(torch.uint8),
                        run_dir / "reals.png", nrow=grid_w)
        if resume_state is None:
            save_image_grid(render_grid(G_ema, grid_z, 16), run_dir / "fakes_init.png", nrow=grid_w)
        if show:
            print(f"Training {options.arch} {resolution}x{resolution} on {options.data} "
                  f"({len(training_set)} images) for {options.kimg:g} kimg on {world} x {device.type}"
                  f"{f', resuming at {cur_nimg / 1000:g} kimg' if cur_nimg else ''}; run dir {run_dir}",
                  flush=True)
    run_dir = Path(dist.broadcast_object(str(run_dir) if run_dir else None))
    stats_jsonl = open(run_dir / "stats.jsonl", "a") if main else None

    progress = None
    if show:
        progress = tqdm(total=total_nimg, initial=min(cur_nimg, total_nimg), unit="img", unit_scale=True,
                        dynamic_ncols=True, leave=False, disable=None, file=sys.stderr)

    def log(line: str) -> None:
        if show:
            (progress.write(line) if progress is not None and not progress.disable else print(line, flush=True))

    def snapshot(s) -> None:
        """Checkpoint + sample grid (+ metrics) at cur_nimg."""
        tag = f"{cur_nimg / 1000:010.3f}"
        path = run_dir / f"network-snapshot-{tag}.pt"
        if main:
            state = {
                "version": STATE_VERSION, "cur_nimg": cur_nimg, "batch_idx": batch_idx, "cur_tick": cur_tick,
                "tick_start_nimg": tick_start_nimg, "prev_lod": prev_lod,
                "total_time": total_time + (time.time() - start_time),
                "G_opt": opts["G"].state_dict(), "D_opt": opts["D"].state_dict(), "loss": loss.state_dict(),
                "rng": rng_state(), "sampler": {"seed": options.seed, "position": cur_nimg},
                "options": options.to_dict(),
            }
            meta = {"kimg": cur_nimg / 1000, "lod": s.lod, "run_dir": str(run_dir), "data": options.data}
            save_checkpoint(path, G=G, G_ema=G_ema, D=D, meta=meta, training_state=state)
            save_image_grid(render_grid(G_ema, grid_z, s.batch_gpu), run_dir / f"fakes{tag}.png", nrow=grid_w)
            if options.keep > 0:
                for old in sorted(run_dir.glob("network-snapshot-*.pt"))[:-options.keep]:
                    old.unlink()
            if options.metrics:
                # The checkpoint goes through the same path as `ganeval evaluate`; FID-like presets compare
                # with the training set (NVlabs does the same).
                reference = options.dataset if options.dataset is not None else options.data
                df = evaluate(str(path), presets=list(options.metrics), reference=reference, device=device,
                              num_samples=options.metrics_samples, seed=options.seed, progress=False)
                with open(run_dir / "metrics.jsonl", "a") as f:
                    for row in df.to_dict(orient="records"):
                        f.write(json.dumps({"snapshot": path.name, "kimg": cur_nimg / 1000, **row}, default=str)
                                + "\n")
                values = ", ".join(f"{r.get('metric')} {r.get('value'):.4g}" for r in df.to_dict(orient="records")
                                   if isinstance(r.get("value"), (int, float)))
                log(f"metrics at {cur_nimg / 1000:g} kimg: {values}")
        dist.barrier()

    # Train.
    start_time = tick_start_time = time.time()
    start_nimg, maintenance_time = cur_nimg, 0.0
    while cur_nimg < total_nimg:
        s = schedule(cur_nimg)

        # Grow: set the level of detail; fresh Adam moments when a level is added (TF reference).
        if options.progressive:
            G.synthesis.set_lod(s.lod)
            D.set_lod(s.lod)
            loss.lod = s.lod
            if options.reset_opt_on_grow and level_changed(prev_lod, s.lod):
                for opt in opts.values():
                    opt.state.clear()
        prev_lod = s.lod
        for phase in phases:
            for group in phase.opt.param_groups:
                group["lr"] = s.lr * phase.mb_ratio

        # Fetch reals: this process's microbatches, at the current level (blended during fade-in).
        real_img = next(loader).to(device, non_blocking=True).float() / 127.5 - 1
        real_img = fade_reals(to_resolution(real_img, resolution), s.lod)
        real_imgs = real_img.split(s.batch_gpu)
        assert len(real_imgs) == s.rounds

        # Execute training phases.
        for phase in phases:
            if batch_idx % phase.interval != 0:
                continue
            phase.opt.zero_grad(set_to_none=True)
            phase.module.requires_grad_(True)
            for round_idx, real in enumerate(real_imgs):
                j = round_idx * world + rank   # global microbatch index
                seed_everything(derive_seed(options.seed, batch_idx, phase.name, j))
                gen_z = torch.randn([s.batch_gpu, z_dim], device=device)
                # gain: lazy-regularisation interval; / rounds: gradient = mean over the whole minibatch.
                loss.accumulate_gradients(phase.name, real, gen_z, gain=phase.interval / s.rounds)
            phase.module.requires_grad_(False)
            loss.end_phase(phase.name)
            dist.all_reduce_grads(phase.module.parameters())
            phase.opt.step()

        # Update G_ema (half-life ema_kimg, optionally ramped up), buffers (w_avg, lod) copied.
        with torch.no_grad():
            ema_nimg = options.ema_kimg * 1000
            if options.ema_rampup is not None:
                ema_nimg = min(ema_nimg, cur_nimg * options.ema_rampup)
            ema_beta = 0.5 ** (s.batch / max(ema_nimg, 1e-8))
            for p_ema, p in zip(G_ema.parameters(), G.parameters()):
                p_ema.copy_(p.lerp(p_ema, ema_beta))
            for b_ema, b in zip(G_ema.buffers(), G.buffers()):
                b_ema.copy_(b)

        # Update state.
        cur_nimg += s.batch
        batch_idx += 1
        if progress is not None:
            progress.update(s.batch)

        # Perform maintenance tasks once per tick (tick 0 right after the first step, as NVlabs).
        done = cur_nimg >= total_nimg
        first_tick = cur_tick == 0
        if done or first_tick or cur_nimg >= tick_start_nimg + options.tick_kimg * 1000:
            tick_end_time = time.time()
            losses = loss.stats.reduce()
            if main:
                tick_nimg = max(cur_nimg - tick_start_nimg, 1)
                record = {"tick": cur_tick, "kimg": cur_nimg / 1000, "lod": s.lod, "resolution": s.resolution,
                          "alpha": s.alpha, "batch": s.batch, "lr": s.lr,
                          "total_sec": total_time + tick_end_time - start_time,
                          "sec_per_tick": tick_end_time - tick_start_time,
                          "sec_per_kimg": (tick_end_time - tick_start_time) / tick_nimg * 1000,
                          "maintenance_sec": maintenance_time, **peak_memory_gb(device), **losses,
                          "timestamp": time.time()}
                stats_jsonl.write(json.dumps(record) + "\n")
                stats_jsonl.flush()
                mem = f"gpumem {record['gpu_mem_gb']:.2f}" if "gpu_mem_gb" in record else \
                    f"cpumem {record['cpu_mem_gb']:.2f}"
                fields = [f"tick {cur_tick:<4d}", f"kimg {cur_nimg / 1000:<8.3f}"]
                if options.progressive:
                    fields.append(f"lod {s.lod:<5.2f} res {s.resolution:<4d}")
                fields += [f"batch {s.batch:<4d}", f"time {format_time(record['total_sec']):<8s}",
                           f"sec/kimg {record['sec_per_kimg']:<7.2f}", mem]
                fields += [f"{k.split('/')[-2] if k.endswith('/loss') else k.split('/')[-1]} {v:.3f}"
                           for k, v in losses.items() if k.endswith(("G/loss", "D/loss", "r1_penalty",
                                                                     "pl_penalty", "gp"))]
                log("  ".join(fields))
            cur_tick += 1
            tick_start_nimg = cur_nimg
        else:
            tick_end_time = None

        # Save snapshots (they count as maintenance of the tick that follows): at tick 0 (a baseline for
        # metric curves), every `snap` kimg, and at the end.
        snap_nimg = int(round(options.snap * 1000))
        if done or (snap_nimg > 0 and (first_tick or cur_nimg // snap_nimg > (cur_nimg - s.batch) // snap_nimg)):
            snapshot(s)
        if tick_end_time is not None:
            tick_start_time = time.time()
            maintenance_time = tick_start_time - tick_end_time

    if start_nimg >= total_nimg:
        log(f"Nothing to do: the checkpoint is already at {cur_nimg / 1000:g} kimg (--kimg {options.kimg:g}).")
    if progress is not None:
        progress.close()
    if stats_jsonl is not None:
        stats_jsonl.close()
    if main and show:
        print(f"Done: {cur_nimg / 1000:g} kimg in {run_dir}", flush=True)
    dist.barrier()
    return run_dir
