"""ganeval's equivariance metrics (ganeval/metrics/equivariance.py) beside NVlabs/stylegan3 metrics/equivariance.py,
run from an unmodified NVlabs checkout on the CPU. Prints CSV rows on stdout (and --out FILE):

    git --git-dir=<bare NVlabs/stylegan3 repo> archive HEAD | tar -x -C /tmp/nvsg3     # or a clone, outside this repo
    PYTHONPATH=. .venv/bin/python benchmarks/equivariance_vs_nvlabs.py --nvlabs /tmp/nvsg3 \\
        [--resolutions 32,64] [--cfgs t,r,t-alias,r-alias] [--kinds int,frac,rot] [--samples 64] [--seed 0] \\
        [--threads 2] [--repeat 5] [--skip-ops] [--skip-metric] [--workdir DIR] \\
        [--out benchmarks/results/equivariance_vs_nvlabs.csv]

--samples takes one number or one per resolution; benchmarks/results/2026-12-03-equivariance-vs-nvlabs.md ran
`--repeat 25 --samples 64,16` (about 70 minutes on a loaded 2-core CPU).

NVlabs' code is imported at run time from --nvlabs (nothing of it is part of this repository). On a CPU its custom
ops take their plain-PyTorch reference paths by themselves; it imports two modules this environment lacks and never
uses on that path, `requests` (dnnlib/util.py) and `pkg_resources` (torch_utils/ops/conv2d_gradfix.py, for
parse_version): stand-ins for those two are put in sys.modules before importing it.

Sections (column `section`; columns section, cfg, resolution, kind, case, quantity, value):

ops     The same float32 image (white noise, 1 x 3 x res x res: the hardest input for float32 rounding) and the same
        transform through NVlabs' apply_integer_translation, apply_fractional_translation,
        apply_fractional_rotation, apply_affine_transformation (its default filter radius, 16 px) and
        apply_fractional_pseudo_rotation, and ganeval's shift_integer, shift_fractional, rotate, affine_transform
        and pseudo_rotate; construct_affine_bandlimit_filter against bandlimit_filter. Quantities: max_abs_diff
        (outputs, over the pixels both masks keep), mask_mismatch_px (pixels where the masks differ), mask_px
        (ganeval's mask), out_max_abs (the output's scale), filter_max_rel_diff; for rotations also each side's
        max_abs_err_vs_f64 against ganeval's operator run in float64; ms_nvlabs / ms_ganeval: median time of one
        call (operator + mask; rotations: R and R* together).
metric  Random-weight StyleGAN3-T and -R generators built with NVlabs' training/networks_stylegan3.py (seeded,
        biases, the input's affine and magnitude_ema moved off their constant initial values so the images are
        not trivial), pickled as training_loop.py does, loaded by ganeval.load_generator. Such networks are
        nearly equivariant to translations (EQ-T of 69 to 99 dB here: errors not far above float32 rounding), so the
        cfgs t-alias and r-alias add the same networks with the nonlinearity at the sampling rate
        (lrelu_upsampling=1) and no margin (margin_size=0), whose errors are large (22 to 57 dB). For each kind, N
        samples with per-sample transforms, three ways:
          A  NVlabs' compute_equivariance_metrics, batch_size=1, with `torch.randn` / `torch.rand` of its module
             answered from ganeval's seeded streams (ganeval/metrics/sampling.py): the same z and the same
             transform per sample as ganeval draws; its per-sample (squared error, mask count) pair is read where
             it stacks them, its images through a forward hook on the synthesis network;
          B  ganeval.metrics.equivariance.equivariance on the loaded generator; per-sample pairs read from
             sample_error;
          C  ganeval's sample_error on NVlabs' images of A (the operators and masks alone, generator aside),
             and C64 the same in float64.
        Quantities: samples_with_error (e_A > 0: a shift that rounds to nothing gives NVlabs exactly 0, and the
        relative figures skip those samples; psnr_B_where_A_zero is ganeval's error there),
        sq_err_max_rel_diff_{AB,AC} / sq_err_median_rel_diff_AB (|e_X - e_A| / e_A over samples),
        sq_err_max_rel_err_{A,C}_vs_C64, count_max_abs_diff_{AB,AC}, image_max_abs, image_max_abs_diff_base /
        _transformed (NVlabs' vs ganeval's generator), psnr_{A,B,C,C64} (pooled over the samples),
        psnr_A_nvlabs_value (what NVlabs' function returned), psnr_B_row (ganeval's reported value), psnr_diff_AB,
        psnr_per_sample_min / _max (A), s_per_sample_nvlabs / s_per_sample_ganeval (wall time of the whole run
        / N; ganeval renders its base images 8 at a time), loadavg_1min; and per generator
        image_max_abs_diff_batch8_vs_1_{nvlabs,ganeval}: each side's own float32 noise (8 base images in one
        batch against one at a time).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import importlib
import math
import os
import pickle
import statistics
import sys
import tempfile
import time
import types
import warnings

import numpy as np
import torch

import ganeval
from ganeval.metrics import sampling as streams

ge = importlib.import_module("ganeval.metrics.equivariance")   # ganeval.metrics.equivariance is also the function

COLUMNS = ["section", "cfg", "resolution", "kind", "case", "quantity", "value"]
INT_SHIFTS = [(0.1, -0.07), (-0.125, 0.125), (0.03, 0.0)]                 # image sizes, rounded to whole pixels
FRAC_SHIFTS = [(0.1, -0.07), (-0.125, 0.03), (0.0123, 0.1049), (0.0, 0.0)]  # image sizes
ANGLES = [0.3, -2.0, 3.1, 1e-3, math.pi / 2]                              # radians
# Settings of NVlabs' SynthesisNetwork that break equivariance on purpose, so that the equivariance error is far above
# float32 rounding: the nonlinearity at the sampling rate (aliasing) and no margin (border effects).
ALIAS = dict(lrelu_upsampling=1, margin_size=0)
AFFINE = [[1.1, 0.2, 0.05], [-0.1, 0.9, -0.03], [0.0, 0.0, 1.0]]          # a shear, scale and translation


def import_nvlabs(root: str) -> types.SimpleNamespace:
    """NVlabs' modules from the checkout at `root`, with stand-ins for the two imports it never uses on the CPU."""
    try:
        import requests  # noqa: F401
    except ImportError:
        sys.modules["requests"] = types.ModuleType("requests")
    try:
        import pkg_resources  # noqa: F401
    except ImportError:
        import packaging.version
        stub = types.ModuleType("pkg_resources")
        stub.parse_version = packaging.version.parse
        sys.modules["pkg_resources"] = stub
    sys.path.insert(0, os.path.abspath(root))
    return types.SimpleNamespace(
        eq=importlib.import_module("metrics.equivariance"),
        metric_utils=importlib.import_module("metrics.metric_utils"),
        networks=importlib.import_module("training.networks_stylegan3"),
    )


def f32(v: float) -> float:
    """v rounded to float32, so both sides get the very same number."""
    return float(torch.tensor(v, dtype=torch.float32))


def median_ms(fn, repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times)


# ---------------------------------------------------------------------------------------------------------
# Operators.

def compare(rows, res, kind, case, nv_out, ge_out, f64_out=None):
    """Rows comparing (out, mask) of both sides; masks are [N, C, H, W] (NVlabs) and [1, 1, H, W] (ganeval)."""
    (zn, mn), (zg, mg) = nv_out, ge_out
    mn = mn[:, :1]
    both = mn * mg

    def put(q, v):
        rows.append(dict(section="ops", cfg="", resolution=res, kind=kind, case=case, quantity=q, value=v))

    put("max_abs_diff", float(((zn - zg).abs() * both).max()))
    put("mask_mismatch_px", int((mn != mg).sum()))
    put("mask_px", int(mg.sum()))
    put("out_max_abs", float((zg.abs() * mg).max()))
    if f64_out is not None:
        put("max_abs_err_vs_f64_nvlabs", float(((zn.double() - f64_out).abs() * both).max()))
        put("max_abs_err_vs_f64_ganeval", float(((zg.double() - f64_out).abs() * both).max()))


def ops_rows(nv, resolutions, seed: int, repeat: int) -> list[dict]:
    g = torch.Generator().manual_seed(seed)
    return [row for res in resolutions for row in ops_rows_at(nv, torch.randn(1, 3, res, res, generator=g), repeat)]


def ops_rows_at(nv, x: torch.Tensor, repeat: int) -> list[dict]:
    rows, res = [], x.shape[-1]

    def put(kind, case, q, v):
        rows.append(dict(section="ops", cfg="", resolution=res, kind=kind, case=case, quantity=q, value=v))

    for tx, ty in INT_SHIFTS:
        t = [round(v * res) / res for v in (tx, ty)]          # NVlabs rounds t to whole pixels before the call
        dx, dy = round(t[0] * res), round(t[1] * res)
        case = f"dx={dx} dy={dy} px"
        compare(rows, res, "int", case, nv.eq.apply_integer_translation(x, torch.tensor(t[0]), torch.tensor(t[1])),
                ge.shift_integer(x, dx, dy))
    put("int", "timing, t=(0.1, -0.07)", "ms_nvlabs", median_ms(
        lambda: nv.eq.apply_integer_translation(x, torch.tensor(0.1), torch.tensor(-0.07)), repeat))
    put("int", "timing, t=(0.1, -0.07)", "ms_ganeval", median_ms(
        lambda: ge.shift_integer(x, round(0.1 * res), round(-0.07 * res)), repeat))

    for tx, ty in FRAC_SHIFTS:
        tx, ty = f32(tx), f32(ty)
        case = f"dx={tx * res:.4g} dy={ty * res:.4g} px"
        compare(rows, res, "frac", case,
                nv.eq.apply_fractional_translation(x, torch.tensor(tx), torch.tensor(ty)),
                ge.shift_fractional(x, tx * res, ty * res))
    put("frac", "timing, t=(0.1, -0.07)", "ms_nvlabs", median_ms(
        lambda: nv.eq.apply_fractional_translation(x, torch.tensor(0.1), torch.tensor(-0.07)), repeat))
    put("frac", "timing, t=(0.1, -0.07)", "ms_ganeval", median_ms(
        lambda: ge.shift_fractional(x, 0.1 * res, -0.07 * res), repeat))

    for angle in ANGLES:
        angle = f32(angle)
        case = f"angle={angle:.4g} rad"
        filt_nv = nv.eq.construct_affine_bandlimit_filter(nv.eq.rotation_matrix(torch.tensor(angle)), a=3, amax=6)
        filt_ge = ge.bandlimit_filter(ge.rotation_matrix(angle), a=3, support=6)
        put("rot", case, "filter_max_rel_diff",
            float((filt_nv.double() - filt_ge).abs().max() / filt_ge.abs().max()))
        compare(rows, res, "rot", case, nv.eq.apply_fractional_rotation(x, torch.tensor(angle)),
                ge.rotate(x, angle), ge.rotate(x.double(), angle)[0])
        compare(rows, res, "pseudo_rot", case, nv.eq.apply_fractional_pseudo_rotation(x, torch.tensor(angle)),
                ge.pseudo_rotate(x, angle), ge.pseudo_rotate(x.double(), angle)[0])
    put("rot", "R and R*, angle=0.3", "ms_nvlabs", median_ms(
        lambda: (nv.eq.apply_fractional_rotation(x, torch.tensor(0.3)),
                 nv.eq.apply_fractional_pseudo_rotation(x, torch.tensor(0.3))), repeat))
    put("rot", "R and R*, angle=0.3", "ms_ganeval", median_ms(
        lambda: (ge.rotate(x, 0.3), ge.pseudo_rotate(x, 0.3)), repeat))

    mat = torch.tensor(AFFINE, dtype=torch.float32)
    filt_nv = nv.eq.construct_affine_bandlimit_filter(mat)
    filt_ge = ge.bandlimit_filter(mat.double())
    put("affine", "shear+scale+shift", "filter_max_rel_diff",
        float((filt_nv.double() - filt_ge).abs().max() / filt_ge.abs().max()))
    compare(rows, res, "affine", "shear+scale+shift", nv.eq.apply_affine_transformation(x, mat),
            ge.affine_transform(x, mat.double()), ge.affine_transform(x.double(), mat.double())[0])
    return rows


# ---------------------------------------------------------------------------------------------------------
# Metric.

def build_generator(nv, cfg: str, res: int, seed: int):
    """A small random StyleGAN3 from NVlabs' code, with the constants a fresh network starts from moved."""
    torch.manual_seed(seed)
    kw = dict(z_dim=32, w_dim=32, c_dim=0, img_resolution=res, img_channels=3, mapping_kwargs=dict(num_layers=2),
              channel_base=2048 if cfg.startswith("r") else 1024, channel_max=128 if cfg.startswith("r") else 64)
    if cfg.startswith("r"):
        kw.update(conv_kernel=1, use_radial_filters=True)
    if cfg.endswith("-alias"):
        kw.update(ALIAS)
    G = nv.networks.Generator(**kw).eval().requires_grad_(False)
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for name, p in G.named_parameters():
            if name.endswith(".bias") and "affine" not in name:
                p.copy_(torch.randn(p.shape, generator=g) * 0.3)
        for name, b in G.named_buffers():
            if name.endswith("magnitude_ema"):
                b.fill_(0.25 + 2 * torch.rand([], generator=g).item())
        # A rotation and translation of the input per w (the affine is initialised to the identity).
        G.synthesis.input.affine.weight.copy_(torch.randn(4, G.w_dim, generator=g) * 0.5)
    return G


class StreamTorch:
    """`torch` as NVlabs' metrics/equivariance.py sees it: randn / rand answered from ganeval's streams, in NVlabs'
    call order with batch_size=1 (z, then the transform's uniforms, per sample), and the per-sample sums it stacks
    recorded."""

    def __init__(self, kind: str, seed: int):
        self.kind, self.seed, self.i, self.sums = kind, seed, 0, []

    def __getattr__(self, name):
        return getattr(torch, name)

    def randn(self, shape, device=None):
        assert shape[0] == 1, "drive NVlabs' loop with batch_size=1"
        return streams.normal(self.seed, "equivariance/z", self.i, self.i + 1, shape[1]).to(device)

    def rand(self, shape, device=None):
        u = streams.uniform(self.seed, ge.STREAMS[self.kind], self.i, self.i + 1, 1 if self.kind == "rot" else 2)[0]
        self.i += 1
        return (u[0] if self.kind == "rot" else u).to(device)

    def stack(self, tensors, *args, **kwargs):
        out = torch.stack(tensors, *args, **kwargs)
        if all(t.dim() == 0 for t in tensors):            # the per-batch [sq_err, mask] sums, not a filter grid
            self.sums.append([float(v) for v in out])
        return out


def run_nvlabs(nv, G, kind: str, n: int, seed: int):
    """A: NVlabs' loop on G -> (per-sample [sq_err, count], images in call order, pooled PSNR, seconds)."""
    feed, images = StreamTorch(kind, seed), []
    hook = G.synthesis.register_forward_hook(lambda mod, inp, out: images.append(out.detach().clone()))
    flag = dict(int="compute_eqt_int", frac="compute_eqt_frac", rot="compute_eqr")[kind]
    opts = nv.metric_utils.MetricOptions(G=G, device=torch.device("cpu"))
    nv.eq.torch = feed
    try:
        t0 = time.perf_counter()
        value = float(nv.eq.compute_equivariance_metrics(opts, num_samples=n, batch_size=1, **{flag: True}))
        seconds = time.perf_counter() - t0
    finally:
        nv.eq.torch = torch
        hook.remove()
    assert feed.i == n and len(feed.sums) == n and len(images) == 2 * n
    return np.array(feed.sums), images, value, seconds


def run_ganeval(Gg, kind: str, n: int, seed: int):
    """B: ganeval's metric -> (per-sample [sq_err, count], per-sample (base, transformed), reported PSNR, s)."""
    records, images = [], []
    sample_error = ge.sample_error

    def recording(kind_, base, img, param):
        out = sample_error(kind_, base, img, param)
        records.append(out)
        images.append((base.clone(), img.clone()))
        return out

    ge.sample_error = recording
    try:
        t0 = time.perf_counter()
        table = ge.equivariance(Gg, kind, num_samples=n, seed=seed, device="cpu", progress=False, bootstrap=0)
        seconds = time.perf_counter() - t0
    finally:
        ge.sample_error = sample_error
    assert len(records) == n
    return np.array(records), images, float(table["value"].iloc[0]), seconds


@torch.no_grad()
def batch_rows(G, Gg, cfg: str, res: int, seed: int, n: int = 8) -> list[dict]:
    """Each side's own float32 noise: n base images rendered in one batch against the same rendered one by one
    (NVlabs' loop with batch_size=1 renders one at a time, ganeval's base images go 8 at a time)."""
    z = streams.normal(seed, "equivariance/z", 0, n, G.z_dim)
    rows = []
    for side, net, ws in (("nvlabs", G, G.mapping(z, None)), ("ganeval", Gg, Gg.mapping(z))):
        if side == "ganeval":
            Gg.synthesis.input.transform.copy_(torch.eye(3))
        together = net.synthesis(ws, noise_mode="const")
        alone = torch.cat([net.synthesis(ws[i: i + 1], noise_mode="const") for i in range(n)])
        rows.append(dict(section="metric", cfg=cfg, resolution=res, kind="", case=f"{n} base images",
                         quantity=f"image_max_abs_diff_batch{n}_vs_1_{side}",
                         value=float((together - alone).abs().max())))
    return rows


def metric_rows(nv, cfgs, resolutions, kinds, samples, seed: int, workdir: str):
    """Yields the rows of one generator and kind at a time; samples[i] samples at resolutions[i]."""
    for res, n in zip(resolutions, samples):
        for cfg in cfgs:
            G = build_generator(nv, cfg, res, seed)
            path = os.path.join(workdir, f"sg3{cfg}-{res}.pkl")
            with open(path, "wb") as f:       # what training_loop.py pickles
                pickle.dump(dict(G=G, D=None, G_ema=G, augment_pipe=None, training_set_kwargs=None), f)
            Gg = ganeval.load_generator(path)
            yield batch_rows(G, Gg, cfg, res, seed)
            for kind in kinds:
                yield kind_rows(nv, G, Gg, cfg, kind, n, seed)
                print(f"# {cfg} {res}px {kind}: done", file=sys.stderr, flush=True)


def kind_rows(nv, G, Gg, cfg: str, kind: str, n: int, seed: int) -> list[dict]:
    rows = []

    def put(q, v):
        rows.append(dict(section="metric", cfg=cfg, resolution=Gg.img_resolution, kind=kind, case=f"N={n} seed={seed}",
                         quantity=q, value=v))

    sa, nv_images, psnr_a_nv, sec_a = run_nvlabs(nv, G, kind, n, seed)
    sb, ge_images, psnr_b_row, sec_b = run_ganeval(Gg, kind, n, seed)
    u = streams.uniform(seed, ge.STREAMS[kind], 0, n, 1 if kind == "rot" else 2)
    sc, sc64 = [], []
    for i in range(n):
        _, param = ge.draw_transform(kind, u[i], ge.TRANSLATE_MAX, ge.ROTATE_MAX, Gg.img_resolution)
        base, img = nv_images[2 * i], nv_images[2 * i + 1]
        sc.append(ge.sample_error(kind, base, img, param))
        sc64.append(ge.sample_error(kind, base.double(), img.double(), param))
    sc, sc64 = np.array(sc), np.array(sc64)
    # Relative differences over the samples with an error: a transform that rounds to no shift at all (EQ-T,
    # |t| < 1/2 px on both axes) gives NVlabs exactly 0, its two images coming from identical calls.
    some = sa[:, 0] > 0

    def rel(s, ref):
        out = np.abs(s[some, 0] - ref[some, 0]) / ref[some, 0]
        return out if out.size else np.array([float("nan")])

    put("samples_with_error", int(some.sum()))
    put("sq_err_max_rel_diff_AB", float(rel(sb, sa).max()))
    put("sq_err_median_rel_diff_AB", float(np.median(rel(sb, sa))))
    put("sq_err_max_rel_diff_AC", float(rel(sc, sa).max()))
    put("sq_err_max_rel_err_A_vs_C64", float(rel(sa, sc64).max()))
    put("sq_err_max_rel_err_C_vs_C64", float(rel(sc, sc64).max()))
    if not some.all():
        put("psnr_B_where_A_zero", ge.psnr(sb[~some, 0], sb[~some, 1]))
    put("count_max_abs_diff_AB", float(np.abs(sa[:, 1] - sb[:, 1]).max()))
    put("count_max_abs_diff_AC", float(np.abs(sa[:, 1] - sc[:, 1]).max()))
    put("image_max_abs", max(float(im.abs().max()) for im in nv_images))
    put("image_max_abs_diff_base", max(float((nv_images[2 * i] - ge_images[i][0]).abs().max()) for i in range(n)))
    put("image_max_abs_diff_transformed",
        max(float((nv_images[2 * i + 1] - ge_images[i][1]).abs().max()) for i in range(n)))
    psnr = {k: ge.psnr(s[:, 0], s[:, 1]) for k, s in (("A", sa), ("B", sb), ("C", sc), ("C64", sc64))}
    put("psnr_A", psnr["A"])
    put("psnr_A_nvlabs_value", psnr_a_nv)
    put("psnr_B", psnr["B"])
    put("psnr_B_row", psnr_b_row)
    put("psnr_C", psnr["C"])
    put("psnr_C64", psnr["C64"])
    put("psnr_diff_AB", psnr["B"] - psnr["A"])
    per = [ge.psnr(e, c) for e, c in sa[some]] or [float("nan")]
    put("psnr_per_sample_min", min(per))
    put("psnr_per_sample_max", max(per))
    put("s_per_sample_nvlabs", sec_a / n)
    put("s_per_sample_ganeval", sec_b / n)
    put("loadavg_1min", os.getloadavg()[0])       # other work on the machine slows both sides
    return rows


def fmt(v):
    if isinstance(v, float):
        return f"{v:.6g}" if math.isfinite(v) else str(v)
    return v


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nvlabs", required=True, help="an NVlabs/stylegan3 checkout (not inside this repository)")
    ap.add_argument("--resolutions", default="32,64")
    ap.add_argument("--cfgs", default="t,r,t-alias,r-alias")
    ap.add_argument("--kinds", default="int,frac,rot")
    ap.add_argument("--samples", default="64", help="samples per kind: one number, or one per resolution")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=5, help="timed calls per operator")
    ap.add_argument("--skip-ops", action="store_true")
    ap.add_argument("--skip-metric", action="store_true")
    ap.add_argument("--workdir", default=None, help="where the pickles go (default: a temporary folder)")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")         # NVlabs' torch.meshgrid without indexing=, CUDA_HOME notices
    nv = import_nvlabs(args.nvlabs)
    resolutions = [int(r) for r in args.resolutions.split(",")]
    samples = [int(n) for n in args.samples.split(",")]
    samples = samples * len(resolutions) if len(samples) == 1 else samples
    if len(samples) != len(resolutions):
        ap.error("--samples: one number, or one per resolution")
    with contextlib.ExitStack() as stack:
        files = [sys.stdout] + ([stack.enter_context(open(args.out, "w"))] if args.out else [])
        writers = [csv.DictWriter(f, COLUMNS, lineterminator="\n") for f in files]
        for w in writers:
            w.writeheader()

        def emit(rows):                       # row by row to both, so a long run that stops keeps what it did
            for r in rows:
                for w in writers:
                    w.writerow({k: fmt(v) for k, v in r.items()})
            for f in files:
                f.flush()

        if not args.skip_ops:
            emit(ops_rows(nv, resolutions, args.seed, args.repeat))
        if not args.skip_metric:
            workdir = stack.enter_context(tempfile.TemporaryDirectory()) if args.workdir is None else args.workdir
            for rows in metric_rows(nv, args.cfgs.split(","), resolutions, args.kinds.split(","), samples, args.seed,
                                    workdir):
                emit(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
