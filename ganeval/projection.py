"""Projection: find the latent of a real image (the StyleGAN2 projector, Karras et al. 2020, §5 / App. D).

For each target, w starts at w_avg and is optimised together with the per-layer noise maps to
minimise a perceptual distance (LPIPS-VGG16 by default) between G.synthesis(w) and the target,
both box/area-downsampled to at most 256². The schedule is the paper's: the learning rate ramps up
over the first 5% of the steps and down (cosine) over the last 25%; Gaussian noise of scale
σ_w · 0.05 · max(0, 1 − t/0.75)² is added to w (σ_w measured from 10k mapped samples) so the search
explores early and settles late; the noise maps are penalised for spatial autocorrelation over a
multi-scale pyramid (weight 1e5) and renormalised to zero mean / unit variance after each step, so
they cannot smuggle in image content. Space 'w' optimises one w for all layers; 'w+' one per layer.

Deviation from the reference, stated: any registered distance (or callable) can replace LPIPS,
e.g. 'synth-lpips' on the synthetic benchmark, where no VGG16 weights are needed.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from PIL import Image, UnidentifiedImageError
from tqdm.auto import tqdm

from .errors import ConfigError, DataError
from .features.registry import resolve_distance
from .images import make_grid, save_png, to_uint8
from .utils import atomic_write

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
MAX_DISTANCE_RESOLUTION = 256


@dataclass
class ProjectionResult:
    ws: torch.Tensor                        # [N, num_ws, w_dim], the projected latents
    images: torch.Tensor                    # [N, C, H, W] uint8 reconstructions (const noise = the fitted maps)
    targets: torch.Tensor                   # [N, C, H, W] uint8 targets at the generator's resolution
    table: pd.DataFrame                     # per image: distance, psnr, steps, time_s, ...
    noise: list[dict] = field(default_factory=list)            # fitted noise maps per image
    snapshots: list[list[torch.Tensor]] = field(default_factory=list)  # per image: uint8 images at snapshot steps
    snapshot_steps: list[int] = field(default_factory=list)


# ----------------------------------------------------------------------------------------------------
# Targets.

def load_target_image(path: str | Path, resolution: int, channels: int = 3) -> tuple[torch.Tensor, str]:
    """Read an image as uint8 [C, H, W] at the generator's resolution.

    Resizing: a centre square crop if not square, then box (area) filtering for integer downscale
    factors and Lanczos otherwise (stated in the result table's `resize` column).
    """
    path = Path(path)
    try:
        with Image.open(path) as im:
            im.load()
            bands = len(im.getbands())
            mode = im.mode
            if mode == "P":
                im = im.convert("RGB")
                bands = 3
            if bands != channels or mode not in ("RGB", "L"):
                raise DataError(f"{path}: image has {bands} channel(s) ({mode}), the generator expects {channels}")
            w, h = im.size
            side = min(w, h)
            if w != h:
                im = im.crop(((w - side) // 2, (h - side) // 2, (w - side) // 2 + side, (h - side) // 2 + side))
            if side == resolution:
                how = "none"
            elif side > resolution and side % resolution == 0:
                im = im.reduce(side // resolution)
                how = "box"
            else:
                im = im.resize((resolution, resolution), Image.LANCZOS)
                how = "lanczos"
            arr = np.asarray(im, dtype=np.uint8)
    except (UnidentifiedImageError, OSError, ValueError) as e:
        raise DataError(f"{path}: cannot read image ({type(e).__name__}: {str(e)[:120]})") from None
    if arr.ndim == 2:
        arr = arr[:, :, None]
    return torch.from_numpy(arr.copy()).permute(2, 0, 1), how


def find_targets(path: str | Path) -> list[Path]:
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise DataError(f"{path}: no images ({', '.join(IMAGE_SUFFIXES)}) in this folder")
        return files
    if not path.exists():
        raise DataError(f"no such target image or folder: {path}")
    return [path]


# ----------------------------------------------------------------------------------------------------
# The projector.

def _distance_images(img: torch.Tensor) -> torch.Tensor:
    """Area-downsample to at most 256² (the reference's F.interpolate(mode='area'))."""
    if img.shape[-1] > MAX_DISTANCE_RESOLUTION:
        img = F.interpolate(img, size=(MAX_DISTANCE_RESOLUTION, MAX_DISTANCE_RESOLUTION), mode="area")
    return img


def noise_regularization(noise_maps) -> torch.Tensor:
    """Σ over maps and pyramid levels (down to 8x8) of the squared lag-1 autocorrelations in x and y."""
    reg = 0.0
    for v in noise_maps:
        x = v[None, None]
        while True:
            reg = reg + (x * torch.roll(x, shifts=1, dims=3)).mean() ** 2
            reg = reg + (x * torch.roll(x, shifts=1, dims=2)).mean() ** 2
            if x.shape[2] <= 8:
                break
            x = F.avg_pool2d(x, kernel_size=2)
    return reg


def learning_rate(step: int, num_steps: int, initial_lr: float, rampdown: float = 0.25, rampup: float = 0.05) -> float:
    t = step / num_steps
    ramp = min(1.0, (1.0 - t) / rampdown)
    ramp = 0.5 - 0.5 * math.cos(ramp * math.pi)
    return initial_lr * ramp * min(1.0, t / rampup)


@torch.no_grad()
def w_statistics(G, num_samples: int = 10_000, seed: int = 123, batch: int = 1000) -> tuple[torch.Tensor, float]:
    """w_avg [w_dim] and the scalar σ_w = sqrt(E‖w − w_avg‖²) from mapped samples."""
    device = next(G.parameters()).device
    gen = torch.Generator().manual_seed(seed)
    ws = torch.cat([G.mapping(torch.randn(min(batch, num_samples - i), G.z_dim, generator=gen).to(device))[:, 0]
                    for i in range(0, num_samples, batch)])
    w_avg = ws.mean(0)
    return w_avg, float((ws - w_avg).square().sum(1).mean().sqrt())


def project(G, targets: torch.Tensor, steps: int = 1000, space: str = "w", distance="lpips-vgg16",
            w_avg_samples: int = 10_000, initial_lr: float = 0.1, initial_noise_factor: float = 0.05,
            lr_rampdown: float = 0.25, lr_rampup: float = 0.05, noise_ramp: float = 0.75,
            regularize_noise_weight: float = 1e5, optimize_noise: bool = True, seed: int = 0,
            num_snapshots: int = 6, names: list[str] | None = None, resize: list[str] | None = None,
            progress: bool | None = None) -> ProjectionResult:
    """Project uint8 targets [N, C, H, W] (at G's resolution) into W or W+; one optimisation per image."""
    if space not in ("w", "w+"):
        raise ConfigError(f"projection space must be 'w' or 'w+', got '{space}'")
    if steps < 1:
        raise ConfigError("projection needs at least one step")
    if not G.has_w:
        raise ConfigError(f"projection needs a W space; this {G.arch} generator has none")
    targets = torch.as_tensor(targets)
    if targets.ndim != 4 or targets.shape[1:] != (G.img_channels, G.img_resolution, G.img_resolution):
        raise ConfigError(f"targets must be [N, {G.img_channels}, {G.img_resolution}, {G.img_resolution}] uint8, "
                          f"got {tuple(targets.shape)}")
    G = copy.deepcopy(G).eval().requires_grad_(False)
    device = next(G.parameters()).device
    dist_fn, dist_name = resolve_distance(distance, device)
    w_avg, w_std = w_statistics(G, w_avg_samples)
    noise_maps = [buf for _, buf in G.noise_buffers()]
    snap_steps = sorted({int(round(s)) for s in np.linspace(0, steps, num_snapshots)}) if num_snapshots else []
    names = names or [f"image{i:04d}" for i in range(len(targets))]

    all_ws, images, rows, fitted_noise, snapshots = [], [], [], [], []
    for i, target in enumerate(targets):
        t0 = time.time()
        torch.manual_seed(seed + i)  # the w perturbations and the initial noise maps
        target_img = _distance_images(target[None].to(device).float() / 127.5 - 1)
        w_init = w_avg[None, None].repeat(1, G.num_ws if space == "w+" else 1, 1)
        w_opt = w_init.clone().requires_grad_(True)
        for buf in noise_maps:
            buf.copy_(torch.randn_like(buf))
            buf.requires_grad_(optimize_noise)
        params = [w_opt] + (noise_maps if optimize_noise else [])
        opt = torch.optim.Adam(params, betas=(0.9, 0.999), lr=initial_lr)
        snaps = []
        bar = tqdm(range(steps), desc=f"project {names[i]}", disable=not progress if progress is not None else None,
                   leave=False)
        for step in bar:
            if step in snap_steps:
                snaps.append(_render(G, w_opt.detach(), space))
            t = step / steps
            w_noise_scale = w_std * initial_noise_factor * max(0.0, 1.0 - t / noise_ramp) ** 2
            for group in opt.param_groups:
                group["lr"] = learning_rate(step, steps, initial_lr, lr_rampdown, lr_rampup)
            ws = w_opt + torch.randn_like(w_opt) * w_noise_scale
            ws = ws.repeat(1, G.num_ws, 1) if space == "w" else ws
            synth = _distance_images(G.synthesis(ws, noise_mode="const"))
            dist = dist_fn(synth, target_img).sum()
            loss = dist + regularize_noise_weight * noise_regularization(noise_maps) if noise_maps else dist
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            with torch.no_grad():
                for buf in noise_maps:
                    buf -= buf.mean()
                    buf *= buf.square().mean().rsqrt()
        with torch.no_grad():
            final_ws = w_opt.detach().repeat(1, G.num_ws, 1) if space == "w" else w_opt.detach()
            img = G.synthesis(final_ws, noise_mode="const")
            final_dist = float(dist_fn(_distance_images(img), target_img).sum())
            out = to_uint8(img).cpu()
        snaps.append(out[0])
        mse = (out.float() - target[None].float()).square().mean().item()
        rows.append(dict(image=names[i], space=space, steps=steps, distance=final_dist, distance_name=dist_name,
                         psnr=float("inf") if mse == 0 else 10 * math.log10(255 ** 2 / mse),
                         time_s=time.time() - t0, resize=(resize[i] if resize else "none")))
        all_ws.append(final_ws.cpu())
        images.append(out)
        fitted_noise.append({n: b.detach().cpu().clone() for n, b in G.noise_buffers()})
        snapshots.append(snaps)
        for buf in noise_maps:
            buf.requires_grad_(False)
    return ProjectionResult(ws=torch.cat(all_ws), images=torch.cat(images), targets=targets.cpu(),
                            table=pd.DataFrame(rows), noise=fitted_noise, snapshots=snapshots,
                            snapshot_steps=snap_steps + [steps])


@torch.no_grad()
def _render(G, w, space):
    ws = w.repeat(1, G.num_ws, 1) if space == "w" else w
    return to_uint8(G.synthesis(ws, noise_mode="const")).cpu()[0]


def project_files(G, target: str | Path, out: str | Path, **options) -> ProjectionResult:
    """Project an image file or every image in a folder; write latents, reconstructions, strips and the table.

    out/projected_w.npz        ws [N, num_ws, w_dim] float32 and the image names
    out/<name>.png             target | reconstruction, side by side
    out/<name>-progress.png    the reconstruction at a few steps (a video-free progress strip)
    out/results.csv            per image: distance, PSNR, steps, time, resize filter
    """
    files = find_targets(target)
    loaded = [load_target_image(f, G.img_resolution, G.img_channels) for f in files]
    targets = torch.stack([t for t, _ in loaded])
    result = project(G, targets, names=[f.stem for f in files], resize=[how for _, how in loaded], **options)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_write(out / "projected_w.npz", suffix=".npz") as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, ws=result.ws.numpy().astype(np.float32), names=np.array([f.stem for f in files]))
    for i, f in enumerate(files):
        save_png(make_grid(torch.stack([result.targets[i], result.images[i]]), nrow=2), out / f"{f.stem}.png")
        strip = torch.stack(result.snapshots[i])
        save_png(make_grid(strip, nrow=len(strip)), out / f"{f.stem}-progress.png")
    with atomic_write(out / "results.csv", suffix=".csv") as tmp:
        result.table.to_csv(tmp, index=False)
    return result


@torch.no_grad()
def interpolation_path_length(G, w0: torch.Tensor, w1: torch.Tensor, distance="lpips-vgg16", num_steps: int = 16,
                              epsilon: float = 1e-4) -> torch.Tensor:
    """PPL-style distances d(g(lerp(w0, w1, t)), g(lerp(w0, w1, t + ε))) / ε² at t = 0, 1/n, ... (n = num_steps)
    along the W path between two projected images (ws [num_ws, w_dim] each); uses G's const noise."""
    device = next(G.parameters()).device
    dist_fn, _ = resolve_distance(distance, device)
    t = torch.arange(num_steps, device=device, dtype=torch.float32)[:, None, None] / num_steps
    w0, w1 = w0.to(device)[None], w1.to(device)[None]
    wa, wb = w0 + (w1 - w0) * t, w0 + (w1 - w0) * (t + epsilon)
    img = _distance_images(G.synthesis(torch.cat([wa, wb]), noise_mode="const"))
    ia, ib = img.chunk(2)
    return dist_fn(ia, ib).reshape(-1) / epsilon ** 2
