"""rosinality/stylegan2-pytorch checkpoints (.pt), both ways.

Training checkpoints hold {g, d, g_ema, g_optim, d_optim, args (argparse.Namespace), ada_aug_p};
files made by its `convert_weight.py` hold {g_ema, latent_avg} and optionally g and d. Neither
records the architecture reliably, so it is read off the tensor shapes: size from the number of
to_rgbs, n_mlp from the number of `style.N` layers, channel_multiplier from the 64 px channels.

rosinality's StyleGAN2 is NVIDIA's config-f with other names (the `skip` generator, the `resnet`
discriminator), so every tensor maps one to one onto ganeval's StyleGAN2 (NVlabs names):

    style.{i+1}                  mapping.fc{i}
    input.input [1,C,4,4]        synthesis.b4.const [C,4,4]
    conv1 / to_rgb1              synthesis.b4.conv1 / .torgb
    convs.{2k} / convs.{2k+1}    synthesis.b{8*2^k}.conv0 / .conv1
    to_rgbs.{k}                  synthesis.b{8*2^k}.torgb
    *.conv.weight [1,O,I,k,k]    *.weight [O,I,k,k]          (same orientation: both transpose-convolve)
    *.conv.modulation            *.affine                    (bias already holds the +1)
    *.noise.weight [1]           *.noise_strength []
    *.activate.bias              *.bias;  to_rgb bias [1,3,1,1] -> [3]
    noises.noise_{i} [1,1,r,r]   noise_const [r,r] of layer i (0 = 4x4 conv, then conv0/conv1 per block)
    latent_avg                   mapping.w_avg

The mapping's learning-rate multiplier is not stored in the file; rosinality's train.py always uses
0.01 (`lr_mlp`), and so does ganeval.
"""

from __future__ import annotations

import argparse
import math
import re

import torch

from ..errors import CheckpointError
from ..models import build_discriminator, build_generator
from .common import Checkpoint, Format, estimate_w_avg_, load_state, register_format

FORMAT = "rosinality"
LR_MLP = 0.01
_DEFAULT_FILTER = [1, 3, 3, 1]


def rosinality_channels(res: int, channel_multiplier: int) -> int:
    """rosinality's channel table: 512 up to 32 px, then 16384·cm / res (64 px: 256·cm, ...)."""
    return 512 if res <= 32 else int(16384 * channel_multiplier // res)


def _ganeval_channels(res: int, channel_multiplier) -> int:
    return int(min(16384 * channel_multiplier // res, 512))


def _is_generator_sd(sd) -> bool:
    return isinstance(sd, dict) and "input.input" in sd and "conv1.conv.weight" in sd


def _is_discriminator_sd(sd) -> bool:
    return isinstance(sd, dict) and "convs.0.0.weight" in sd and "final_linear.0.weight" in sd


def sniff(path, obj) -> bool:
    if not isinstance(obj, dict):
        return False
    if "g_ema" in obj or "g" in obj:
        return _is_generator_sd(obj.get("g_ema", obj.get("g")))
    return _is_generator_sd(obj)  # a bare g_ema state dict


def _args_dict(args) -> dict:
    if isinstance(args, argparse.Namespace):
        return dict(vars(args))
    return dict(args) if isinstance(args, dict) else {}


def _filter_from_kernel(kernel) -> list:
    """rosinality stores its blur as a 2D buffer (outer product, normalised, x4 for upsampling): get the 1D taps."""
    if kernel is None or kernel.is_meta:
        return list(_DEFAULT_FILTER)
    k = kernel.double()
    k = k / k.sum()
    f = k.sum(dim=0)
    if k.ndim != 2 or not torch.allclose(torch.outer(f, f), k, atol=1e-6):
        raise CheckpointError("rosinality blur kernel is not separable")
    default = torch.tensor(_DEFAULT_FILTER, dtype=torch.float64)
    if f.shape == default.shape and torch.allclose(f, default / default.sum(), atol=1e-6):
        return list(_DEFAULT_FILTER)
    return [float(v) for v in f]


def _refuse_swagan(sd: dict, args: dict) -> None:
    if str(args.get("arch", "stylegan2")) == "swagan" or any(re.search(r"(^|\.)(iwt|dwt)\.", k) for k in sd):
        raise CheckpointError("this is a SWAGAN checkpoint (rosinality's wavelet StyleGAN2, --arch swagan); "
                              "ganeval supports only the StyleGAN2 architecture")


def infer_generator_config(sd: dict, args: dict | None = None) -> dict:
    """size, style_dim, n_mlp, channel_multiplier, blur filter from a rosinality Generator state dict.

    Only shapes are read, so meta-device tensors work.
    """
    args = args or {}
    _refuse_swagan(sd, args)
    n_mlp = 0
    while f"style.{n_mlp + 1}.weight" in sd:
        n_mlp += 1
    if any((m := re.fullmatch(r"style\.(\d+)\.weight", k)) and int(m.group(1)) > n_mlp for k in sd):
        raise CheckpointError("mapping layers style.N are not numbered 1..n_mlp")
    style_dim = int(sd["conv1.conv.modulation.weight"].shape[1])
    n_rgb = 0
    while f"to_rgbs.{n_rgb}.conv.weight" in sd:
        n_rgb += 1
    size = 2 ** (n_rgb + 2)
    if tuple(sd["input.input"].shape[2:]) != (4, 4) or int(sd["to_rgb1.conv.weight"].shape[1]) != 3:
        raise CheckpointError("not a rosinality StyleGAN2 generator (constant input or RGB output has an odd shape)")
    channels = {4: int(sd["conv1.conv.weight"].shape[1])}
    for k in range(n_rgb):
        w = sd.get(f"convs.{2 * k}.conv.weight")
        if w is None or f"convs.{2 * k + 1}.conv.weight" not in sd:
            raise CheckpointError(f"rosinality generator lacks convs.{2 * k} / convs.{2 * k + 1}")
        channels[2 ** (k + 3)] = int(w.shape[1])
    if size >= 64:
        cm = channels[64] / 256
        cm = int(cm) if cm == int(cm) else cm
        source = "from tensor shapes"
    else:  # every layer has 512 channels: the multiplier leaves no trace
        cm = int(args.get("channel_multiplier", 2))
        source = "from args" if "channel_multiplier" in args else "rosinality's default (no trace in a <= 32 px model)"
    for res, c in channels.items():
        if c != rosinality_channels(res, cm):
            raise CheckpointError(f"rosinality generator has {c} channels at {res} px, not what "
                                  f"channel_multiplier={cm} gives ({rosinality_channels(res, cm)}): "
                                  f"a modified channel table is not supported")
        if c != _ganeval_channels(res, cm):
            raise CheckpointError(f"channel_multiplier={cm} gives {c} channels at {res} px, which ganeval's channel "
                                  f"formula min(channel_base/res, 512) cannot express (supported: 1 and 2)")
    blur = _filter_from_kernel(sd.get("convs.0.conv.blur.kernel")) if n_rgb else list(_DEFAULT_FILTER)
    return dict(size=size, style_dim=style_dim, n_mlp=n_mlp, channel_multiplier=cm, blur_kernel=blur,
                channel_multiplier_source=source)


def ganeval_config(cfg: dict) -> dict:
    """Options of build_generator('stylegan2', size, ...) equal to a rosinality Generator."""
    return dict(z_dim=cfg["style_dim"], w_dim=cfg["style_dim"], mapping_depth=cfg["n_mlp"],
                channel_base=int(16384 * cfg["channel_multiplier"]), channel_max=512, architecture="skip",
                resample_filter=list(cfg["blur_kernel"]), conv_clamp=None, mapping_lr_multiplier=LR_MLP)


# ----------------------------------------------------------------------------------------------------
# Name tables. Each yields (ganeval name, rosinality name, to_ganeval, to_rosinality).

def _generator_table(size: int, n_mlp: int):
    ident = (lambda t: t, lambda t: t)
    lead = (lambda t: t[0], lambda t: t[None])               # [1,O,I,k,k] <-> [O,I,k,k]
    scalar = (lambda t: t.reshape([]), lambda t: t.reshape([1]))
    noise = (lambda t: t[0, 0], lambda t: t[None, None])     # [1,1,r,r] <-> [r,r]
    rgb_bias = (lambda t: t.reshape(-1), lambda t: t.reshape(1, -1, 1, 1))
    const = lead
    for i in range(n_mlp):
        for p in ("weight", "bias"):
            yield f"mapping.fc{i}.{p}", f"style.{i + 1}.{p}", *ident
    yield "synthesis.b4.const", "input.input", *const

    def layer(dst, src, noise_idx):
        yield f"{dst}.weight", f"{src}.conv.weight", *lead
        yield f"{dst}.affine.weight", f"{src}.conv.modulation.weight", *ident
        yield f"{dst}.affine.bias", f"{src}.conv.modulation.bias", *ident
        yield f"{dst}.noise_strength", f"{src}.noise.weight", *scalar
        yield f"{dst}.bias", f"{src}.activate.bias", *ident
        yield f"{dst}.noise_const", f"noises.noise_{noise_idx}", *noise

    def torgb(dst, src):
        yield f"{dst}.weight", f"{src}.conv.weight", *lead
        yield f"{dst}.affine.weight", f"{src}.conv.modulation.weight", *ident
        yield f"{dst}.affine.bias", f"{src}.conv.modulation.bias", *ident
        yield f"{dst}.bias", f"{src}.bias", *rgb_bias

    yield from layer("synthesis.b4.conv1", "conv1", 0)
    yield from torgb("synthesis.b4.torgb", "to_rgb1")
    for k in range(int(math.log2(size)) - 2):
        res = 2 ** (k + 3)
        yield from layer(f"synthesis.b{res}.conv0", f"convs.{2 * k}", 2 * k + 1)
        yield from layer(f"synthesis.b{res}.conv1", f"convs.{2 * k + 1}", 2 * k + 2)
        yield from torgb(f"synthesis.b{res}.torgb", f"to_rgbs.{k}")


def _discriminator_table(size: int):
    ident = (lambda t: t, lambda t: t)
    yield f"b{size}.fromrgb.weight", "convs.0.0.weight", *ident
    yield f"b{size}.fromrgb.bias", "convs.0.1.bias", *ident
    for j in range(1, int(math.log2(size)) - 1):
        res = size // 2 ** (j - 1)
        yield f"b{res}.conv0.weight", f"convs.{j}.conv1.0.weight", *ident
        yield f"b{res}.conv0.bias", f"convs.{j}.conv1.1.bias", *ident
        yield f"b{res}.conv1.weight", f"convs.{j}.conv2.1.weight", *ident   # conv2.0 is the blur
        yield f"b{res}.conv1.bias", f"convs.{j}.conv2.2.bias", *ident
        yield f"b{res}.skip.weight", f"convs.{j}.skip.1.weight", *ident
    yield "b4.conv.weight", "final_conv.0.weight", *ident
    yield "b4.conv.bias", "final_conv.1.bias", *ident
    yield "b4.fc.weight", "final_linear.0.weight", *ident
    yield "b4.fc.bias", "final_linear.0.bias", *ident
    yield "b4.out.weight", "final_linear.1.weight", *ident
    yield "b4.out.bias", "final_linear.1.bias", *ident


# Buffers rosinality stores that ganeval recomputes from the config (blur/upsample kernels).
_DERIVED = re.compile(r".*\.(blur|upsample)\.kernel$|.*\.\d+\.kernel$")


def _to_ganeval(sd: dict, table, what: str) -> tuple[dict, list[str]]:
    out, used, absent = {}, set(), []
    for dst, src, fwd, _ in table:
        if src not in sd:
            if src.startswith("noises."):
                absent.append(src)  # old rosinality versions kept no noise buffers
                continue
            raise CheckpointError(f"rosinality {what} lacks {src}")
        out[dst] = fwd(sd[src])
        used.add(src)
    extra = [k for k in sd if k not in used and not _DERIVED.match(k)]
    if extra:
        raise CheckpointError(f"rosinality {what} has unexpected tensor {extra[0]}"
                              + (f" (and {len(extra) - 1} more)" if len(extra) > 1 else ""))
    return out, absent


def generator_to_ganeval(sd: dict, cfg: dict) -> tuple[dict, list[str]]:
    """rosinality Generator state dict -> ganeval StyleGAN2 names (resample filters not included)."""
    return _to_ganeval(sd, _generator_table(cfg["size"], cfg["n_mlp"]), "generator")


def generator_to_rosinality(G) -> dict:
    """ganeval StyleGAN2 generator -> rosinality Generator state dict (with its kernel buffers)."""
    check_exportable_generator(G)
    sd = G.state_dict()
    out = {src: back(sd[dst]).detach().cpu().clone() for dst, src, _, back in
           _generator_table(G.img_resolution, G.mapping_depth)}
    f = _kernel2d(G.config["resample_filter"])
    for k in range(int(math.log2(G.img_resolution)) - 2):
        out[f"convs.{2 * k}.conv.blur.kernel"] = f * 4   # rosinality folds the upsampling gain into the blur
        out[f"to_rgbs.{k}.upsample.kernel"] = f * 4
    return out


def discriminator_to_ganeval(sd: dict, size: int) -> dict:
    return _to_ganeval(sd, _discriminator_table(size), "discriminator")[0]


def discriminator_to_rosinality(D) -> dict:
    check_exportable_discriminator(D)
    sd = D.state_dict()
    size = D.img_resolution
    out = {src: back(sd[dst]).detach().cpu().clone() for dst, src, _, back in _discriminator_table(size)}
    f = _kernel2d(D.config["resample_filter"])
    for j in range(1, int(math.log2(size)) - 1):
        out[f"convs.{j}.conv2.0.kernel"] = f.clone()
        out[f"convs.{j}.skip.0.kernel"] = f.clone()
    return out


def _kernel2d(taps) -> torch.Tensor:
    f = torch.as_tensor(taps, dtype=torch.float32)
    f = torch.outer(f, f)
    return f / f.sum()


def infer_discriminator_config(sd: dict) -> dict:
    n_blocks = 0
    while f"convs.{n_blocks + 1}.conv1.0.weight" in sd:
        n_blocks += 1
    size = 2 ** (n_blocks + 2)
    channels = {size: int(sd["convs.0.0.weight"].shape[0])}
    for j in range(1, n_blocks + 1):
        channels[size // 2 ** j] = int(sd[f"convs.{j}.conv2.1.weight"].shape[0])
    cm = channels[64] / 256 if size >= 64 else 2
    cm = int(cm) if cm == int(cm) else cm
    for res, c in channels.items():
        if c != rosinality_channels(res, cm) or c != _ganeval_channels(res, cm):
            raise CheckpointError(f"rosinality discriminator has {c} channels at {res} px: channel table not supported")
    return dict(size=size, channel_multiplier=cm)


# ----------------------------------------------------------------------------------------------------
# Export checks: which ganeval models rosinality's code can represent.

def check_exportable_generator(G) -> None:
    c = getattr(G, "config", {})
    why = None
    if getattr(G, "arch", None) != "stylegan2":
        why = f"it is a {getattr(G, 'arch', type(G).__name__)} generator (rosinality's format is StyleGAN2 only)"
    elif c.get("architecture") != "skip":
        why = f"architecture '{c.get('architecture')}' (rosinality's generator is 'skip')"
    elif c.get("z_dim") != c.get("w_dim") or c.get("mapping_layer_features") not in (None, c.get("w_dim")):
        why = "z_dim, w_dim and the mapping width differ (rosinality has one style_dim)"
    elif c.get("img_channels", 3) != 3:
        why = f"{c.get('img_channels')} image channels (rosinality writes RGB)"
    elif c.get("conv_clamp") is not None:
        why = f"conv_clamp={c.get('conv_clamp')} (rosinality has no clamping)"
    elif not c.get("use_noise", True):
        why = "noise inputs are disabled"
    elif c.get("mapping_lr_multiplier") != LR_MLP:
        why = f"mapping lr multiplier {c.get('mapping_lr_multiplier')} (rosinality's code assumes {LR_MLP})"
    elif list(c.get("resample_filter", [])) != _DEFAULT_FILTER:
        why = f"resample filter {c.get('resample_filter')} (rosinality's code assumes [1, 3, 3, 1])"
    elif G.img_resolution > 1024:
        why = "resolution above 1024 (rosinality's channel table stops there)"
    else:
        cm = _channel_multiplier_of(c.get("channel_base"), c.get("channel_max"), G.img_resolution)
        if cm is None:
            why = (f"channel_base={c.get('channel_base')}, channel_max={c.get('channel_max')} is not rosinality's "
                   f"channel table for channel_multiplier 1 or 2")
    if why:
        raise CheckpointError(f"cannot export to rosinality's format: {why}")


def check_exportable_discriminator(D) -> None:
    c = getattr(D, "config", {})
    why = None
    if getattr(D, "arch", None) != "stylegan2":
        why = "not a StyleGAN2 discriminator"
    elif c.get("architecture") != "resnet":
        why = f"discriminator architecture '{c.get('architecture')}' (rosinality's is 'resnet')"
    elif c.get("conv_clamp") is not None:
        why = "discriminator conv_clamp is set"
    elif (c.get("mbstd_group_size"), c.get("mbstd_num_channels")) != (4, 1):
        why = "minibatch-stddev settings other than group 4, 1 feature"
    elif c.get("img_channels", 3) != 3 or list(c.get("resample_filter", [])) != _DEFAULT_FILTER:
        why = "non-RGB input or a non-default resample filter"
    elif _channel_multiplier_of(c.get("channel_base"), c.get("channel_max"), D.img_resolution) is None:
        why = "discriminator channels are not rosinality's table"
    if why:
        raise CheckpointError(f"cannot export to rosinality's format: {why}")


def _channel_multiplier_of(channel_base, channel_max, size):
    for cm in (2, 1):
        res_list = [2 ** i for i in range(2, int(math.log2(size)) + 1)]
        if all(min(channel_base // r, channel_max) == rosinality_channels(r, cm) for r in res_list):
            return cm
    return None


def channel_multiplier_of(G) -> int:
    return _channel_multiplier_of(G.config["channel_base"], G.config["channel_max"], G.img_resolution)


# ----------------------------------------------------------------------------------------------------
# Loading.

def load(path, obj: dict, device="cpu") -> Checkpoint:
    if "g_ema" not in obj and "g" not in obj:
        obj = {"g_ema": obj}
    args = _args_dict(obj.get("args"))
    ref = obj.get("g_ema", obj.get("g"))
    cfg = infer_generator_config(ref, args)
    size = cfg["size"]
    config = ganeval_config(cfg)
    meta = {"network": "G_ema" if "g_ema" in obj else "G (the file has no g_ema)",
            "inferred_config": (f"size={size}, style_dim={cfg['style_dim']}, n_mlp={cfg['n_mlp']}, "
                                f"channel_multiplier={cfg['channel_multiplier']} "
                                f"(from tensor shapes; channel_multiplier {cfg['channel_multiplier_source']})")}
    if args:
        meta["rosinality_args"] = ", ".join(f"{k}={args[k]}" for k in ("size", "channel_multiplier", "n_mlp", "latent",
                                                                        "arch", "iter", "batch") if k in args)
        if "size" in args and int(args["size"]) != size:
            meta["args_mismatch"] = f"args.size={args['size']} but the tensors are for {size} px; the tensors win"
    if "ada_aug_p" in obj:
        meta["ada_aug_p"] = float(obj["ada_aug_p"])
    dropped = [k for k in ("g_optim", "d_optim") if k in obj]
    if dropped:
        meta["not_converted"] = f"{', '.join(dropped)} (optimizer states)"

    def make_G(sd, w_avg):
        if sd is None:
            return None
        if infer_generator_config(sd, args)["size"] != size:
            raise CheckpointError(f"{path}: g and g_ema have different sizes")
        G = build_generator("stylegan2", size, **config)
        mapped, absent = generator_to_ganeval(sd, cfg)
        own = G.state_dict()
        for k in own:  # recomputed buffers (filters), and whatever the file does not hold
            mapped.setdefault(k, own[k])
        load_state(G, mapped, path, "generator")
        if absent:
            meta["noise_const"] = "the file has no noise buffers; const noise drawn by ganeval (seeded)"
        if w_avg is not None:
            G.mapping.w_avg.copy_(torch.as_tensor(w_avg).reshape(-1).float())
            note = "from latent_avg (stored in the file)"
        else:
            note = estimate_w_avg_(G)
        return G.to(device).eval(), note

    g_ema = make_G(obj.get("g_ema"), obj.get("latent_avg"))
    g = make_G(obj.get("g"), None)
    if g_ema is not None:
        meta["w_avg"] = g_ema[1]
    elif g is not None:
        meta["w_avg"] = g[1]

    D = None
    if obj.get("d") is not None:
        if not _is_discriminator_sd(obj["d"]):
            raise CheckpointError(f"{path}: 'd' is not a rosinality discriminator state dict")
        dcfg = infer_discriminator_config(obj["d"])
        D = build_discriminator("stylegan2", dcfg["size"], architecture="resnet",
                                channel_base=int(16384 * dcfg["channel_multiplier"]), channel_max=512,
                                mbstd_group_size=4, mbstd_num_channels=1, resample_filter=cfg["blur_kernel"])
        mapped = discriminator_to_ganeval(obj["d"], dcfg["size"])
        own = D.state_dict()
        for k in own:
            mapped.setdefault(k, own[k])
        load_state(D, mapped, path, "discriminator")
        D = D.to(device).eval()
    return Checkpoint(G=g[0] if g else None, G_ema=g_ema[0] if g_ema else None, D=D, arch="stylegan2",
                      config=dict(img_resolution=size, **config), meta=meta, format=FORMAT, path=str(path),
                      D_config=dict(D.config) if D is not None else None)


register_format(Format(FORMAT, sniff, load))
