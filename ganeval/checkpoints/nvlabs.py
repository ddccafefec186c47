"""NVlabs stylegan2-ada-pytorch / stylegan3 network pickles (.pkl), without their code.

A snapshot is a plain pickle of dict(G, D, G_ema, augment_pipe, training_set_kwargs). Each network
is a `@persistent_class` instance that would rebuild itself by exec'ing its pickled source; the
restricted unpickler turns it into a PersistentStub instead (constructor kwargs + tensors). ganeval's
StyleGAN2 uses exactly NVlabs' parameter and buffer names, so the tensors load one to one, and the
constructor kwargs give the configuration:

    Generator(z_dim, c_dim, w_dim, img_resolution, img_channels, mapping_kwargs, synthesis_kwargs)
    Discriminator(c_dim, img_resolution, img_channels, architecture, channel_base, channel_max,
                  num_fp16_res, conv_clamp, cmap_dim, block_kwargs, mapping_kwargs, epilogue_kwargs)

stylegan3's alias-free generator (training/networks_stylegan3.py) takes its synthesis options flattened:

    Generator(z_dim, c_dim, w_dim, img_resolution, img_channels, mapping_kwargs, **synthesis_kwargs)

and is rebuilt as ganeval's 'stylegan3' from those options and the values its layers stored (conv
kernel, clamp, radial filters, the input's bandwidth); the rebuilt layer schedule (sizes, sampling
rates, cutoffs, filter taps, padding) must then equal the one the pickle's layers recorded. Its
discriminator is StyleGAN2's.

fp16 blocks or layers (num_fp16_res) hold fp32 parameters; ganeval computes them in fp32, which is
the reference with force_fp32=True. conv_clamp is passed on: the reference clamps in fp32 too, at
the same places (synthesis layers, toRGB, discriminator convs; not the resnet skips).
Conditional models (c_dim > 0) are refused.
"""

from __future__ import annotations

import re

import numpy as np
import torch

from ..errors import CheckpointError
from ..models import build_discriminator, build_generator
from .common import Checkpoint, Format, estimate_w_avg_, load_state, register_format
from .unpickler import PersistentStub

FORMAT = "nvlabs"

_G_ARGS = ["z_dim", "c_dim", "w_dim", "img_resolution", "img_channels", "mapping_kwargs", "synthesis_kwargs"]
_D_ARGS = ["c_dim", "img_resolution", "img_channels", "architecture", "channel_base", "channel_max", "num_fp16_res",
           "conv_clamp", "cmap_dim", "block_kwargs", "mapping_kwargs", "epilogue_kwargs"]

# Keyword options of the reference classes that change nothing in fp32 inference.
_IGNORED = {"fp16_channels_last", "channels_last", "freeze_layers", "num_fp16_res", "fused_modconv_default"}


def sniff(path, obj) -> bool:
    return isinstance(obj, dict) and any(isinstance(obj.get(k), PersistentStub) for k in ("G", "G_ema", "D"))


def _kwargs(stub: PersistentStub, names: list[str]) -> dict:
    out = dict(zip(names, stub.init_args))
    out.update(stub.init_kwargs)
    return out


def _refuse_unknown(kwargs: dict, known: set, what: str, family: str = "StyleGAN2") -> None:
    unknown = sorted(set(kwargs) - known - _IGNORED)
    if unknown:
        raise CheckpointError(f"unsupported {what} option(s) {', '.join(unknown)} (not NVlabs' {family})")


def _is_stylegan3(stub: PersistentStub) -> bool:
    names = {s.class_name for _, s in stub.walk()}
    return "SynthesisInput" in names or "class SynthesisInput" in stub.module_src


def _filter_taps(buf) -> list:
    """resample_filter buffers hold the normalised 2D outer product; recover the 1D taps."""
    if buf is None:
        return [1, 3, 3, 1]
    f2 = buf.double() / buf.double().sum()
    f1 = f2.sum(dim=0)
    if not torch.allclose(torch.outer(f1, f1), f2, atol=1e-6):
        raise CheckpointError("resample filter is not separable")
    ref = torch.tensor([1.0, 3, 3, 1], dtype=torch.float64)
    if f1.shape == ref.shape and torch.allclose(f1, ref / ref.sum(), atol=1e-6):
        return [1, 3, 3, 1]
    return [float(v) for v in f1]


def _attr(stub: PersistentStub | None, name: str, default):
    """An attribute the reference set in __init__ (the value actually used, whatever the class defaults were)."""
    if stub is None or name not in stub.state:
        return default
    v = stub.state[name]
    return v.item() if hasattr(v, "item") and not isinstance(v, (list, tuple, dict)) else v


def generator_config(stub: PersistentStub) -> tuple[str, int, dict, dict]:
    """-> (ganeval arch, resolution, build_generator options, notes for meta)."""
    if stub.class_name != "Generator":
        raise CheckpointError(f"expected an NVlabs Generator, found class {stub.class_name}")
    if _is_stylegan3(stub):
        return ("stylegan3", *_stylegan3_config(stub))
    return ("stylegan2", *_stylegan2_config(stub))


def _stylegan2_config(stub: PersistentStub) -> tuple[int, dict, dict]:
    """Constructor kwargs give the sizes; the values the layers stored on themselves (conv_clamp,
    architecture, use_noise, w_avg_beta, lr multiplier) override them, because the class defaults
    differ between stylegan2-ada-pytorch and stylegan3 (e.g. conv_clamp None vs 256).
    """
    kw = _kwargs(stub, _G_ARGS)
    sk = dict(kw.pop("synthesis_kwargs", None) or {})
    sk.update({k: kw.pop(k) for k in list(kw) if k not in _G_ARGS})  # stylegan3 flattens synthesis kwargs
    c_dim = int(kw.get("c_dim", 0) or 0)
    if c_dim:
        raise CheckpointError(f"this is a conditional generator (c_dim={c_dim}); ganeval's generators and "
                              f"metrics are unconditional")
    mk = dict(kw.get("mapping_kwargs") or {})
    _refuse_unknown(mk, {"num_layers", "embed_features", "layer_features", "activation", "lr_multiplier",
                         "w_avg_beta"}, "mapping")
    _refuse_unknown(sk, {"channel_base", "channel_max", "architecture", "resample_filter", "conv_clamp", "use_noise",
                         "activation", "kernel_size", "fused_modconv_default"}, "synthesis")
    res = int(kw["img_resolution"])
    subs = dict(stub.walk())
    mapping, fc0 = subs.get("mapping"), subs.get("mapping.fc0")
    layer, block = subs.get("synthesis.b4.conv1"), subs.get(f"synthesis.b{res}")
    acts = {_attr(fc0, "activation", mk.get("activation", "lrelu")),
            _attr(layer, "activation", sk.get("activation", "lrelu"))}
    if acts != {"lrelu"}:
        raise CheckpointError(f"only lrelu activations are supported (found {', '.join(sorted(map(str, acts)))})")
    if int(sk.get("kernel_size", 3)) != 3:
        raise CheckpointError(f"synthesis kernel_size={sk.get('kernel_size')} (only 3)")
    w_dim = int(kw["w_dim"])
    filt = layer.state.get("_buffers", {}).get("resample_filter") if layer is not None else None
    config = dict(z_dim=int(kw["z_dim"]), w_dim=w_dim, mapping_depth=int(_attr(mapping, "num_layers",
                                                                              mk.get("num_layers", 8))),
                  img_channels=int(kw["img_channels"]),
                  channel_base=int(sk.get("channel_base", 32768)), channel_max=int(sk.get("channel_max", 512)),
                  architecture=str(_attr(block, "architecture", sk.get("architecture", "skip"))),
                  resample_filter=_filter_taps(filt) if filt is not None else list(sk.get("resample_filter")
                                                                                   or [1, 3, 3, 1]),
                  conv_clamp=_attr(layer, "conv_clamp", sk.get("conv_clamp")),
                  use_noise=bool(_attr(layer, "use_noise", sk.get("use_noise", True))),
                  mapping_lr_multiplier=float(_attr(fc0, "bias_gain", mk.get("lr_multiplier", 0.01))),
                  w_avg_beta=_attr(mapping, "w_avg_beta", mk.get("w_avg_beta", 0.995)),
                  mapping_layer_features=mk.get("layer_features"))
    if config["w_avg_beta"] is not None:
        config["w_avg_beta"] = float(config["w_avg_beta"])
    notes = {}
    n_fp16 = sum(1 for name, s in subs.items()
                 if re.fullmatch(r"synthesis\.b\d+", name) and _attr(s, "use_fp16", False))
    if n_fp16:
        notes["fp16"] = (f"the {n_fp16} highest resolutions ran in fp16 in the reference; ganeval computes them "
                         f"in fp32 (the reference's force_fp32=True)")
    if config["conv_clamp"] is not None:
        notes["conv_clamp"] = config["conv_clamp"]
    return res, config, notes


# stylegan3's SynthesisNetwork and SynthesisLayer options (networks_stylegan3.py), flattened into Generator's kwargs.
_G3_SYNTHESIS = {"channel_base", "channel_max", "num_layers", "num_critical", "first_cutoff", "first_stopband",
                 "last_stopband_rel", "margin_size", "output_scale", "conv_kernel", "filter_size", "lrelu_upsampling",
                 "use_radial_filters", "conv_clamp", "magnitude_ema_beta"}


def _stylegan3_config(stub: PersistentStub) -> tuple[int, dict, dict]:
    """The options of ganeval's 'stylegan3' that rebuild this generator: the constructor kwargs, overridden by
    what the layers stored (the values actually used, whatever the class defaults were)."""
    names = _G_ARGS[:-1]
    kw = _kwargs(stub, names)
    sk = {k: kw.pop(k) for k in list(kw) if k not in names}
    c_dim = int(kw.get("c_dim", 0) or 0)
    if c_dim:
        raise CheckpointError(f"this is a conditional generator (c_dim={c_dim}); ganeval's generators and "
                              f"metrics are unconditional")
    mk = dict(kw.get("mapping_kwargs") or {})
    _refuse_unknown(mk, {"num_layers", "lr_multiplier", "w_avg_beta"}, "StyleGAN3 mapping", "StyleGAN3")
    _refuse_unknown(sk, _G3_SYNTHESIS, "StyleGAN3 synthesis", "StyleGAN3")
    res = int(kw["img_resolution"])
    subs = dict(stub.walk())
    mapping, fc0 = subs.get("mapping"), subs.get("mapping.fc0")
    synthesis, inp = subs.get("synthesis"), subs.get("synthesis.input")
    layers = [s for name, s in subs.items() if re.fullmatch(r"synthesis\.L\d+_\d+_\d+", name)]
    first = next((s for s in layers if not _attr(s, "is_torgb", False)), None)
    if _attr(fc0, "activation", "lrelu") != "lrelu":
        raise CheckpointError(f"only lrelu activations are supported (found {_attr(fc0, 'activation', None)})")
    radial = sk.get("use_radial_filters")
    if radial is None:
        radial = any(bool(_attr(s, "down_radial", False)) for s in layers)
    conv_kernel = int(_attr(first, "conv_kernel", sk.get("conv_kernel", 3)))
    config = dict(z_dim=int(kw["z_dim"]), w_dim=int(kw["w_dim"]),
                  mapping_depth=int(_attr(mapping, "num_layers", mk.get("num_layers", 2))),
                  img_channels=int(kw["img_channels"]),
                  cfg="r" if conv_kernel == 1 and radial else "t",
                  channel_base=int(sk.get("channel_base", 32768)), channel_max=int(sk.get("channel_max", 512)),
                  conv_kernel=conv_kernel, use_radial_filters=bool(radial),
                  num_layers=int(_attr(synthesis, "num_layers", sk.get("num_layers", 14))),
                  num_critical=int(_attr(synthesis, "num_critical", sk.get("num_critical", 2))),
                  first_cutoff=float(_attr(inp, "bandwidth", sk.get("first_cutoff", 2))),
                  first_stopband=float(sk.get("first_stopband", 2 ** 2.1)),
                  last_stopband_rel=float(sk.get("last_stopband_rel", 2 ** 0.3)),
                  margin_size=int(_attr(synthesis, "margin_size", sk.get("margin_size", 10))),
                  output_scale=float(_attr(synthesis, "output_scale", sk.get("output_scale", 0.25))),
                  filter_size=int(sk.get("filter_size", 6)), lrelu_upsampling=int(sk.get("lrelu_upsampling", 2)),
                  conv_clamp=_attr(first, "conv_clamp", sk.get("conv_clamp", 256)),
                  magnitude_ema_beta=float(_attr(first, "magnitude_ema_beta", sk.get("magnitude_ema_beta", 0.999))),
                  mapping_lr_multiplier=float(_attr(fc0, "bias_gain", mk.get("lr_multiplier", 0.01))),
                  w_avg_beta=_attr(mapping, "w_avg_beta", mk.get("w_avg_beta", 0.998)))
    for key in ("w_avg_beta", "conv_clamp"):
        if config[key] is not None:
            config[key] = float(config[key])
    name = {(3, False): "StyleGAN3-T", (1, True): "StyleGAN3-R"}.get((conv_kernel, bool(radial)), "StyleGAN3")
    notes = {"stylegan3": f"{name}: {conv_kernel}x{conv_kernel} convolutions, "
                          f"{'radial' if radial else 'separable'} downsampling filters, channel_base "
                          f"{config['channel_base']}, channel_max {config['channel_max']}, "
                          f"{config['num_layers']} layers ({config['num_critical']} critically sampled)"}
    n_fp16 = sum(1 for s in layers if _attr(s, "use_fp16", False))
    if n_fp16:
        notes["fp16"] = (f"{n_fp16} of {len(layers)} synthesis layers ran in fp16 on GPUs in the reference; "
                         f"ganeval computes them in fp32 (the reference's force_fp32=True)")
    if config["conv_clamp"] is not None:
        notes["conv_clamp"] = config["conv_clamp"]
    transform = (inp.state.get("_buffers") or {}).get("transform") if inp is not None else None
    if isinstance(transform, torch.Tensor) and transform.shape == (3, 3) and \
            not torch.equal(transform.float(), torch.eye(3)):
        notes["transform"] = "synthesis.input.transform is not the identity in the file; kept as stored"
    return res, config, notes


# What a stylegan3 layer records about its place in the schedule, and the matching attribute of ganeval's layer.
_G3_LAYER_ATTRS = ("in_channels", "out_channels", "in_size", "out_size", "in_sampling_rate", "out_sampling_rate",
                   "tmp_sampling_rate", "in_cutoff", "out_cutoff", "in_half_width", "out_half_width", "conv_kernel",
                   "up_factor", "down_factor", "up_taps", "down_taps", "down_radial", "padding", "is_torgb")
_G3_INPUT_ATTRS = ("channels", "size", "sampling_rate", "bandwidth")


def _same_value(stored, ours) -> bool:
    """Numbers, or lists of numbers, equal up to float rounding; a stored [width, height] matches a square size."""
    try:
        a = np.asarray(stored, dtype=np.float64).reshape(-1)
        b = np.asarray(ours, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        return False
    if a.size == 2 and b.size == 1:
        b = np.repeat(b, 2)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-9, atol=1e-12))


def check_stylegan3_layers(G, stub: PersistentStub) -> None:
    """The rebuilt G must have the pickle's layers, with the sizes, rates, cutoffs, taps and padding they recorded."""
    subs = dict(stub.walk())
    theirs = sorted((n.split(".", 1)[1] for n in subs if re.fullmatch(r"synthesis\.L\d+_\d+_\d+", n)),
                    key=lambda n: int(n[1:].split("_")[0]))
    ours = list(G.synthesis.layer_names)
    if theirs != ours:
        raise CheckpointError(f"the StyleGAN3 layers differ from the ones its settings give ({', '.join(theirs[:3])}"
                              f", ... in the file; {', '.join(ours[:3])}, ... rebuilt)")
    checks = [("input", subs.get("synthesis.input"), G.synthesis.input, _G3_INPUT_ATTRS)]
    checks += [(n, subs[f"synthesis.{n}"], getattr(G.synthesis, n), _G3_LAYER_ATTRS) for n in ours]
    for name, s, layer, attrs in checks:
        for a in attrs:
            if s is None or a not in s.state:
                continue
            stored, rebuilt = s.state[a], getattr(layer, a)
            if not _same_value(stored, rebuilt):
                raise CheckpointError(f"StyleGAN3 layer {name}: {a} is {np.asarray(stored).tolist()} in the file but "
                                      f"{rebuilt} when rebuilt from its settings (an option ganeval does not read?)")


def discriminator_config(stub: PersistentStub) -> tuple[int, dict]:
    if stub.class_name != "Discriminator":
        raise CheckpointError(f"expected an NVlabs Discriminator, found class {stub.class_name}")
    kw = _kwargs(stub, _D_ARGS)
    _refuse_unknown(kw, set(_D_ARGS), "Discriminator")
    if int(kw.get("c_dim", 0) or 0):
        raise CheckpointError("this is a conditional discriminator (c_dim > 0)")
    bk, ek = dict(kw.get("block_kwargs") or {}), dict(kw.get("epilogue_kwargs") or {})
    _refuse_unknown(bk, {"activation", "resample_filter"}, "discriminator block")
    _refuse_unknown(ek, {"mbstd_group_size", "mbstd_num_channels", "activation"}, "discriminator epilogue")
    res = int(kw["img_resolution"])
    subs = dict(stub.walk())
    block, conv = subs.get(f"b{res}"), subs.get(f"b{res}.conv0")
    mbstd = subs.get("b4.mbstd")
    if _attr(conv, "activation", bk.get("activation", "lrelu")) != "lrelu" or ek.get("activation", "lrelu") != "lrelu":
        raise CheckpointError("only lrelu activations are supported")
    filt = block.state.get("_buffers", {}).get("resample_filter") if block is not None else None
    epi = subs.get("b4")
    has_mbstd = epi is None or mbstd is not None
    config = dict(img_channels=int(kw["img_channels"]),
                  architecture=str(_attr(block, "architecture", kw.get("architecture", "resnet"))),
                  channel_base=int(kw.get("channel_base", 32768)), channel_max=int(kw.get("channel_max", 512)),
                  conv_clamp=_attr(conv, "conv_clamp", kw.get("conv_clamp")),
                  resample_filter=_filter_taps(filt) if filt is not None else list(bk.get("resample_filter")
                                                                                   or [1, 3, 3, 1]),
                  mbstd_group_size=_attr(mbstd, "group_size", ek.get("mbstd_group_size", 4)),
                  mbstd_num_channels=int(_attr(mbstd, "num_channels", ek.get("mbstd_num_channels", 1)))
                  if has_mbstd else 0)
    return res, config


def load(path, obj: dict, device="cpu") -> Checkpoint:
    for key in ("G", "G_ema", "D"):
        if obj.get(key) is not None and not isinstance(obj[key], PersistentStub):
            raise CheckpointError(f"{path}: '{key}' is not an NVlabs network object")
    ref = obj.get("G_ema") or obj.get("G")
    if ref is None:
        raise CheckpointError(f"{path}: the pickle holds no generator (keys: {', '.join(map(str, obj))})")
    arch, res, config, notes = generator_config(ref)
    meta = {"network": "G_ema" if obj.get("G_ema") is not None else "G (the pickle has no G_ema)", **notes}

    def make_G(stub):
        if stub is None:
            return None
        a, r, c, _ = generator_config(stub)
        if (a, r, c) != (arch, res, config):
            raise CheckpointError(f"{path}: G and G_ema have different configurations")
        G = build_generator(arch, res, **config)
        if arch == "stylegan3":
            check_stylegan3_layers(G, stub)
        sd = stub.tensors()
        if "mapping.w_avg" not in sd:  # w_avg_beta=None: the reference keeps no W average
            sd["mapping.w_avg"] = G.mapping.w_avg
            missing_w_avg = True
        else:
            missing_w_avg = False
        load_state(G, sd, path, "generator")
        note = estimate_w_avg_(G) if missing_w_avg else "from mapping.w_avg (stored in the file)"
        return G.to(device).eval(), note

    G_ema, G = make_G(obj.get("G_ema")), make_G(obj.get("G"))
    meta["w_avg"] = (G_ema or G)[1]
    D = D_config = None
    if obj.get("D") is not None:
        d_res, D_config = discriminator_config(obj["D"])
        D = build_discriminator(arch, d_res, **D_config)   # stylegan3's is StyleGAN2's (the registry says so)
        load_state(D, obj["D"].tensors(), path, "discriminator")
        D = D.to(device).eval()
        D_config = dict(D.config)
    if obj.get("augment_pipe") is not None:
        meta["augment_pipe"] = "present (ADA augmentation state; not converted)"
    tsk = obj.get("training_set_kwargs")
    if isinstance(tsk, dict):
        for k in ("path", "resolution", "max_size", "xflip", "use_labels"):
            if isinstance(tsk.get(k), (str, int, float, bool)):
                meta[f"training_set_{k}"] = tsk[k]
    return Checkpoint(G=G[0] if G else None, G_ema=G_ema[0] if G_ema else None, D=D, arch=arch,
                      config=dict(img_resolution=res, **config), meta=meta, format=FORMAT, path=str(path),
                      D_config=D_config)


register_format(Format(FORMAT, sniff, load))
