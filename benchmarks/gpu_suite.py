"""The GPU suite: ganeval's fast paths on one GPU against the reference, as CSV rows. Run it through gpu_suite.sh.

    STYLEGAN2_ADA_DIR=/path/to/stylegan2-ada-pytorch OUT=/tmp/out bash benchmarks/gpu_suite.sh
    CPU=1 bash benchmarks/gpu_suite.sh       # dry run: tiny sizes on the CPU, every code path but CUDA's

Sections (each interleaves its arms over --reps repetitions and reports min and median; sample counts are
small and every full-size figure is extrapolated from seconds per item, the rows say so):

ppl   ppl2_wend (W, t = 0, no crop, eps 1e-4) of a StyleGAN2 config-f 1024 px generator with random weights:
      NVIDIA's own stylegan2-ada-pytorch PPLSampler (metrics/perceptual_path_length.py, at its batch of 2 pairs,
      the loop of its compute_ppl) against ganeval's ppl(): finite difference at the reference's batch and at
      ganeval's largest batch (16 pairs, one noise block), JVP in fp32 and in bf16. One set of weights on both
      sides: the reference's Generator is built by the reference's code, pickled as its training loop pickles
      it, and loaded by ganeval.load_generator (images compared). LPIPS: NVIDIA's vgg16.pt cannot be downloaded
      offline and neither can the torchvision VGG16 trunk, so both sides use the same `lpips` v0.1 network on a
      random VGG16 trunk (seeded); the reference gets it behind vgg16.pt's interface (features whose squared
      distance is the LPIPS). Without STYLEGAN2_ADA_DIR the reference arm is skipped, the rest runs.
ls    the linear-separability protocol (200k samples, 40 attributes, Z and W), stage by stage: generation as
      separability() runs it (blocks of 16, random noise, box-downsampled to 256 px), the classifiers (NVIDIA's
      40 D_basic networks stacked, random weights: stand-ins of the CelebA-HQ pickles) at separability's batch of
      16, and the SVM stage at full size (svm='batched': 200k synthetic latents and logits, 100k kept per
      attribute, both spaces, 200 bootstrap replicates); plus separability() end to end on a few samples.
fid   fid50k at 1024 px end to end (fid() with precomputed reference statistics), from two sample counts:
      images/s = extra images / extra seconds, 50k time = fixed cost + 50k / rate. Inception: stand-in random
      weights (write_standin_weights, GANEVAL_ALLOW_UNVERIFIED_WEIGHTS=1).

Targets (printed as rows, section 'target'): PPL exact (FD) >= 3x the reference at its batch, JVP >= 10x,
LS full protocol < 10 min, FID50k >= 260 images/s.
Columns: section, arm, quantity, value, n (items timed per repetition), reps, device, note.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import math
import os
import pickle
import platform
import statistics
import sys
import tempfile
import time
import types
import warnings

_TMP = tempfile.mkdtemp(prefix="ganeval-gpu-suite-")
# Stand-in weights live in a private folder; the registry finds them there and lets unverified files through.
os.environ["GANEVAL_WEIGHTS"] = os.path.join(_TMP, "weights")
os.environ["GANEVAL_CACHE"] = os.path.join(_TMP, "cache")
os.environ["GANEVAL_ALLOW_UNVERIFIED_WEIGHTS"] = "1"
os.makedirs(os.environ["GANEVAL_WEIGHTS"], exist_ok=True)

import numpy as np  # noqa: E402
import torch  # noqa: E402

import ganeval  # noqa: E402
from ganeval.data.attributes import NVIDIA_ATTRS  # noqa: E402
from ganeval.features.inception import write_standin_weights  # noqa: E402
from ganeval.features.lpips import LPIPSDistance  # noqa: E402
from ganeval.features.nvidia_classifiers import NvidiaAttributeClassifiers  # noqa: E402
from ganeval.images import box_downsample, to_rgb  # noqa: E402
from ganeval.metrics import fid, ppl, separability  # noqa: E402
from ganeval.metrics import sampling as streams  # noqa: E402
from ganeval.metrics.ppl import ppl_distances  # noqa: E402
from ganeval.metrics.reference import ReferenceStats  # noqa: E402
from ganeval.metrics.separability import CLASSIFIER_BATCH, separability_from_predictions  # noqa: E402

FIELDS = ["section", "arm", "quantity", "value", "n", "reps", "device", "note"]
TARGETS = dict(ppl_fd=3.0, ppl_jvp=10.0, ls_s=600.0, fid_img_s=260.0)
LS_SAMPLES, LS_KEEP, FID_SAMPLES = 200_000, 100_000, 50_000


class Suite:
    def __init__(self, args):
        self.args = args
        self.rows: list[dict] = []
        self.device = torch.device("cpu" if args.dry_run else "cuda")
        self.t_start = time.perf_counter()
        self.out = os.path.join(os.environ["OUT"], "gpu_suite.csv") if os.environ.get("OUT") else None

    def row(self, section, arm, quantity, value, n=None, reps=None, note=""):
        self.rows.append(dict(section=section, arm=arm, quantity=quantity, value=value, n=n, reps=reps,
                              device=self.device.type, note=note))
        v = f"{value:.6g}" if isinstance(value, float) else value
        print(f"# {section} | {arm} | {quantity}: {v}" + (f"  ({note})" if note else ""), file=sys.stderr, flush=True)

    def flush(self):
        """Rewrite the CSV after every section, so a run cut short keeps what it measured."""
        if self.out:
            buf = io.StringIO()
            w = csv.DictWriter(buf, fieldnames=FIELDS)
            w.writeheader()
            w.writerows(self.rows)
            with open(self.out + ".tmp", "w") as f:
                f.write(buf.getvalue())
            os.replace(self.out + ".tmp", self.out)

    def left(self) -> float:
        return self.args.deadline_s - (time.perf_counter() - self.t_start)

    def sync(self):
        if self.device.type == "cuda":
            torch.cuda.synchronize()

    def timed(self, fn, *a):
        self.sync()
        t0 = time.perf_counter()
        out = fn(*a)
        self.sync()
        return time.perf_counter() - t0, out

    def count(self, sec_per_item: float, step: int, lo: int, hi: int) -> int:
        """Items per timed repetition: about --arm-s seconds, a multiple of `step`, within [lo, hi]."""
        n = math.ceil(self.args.arm_s / max(sec_per_item, 1e-9) / step) * step
        return int(min(max(n, lo), hi))

    def interleaved(self, section: str, arms: dict, calib: dict, step: dict, hi: int, unit: str) -> dict:
        """arms: name -> fn(n) (does n items); each is warmed up and calibrated (calib[name] items), then timed
        --reps times, the arms interleaved so that drifts of the machine hit every arm alike.
        -> name -> (n, [s per item]); self.last: each arm's output of its last repetition."""
        per = {}
        for name, fn in arms.items():
            if self.args.dry_run:   # the code paths only: no warm-up, no calibration
                per[name] = calib[name]
                continue
            fn(calib[name])                                    # warm-up: allocator, cuDNN, autocast caches
            sec, _ = self.timed(fn, calib[name])
            per[name] = self.count(sec / calib[name], step[name], calib[name], hi)
        times = {name: [] for name in arms}
        self.last = {}
        for _ in range(self.args.reps):
            for name, fn in arms.items():
                sec, self.last[name] = self.timed(fn, per[name])
                times[name].append(sec / per[name])
        for name, ts in times.items():
            note = f"{unit}s per repetition {per[name]}; repetitions: " + " ".join(f"{x:.4g}" for x in ts)
            self.row(section, name, f"s per {unit}, min", min(ts), per[name], len(ts), note)
            self.row(section, name, f"s per {unit}, median", statistics.median(ts), per[name], len(ts))
        return {name: (per[name], ts) for name, ts in times.items()}

    def target(self, what: str, value: float, goal: float, better: str, note: str = ""):
        ok = value >= goal if better == "higher" else value < goal
        op = ">=" if better == "higher" else "<"
        self.row("target", what, "met" if ok else "NOT met", value,
                 note=f"target {op} {goal:g}" + (f"; {note}" if note else ""))


# ---------------------------------------------------------------------------------------------------------
# The reference: stylegan2-ada-pytorch, unmodified, from STYLEGAN2_ADA_DIR.

def import_reference(path: str):
    """(networks module, perceptual_path_length module) of the checkout at `path`, or None with the reason."""
    if not path or not os.path.isfile(os.path.join(path, "training", "networks.py")):
        return None, (f"STYLEGAN2_ADA_DIR={path or '(unset)'} is not a stylegan2-ada-pytorch checkout "
                      f"(no training/networks.py): the reference arm is skipped")
    try:
        import requests  # noqa: F401 - dnnlib/util.py imports it at the top and never uses it here
    except ImportError:
        sys.modules["requests"] = types.ModuleType("requests")
    sys.path.insert(0, os.path.abspath(path))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from metrics import perceptual_path_length
        from torch_utils.ops import bias_act, upfirdn2d
        from training import networks
    if os.environ.get("GPU_SUITE_REF_PLUGINS", "1") == "0":
        # The reference's own fallback when its CUDA plugins do not build: its plain PyTorch ops.
        bias_act._init = upfirdn2d._init = lambda: False
    return (networks, perceptual_path_length), ""


class ReferenceLPIPS(torch.nn.Module):
    """The `lpips` v0.1 network behind the interface of NVIDIA's vgg16.pt: images in [0, 255] -> one feature
    vector per image whose squared Euclidean distance is the LPIPS (NVIDIA's TorchScript returns the same kind of
    vector: unit-normalised channels scaled by the square roots of the linear heads' weights and of 1/(H W))."""

    def __init__(self, dist: LPIPSDistance):
        super().__init__()
        self.dist = dist

    def forward(self, img, resize_images=False, return_lpips=True):
        assert return_lpips and not resize_images
        feats = self.dist.features(img / 127.5 - 1)
        out = []
        for f, lin in zip(feats, self.dist.net.lins):
            w = lin.model[-1].weight.reshape(1, -1, 1, 1)       # [1, C, 1, 1], >= 0
            out.append((f * (w / (f.shape[2] * f.shape[3])).sqrt()).flatten(1))
        return torch.cat(out, dim=1)


def build_lpips(seed: int = 0) -> LPIPSDistance:
    import lpips

    torch.manual_seed(seed)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        net = lpips.LPIPS(net="vgg", version="0.1", pretrained=True, pnet_rand=True, verbose=False)
    return LPIPSDistance(net)


def config(dry_run: bool) -> dict:
    """stylegan2-ada-pytorch's 'stylegan2' config (config-f: fmaps 1, map 8) at 1024 px; tiny for the dry run."""
    if dry_run:
        return dict(res=64, z=64, channel_base=1024, channel_max=64, clf_res=32, clf_fmap_base=512, clf_fmap_max=32)
    return dict(res=1024, z=512, channel_base=32768, channel_max=512, clf_res=256, clf_fmap_base=8192, clf_fmap_max=512)


def generators(suite: Suite, ref_mods):
    """(ganeval G, reference G or None) with one set of random weights."""
    cfg = config(suite.args.dry_run)
    if ref_mods is None:
        torch.manual_seed(0)
        G = ganeval.build_generator("stylegan2", cfg["res"], z_dim=cfg["z"], w_dim=cfg["z"], mapping_depth=8,
                                    channel_base=cfg["channel_base"], channel_max=cfg["channel_max"], conv_clamp=256)
        return G.eval().requires_grad_(False).to(suite.device), None
    networks, _ = ref_mods
    torch.manual_seed(0)
    G_ref = networks.Generator(z_dim=cfg["z"], c_dim=0, w_dim=cfg["z"], img_resolution=cfg["res"], img_channels=3,
                               mapping_kwargs=dict(num_layers=8),
                               synthesis_kwargs=dict(channel_base=cfg["channel_base"], channel_max=cfg["channel_max"],
                                                     num_fp16_res=4, conv_clamp=256))
    G_ref = G_ref.eval().requires_grad_(False)
    path = os.path.join(_TMP, "reference.pkl")
    with open(path, "wb") as f:   # as stylegan2-ada-pytorch's training loop writes network-snapshot-*.pkl
        pickle.dump(dict(G=None, D=None, G_ema=G_ref, augment_pipe=None, training_set_kwargs=None), f)
    G = ganeval.load_generator(path).eval().requires_grad_(False).to(suite.device)
    G_ref = G_ref.to(suite.device)
    with torch.no_grad():
        z = torch.randn(4, cfg["z"], generator=torch.Generator().manual_seed(1)).to(suite.device)
        ws_ref = G_ref.mapping(z, None)
        img_ref = G_ref.synthesis(ws_ref, noise_mode="const", force_fp32=True)
        ws = G.mapping(z)
        img = G.synthesis(ws, noise_mode="const")
    suite.row("ppl", "setup", "generator: max |ws ganeval - ws reference|", float((ws - ws_ref).abs().max()), 4)
    suite.row("ppl", "setup", "generator: max |image ganeval - image reference|", float((img - img_ref).abs().max()),
              4, note=f"noise 'const', force_fp32; image max |x| {float(img_ref.abs().max()):.3g}")
    return G, G_ref


# ---------------------------------------------------------------------------------------------------------
# PPL.

def pinned(c: torch.Tensor) -> torch.Tensor:
    """compute_ppl pins its label batch before the copy; an empty one may refuse to pin on some builds."""
    try:
        return c.pin_memory()
    except RuntimeError:
        return c


@torch.no_grad()
def crosscheck(suite: Suite, G, sampler, dist, pairs: int = 8, seed: int = 5):
    """The reference's distances against ganeval's ppl_distances on the very same pairs: PPLSampler.forward draws
    t, then z0 and z1, then the noise buffers from torch's global RNG; the same draws are replayed here and the
    noise the reference drew is copied into ganeval's generator (the buffers have the same names)."""
    c = torch.zeros([pairs, 0], device=suite.device)
    torch.manual_seed(seed)
    d_ref = sampler(c)
    torch.manual_seed(seed)
    t = torch.rand([pairs], device=suite.device) * 0
    z0, z1 = torch.randn([pairs * 2, G.z_dim], device=suite.device).chunk(2)
    for name, buf in sampler.G.named_buffers():
        if name.endswith(".noise_const"):
            G.get_buffer(name).copy_(buf)
    d = ppl_distances(G, z0, z1, t, space="w", epsilon=1e-4, crop=False, distance=dist)
    rel = (d / d_ref - 1).abs().cpu().numpy()
    suite.row("ppl", "setup", "same pairs: per-pair |ganeval FD / reference FD - 1|, median", float(np.median(rel)),
              pairs, note=f"largest {rel.max():.3g}; mean distance ganeval {float(d.mean()):.5g}, reference "
              f"{float(d_ref.mean()):.5g} (FD in fp32: rounding / eps^2 differs between the implementations)")

def section_ppl(suite: Suite, ref_mods, ref_why: str):
    args = suite.args
    G, G_ref = generators(suite, ref_mods)
    suite.row("ppl", "setup", "generator parameters", G.num_params(), note=f"stylegan2 {G.img_resolution} px, "
              f"config-f (channel_base {config(args.dry_run)['channel_base']}), random weights")
    dist = build_lpips().to(suite.device)
    arms = {}
    if G_ref is not None:
        _, ppl_mod = ref_mods
        vgg = ReferenceLPIPS(dist).to(suite.device)
        with torch.no_grad():   # the stand-in interface gives ganeval's distance
            a, b = (torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(s)).to(suite.device) * 255
                    for s in (2, 3))
            fa, fb = vgg(torch.cat([a, b])).chunk(2)
            d_ref = (fa - fb).square().sum(1)
            d_gan = dist(a / 127.5 - 1, b / 127.5 - 1)
        suite.row("ppl", "setup", "lpips: max |reference interface / ganeval - 1|",
                  float((d_ref / d_gan - 1).abs().max()), 2,
                  note="random VGG16 trunk (torch.manual_seed(0)), lpips v0.1 heads")
        sampler = ppl_mod.PPLSampler(G=G_ref, G_kwargs={}, epsilon=1e-4, space="w", sampling="end", crop=False,
                                     vgg16=vgg).eval().requires_grad_(False).to(suite.device)
        crosscheck(suite, G, sampler, dist)
        ref_batch = 2   # metric_main.py: ppl2_wend = compute_ppl(..., batch_size=2)

        def reference(n):   # compute_ppl's sampling loop (labels: c_dim = 0, so an empty [batch, 0] tensor)
            out = []
            for _ in range(0, n, ref_batch):
                c = torch.zeros([ref_batch, 0])
                c = (pinned(c) if suite.device.type == "cuda" else c).to(suite.device)
                out.append(sampler(c))
            return torch.cat(out)[:n].cpu().numpy()

        arms["reference PPLSampler, FD fp32, batch 2"] = reference
    else:
        print(f"gpu_suite: {ref_why}", file=sys.stderr)
        suite.row("ppl", "reference PPLSampler", "skipped", float("nan"), note=ref_why)

    def ganeval_arm(method, precision, batch):
        def fn(n):
            return ppl(G, space="w", sampling="end", epsilon=1e-4, num_samples=max(n, 2), crop=False, distance=dist,
                       method=method, precision=precision, batch_size=batch, device=suite.device, bootstrap=0,
                       progress=False, return_distances=True)[1]
        return fn

    big = streams.BLOCK_SIZE   # ppl()'s largest batch: one noise block
    arms["ganeval ppl(), FD fp32, batch 2"] = ganeval_arm("fd", "fp32", 2)
    arms[f"ganeval ppl(), FD fp32, batch {big}"] = ganeval_arm("fd", "fp32", big)
    arms[f"ganeval ppl(), JVP fp32, batch {big}"] = ganeval_arm("jvp", "fp32", big)
    arms[f"ganeval ppl(), JVP bf16, batch {big}"] = ganeval_arm("jvp", "bf16", big)
    calib = {k: (2 if "batch 2" in k else big) for k in arms}
    if args.dry_run:
        calib = {k: 2 for k in arms}
    res = suite.interleaved("ppl", arms, calib, step={k: calib[k] for k in arms}, hi=args.max_pairs, unit="pair")
    if G_ref is not None and suite.device.type == "cuda":
        from torch_utils.ops import bias_act, upfirdn2d
        plugins = dict(bias_act=bias_act._plugin is not None, upfirdn2d=upfirdn2d._plugin is not None)
        suite.row("ppl", "reference PPLSampler, FD fp32, batch 2", "CUDA plugins built (bias_act, upfirdn2d)",
                  f"{plugins.get('bias_act')}, {plugins.get('upfirdn2d')}",
                  note="False: the reference ran its slow reference ops (no nvcc/ninja on the machine)")
    # Values on the arms' own samples (different counts and streams): a sanity check, not an agreement test.
    for name in arms:
        suite.row("ppl", name, "mean distance (sanity)", float(np.mean(suite.last[name])), res[name][0])
    ref_name = "reference PPLSampler, FD fp32, batch 2"
    if ref_name in res:
        r_min, r_med = min(res[ref_name][1]), statistics.median(res[ref_name][1])
        best_jvp = None
        for name, (_, ts) in res.items():
            if name == ref_name:
                continue
            s_min, s_med = r_min / min(ts), r_med / statistics.median(ts)
            suite.row("ppl", name, "speed vs reference, min / min", s_min)
            suite.row("ppl", name, "speed vs reference, median / median", s_med)
            if "JVP" in name and (best_jvp is None or s_med > best_jvp[1]):
                best_jvp = (name, s_med)
        fd_big = f"ganeval ppl(), FD fp32, batch {big}"
        suite.target("PPL exact (FD fp32, batch 16) vs reference at batch 2", r_med / statistics.median(res[fd_big][1]),
                     TARGETS["ppl_fd"], "higher", "median / median")
        suite.target(f"PPL JVP vs reference at batch 2 ({best_jvp[0]})", best_jvp[1], TARGETS["ppl_jvp"], "higher",
                     "the faster JVP arm, median / median")
    suite.flush()


# ---------------------------------------------------------------------------------------------------------
# Linear separability, stage by stage.

def standin_classifiers(res: int, fmap_base: int, fmap_max: int, seed: int = 0) -> NvidiaAttributeClassifiers:
    """NVIDIA's D_basic x 40 (stacked) with random weights, as benchmarks/nvidia_classifiers.py builds them."""
    cfg = dict(resolution=res, num_channels=3, fmap_base=fmap_base, fmap_max=fmap_max, mbstd_group_size=4,
               mbstd_num_features=1, fused_scale="auto", blur_filter=[])
    clf = NvidiaAttributeClassifiers(cfg, list(NVIDIA_ATTRS)).eval().requires_grad_(False)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in clf.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * (2 / max(1, p[0].numel())) ** 0.5)
    return clf


def synthetic_predictions(n: int, d: int, num_attrs: int, seed: int = 0):
    """z ~ N(0, I); w an affine image of z with StyleGAN's offset mean (norm ~7, svm.py); logits from a noisy linear
    rule with offsets (unbalanced attributes), as benchmarks/ls_svm.py."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, d), dtype=np.float32)
    M = rng.standard_normal((d, d)).astype(np.float32) / math.sqrt(d)
    w = z @ M + 7 / math.sqrt(d)
    U = rng.standard_normal((d, num_attrs)).astype(np.float32)
    proj = w @ (U / np.linalg.norm(U, axis=0))
    logits = proj / proj.std(0) + rng.uniform(-1.5, 1.5, num_attrs).astype(np.float32) \
        + rng.standard_normal((n, num_attrs), dtype=np.float32)
    return z, w.astype(np.float32), logits


def section_ls(suite: Suite):
    args = suite.args
    cfg = config(args.dry_run)
    torch.manual_seed(0)
    G = ganeval.build_generator("stylegan2", cfg["res"], z_dim=cfg["z"], w_dim=cfg["z"], mapping_depth=8,
                                channel_base=cfg["channel_base"], channel_max=cfg["channel_max"], conv_clamp=256)
    G = G.eval().requires_grad_(False).to(suite.device)
    clf = standin_classifiers(cfg["clf_res"], cfg["clf_fmap_base"], cfg["clf_fmap_max"]).to(suite.device)
    block = streams.BLOCK_SIZE
    state = {}

    @torch.no_grad()
    def generate(n):   # separability()'s compute(): per block of 16, random noise seeded per block, box-downsample
        for b in range(n // block):
            z = streams.normal(0, "gen/z", b * block, (b + 1) * block, G.z_dim)
            w = G.mapping(z.to(suite.device))
            with streams.seeded_global_rng(0, "gen/noise", b, suite.device):
                img = G.synthesis(w, noise_mode="random").float()
            img = box_downsample(to_rgb(img), clf.resolution)
            w[:, -1].float().cpu()
        state["img"] = img

    @torch.no_grad()
    def classify(n):   # separability()'s classifier calls: CLASSIFIER_BATCH images each
        x = state["img"][:CLASSIFIER_BATCH]
        for _ in range(n // CLASSIFIER_BATCH):
            clf(x).float().cpu()

    res = suite.interleaved("ls", {"generation (mapping + synthesis, random noise, box to classifier px)": generate,
                                   "classifiers (40 x D_basic stacked, random weights)": classify},
                            calib={"generation (mapping + synthesis, random noise, box to classifier px)": block,
                                   "classifiers (40 x D_basic stacked, random weights)": CLASSIFIER_BATCH},
                            step={"generation (mapping + synthesis, random noise, box to classifier px)": block,
                                  "classifiers (40 x D_basic stacked, random weights)": CLASSIFIER_BATCH},
                            hi=args.max_images, unit="image")
    gen_s = statistics.median(next(ts for k, (_, ts) in res.items() if k.startswith("generation")))
    clf_s = statistics.median(next(ts for k, (_, ts) in res.items() if k.startswith("classifiers")))

    # SVM stage at full size (the dry run: scaled down), svm='batched' on the device, with its bootstrap.
    n_svm = args.ls_svm_samples
    # 512-d as the protocol's latents; the dry run takes its small generator's 64 (1000 kept samples in 512-d would
    # be linearly separable for every attribute: not the protocol's problem).
    dim = cfg["z"] if args.dry_run else 512
    z, w, logits = synthetic_predictions(n_svm, dim, len(NVIDIA_ATTRS))
    svm_times = []
    for _ in range(args.svm_reps):
        sec, df = suite.timed(lambda: separability_from_predictions(z, w, logits, list(NVIDIA_ATTRS), n_svm // 2,
                                                                    bootstrap=200, svm="batched", device=suite.device))
        svm_times.append(sec)
    total = df[df.attr == "ALL"]
    note = (f"{n_svm} x {dim} synthetic, {n_svm // 2} kept, 40 attributes, Z and W, 200 bootstrap replicates; "
            f"repetitions: " + " ".join(f"{x:.3g}" for x in svm_times))
    suite.row("ls", "SVM stage (svm='batched')", "s, min", min(svm_times), n_svm, len(svm_times), note)
    suite.row("ls", "SVM stage (svm='batched')", "s, median", statistics.median(svm_times), n_svm, len(svm_times))
    suite.row("ls", "SVM stage (svm='batched')", "unconverged fits", int((df["svm_converged"] == False).sum()),  # noqa: E712
              n_svm, note=f"of {len(df) - len(total)}; LS values {', '.join(f'{v:.4g}' for v in total['value'])}")
    svm_s = statistics.median(svm_times) * (LS_SAMPLES / n_svm if args.dry_run else 1.0)

    # End to end on a few samples: the same stages through separability() itself.
    n_e2e = args.ls_e2e_samples
    sec, df = suite.timed(lambda: separability(G, classifiers=clf, num_samples=n_e2e, svm="batched",
                                               device=suite.device, bootstrap=0, progress=False))
    svm_part = float(df.loc[df.attr == "ALL", "svm_time_s"].sum())
    suite.row("ls", "separability() end to end", "s per sample, generation + classifiers", (sec - svm_part) / n_e2e,
              n_e2e, 1, f"wall {sec:.3g} s less the SVMs' {svm_part:.3g} s; one run, includes its first-call costs")
    est = LS_SAMPLES * (gen_s + clf_s) + svm_s
    note = (f"200k x ({gen_s:.4g} + {clf_s:.4g}) s (generation + classifiers, medians) + {svm_s:.3g} s SVM stage"
            + (" (dry run: the SVM time scaled linearly from the small problem)" if args.dry_run else ""))
    suite.row("ls", "full protocol (extrapolated)", "s", est, LS_SAMPLES, note=note)
    suite.target("LS full protocol, s (extrapolated)", est, TARGETS["ls_s"], "lower", note)
    suite.flush()


# ---------------------------------------------------------------------------------------------------------
# FID50k end to end.

def section_fid(suite: Suite):
    args = suite.args
    cfg = config(args.dry_run)
    write_standin_weights(os.path.join(os.environ["GANEVAL_WEIGHTS"], "weights-inception-2015-12-05-6726825d.pth"))
    torch.manual_seed(0)
    G = ganeval.build_generator("stylegan2", cfg["res"], z_dim=cfg["z"], w_dim=cfg["z"], mapping_depth=8,
                                channel_base=cfg["channel_base"], channel_max=cfg["channel_max"], conv_clamp=256)
    G = G.eval().requires_grad_(False).to(suite.device)
    rng = np.random.default_rng(0)
    A = rng.standard_normal((2048, 4096)) / 64
    ref = ReferenceStats(mu=rng.standard_normal(2048), sigma=A @ A.T, num=50_000, feature_net="inception-v3-compat")

    def run(n):
        return fid(G, ref, num_samples=n, device=suite.device, progress=False)

    run(args.fid_samples[0])   # warm-up: Inception built and moved, cuDNN
    times = {n: [] for n in args.fid_samples}
    for _ in range(args.fid_reps):
        for n in args.fid_samples:
            sec, df = suite.timed(run, n)
            times[n].append(sec)
    n1, n2 = args.fid_samples
    t1, t2 = statistics.median(times[n1]), statistics.median(times[n2])
    rate = (n2 - n1) / (t2 - t1)
    fixed = max(t1 - n1 / rate, 0.0)
    for n in (n1, n2):
        suite.row("fid", "fid() end to end", "s, median", statistics.median(times[n]), n, len(times[n]),
                  "repetitions: " + " ".join(f"{x:.3g}" for x in times[n]) + "; default batch 64, 10 bootstrap "
                  "replicates, scipy sqrtm")
    suite.row("fid", "fid() end to end", "images per s (marginal)", rate, note=f"({n2} - {n1}) / (t{n2} - t{n1})")
    suite.row("fid", "fid() end to end", "fixed cost, s", fixed)
    est = fixed + FID_SAMPLES / rate
    suite.row("fid", "fid50k (extrapolated)", "s", est, FID_SAMPLES)
    suite.row("fid", "fid50k (extrapolated)", "images per s", FID_SAMPLES / est, FID_SAMPLES,
              note=f"{G.img_resolution} px, stand-in Inception weights")
    suite.target("FID50k images/s (extrapolated, end to end)", FID_SAMPLES / est, TARGETS["fid_img_s"], "higher")
    suite.flush()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dry-run", action="store_true", help="tiny sizes on the CPU (every code path but CUDA's)")
    ap.add_argument("--sections", default="ppl,ls,fid")
    ap.add_argument("--reps", type=int, default=None, help="repetitions (default 3; dry run 1)")
    ap.add_argument("--arm-s", type=float, default=None, help="seconds per arm and repetition (sizes the counts)")
    ap.add_argument("--deadline-s", type=float, default=float(os.environ.get("GPU_SUITE_DEADLINE_S", 450)),
                    help="no section starts after this many seconds")
    args = ap.parse_args()
    dry = args.dry_run
    args.reps = args.reps or (1 if dry else 3)
    args.arm_s = args.arm_s or (0.5 if dry else 4.0)
    args.max_pairs = 4 if dry else 512
    args.max_images = 32 if dry else 4096
    args.ls_svm_samples = 2000 if dry else LS_SAMPLES
    args.svm_reps = 1 if dry else 2
    args.ls_e2e_samples = 32 if dry else 512
    args.fid_samples = (16, 48) if dry else (1024, 4096)
    args.fid_reps = 1 if dry else 2
    if not dry and not torch.cuda.is_available():
        print("gpu_suite: no CUDA device; use CPU=1 (--dry-run) for the CPU dry run", file=sys.stderr)
        return 2
    suite = Suite(args)
    dev = torch.cuda.get_device_name(0) if not dry else platform.processor() or platform.machine()
    suite.row("machine", dev, "torch", torch.__version__, note=f"Python {platform.python_version()}, {os.cpu_count()} "
              f"CPUs; cudnn.allow_tf32={torch.backends.cudnn.allow_tf32}, matmul.allow_tf32="
              f"{torch.backends.cuda.matmul.allow_tf32} (defaults, the same for both sides)"
              + ("; DRY RUN: tiny sizes, figures meaningless" if dry else ""))
    ref_mods, ref_why = import_reference(os.environ.get("STYLEGAN2_ADA_DIR", ""))
    sections = dict(ppl=lambda: section_ppl(suite, ref_mods, ref_why), ls=lambda: section_ls(suite),
                    fid=lambda: section_fid(suite))
    for name in args.sections.split(","):
        if suite.left() <= 0:
            suite.row(name, "skipped", "deadline passed", float("nan"), note=f"--deadline-s {args.deadline_s:g}")
            continue
        t0 = time.perf_counter()
        sections[name]()
        suite.row(name, "section", "wall s", time.perf_counter() - t0)
    suite.row("machine", "suite", "wall s", time.perf_counter() - suite.t_start)
    suite.flush()
    w = csv.DictWriter(sys.stdout, fieldnames=FIELDS)
    w.writeheader()
    w.writerows(suite.rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
