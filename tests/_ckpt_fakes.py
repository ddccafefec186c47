"""Foreign checkpoint files fabricated for the checkpoint tests, in the layouts their writers use (NVlabs
stylegan2-ada-pytorch legacy.py and training/networks.py, NVlabs/stylegan3 training/networks_stylegan3.py,
NVlabs/stylegan dnnlib/tflib, rosinality/stylegan2-pytorch model.py; docs/checkpoints.md).

No foreign code: NVlabs' persistence and dnnlib/tfutil networks are imitated by tiny classes living
in fake modules that exist in sys.modules only while a file is written (they are removed before
ganeval reads it, so a loader that imported them would fail).

A pytest plugin (`pytest_plugins` in tests/conftest.py): tests do not import it but take the session fixture
`ckpt_fakes`, whose attributes are the names in __all__ (`ckpt_fakes.write_tf_pickle(...)`).
"""

from __future__ import annotations

import collections
import contextlib
import math
import pickle
import sys
import types

import numpy as np
import pytest
import torch
import torch.nn.functional as F

__all__ = [
    "SQRT2", "fake_modules", "MARKER_SRC", "EasyDict", "nvlabs_generator_kwargs", "nvlabs_stylegan3_generator_kwargs",
    "nvlabs_discriminator_kwargs", "write_nvlabs_pickle", "Network", "tf_state", "write_tf_pickle",
    "rosinality_generator_shapes", "tf_conv", "tf_conv2d_transpose", "tf_fused_upconv", "lrelu", "pixel_norm",
    "upscale", "tf_dense", "pggan_tf_forward", "stylegan_tf_forward", "stylegan2_tf_pickle_states",
    "stylegan_tf_variables", "stylegan_tf_pickle_state", "pggan_tf_variables", "progressive_d_tf_variables",
    "d_basic_tf_forward",
]

SQRT2 = math.sqrt(2)


@contextlib.contextmanager
def fake_modules(**attrs_by_module):
    """Create modules (and their parent packages) with the given attributes; remove them afterwards."""
    created = []
    try:
        for modname, attrs in attrs_by_module.items():
            parts = modname.split(".")
            for i in range(1, len(parts) + 1):
                name = ".".join(parts[:i])
                if name not in sys.modules:
                    sys.modules[name] = types.ModuleType(name)
                    created.append(name)
            for k, v in attrs.items():
                if isinstance(v, (type, types.FunctionType)):
                    v.__module__, v.__qualname__ = modname, k
                setattr(sys.modules[modname], k, v)
        yield
    finally:
        for name in reversed(created):
            sys.modules.pop(name, None)


# ----------------------------------------------------------------------------------------------------
# NVlabs persistence: instances pickle as _reconstruct_persistent_obj(meta).

MARKER_SRC = "open({path!r}, 'w').write('module_src was executed')\n"


def _reconstruct_persistent_obj(meta):  # never called: ganeval must not import the fake module
    raise AssertionError("the fake torch_utils.persistence was used to unpickle")


class _Persistent:
    def __init__(self, meta):
        self.meta = meta

    def __reduce__(self):
        return sys.modules["torch_utils.persistence"]._reconstruct_persistent_obj, (self.meta,)


class EasyDict(dict):
    pass


_NV_NAMES = {"StyleGAN2Generator": "Generator", "StyleGAN3Generator": "Generator",
             "StyleGAN2Discriminator": "Discriminator"}
_PLAIN = (int, float, str, bool, type(None))


def _plain(v) -> bool:
    return isinstance(v, _PLAIN) or (isinstance(v, list) and all(isinstance(i, _PLAIN) for i in v))


def _stylegan3_numpy_attrs(m: torch.nn.Module) -> dict:
    """The attributes networks_stylegan3.py keeps as NumPy values: sizes as [width, height] arrays (np.broadcast_to),
    cutoffs and widths as float64 scalars from the schedule's arrays, use_fp16 as a NumPy bool."""
    kind = type(m).__name__
    if kind == "SynthesisInput" and hasattr(m, "sampling_rate"):
        return dict(size=np.array([m.size, m.size]), sampling_rate=np.float64(m.sampling_rate),
                    bandwidth=np.float64(m.bandwidth))
    if kind == "SynthesisLayer" and hasattr(m, "in_sampling_rate"):   # not StyleGAN2's layer of the same name
        out = {k: np.array([getattr(m, k)] * 2) for k in ("in_size", "out_size")}
        out.update({k: np.float64(getattr(m, k)) for k in ("in_cutoff", "out_cutoff", "in_half_width",
                                                            "out_half_width")})
        if hasattr(m, "use_fp16"):
            out["use_fp16"] = np.bool_(m.use_fp16)
        return out
    return {}


def _state_of(m: torch.nn.Module, module_src: str, init_kwargs: dict, extra: dict) -> _Persistent:
    state = {"training": False, "_parameters": collections.OrderedDict(m._parameters),
             "_buffers": collections.OrderedDict(m._buffers), "_non_persistent_buffers_set": set(),
             "_backward_hooks": collections.OrderedDict(), "_forward_hooks": collections.OrderedDict(),
             "_forward_pre_hooks": collections.OrderedDict(), "_state_dict_hooks": collections.OrderedDict(),
             "_load_state_dict_pre_hooks": collections.OrderedDict(),
             "_modules": collections.OrderedDict((k, _state_of(c, module_src, {}, {}) if c is not None else None)
                                                 for k, c in m._modules.items()),
             "_init_args": (), "_init_kwargs": init_kwargs}
    for k, v in m.__dict__.items():
        if not k.startswith("_") and _plain(v):
            state[k] = v
    if type(m).__name__ == "MappingNetwork":
        state["num_layers"] = m.depth  # NVlabs' attribute name
    state.update(_stylegan3_numpy_attrs(m))
    state.update(extra)
    name = _NV_NAMES.get(type(m).__name__, type(m).__name__)
    return _Persistent(dict(type="class", version=6, module_src=module_src, class_name=name, state=state))


def nvlabs_generator_kwargs(G) -> dict:
    c = G.config
    return EasyDict(z_dim=c["z_dim"], c_dim=0, w_dim=c["w_dim"], img_resolution=c["img_resolution"],
                    img_channels=c["img_channels"],
                    mapping_kwargs=EasyDict(num_layers=c["mapping_depth"], w_avg_beta=c["w_avg_beta"]),
                    synthesis_kwargs=EasyDict(channel_base=c["channel_base"], channel_max=c["channel_max"],
                                              architecture=c["architecture"], conv_clamp=c["conv_clamp"],
                                              num_fp16_res=2))


def nvlabs_stylegan3_generator_kwargs(G) -> dict:
    """What NVlabs/stylegan3 train.py passes to networks_stylegan3.Generator: synthesis options flattened, and for
    --cfg=stylegan3-r conv_kernel=1 and use_radial_filters=True."""
    c = G.config
    kw = EasyDict(z_dim=c["z_dim"], c_dim=0, w_dim=c["w_dim"], img_resolution=c["img_resolution"],
                  img_channels=c["img_channels"], mapping_kwargs=EasyDict(num_layers=c["mapping_depth"]),
                  channel_base=c["channel_base"], channel_max=c["channel_max"],
                  magnitude_ema_beta=c["magnitude_ema_beta"])
    if c["conv_kernel"] != 3 or c["use_radial_filters"]:
        kw.update(conv_kernel=c["conv_kernel"], use_radial_filters=c["use_radial_filters"])
    return kw


def nvlabs_discriminator_kwargs(D) -> dict:
    c = D.config
    return EasyDict(c_dim=0, img_resolution=c["img_resolution"], img_channels=c["img_channels"],
                    architecture=c["architecture"], channel_base=c["channel_base"], channel_max=c["channel_max"],
                    num_fp16_res=2, conv_clamp=c["conv_clamp"], block_kwargs=EasyDict(freeze_layers=0),
                    mapping_kwargs=EasyDict(), epilogue_kwargs=EasyDict(mbstd_group_size=c["mbstd_group_size"]))


def write_nvlabs_pickle(path, snapshot: dict, module_src: str = "", protocol: int = 3,
                       init_kwargs: dict | None = None) -> None:
    """Pickle {key: ganeval module or plain value} as an NVlabs network snapshot would be.

    `init_kwargs` replaces the constructor kwargs recorded for some keys (e.g. {'G': {...}}).
    """
    with fake_modules(**{"torch_utils.persistence": {"_reconstruct_persistent_obj": _reconstruct_persistent_obj},
                         "dnnlib.util": {"EasyDict": EasyDict}}):
        data = {}
        for k, v in snapshot.items():
            if isinstance(v, torch.nn.Module):
                for m in v.modules():  # num_fp16_res=2: the two highest resolutions ran in fp16
                    if type(m).__name__ in ("SynthesisBlock", "DiscriminatorBlock"):
                        m.use_fp16 = m.resolution >= v.img_resolution // 2
                    if type(m).__name__ == "SynthesisLayer" and hasattr(m, "out_sampling_rate"):  # StyleGAN3
                        m.use_fp16 = m.out_sampling_rate * 4 > v.img_resolution
                if getattr(v, "arch", None) == "stylegan3":
                    kw = nvlabs_stylegan3_generator_kwargs(v)
                else:
                    kw = nvlabs_generator_kwargs(v) if hasattr(v, "mapping") else nvlabs_discriminator_kwargs(v)
                kw = (init_kwargs or {}).get(k, kw)
                data[k] = _state_of(v, module_src, kw, {"z_dim": getattr(v, "z_dim", None)})
            else:
                data[k] = v
        with open(path, "wb") as f:
            pickle.dump(data, f, protocol=protocol)


# ----------------------------------------------------------------------------------------------------
# TensorFlow networks: dnnlib.tflib.network.Network (v3/v4) and PGGAN's tfutil.Network (v2).

class Network:
    def __init__(self, state):
        self._state = state

    def __getstate__(self):
        return self._state


def tf_state(name, func, kwargs, variables, version=4, components=None, module_src="", protocol=None):
    return dict(version=version, name=name, static_kwargs=dict(kwargs), components=dict(components or {}),
                build_module_src=module_src, build_func_name=func,
                variables=[(k, np.asarray(v, dtype=np.float32)) for k, v in variables.items()])


def write_tf_pickle(path, nets, module="dnnlib.tflib.network", protocol=4) -> None:
    """nets: a state dict (one network) or a tuple of them (G, D, Gs); components nested as states."""
    with fake_modules(**{module: {"Network": Network}}):
        def make(state):
            comps = {k: make(v) for k, v in state.get("components", {}).items()}
            return Network({**state, "components": comps} if "components" in state else state)
        obj = tuple(make(s) for s in nets) if isinstance(nets, tuple) else make(nets)
        with open(path, "wb") as f:
            pickle.dump(obj, f, protocol=protocol)


# ----------------------------------------------------------------------------------------------------
# rosinality state-dict layout (rosinality/stylegan2-pytorch model.py; shapes only).

def rosinality_generator_shapes(size: int, style_dim: int, n_mlp: int, cm: int) -> dict:
    ch = {r: 512 if r <= 32 else 16384 * cm // r for r in (2 ** i for i in range(2, 11))}
    meta = {}

    def t(*shape):
        return torch.empty(shape, device="meta")

    for i in range(1, n_mlp + 1):
        meta[f"style.{i}.weight"], meta[f"style.{i}.bias"] = t(style_dim, style_dim), t(style_dim)
    meta["input.input"] = t(1, ch[4], 4, 4)

    def styled(prefix, cin, cout, up):
        meta[f"{prefix}.conv.weight"] = t(1, cout, cin, 3, 3)
        meta[f"{prefix}.conv.modulation.weight"], meta[f"{prefix}.conv.modulation.bias"] = t(cin, style_dim), t(cin)
        if up:
            meta[f"{prefix}.conv.blur.kernel"] = t(4, 4)
        meta[f"{prefix}.noise.weight"], meta[f"{prefix}.activate.bias"] = t(1), t(cout)

    def rgb(prefix, cin, up):
        meta[f"{prefix}.conv.weight"] = t(1, 3, cin, 1, 1)
        meta[f"{prefix}.conv.modulation.weight"], meta[f"{prefix}.conv.modulation.bias"] = t(cin, style_dim), t(cin)
        meta[f"{prefix}.bias"] = t(1, 3, 1, 1)
        if up:
            meta[f"{prefix}.upsample.kernel"] = t(4, 4)

    styled("conv1", ch[4], ch[4], False)
    rgb("to_rgb1", ch[4], False)
    log = int(math.log2(size))
    for i in range((log - 2) * 2 + 1):
        r = 2 ** ((i + 5) // 2)
        meta[f"noises.noise_{i}"] = t(1, 1, r, r)
    for k, i in enumerate(range(3, log + 1)):
        r = 2 ** i
        styled(f"convs.{2 * k}", ch[r // 2], ch[r], True)
        styled(f"convs.{2 * k + 1}", ch[r], ch[r], False)
        rgb(f"to_rgbs.{k}", ch[r], True)
    return meta


# ----------------------------------------------------------------------------------------------------
# Reference forward passes written from the TF code (semantics, not ganeval's modules).

def tf_conv(x, w_hwio, gain=SQRT2, pad=True):
    """tf.nn.conv2d NCHW, SAME, with the equalized-lr runtime coefficient gain/sqrt(fan_in)."""
    k = w_hwio.shape[0]
    coef = gain / math.sqrt(np.prod(w_hwio.shape[:-1]))
    return F.conv2d(x, torch.as_tensor(w_hwio).permute(3, 2, 0, 1) * coef, padding=k // 2 if pad else 0)


def tf_conv2d_transpose(x, w_hw_out_in, out_hw):
    """tf.nn.conv2d_transpose (stride 2, SAME), defined as the gradient of conv2d with respect to its input."""
    n, c, h, _ = x.shape
    k = w_hw_out_in.shape[0]
    forward_w = w_hw_out_in.permute(3, 2, 0, 1)  # conv from 'out' channels to 'in' channels
    u = torch.zeros(n, w_hw_out_in.shape[2], *out_hw, requires_grad=True)
    pad = max((h - 1) * 2 + k - out_hw[0], 0)
    y = F.conv2d(F.pad(u, [pad // 2, pad - pad // 2] * 2), forward_w, stride=2)
    (g,) = torch.autograd.grad(y, u, grad_outputs=x)
    return g


def tf_fused_upconv(x, w, gain=SQRT2, layout="HWIO"):
    """upscale2d_conv2d(fused_scale=True): the 3x3 kernel box-summed to 4x4, conv2d_transpose stride 2."""
    w = torch.as_tensor(w)
    fan_in = w.shape[0] * w.shape[1] * x.shape[1]
    w = w * (gain / math.sqrt(fan_in))
    if layout == "HWIO":  # StyleGAN: [k, k, in, out] -> [k, k, out, in]
        w = w.permute(0, 1, 3, 2)
    w = F.pad(w.permute(2, 3, 0, 1), [1, 1, 1, 1]).permute(2, 3, 0, 1)
    w = w[1:, 1:] + w[:-1, 1:] + w[1:, :-1] + w[:-1, :-1]
    return tf_conv2d_transpose(x, w, (x.shape[2] * 2, x.shape[3] * 2))


def lrelu(x):
    return torch.maximum(x, x * 0.2)


def pixel_norm(x, eps=1e-8):
    return x * torch.rsqrt((x * x).mean(dim=1, keepdim=True) + eps)


def upscale(x):
    return x.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)


def tf_dense(x, w, gain=SQRT2, lrmul=1.0):
    return x @ (torch.as_tensor(w) * (gain / math.sqrt(w.shape[0]) * lrmul))


def pggan_tf_forward(v: dict, z: torch.Tensor, resolution: int) -> torch.Tensor:
    """G_paper at lod 0 (fused_scale=True), variables by their PGGAN names."""
    T = {k: torch.as_tensor(np.asarray(a, dtype=np.float32)) for k, a in v.items()}
    x = pixel_norm(z)
    x = tf_dense(x, T["4x4/Dense/weight"], gain=SQRT2 / 4).reshape(z.shape[0], -1, 4, 4)
    x = pixel_norm(lrelu(x + T["4x4/Dense/bias"].reshape(1, -1, 1, 1)))
    x = pixel_norm(lrelu(tf_conv(x, T["4x4/Conv/weight"]) + T["4x4/Conv/bias"].reshape(1, -1, 1, 1)))
    for r in range(3, int(math.log2(resolution)) + 1):
        R = 2 ** r
        x = tf_fused_upconv(x, T[f"{R}x{R}/Conv0_up/weight"], layout="HWOI")
        x = pixel_norm(lrelu(x + T[f"{R}x{R}/Conv0_up/bias"].reshape(1, -1, 1, 1)))
        x = pixel_norm(lrelu(tf_conv(x, T[f"{R}x{R}/Conv1/weight"]) + T[f"{R}x{R}/Conv1/bias"].reshape(1, -1, 1, 1)))
    return tf_conv(x, T["ToRGB_lod0/weight"], gain=1) + T["ToRGB_lod0/bias"].reshape(1, -1, 1, 1)


def stylegan_tf_forward(v: dict, z: torch.Tensor, resolution: int, n_mapping: int) -> torch.Tensor:
    """G_style with truncation off and noise read from the noise variables (randomize_noise=False)."""
    T = {k: torch.as_tensor(np.asarray(a, dtype=np.float32)) for k, a in v.items()}
    w = pixel_norm(z)
    for i in range(n_mapping):
        w = lrelu(tf_dense(w, T[f"mapping/Dense{i}/weight"], lrmul=0.01) + T[f"mapping/Dense{i}/bias"] * 0.01)
    blur_k = torch.tensor([1.0, 2, 1])
    blur_k = torch.outer(blur_k, blur_k) / 16

    def epilogue(x, scope, idx):
        x = x + T[f"synthesis/noise{idx}"] * T[f"synthesis/{scope}/Noise/weight"].reshape(1, -1, 1, 1)
        x = lrelu(x + T[f"synthesis/{scope}/bias"].reshape(1, -1, 1, 1))
        x = x - x.mean(dim=[2, 3], keepdim=True)
        x = x * torch.rsqrt((x * x).mean(dim=[2, 3], keepdim=True) + 1e-8)
        style = tf_dense(w, T[f"synthesis/{scope}/StyleMod/weight"], gain=1) + T[f"synthesis/{scope}/StyleMod/bias"]
        style = style.reshape(-1, 2, x.shape[1], 1, 1)
        return x * (style[:, 0] + 1) + style[:, 1]

    def blur(x):
        c = x.shape[1]
        return F.conv2d(x, blur_k[None, None].repeat(c, 1, 1, 1), padding=1, groups=c)

    x = T["synthesis/4x4/Const/const"].repeat(z.shape[0], 1, 1, 1)
    x = epilogue(x, "4x4/Const", 0)
    x = epilogue(tf_conv(x, T["synthesis/4x4/Conv/weight"]), "4x4/Conv", 1)
    for r in range(3, int(math.log2(resolution)) + 1):
        R = 2 ** r
        w0 = T[f"synthesis/{R}x{R}/Conv0_up/weight"]
        x = tf_fused_upconv(x, w0) if R >= 128 else tf_conv(upscale(x), w0)
        x = epilogue(blur(x), f"{R}x{R}/Conv0_up", 2 * r - 4)
        x = epilogue(tf_conv(x, T[f"synthesis/{R}x{R}/Conv1/weight"]), f"{R}x{R}/Conv1", 2 * r - 3)
    return tf_conv(x, T["synthesis/ToRGB_lod0/weight"], gain=1) + T["synthesis/ToRGB_lod0/bias"].reshape(1, -1, 1, 1)


# ----------------------------------------------------------------------------------------------------
# StyleGAN2 TF variables written from a ganeval model (names and transforms of NVlabs' TF code).

def _hwio(w):
    return w.detach().permute(2, 3, 1, 0).numpy()


def stylegan2_tf_pickle_states(G, D=None, module_src=""):
    """(G, D, Gs) states of a TF StyleGAN2 pickle holding ganeval's G (as G and Gs) and D."""
    c = G.config
    R = c["img_resolution"]
    sd = {k: v.detach() for k, v in G.state_dict().items()}
    kw = dict(num_channels=3, resolution=R, label_size=0, fmap_base=c["channel_base"] // 2, fmap_max=c["channel_max"],
              architecture=c["architecture"], mapping_layers=c["mapping_depth"], latent_size=c["z_dim"],
              dlatent_size=c["w_dim"], mapping_fmaps=c["w_dim"])
    mvars = {}
    for i in range(c["mapping_depth"]):
        mvars[f"Dense{i}/weight"] = sd[f"mapping.fc{i}.weight"].t().numpy()
        mvars[f"Dense{i}/bias"] = sd[f"mapping.fc{i}.bias"].numpy()
    svars = {"4x4/Const/const": sd["synthesis.b4.const"][None].numpy()}

    def layer(src, scope, flip=False):
        w = sd[f"{src}.weight"]
        svars[f"{scope}/weight"] = _hwio(w.flip([2, 3]) if flip else w)
        svars[f"{scope}/mod_weight"] = sd[f"{src}.affine.weight"].t().numpy()
        svars[f"{scope}/mod_bias"] = (sd[f"{src}.affine.bias"] - 1).numpy()
        if f"{src}.noise_strength" in sd:
            svars[f"{scope}/noise_strength"] = sd[f"{src}.noise_strength"].numpy()
        svars[f"{scope}/bias"] = sd[f"{src}.bias"].numpy()

    log2 = int(math.log2(R))
    layer("synthesis.b4.conv1", "4x4/Conv")
    svars["noise0"] = sd["synthesis.b4.conv1.noise_const"][None, None].numpy()
    for r in range(2, log2 + 1):
        S = 2 ** r
        if r > 2:
            layer(f"synthesis.b{S}.conv0", f"{S}x{S}/Conv0_up", flip=True)
            layer(f"synthesis.b{S}.conv1", f"{S}x{S}/Conv1")
            svars[f"noise{2 * r - 5}"] = sd[f"synthesis.b{S}.conv0.noise_const"][None, None].numpy()
            svars[f"noise{2 * r - 4}"] = sd[f"synthesis.b{S}.conv1.noise_const"][None, None].numpy()
            if c["architecture"] == "resnet":
                svars[f"{S}x{S}/Skip/weight"] = _hwio(sd[f"synthesis.b{S}.skip.weight"].flip([2, 3]))
        if f"synthesis.b{S}.torgb.weight" in sd:
            layer(f"synthesis.b{S}.torgb", f"{S}x{S}/ToRGB")
    mapping = tf_state("G_mapping", "training.networks_stylegan2.G_mapping", {**kw, "dlatent_broadcast": G.num_ws},
                       mvars, module_src=module_src)
    synthesis = tf_state("G_synthesis", "training.networks_stylegan2.G_synthesis_stylegan2", kw, svars,
                         module_src=module_src)
    gs = tf_state("Gs", "training.networks_stylegan2.G_main", kw,
                  {"lod": np.float32(0), "dlatent_avg": sd["mapping.w_avg"].numpy()},
                  components={"mapping": mapping, "synthesis": synthesis}, module_src=module_src)
    d = None
    if D is not None:
        dc = D.config
        dsd = {k: v.detach() for k, v in D.state_dict().items()}
        dvars = {}
        for r in range(log2, 2, -1):
            S = 2 ** r
            if f"b{S}.fromrgb.weight" in dsd:
                dvars[f"{S}x{S}/FromRGB/weight"] = _hwio(dsd[f"b{S}.fromrgb.weight"])
                dvars[f"{S}x{S}/FromRGB/bias"] = dsd[f"b{S}.fromrgb.bias"].numpy()
            for i, name in ((0, "Conv0"), (1, "Conv1_down")):
                dvars[f"{S}x{S}/{name}/weight"] = _hwio(dsd[f"b{S}.conv{i}.weight"])
                dvars[f"{S}x{S}/{name}/bias"] = dsd[f"b{S}.conv{i}.bias"].numpy()
            if f"b{S}.skip.weight" in dsd:
                dvars[f"{S}x{S}/Skip/weight"] = _hwio(dsd[f"b{S}.skip.weight"])
        dvars["4x4/Conv/weight"], dvars["4x4/Conv/bias"] = _hwio(dsd["b4.conv.weight"]), dsd["b4.conv.bias"].numpy()
        dvars["4x4/Dense0/weight"] = dsd["b4.fc.weight"].t().numpy()
        dvars["4x4/Dense0/bias"] = dsd["b4.fc.bias"].numpy()
        dvars["Output/weight"], dvars["Output/bias"] = dsd["b4.out.weight"].t().numpy(), dsd["b4.out.bias"].numpy()
        dkw = dict(num_channels=3, resolution=R, label_size=0, fmap_base=dc["channel_base"] // 2,
                   fmap_max=dc["channel_max"], architecture=dc["architecture"])
        d = tf_state("D", "training.networks_stylegan2.D_stylegan2", dkw, dvars, module_src=module_src)
    return gs, d


# ----------------------------------------------------------------------------------------------------
# StyleGAN (v1) and PGGAN TF variables with random values (names and shapes of the reference code).

def _nf(stage, fmap_base, fmap_max):
    return min(int(fmap_base / 2 ** stage), fmap_max)


def stylegan_tf_variables(resolution, fmap_base, fmap_max, latent, dlatent, n_mapping, seed=0):
    rng = np.random.RandomState(seed)
    mapping, synthesis = {}, {}
    dims = [latent] + [dlatent] * n_mapping
    for i in range(n_mapping):
        mapping[f"Dense{i}/weight"] = rng.randn(dims[i], dims[i + 1])
        mapping[f"Dense{i}/bias"] = rng.randn(dims[i + 1])
    log2 = int(math.log2(resolution))

    def ch(r):
        return _nf(r - 1, fmap_base, fmap_max)

    def epi(scope, c):
        synthesis[f"{scope}/Noise/weight"] = rng.randn(c)
        synthesis[f"{scope}/bias"] = rng.randn(c)
        synthesis[f"{scope}/StyleMod/weight"] = rng.randn(dlatent, 2 * c)
        synthesis[f"{scope}/StyleMod/bias"] = rng.randn(2 * c) * 0.2

    synthesis["lod"] = np.float32(0)
    for i in range(2 * log2 - 2):
        r = 2 ** (i // 2 + 2)
        synthesis[f"noise{i}"] = rng.randn(1, 1, r, r)
    synthesis["4x4/Const/const"] = rng.randn(1, ch(2), 4, 4)
    epi("4x4/Const", ch(2))
    synthesis["4x4/Conv/weight"] = rng.randn(3, 3, ch(2), ch(2))
    epi("4x4/Conv", ch(2))
    for r in range(3, log2 + 1):
        R = 2 ** r
        synthesis[f"{R}x{R}/Conv0_up/weight"] = rng.randn(3, 3, ch(r - 1), ch(r))
        epi(f"{R}x{R}/Conv0_up", ch(r))
        synthesis[f"{R}x{R}/Conv1/weight"] = rng.randn(3, 3, ch(r), ch(r))
        epi(f"{R}x{R}/Conv1", ch(r))
    for r in range(2, log2 + 1):
        synthesis[f"ToRGB_lod{log2 - r}/weight"] = rng.randn(1, 1, ch(r), 3)
        synthesis[f"ToRGB_lod{log2 - r}/bias"] = rng.randn(3) * 0.1
    own = {"lod": np.float32(0), "dlatent_avg": rng.randn(dlatent)}
    return own, mapping, synthesis


def stylegan_tf_pickle_state(resolution=128, fmap_base=128, fmap_max=16, latent=16, dlatent=16, n_mapping=2,
                             module_src="", seed=0):
    own, mvars, svars = stylegan_tf_variables(resolution, fmap_base, fmap_max, latent, dlatent, n_mapping, seed)
    kw = dict(num_channels=3, resolution=resolution, label_size=0, fmap_base=fmap_base, fmap_max=fmap_max,
              mapping_layers=n_mapping, latent_size=latent, dlatent_size=dlatent, mapping_fmaps=dlatent)
    mapping = tf_state("G_mapping", "training.networks_stylegan.G_mapping", kw, mvars, version=3,
                       module_src=module_src)
    synthesis = tf_state("G_synthesis", "training.networks_stylegan.G_synthesis", kw, svars, version=3,
                         module_src=module_src)
    gs = tf_state("Gs", "training.networks_stylegan.G_style", kw, own, version=3,
                  components={"mapping": mapping, "synthesis": synthesis}, module_src=module_src)
    flat = {**{k: v for k, v in own.items()}, **{f"mapping/{k}": v for k, v in mvars.items()},
            **{f"synthesis/{k}": v for k, v in svars.items()}}
    return gs, flat


def pggan_tf_variables(resolution, fmap_base, fmap_max, seed=0):
    rng = np.random.RandomState(seed)
    log2 = int(math.log2(resolution))
    latent = _nf(0, fmap_base, fmap_max)

    def ch(r):
        return _nf(r - 1, fmap_base, fmap_max)

    v = {"lod": np.float32(0), "4x4/Dense/weight": rng.randn(latent, ch(2) * 16), "4x4/Dense/bias": rng.randn(ch(2)),
         "4x4/Conv/weight": rng.randn(3, 3, ch(2), ch(2)), "4x4/Conv/bias": rng.randn(ch(2))}
    for r in range(3, log2 + 1):
        R = 2 ** r
        v[f"{R}x{R}/Conv0_up/weight"] = rng.randn(3, 3, ch(r), ch(r - 1))  # [k, k, out, in]
        v[f"{R}x{R}/Conv0_up/bias"] = rng.randn(ch(r))
        v[f"{R}x{R}/Conv1/weight"] = rng.randn(3, 3, ch(r), ch(r))
        v[f"{R}x{R}/Conv1/bias"] = rng.randn(ch(r))
    for r in range(2, log2 + 1):
        v[f"ToRGB_lod{log2 - r}/weight"] = rng.randn(1, 1, ch(r), 3)
        v[f"ToRGB_lod{log2 - r}/bias"] = rng.randn(3) * 0.1
    return v


def progressive_d_tf_variables(resolution, fmap_base, fmap_max, label_size=0, seed=1):
    """D_paper / D_basic variables (same names): FromRGB_lod*, {R}x{R}/Conv0, Conv1_down, 4x4/Conv, Dense0, Dense1."""
    rng = np.random.RandomState(seed)
    log2 = int(math.log2(resolution))

    def ch(stage):
        return _nf(stage, fmap_base, fmap_max)

    v = {"lod": np.float32(0)}
    for r in range(2, log2 + 1):
        v[f"FromRGB_lod{log2 - r}/weight"] = rng.randn(1, 1, 3, ch(r - 1))
        v[f"FromRGB_lod{log2 - r}/bias"] = rng.randn(ch(r - 1))
    for r in range(3, log2 + 1):
        R = 2 ** r
        v[f"{R}x{R}/Conv0/weight"] = rng.randn(3, 3, ch(r - 1), ch(r - 1))
        v[f"{R}x{R}/Conv0/bias"] = rng.randn(ch(r - 1))
        v[f"{R}x{R}/Conv1_down/weight"] = rng.randn(3, 3, ch(r - 1), ch(r - 2))
        v[f"{R}x{R}/Conv1_down/bias"] = rng.randn(ch(r - 2))
    v["4x4/Conv/weight"], v["4x4/Conv/bias"] = rng.randn(3, 3, ch(1) + 1, ch(1)), rng.randn(ch(1))
    v["4x4/Dense0/weight"], v["4x4/Dense0/bias"] = rng.randn(ch(1) * 16, ch(0)), rng.randn(ch(0))
    v["4x4/Dense1/weight"], v["4x4/Dense1/bias"] = rng.randn(ch(0), max(label_size, 1)), rng.randn(max(label_size, 1))
    return v


def d_basic_tf_forward(v: dict, images: torch.Tensor, resolution: int, group_size: int = 4) -> torch.Tensor:
    """StyleGAN's D_basic (fused_scale='auto', blur [1,2,1], mbstd) at lod 0: scores [N, 1]."""
    T = {k: torch.as_tensor(np.asarray(a, dtype=np.float32)) for k, a in v.items()}
    log2 = int(math.log2(resolution))
    blur_k = torch.tensor([1.0, 2, 1])
    blur_k = torch.outer(blur_k, blur_k) / 16

    def bias(x, name):
        return x + T[name].reshape(1, -1, 1, 1)

    x = lrelu(bias(tf_conv(images, T["FromRGB_lod0/weight"]), "FromRGB_lod0/bias"))
    for r in range(log2, 2, -1):
        R = 2 ** r
        x = lrelu(bias(tf_conv(x, T[f"{R}x{R}/Conv0/weight"]), f"{R}x{R}/Conv0/bias"))
        c = x.shape[1]
        x = F.conv2d(x, blur_k[None, None].repeat(c, 1, 1, 1), padding=1, groups=c)
        w = T[f"{R}x{R}/Conv1_down/weight"]
        if R >= 128:  # fused: kernel box-summed to 4x4, x0.25, stride 2, SAME
            coef = SQRT2 / math.sqrt(np.prod(w.shape[:-1]))
            wp = F.pad((w * coef).permute(2, 3, 0, 1), [1, 1, 1, 1]).permute(2, 3, 0, 1)
            k4 = (wp[1:, 1:] + wp[:-1, 1:] + wp[1:, :-1] + wp[:-1, :-1]) * 0.25
            x = F.conv2d(F.pad(x, [1, 1, 1, 1]), k4.permute(3, 2, 0, 1), stride=2)
        else:
            x = F.avg_pool2d(tf_conv(x, w), 2)
        x = lrelu(bias(x, f"{R}x{R}/Conv1_down/bias"))
    n, c, h, w_ = x.shape
    g = min(group_size, n)
    y = x.reshape(g, -1, 1, c, h, w_)
    y = y - y.mean(dim=0, keepdim=True)
    y = torch.sqrt((y * y).mean(dim=0) + 1e-8).mean(dim=[2, 3, 4]).reshape(-1, 1, 1, 1).repeat(g, 1, h, w_)
    x = torch.cat([x, y], dim=1)
    x = lrelu(bias(tf_conv(x, T["4x4/Conv/weight"]), "4x4/Conv/bias"))
    x = lrelu(tf_dense(x.reshape(n, -1), T["4x4/Dense0/weight"]) + T["4x4/Dense0/bias"])
    return tf_dense(x, T["4x4/Dense1/weight"], gain=1) + T["4x4/Dense1/bias"]


# ----------------------------------------------------------------------------------------------------
# The fixture.

@pytest.fixture(scope="session")
def ckpt_fakes():
    """The writers and reference forwards of this module (the names in __all__), as attributes."""
    return types.SimpleNamespace(**{name: globals()[name] for name in __all__})
