"""NVIDIA's TensorFlow network pickles, read without TensorFlow: StyleGAN2 (v4), StyleGAN (v3), PGGAN (v2).

A pickle holds (G, D, Gs), each a `dnnlib.tflib.network.Network` (PGGAN: `tfutil.Network`). The
restricted unpickler turns them into TFNetworkStub: build function name, `static_kwargs` (only
what the caller passed), components, and variables as numpy arrays. The rest of the configuration
is the build function's defaults, read from the pickled `build_module_src` with `ast` (parsed,
never run) and, if that fails, from the tables below (the reference repositories' defaults).

Variable transforms (TF -> PyTorch):
  conv weight HWIO -> OIHW; dense [in, out] -> [out, in]
  StyleGAN2: mod_bias + 1 (TF adds the 1 at run time); Conv0_up and Skip spatially flipped
    (TF's upsample_conv_2d convolves where ganeval's up-conv, like NVlabs', correlates).
  StyleGAN / PGGAN: a fused Conv0_up (conv2d_transpose with the 3x3 kernel box-summed to 4x4) is
    nearest 2x upsampling followed by a 3x3 *convolution*, so its kernel is flipped (checked
    numerically in tests/test_checkpoints_tensorflow.py); PGGAN stores that kernel as [k, k, out, in].
    TF puts the He gain √2 into the weights and applies lrelu without gain; ganeval puts √2 after
    lrelu. lrelu is positively homogeneous, so the two agree exactly once every bias (and noise
    strength, and the bare 4x4 constant) feeding an lrelu is divided by √2.
  noise{i} [1,1,r,r] -> noise_const [r,r]; dlatent_avg -> mapping.w_avg; lod -> the lod buffer.
"""

from __future__ import annotations

import ast
import math
import re

import numpy as np
import torch

from ..errors import CheckpointError
from ..models import build_discriminator, build_generator
from .common import Checkpoint, Format, load_state, register_format
from .unpickler import TFNetworkStub

SQRT2 = math.sqrt(2)

# Build-function defaults of the reference code (used only when the pickled source cannot be parsed).
_DEFAULTS = {
    # NVlabs/stylegan2 training/networks_stylegan2.py
    "G_main": dict(truncation_psi=0.5, truncation_cutoff=None),
    "G_mapping": dict(latent_size=512, label_size=0, dlatent_size=512, mapping_layers=8, mapping_fmaps=512,
                      mapping_lrmul=0.01, mapping_nonlinearity="lrelu", use_wscale=True, normalize_latents=True),
    "G_synthesis_stylegan2": dict(dlatent_size=512, num_channels=3, resolution=1024, fmap_base=16 << 10,
                                  fmap_decay=1.0, fmap_min=1, fmap_max=512, architecture="skip",
                                  nonlinearity="lrelu", resample_kernel=[1, 3, 3, 1]),
    "D_stylegan2": dict(num_channels=3, resolution=1024, label_size=0, fmap_base=16 << 10, fmap_decay=1.0,
                        fmap_min=1, fmap_max=512, architecture="resnet", nonlinearity="lrelu", mbstd_group_size=4,
                        mbstd_num_features=1, resample_kernel=[1, 3, 3, 1]),
    # NVlabs/stylegan training/networks_stylegan.py
    "G_style": dict(truncation_psi=0.7, truncation_cutoff=8),
    "G_synthesis": dict(dlatent_size=512, num_channels=3, resolution=1024, fmap_base=8192, fmap_decay=1.0,
                        fmap_max=512, use_styles=True, const_input_layer=True, use_noise=True, nonlinearity="lrelu",
                        use_wscale=True, use_pixel_norm=False, use_instance_norm=True, fused_scale="auto",
                        blur_filter=[1, 2, 1]),
    "D_basic": dict(num_channels=1, resolution=32, label_size=0, fmap_base=8192, fmap_decay=1.0, fmap_max=512,
                    nonlinearity="lrelu", use_wscale=True, mbstd_group_size=4, mbstd_num_features=1,
                    fused_scale="auto", blur_filter=[1, 2, 1]),
    # tkarras/progressive_growing_of_gans networks.py
    "G_paper": dict(num_channels=1, resolution=32, label_size=0, fmap_base=8192, fmap_decay=1.0, fmap_max=512,
                    latent_size=None, normalize_latents=True, use_wscale=True, use_pixelnorm=True,
                    pixelnorm_epsilon=1e-8, use_leakyrelu=True, fused_scale=True),
    "D_paper": dict(num_channels=1, resolution=32, label_size=0, fmap_base=8192, fmap_decay=1.0, fmap_max=512,
                    use_wscale=True, mbstd_group_size=4, fused_scale=True),
}
_DEFAULTS["G_mapping_stylegan"] = _DEFAULTS["G_mapping"]


# ----------------------------------------------------------------------------------------------------
# Reading a stub's configuration.

_BINOPS = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
           ast.Div: lambda a, b: a / b, ast.LShift: lambda a, b: a << b, ast.FloorDiv: lambda a, b: a // b}


def _const(node):
    """Value of a constant expression (numbers, strings, lists, 16 << 10, -1); anything else raises."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_const(e) for e in node.elts]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_const(node.operand)
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        a, b = _const(node.left), _const(node.right)
        if isinstance(a, (int, float)) and isinstance(b, (int, float)) and abs(b) < 64:
            return _BINOPS[type(node.op)](a, b)
    raise ValueError("not a constant")


def func_defaults(stub: TFNetworkStub, fallback: str | None = None) -> dict:
    """Defaults of the build function, parsed (never executed) from the pickled module source.

    `fallback` names the table of reference defaults used for what the source does not give.
    """
    fname = short_name(stub)
    out = dict(_DEFAULTS.get(fallback or fname, {}))
    try:
        tree = ast.parse(stub.build_module_src)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return out
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == fname:
            args = node.args.args[len(node.args.args) - len(node.args.defaults):]
            for arg, default in zip(args, node.args.defaults):
                try:
                    out[arg.arg] = _const(default)
                except (ValueError, TypeError, ZeroDivisionError, OverflowError):
                    pass
    return out


def short_name(stub: TFNetworkStub) -> str:
    return stub.build_func_name.rsplit(".", 1)[-1]


def kwargs_of(stub: TFNetworkStub, fallback: str | None = None) -> dict:
    return {**func_defaults(stub, fallback), **stub.static_kwargs}


def _need(cond: bool, what: str) -> None:
    if not cond:
        raise CheckpointError(f"unsupported TensorFlow network setting: {what}")


def _var(vars_: dict, name: str) -> torch.Tensor:
    if name not in vars_:
        raise CheckpointError(f"TensorFlow network lacks variable '{name}'")
    v = np.asarray(vars_[name])
    if v.dtype.kind not in "fiu":
        raise CheckpointError(f"TensorFlow variable '{name}' is not numeric")
    return torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32))


def _conv(v: torch.Tensor) -> torch.Tensor:
    return v.permute(3, 2, 0, 1)  # HWIO -> OIHW


def _dense(v: torch.Tensor) -> torch.Tensor:
    return v.t()


def _mapping_width(v: dict, n_map: int, w_dim: int) -> int | None:
    """Width of the hidden mapping layers, read off Dense0 (mapping_fmaps; None = w_dim)."""
    if n_map < 2:
        return None
    width = int(np.asarray(v["mapping/Dense0/weight"]).shape[1])
    return None if width == w_dim else width


def _channel_base(kw: dict, fmap_min_ok: bool = True) -> dict:
    _need(float(kw.get("fmap_decay", 1.0)) == 1.0, f"fmap_decay={kw.get('fmap_decay')} (only 1.0)")
    return dict(channel_base=int(kw["fmap_base"]) * 2, channel_max=int(kw["fmap_max"]))


# ----------------------------------------------------------------------------------------------------
# Which network is it?

def _networks(obj):
    """(G, D, Gs) from a pickle: a 3-tuple of networks, or one network (then it is Gs)."""
    if isinstance(obj, TFNetworkStub):
        return None, None, obj
    if isinstance(obj, (tuple, list)) and len(obj) == 3 and all(isinstance(n, TFNetworkStub) for n in obj):
        return tuple(obj)
    return None


def kind_of(net: TFNetworkStub) -> str | None:
    if net.version is None and "build_func_spec" in net.state:
        return "theano"
    names = net.all_variables()
    if "synthesis/4x4/Conv/mod_weight" in names:
        return "stylegan2"
    if "synthesis/4x4/Const/StyleMod/weight" in names:
        return "stylegan"
    if "4x4/Dense/weight" in names and "ToRGB_lod0/weight" in names:
        return "pggan"
    if "FromRGB_lod0/weight" in names and "4x4/Dense1/weight" in names:
        return "classifier"
    return None


def _sniffer(kind: str):
    def sniff(path, obj) -> bool:
        nets = _networks(obj)
        if nets is None:
            return False
        k = kind_of(nets[2])
        if kind == "classifier":
            return nets[0] is None and k == "classifier"
        if kind == "pggan":
            return k in ("pggan", "theano")
        return k == kind
    return sniff


# ----------------------------------------------------------------------------------------------------
# StyleGAN2.

def _sg2_generator(net: TFNetworkStub):
    comps = net.components
    _need("mapping" in comps and "synthesis" in comps, "a StyleGAN2 generator without mapping/synthesis")
    mk, gk = kwargs_of(comps["mapping"], "G_mapping"), kwargs_of(net, "G_main")
    sk = kwargs_of(comps["synthesis"], "G_synthesis_stylegan2")
    _need(short_name(comps["synthesis"]) in ("G_synthesis_stylegan2", "G_synthesis"),
          f"synthesis network {short_name(comps['synthesis'])} (StyleGAN2 configs A-D are not supported)")
    _need(int(mk.get("label_size", 0) or 0) == 0, "a conditional (label_size > 0) generator")
    _need(mk.get("normalize_latents", True), "normalize_latents=False")
    _need(mk.get("mapping_nonlinearity", "lrelu") == "lrelu" and sk.get("nonlinearity", "lrelu") == "lrelu",
          "a non-lrelu nonlinearity")
    res = int(sk["resolution"])
    arch = sk.get("architecture", "skip")
    ch = _channel_base(sk)
    fmap_min = int(sk.get("fmap_min", 1) or 1)
    _need(all(min(ch["channel_base"] // r, ch["channel_max"]) >= fmap_min for r in (4, res)),
          f"fmap_min={fmap_min} clips the channel counts")
    v = net.all_variables()
    n_map = sum(1 for k in v if re.fullmatch(r"mapping/Dense\d+/weight", k))
    w_dim = int(mk.get("dlatent_size", 512))
    config = dict(z_dim=int(mk.get("latent_size", 512)), w_dim=w_dim, mapping_depth=n_map,
                  img_channels=int(sk.get("num_channels", 3)), architecture=arch,
                  resample_filter=list(sk.get("resample_kernel") or [1, 3, 3, 1]),
                  conv_clamp=sk.get("conv_clamp"), mapping_lr_multiplier=float(mk.get("mapping_lrmul", 0.01)),
                  mapping_layer_features=_mapping_width(v, n_map, w_dim), **ch)

    sd = {}
    for i in range(n_map):
        sd[f"mapping.fc{i}.weight"] = _dense(_var(v, f"mapping/Dense{i}/weight"))
        sd[f"mapping.fc{i}.bias"] = _var(v, f"mapping/Dense{i}/bias")
    sd["mapping.w_avg"] = _var(v, "dlatent_avg")
    sd["synthesis.b4.const"] = _var(v, "synthesis/4x4/Const/const")[0]

    def layer(dst, src, noise_idx, flip=False):
        w = _conv(_var(v, f"synthesis/{src}/weight"))
        sd[f"{dst}.weight"] = w.flip([2, 3]) if flip else w
        sd[f"{dst}.affine.weight"] = _dense(_var(v, f"synthesis/{src}/mod_weight"))
        sd[f"{dst}.affine.bias"] = _var(v, f"synthesis/{src}/mod_bias") + 1
        sd[f"{dst}.noise_strength"] = _var(v, f"synthesis/{src}/noise_strength").reshape([])
        sd[f"{dst}.bias"] = _var(v, f"synthesis/{src}/bias")
        sd[f"{dst}.noise_const"] = _var(v, f"synthesis/noise{noise_idx}")[0, 0]

    def torgb(dst, src):
        sd[f"{dst}.weight"] = _conv(_var(v, f"synthesis/{src}/weight"))
        sd[f"{dst}.affine.weight"] = _dense(_var(v, f"synthesis/{src}/mod_weight"))
        sd[f"{dst}.affine.bias"] = _var(v, f"synthesis/{src}/mod_bias") + 1
        sd[f"{dst}.bias"] = _var(v, f"synthesis/{src}/bias")

    layer("synthesis.b4.conv1", "4x4/Conv", 0)
    log2 = int(math.log2(res))
    for r in range(2, log2 + 1):
        R = 2 ** r
        if r > 2:
            layer(f"synthesis.b{R}.conv0", f"{R}x{R}/Conv0_up", 2 * r - 5, flip=True)
            layer(f"synthesis.b{R}.conv1", f"{R}x{R}/Conv1", 2 * r - 4)
            if arch == "resnet":
                sd[f"synthesis.b{R}.skip.weight"] = _conv(_var(v, f"synthesis/{R}x{R}/Skip/weight")).flip([2, 3])
        if arch == "skip" or r == log2:
            torgb(f"synthesis.b{R}.torgb", f"{R}x{R}/ToRGB")
    notes = {"source_truncation": _truncation_note(gk, "StyleGAN2")}
    return "stylegan2", res, config, sd, notes


def _sg2_discriminator(net: TFNetworkStub):
    dk = kwargs_of(net, "D_stylegan2")
    _need(int(dk.get("label_size", 0) or 0) == 0, "a conditional discriminator")
    res = int(dk["resolution"])
    arch = dk.get("architecture", "resnet")
    mbstd = int(dk.get("mbstd_group_size", 4) or 0)
    config = dict(img_channels=int(dk.get("num_channels", 3)), architecture=arch, conv_clamp=dk.get("conv_clamp"),
                  resample_filter=list(dk.get("resample_kernel") or [1, 3, 3, 1]),
                  mbstd_group_size=mbstd if mbstd > 1 else 4,
                  mbstd_num_channels=int(dk.get("mbstd_num_features", 1)) if mbstd > 1 else 0, **_channel_base(dk))
    v = net.all_variables()
    sd = {}
    log2 = int(math.log2(res))
    for r in range(log2, 2, -1):
        R = 2 ** r
        if arch == "skip" or r == log2:
            sd[f"b{R}.fromrgb.weight"] = _conv(_var(v, f"{R}x{R}/FromRGB/weight"))
            sd[f"b{R}.fromrgb.bias"] = _var(v, f"{R}x{R}/FromRGB/bias")
        for i, name in ((0, "Conv0"), (1, "Conv1_down")):
            sd[f"b{R}.conv{i}.weight"] = _conv(_var(v, f"{R}x{R}/{name}/weight"))
            sd[f"b{R}.conv{i}.bias"] = _var(v, f"{R}x{R}/{name}/bias")
        if arch == "resnet":
            sd[f"b{R}.skip.weight"] = _conv(_var(v, f"{R}x{R}/Skip/weight"))
    if arch == "skip":
        sd["b4.fromrgb.weight"] = _conv(_var(v, "4x4/FromRGB/weight"))
        sd["b4.fromrgb.bias"] = _var(v, "4x4/FromRGB/bias")
    sd["b4.conv.weight"] = _conv(_var(v, "4x4/Conv/weight"))
    sd["b4.conv.bias"] = _var(v, "4x4/Conv/bias")
    sd["b4.fc.weight"] = _dense(_var(v, "4x4/Dense0/weight"))
    sd["b4.fc.bias"] = _var(v, "4x4/Dense0/bias")
    sd["b4.out.weight"] = _dense(_var(v, "Output/weight"))
    sd["b4.out.bias"] = _var(v, "Output/bias")
    return res, config, sd


# ----------------------------------------------------------------------------------------------------
# StyleGAN (v1).

def _fused_up(fused_scale, res: int) -> bool:
    """Whether the TF layer producing `res` px used the fused up-conv (StyleGAN: 'auto' = from 128 px)."""
    return bool(res >= 128) if fused_scale == "auto" else bool(fused_scale)


def _sg1_generator(net: TFNetworkStub):
    comps = net.components
    _need("mapping" in comps and "synthesis" in comps, "a StyleGAN generator without mapping/synthesis")
    mk, gk = kwargs_of(comps["mapping"], "G_mapping"), kwargs_of(net, "G_style")
    sk = kwargs_of(comps["synthesis"], "G_synthesis")
    _need(int(mk.get("label_size", 0) or 0) == 0, "a conditional (label_size > 0) generator")
    _need(mk.get("normalize_latents", True), "normalize_latents=False")
    _need(mk.get("use_wscale", True) and sk.get("use_wscale", True), "use_wscale=False")
    _need(mk.get("mapping_nonlinearity", "lrelu") == "lrelu" and sk.get("nonlinearity", "lrelu") == "lrelu",
          "a non-lrelu nonlinearity")
    _need(sk.get("use_styles", True) and sk.get("const_input_layer", True),
          "use_styles=False or const_input_layer=False (StyleGAN paper baselines)")
    _need(not sk.get("use_pixel_norm", False), "use_pixel_norm=True")
    res = int(sk["resolution"])
    v = net.all_variables()
    n_map = sum(1 for k in v if re.fullmatch(r"mapping/Dense\d+/weight", k))
    w_dim = int(mk.get("dlatent_size", 512))
    blur = sk.get("blur_filter", [1, 2, 1])
    use_noise = bool(sk.get("use_noise", True))
    config = dict(z_dim=int(mk.get("latent_size", 512)), w_dim=w_dim, mapping_depth=n_map,
                  img_channels=int(sk.get("num_channels", 3)), use_noise=use_noise,
                  blur_filter=list(blur) if blur else None, use_instance_norm=bool(sk.get("use_instance_norm", True)),
                  mapping_lr_multiplier=float(mk.get("mapping_lrmul", 0.01)),
                  mapping_layer_features=_mapping_width(v, n_map, w_dim), **_channel_base(sk))

    sd = {}
    for i in range(n_map):
        sd[f"mapping.fc{i}.weight"] = _dense(_var(v, f"mapping/Dense{i}/weight"))
        sd[f"mapping.fc{i}.bias"] = _var(v, f"mapping/Dense{i}/bias") / SQRT2   # TF: gain in the weight
    sd["mapping.w_avg"] = _var(v, "dlatent_avg")
    sd["synthesis.const"] = _var(v, "synthesis/4x4/Const/const")[0] / SQRT2
    if "synthesis/lod" in v:
        sd["synthesis.lod"] = _var(v, "synthesis/lod").reshape([])

    def epilogue(dst, src, noise_idx):
        if use_noise:
            sd[f"{dst}.noise_strength"] = _var(v, f"synthesis/{src}/Noise/weight") / SQRT2
            sd[f"{dst}.noise_const"] = _var(v, f"synthesis/noise{noise_idx}")[0, 0]
        sd[f"{dst}.bias"] = _var(v, f"synthesis/{src}/bias") / SQRT2
        sd[f"{dst}.affine.weight"] = _dense(_var(v, f"synthesis/{src}/StyleMod/weight"))
        sd[f"{dst}.affine.bias"] = _var(v, f"synthesis/{src}/StyleMod/bias")

    log2 = int(math.log2(res))
    fused = sk.get("fused_scale", "auto")
    epilogue("synthesis.b4_conv0", "4x4/Const", 0)
    sd["synthesis.b4_conv1.conv.weight"] = _conv(_var(v, "synthesis/4x4/Conv/weight"))
    epilogue("synthesis.b4_conv1", "4x4/Conv", 1)
    for r in range(3, log2 + 1):
        R = 2 ** r
        w = _conv(_var(v, f"synthesis/{R}x{R}/Conv0_up/weight"))
        sd[f"synthesis.b{R}_conv0.conv.weight"] = w.flip([2, 3]) if _fused_up(fused, R) else w
        epilogue(f"synthesis.b{R}_conv0", f"{R}x{R}/Conv0_up", 2 * r - 4)
        sd[f"synthesis.b{R}_conv1.conv.weight"] = _conv(_var(v, f"synthesis/{R}x{R}/Conv1/weight"))
        epilogue(f"synthesis.b{R}_conv1", f"{R}x{R}/Conv1", 2 * r - 3)
    for r in range(2, log2 + 1):
        R = 2 ** r
        sd[f"synthesis.torgb{R}.weight"] = _conv(_var(v, f"synthesis/ToRGB_lod{log2 - r}/weight"))
        sd[f"synthesis.torgb{R}.bias"] = _var(v, f"synthesis/ToRGB_lod{log2 - r}/bias")
    notes = {"source_truncation": _truncation_note(gk, "StyleGAN")}
    return "stylegan", res, config, sd, notes


def _progressive_discriminator(net: TFNetworkStub, blur: bool):
    """StyleGAN's D_basic or PGGAN's D_paper -> ganeval's progressive discriminator names."""
    dk = kwargs_of(net, "D_basic" if blur else "D_paper")
    _need(int(dk.get("label_size", 0) or 0) == 0, "a conditional discriminator")
    _need(dk.get("use_wscale", True), "use_wscale=False")
    _need(dk.get("nonlinearity", "lrelu") == "lrelu", "a non-lrelu nonlinearity")
    res = int(dk["resolution"])
    mbstd = int(dk.get("mbstd_group_size", 4) or 0)
    config = dict(img_channels=int(dk.get("num_channels", 3)), mbstd_group_size=mbstd if mbstd > 1 else 4,
                  mbstd_num_channels=int(dk.get("mbstd_num_features", 1)) if mbstd > 1 else 0, **_channel_base(dk))
    if blur:
        bf = dk.get("blur_filter", [1, 2, 1])
        config["blur_filter"] = list(bf) if bf else None
    v = net.all_variables()
    log2 = int(math.log2(res))
    sd = {}
    for r in range(2, log2 + 1):
        R = 2 ** r
        sd[f"fromrgb{R}.weight"] = _conv(_var(v, f"FromRGB_lod{log2 - r}/weight"))
        sd[f"fromrgb{R}.bias"] = _var(v, f"FromRGB_lod{log2 - r}/bias") / SQRT2
    for r in range(3, log2 + 1):
        R = 2 ** r
        sd[f"b{R}_conv0.weight"] = _conv(_var(v, f"{R}x{R}/Conv0/weight"))
        sd[f"b{R}_conv0.bias"] = _var(v, f"{R}x{R}/Conv0/bias") / SQRT2
        down = f"{R}x{R}/Conv1_down" if f"{R}x{R}/Conv1_down/weight" in v else f"{R}x{R}/Conv1"
        sd[f"b{R}_conv1.weight"] = _conv(_var(v, f"{down}/weight"))   # fused down-conv = conv, then 2x2 mean
        sd[f"b{R}_conv1.bias"] = _var(v, f"{down}/bias") / SQRT2
    sd["b4_conv.weight"] = _conv(_var(v, "4x4/Conv/weight"))
    sd["b4_conv.bias"] = _var(v, "4x4/Conv/bias") / SQRT2
    sd["b4_fc.weight"] = _dense(_var(v, "4x4/Dense0/weight"))
    sd["b4_fc.bias"] = _var(v, "4x4/Dense0/bias") / SQRT2
    out_w, out_b = _dense(_var(v, "4x4/Dense1/weight")), _var(v, "4x4/Dense1/bias")
    sd["b4_out.weight"], sd["b4_out.bias"] = out_w[:1], out_b[:1]   # PGGAN: row 0 is the score, the rest labels
    if "lod" in v:
        sd["lod"] = _var(v, "lod").reshape([])
    return res, config, sd


# ----------------------------------------------------------------------------------------------------
# PGGAN.

def _pggan_generator(net: TFNetworkStub):
    if net.version is None:
        raise CheckpointError("this is a Theano-era PGGAN pickle (no version); convert it with the PGGAN "
                              "repository's legacy.py first")
    gk = kwargs_of(net, "G_paper")
    _need(int(gk.get("label_size", 0) or 0) == 0, "a conditional (label_size > 0) generator")
    _need(gk.get("normalize_latents", True), "normalize_latents=False")
    _need(gk.get("use_wscale", True), "use_wscale=False")
    _need(gk.get("use_leakyrelu", True), "use_leakyrelu=False (ReLU)")
    _need(float(gk.get("pixelnorm_epsilon", 1e-8)) == 1e-8, f"pixelnorm_epsilon={gk.get('pixelnorm_epsilon')}")
    res = int(gk["resolution"])
    ch = _channel_base(gk)
    latent = gk.get("latent_size") or min(int(gk["fmap_base"]), int(gk["fmap_max"]))
    config = dict(z_dim=int(latent), img_channels=int(gk.get("num_channels", 3)),
                  use_pixel_norm=bool(gk.get("use_pixelnorm", True)), **ch)
    v = net.all_variables()
    sd = {}
    # 4x4 dense: same gain (√2/4) on both sides, but ganeval's lrelu adds √2 that TF's lacks.
    sd["synthesis.b4_fc.weight"] = _dense(_var(v, "4x4/Dense/weight")) / SQRT2
    sd["synthesis.b4_bias"] = _var(v, "4x4/Dense/bias") / SQRT2
    sd["synthesis.b4_conv.weight"] = _conv(_var(v, "4x4/Conv/weight"))
    sd["synthesis.b4_conv.bias"] = _var(v, "4x4/Conv/bias") / SQRT2
    log2 = int(math.log2(res))
    for r in range(3, log2 + 1):
        R = 2 ** r
        if f"{R}x{R}/Conv0_up/weight" in v:  # fused: kernel stored [k, k, out, in], flipped (see module doc)
            w = _var(v, f"{R}x{R}/Conv0_up/weight").permute(2, 3, 0, 1).flip([2, 3])
            b = _var(v, f"{R}x{R}/Conv0_up/bias")
        else:
            w, b = _conv(_var(v, f"{R}x{R}/Conv0/weight")), _var(v, f"{R}x{R}/Conv0/bias")
        sd[f"synthesis.b{R}_conv0.weight"], sd[f"synthesis.b{R}_conv0.bias"] = w, b / SQRT2
        sd[f"synthesis.b{R}_conv1.weight"] = _conv(_var(v, f"{R}x{R}/Conv1/weight"))
        sd[f"synthesis.b{R}_conv1.bias"] = _var(v, f"{R}x{R}/Conv1/bias") / SQRT2
    for r in range(2, log2 + 1):
        R = 2 ** r
        sd[f"synthesis.torgb{R}.weight"] = _conv(_var(v, f"ToRGB_lod{log2 - r}/weight"))
        sd[f"synthesis.torgb{R}.bias"] = _var(v, f"ToRGB_lod{log2 - r}/bias")
    if "lod" in v:
        sd["synthesis.lod"] = _var(v, "lod").reshape([])
    return "pggan", res, config, sd, {}


def _truncation_note(gk: dict, name: str) -> str:
    psi, cutoff = gk.get("truncation_psi"), gk.get("truncation_cutoff")
    if psi is None or psi == 1:
        return f"the TF {name} network does not truncate by default"
    cut = f", cutoff={cutoff}" if cutoff is not None else ""
    return (f"the TF {name} network truncates by default (psi={psi}{cut}); ganeval and its metrics run "
            f"untruncated unless truncation_psi is passed")


# ----------------------------------------------------------------------------------------------------
# Loading.

_GENERATORS = {"stylegan2": _sg2_generator, "stylegan": _sg1_generator, "pggan": _pggan_generator}


def _build_G(net, kind, path, device):
    arch, res, config, sd, notes = _GENERATORS[kind](net)
    G = build_generator(arch, res, **config)
    own = G.state_dict()
    for k in own:  # derived buffers (filters), and noise for use_noise=False layers
        sd.setdefault(k, own[k])
    load_state(G, sd, path, f"TF {net.name or 'generator'}")
    return G.to(device).eval(), arch, res, config, notes


def _build_D(net, kind, path, device):
    if kind == "stylegan2":
        res, config, sd = _sg2_discriminator(net)
    else:
        res, config, sd = _progressive_discriminator(net, blur=(kind == "stylegan"))
    D = build_discriminator(kind, res, **config)
    own = D.state_dict()
    for k in own:
        sd.setdefault(k, own[k])
    load_state(D, sd, path, f"TF {net.name or 'discriminator'}")
    return D.to(device).eval()


def _loader(kind: str, fmt: str):
    def load(path, obj, device="cpu") -> Checkpoint:
        G_net, D_net, Gs_net = _networks(obj)
        G_ema, arch, res, config, notes = _build_G(Gs_net, kind, path, device)
        G = _build_G(G_net, kind, path, device)[0] if G_net is not None else None
        D = _build_D(D_net, kind, path, device) if D_net is not None else None
        meta = {"network": "G_ema (the pickle's Gs)", "tf_pickle_version": int(Gs_net.version or 0),
                "tf_build_func": Gs_net.build_func_name}
        meta.update(notes)
        if kind == "pggan":
            meta["w_avg"] = "none: PGGAN has no W space (W = normalised Z)"
        else:
            meta["w_avg"] = "from dlatent_avg (stored in the file)"
        return Checkpoint(G=G, G_ema=G_ema, D=D, arch=arch, config=dict(img_resolution=res, **config), meta=meta,
                          format=fmt, path=str(path), D_config=dict(D.config) if D is not None else None)
    return load


def _refuse_classifier(path, obj, device="cpu"):
    raise CheckpointError(f"{path}: this is one of NVIDIA's CelebA-HQ attribute classifiers, not a generator; "
                          f"load it with ganeval.features.nvidia_classifiers.load_nvidia_classifiers")


register_format(Format("tf-stylegan2", _sniffer("stylegan2"), _loader("stylegan2", "tf-stylegan2")))
register_format(Format("tf-stylegan", _sniffer("stylegan"), _loader("stylegan", "tf-stylegan")))
register_format(Format("tf-pggan", _sniffer("pggan"), _loader("pggan", "tf-pggan")))
register_format(Format("nvidia-classifier", _sniffer("classifier"), _refuse_classifier))
