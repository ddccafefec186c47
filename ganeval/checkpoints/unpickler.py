"""The one restricted unpickler in ganeval: plain pickles become data, never code.

Network pickles from NVIDIA carry their own source code. NVlabs' PyTorch pickles call
`torch_utils.persistence._reconstruct_persistent_obj(meta)`, which `exec`s `meta['module_src']`;
the TensorFlow pickles (`dnnlib.tflib.network.Network`, PGGAN's `tfutil.Network`) `exec` their
`build_module_src` in `__setstate__`. Here every global a pickle names is looked up in an explicit
allow-list (ALLOWED) and mapped to a local function or data stub:

* persistent NVlabs objects -> PersistentStub (class name, constructor kwargs, parameters, buffers,
  sub-modules); `module_src` is kept as a string and never executed;
* TF networks -> TFNetworkStub (the dict their `__getstate__` wrote: version, static_kwargs,
  components, variables as numpy arrays);
* tensors -> torch's own tensor/storage rebuilders, wrapped so that hooks and subclass state are
  dropped; the byte blob of a storage goes through `torch.load(weights_only=True)`;
* numpy arrays and scalars of numeric dtypes; OrderedDict, set, frozenset; `dnnlib.EasyDict`.

Any other global ends the load with a one-line CheckpointError that names it. Nothing from the
file is imported.
"""

from __future__ import annotations

import collections
import io
import pickle
import re
from typing import Any

import numpy as np
import torch

from ..errors import CheckpointError

# ----------------------------------------------------------------------------------------------------
# Data stubs.


class EasyDict(dict):
    """dnnlib.EasyDict: a dict with attribute access (data only)."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


class PersistentStub:
    """An NVlabs `@persistent_class` instance, as data: what `_reconstruct_persistent_obj` received."""

    def __init__(self, class_name: str, version: int, module_src: str, state: dict):
        self.class_name, self.version, self.module_src, self.state = class_name, version, module_src, state

    @property
    def init_args(self) -> tuple:
        return tuple(self.state.get("_init_args") or ())

    @property
    def init_kwargs(self) -> dict:
        return dict(self.state.get("_init_kwargs") or {})

    @property
    def modules(self) -> dict:
        return dict(self.state.get("_modules") or {})

    def tensors(self, prefix: str = "") -> dict[str, torch.Tensor]:
        """Parameters and buffers of the whole sub-tree under their state_dict names."""
        out: dict[str, torch.Tensor] = {}
        non_persistent = set(self.state.get("_non_persistent_buffers_set") or ())
        for group in ("_parameters", "_buffers"):
            for name, value in (self.state.get(group) or {}).items():
                if value is None or name in non_persistent:
                    continue
                if not isinstance(value, torch.Tensor):
                    raise CheckpointError(f"{prefix}{name} is not a tensor ({type(value).__name__})")
                out[prefix + name] = value.detach()
        for name, child in self.modules.items():
            if child is None:
                continue
            if not isinstance(child, PersistentStub):
                raise CheckpointError(f"sub-module {prefix}{name} is not an NVlabs network object")
            out.update(child.tensors(f"{prefix}{name}."))
        return out

    def walk(self, prefix: str = ""):
        """(dotted name, stub) for this stub and every sub-module."""
        yield prefix.rstrip("."), self
        for name, child in self.modules.items():
            if isinstance(child, PersistentStub):
                yield from child.walk(f"{prefix}{name}.")

    def __repr__(self):
        return f"PersistentStub({self.class_name})"


class TFNetworkStub:
    """A dnnlib.tflib / tfutil Network, as data: the dict its `__getstate__` produced."""

    state: dict = {}  # replaced (never mutated) by __setstate__; pickles create instances without __init__

    def __init__(self, *args, **kwargs):
        self.state = {}

    def __setstate__(self, state):
        if not isinstance(state, dict):
            raise CheckpointError("TensorFlow network state is not a dict")
        self.state = state

    @property
    def version(self):
        return self.state.get("version")

    @property
    def name(self) -> str:
        return str(self.state.get("name", ""))

    @property
    def static_kwargs(self) -> dict:
        return dict(self.state.get("static_kwargs") or {})

    @property
    def components(self) -> dict:
        return dict(self.state.get("components") or {})

    @property
    def build_func_name(self) -> str:
        return str(self.state.get("build_func_name", ""))

    @property
    def build_module_src(self) -> str:
        return str(self.state.get("build_module_src", ""))

    @property
    def variables(self) -> dict[str, np.ndarray]:
        return {str(name): value for name, value in (self.state.get("variables") or [])}

    def all_variables(self, prefix: str = "") -> dict[str, np.ndarray]:
        """Own variables plus those of every component as 'component/var' (NVlabs' _collect_tf_params)."""
        out = {prefix + k: v for k, v in self.variables.items()}
        for name, comp in self.components.items():
            if isinstance(comp, TFNetworkStub):
                out.update(comp.all_variables(f"{prefix}{name}/"))
        return out

    def __repr__(self):
        return f"TFNetworkStub({self.name}, {self.build_func_name}, version={self.version})"


# ----------------------------------------------------------------------------------------------------
# The allow-list. Each entry is a local callable; none imports or runs anything from the file.

class _Refused(pickle.UnpicklingError):
    pass


def _reconstruct_persistent_obj(meta):
    if not isinstance(meta, dict) or meta.get("type") != "class":
        raise _Refused("an NVlabs persistent object of unknown type")
    state = meta.get("state")
    if not isinstance(state, dict) or not isinstance(meta.get("class_name"), str):
        raise _Refused("a malformed NVlabs persistent object")
    return PersistentStub(meta["class_name"], meta.get("version"), str(meta.get("module_src", "")), state)


def _load_storage_from_bytes(b):
    if not isinstance(b, (bytes, bytearray)):
        raise _Refused("a tensor storage that is not bytes")
    # torch.storage._load_from_bytes would call torch.load(weights_only=False) on the blob.
    return torch.load(io.BytesIO(bytes(b)), map_location="cpu", weights_only=True)


def _check_storage(storage):
    if not isinstance(storage, (torch.TypedStorage, torch.UntypedStorage)):
        raise _Refused(f"a tensor built from a {type(storage).__name__}, not a storage")


def _rebuild_tensor(storage, storage_offset, size, stride):
    _check_storage(storage)
    return torch._utils._rebuild_tensor(storage, int(storage_offset), tuple(size), tuple(stride))


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None,
                       metadata=None):
    return _rebuild_tensor(storage, storage_offset, size, stride)  # hooks and metadata dropped


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None, state=None):
    if not isinstance(data, torch.Tensor):
        raise _Refused("a parameter that is not a tensor")
    return torch.nn.Parameter(data, requires_grad=False)


class _TypeToken:
    """Stands for a class a pickle names only as an argument (torch.Tensor, numpy.ndarray); not callable."""

    def __init__(self, name: str):
        self.name = name


_TENSOR_TYPES = (_TypeToken("torch.Tensor"), _TypeToken("torch.nn.Parameter"))
_NDARRAY = _TypeToken("numpy.ndarray")


def _rebuild_from_type_v2(func, new_type, args, state):
    if func not in (_rebuild_tensor_v2, _rebuild_parameter, _rebuild_tensor) or not isinstance(args, tuple):
        raise _Refused("a tensor rebuilt through an unknown function")
    return func(*args)  # subclass type and state dropped: only the data is kept


_DTYPE_RE = re.compile(r"^[<>|=]?(b1|bool|[iuf]\d{1,2}|c\d{1,2}|float(16|32|64)|u?int(8|16|32|64)|complex(64|128))$")


def _np_dtype(spec, *args):
    if not isinstance(spec, str) or not _DTYPE_RE.match(spec):
        raise _Refused(f"a numpy dtype '{spec}' (only numeric dtypes are read)")
    return np.dtype(spec, *args[:2])


def _np_reconstruct(subtype, shape, dtype):
    # numpy pickles an array as _reconstruct(ndarray, (0,), b'b') followed by __setstate__ (BUILD).
    if subtype is not _NDARRAY or tuple(shape) != (0,) or dtype not in (b"b", "b"):
        raise _Refused("a numpy array of a subclass or an unexpected layout")
    return np.ndarray((0,), np.int8)


def _np_scalar(dtype, data=None):
    if not isinstance(dtype, np.dtype) or dtype.kind not in "biufc" or not isinstance(data, (bytes, bytearray)):
        raise _Refused("a numpy scalar that is not numeric")
    return np.frombuffer(bytes(data), dtype=dtype, count=1)[0]


def _np_frombuffer(buf, dtype, shape, order):
    if not isinstance(dtype, np.dtype) or dtype.kind not in "biufc":
        raise _Refused("a numpy buffer that is not numeric")
    return np.frombuffer(bytes(buf), dtype=dtype).reshape(shape, order=order).copy()


def _codecs_encode(obj, encoding="utf-8"):
    # Protocol-2 pickles write bytes as _codecs.encode(str, 'latin1').
    if not isinstance(obj, str) or encoding not in ("latin1", "latin-1"):
        raise _Refused("_codecs.encode with an unexpected argument")
    return obj.encode("latin1")


def _reconstructor(cls, base, state=None):
    # copyreg._reconstructor (protocols 0/1): only for ganeval's own stubs.
    if cls in (TFNetworkStub, EasyDict):
        return cls()
    raise _Refused(f"copyreg._reconstructor for {getattr(cls, '__name__', cls)}")


def _ordered_dict(*args):
    return collections.OrderedDict(*args)


_TF_NETWORK = [("dnnlib.tflib.network", "Network"), ("tfutil", "Network"), ("network", "Network")]
_NUMPY_CORE = ("numpy.core.multiarray", "numpy._core.multiarray")

ALLOWED: dict[tuple[str, str], Any] = {
    ("torch_utils.persistence", "_reconstruct_persistent_obj"): _reconstruct_persistent_obj,
    ("dnnlib.util", "EasyDict"): EasyDict,
    ("dnnlib", "EasyDict"): EasyDict,
    **{key: TFNetworkStub for key in _TF_NETWORK},
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("torch._tensor", "_rebuild_from_type_v2"): _rebuild_from_type_v2,
    ("torch.storage", "_load_from_bytes"): _load_storage_from_bytes,
    ("torch", "Tensor"): _TENSOR_TYPES[0],          # only ever an argument of _rebuild_from_type_v2
    ("torch.nn.parameter", "Parameter"): _TENSOR_TYPES[1],
    ("collections", "OrderedDict"): _ordered_dict,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("__builtin__", "set"): set,
    ("__builtin__", "frozenset"): frozenset,
    ("_codecs", "encode"): _codecs_encode,
    ("copyreg", "_reconstructor"): _reconstructor,
    ("copy_reg", "_reconstructor"): _reconstructor,
    ("numpy", "dtype"): _np_dtype,
    ("numpy", "ndarray"): _NDARRAY,                 # only ever an argument of _reconstruct
    **{(core, "_reconstruct"): _np_reconstruct for core in _NUMPY_CORE},
    **{(core, "scalar"): _np_scalar for core in _NUMPY_CORE},
    ("numpy.core.numeric", "_frombuffer"): _np_frombuffer,
    ("numpy._core.numeric", "_frombuffer"): _np_frombuffer,
}


class RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        fn = ALLOWED.get((module, name))
        if fn is None:
            raise _Refused(f"'{module}.{name}'")
        return fn

    def persistent_load(self, pid):
        raise _Refused("a persistent id (torch.save's storage references belong in a zip checkpoint)")


def restricted_load(path) -> Any:
    """Unpickle `path` with the allow-list; any problem is one CheckpointError line."""
    try:
        with open(path, "rb") as f:
            return RestrictedUnpickler(f, encoding="latin1").load()
    except _Refused as e:
        raise CheckpointError(f"{path}: refused: the pickle needs {e}, which ganeval never loads "
                              f"(only tensors, arrays and known network stubs are read; no code is run)") from None
    except CheckpointError as e:
        raise CheckpointError(f"{path}: {e}") from None
    except RecursionError:
        raise CheckpointError(f"{path}: cannot read pickle: nested too deeply") from None
    except Exception as e:  # a corrupt or truncated pickle can fail in any way; report it in one line
        msg = str(e).strip().splitlines()[0][:160] if str(e).strip() else ""
        raise CheckpointError(f"{path}: cannot read pickle: truncated, corrupt or not a checkpoint "
                              f"({type(e).__name__}{': ' + msg if msg else ''})") from None
