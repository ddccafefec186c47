"""Every external weight file ganeval can use: name, URL, sha256, and where it is looked for.

Nothing is ever downloaded implicitly. A file is found under, in order,

    $GANEVAL_WEIGHTS/                      (if set)
    $TORCH_HOME/hub/checkpoints/           (if set; where torch.hub / torchvision / torch-fidelity cache)
    ~/.cache/torch/hub/checkpoints/

and a missing file raises WeightsNotFoundError with one line naming the file and the two ways to
provide it. ``ganeval weights fetch NAME`` downloads on a machine with internet (then copy the file).

Hashes: full sha256 values are not recorded where we could not check them on a real file (no file
can be downloaded on the machines ganeval was written on); torchvision's file names embed the first
8 hex digits of the sha256 (torch.hub convention, checked by torchvision when it downloads), and that
prefix is verified. Entries with neither are reported as 'unverified' by ``weights verify``.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import urllib.error
import urllib.request
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from ..data.attributes import NVIDIA_ATTRS
from ..errors import GanevalError, WeightsNotFoundError
from ..utils import atomic_write, cache_dir, sha256_file


class WeightsHashError(GanevalError):
    """A weight file's sha256 does not match the registry."""


class WeightsFileError(GanevalError):
    """A weight file is empty, truncated, corrupt, not a state dict of the expected network, or carries code."""


@dataclass(frozen=True)
class WeightFile:
    name: str                       # registry key, used on the command line
    filename: str                   # exact file name searched for
    url: str
    used_by: str                    # what in ganeval needs it
    sha256: str | None = None       # full digest where known
    sha256_prefix: str | None = None  # torch.hub-style prefix embedded in the file name
    note: str = ""

    def check(self, digest: str) -> bool | None:
        """True/False when a reference hash is known, None when it is not."""
        if self.sha256:
            return digest == self.sha256
        if self.sha256_prefix:
            return digest.startswith(self.sha256_prefix)
        return None


REGISTRY: dict[str, WeightFile] = {}


def register_weights(entry: WeightFile) -> WeightFile:
    REGISTRY[entry.name] = entry
    return entry


_NV = "https://nvlabs-fi-cdn.nvidia.com"

register_weights(WeightFile(
    "inception-v3-compat", "weights-inception-2015-12-05-6726825d.pth",
    "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/weights-inception-2015-12-05-6726825d.pth",
    used_by="FID/KID features and IS logits (torch-fidelity's port of TF inception-2015-12-05)",
    note="torch-fidelity does not check a hash; the '6726825d' in the name is inherited, not verified"))
register_weights(WeightFile(
    "vgg16", "vgg16-397923af.pth", "https://download.pytorch.org/models/vgg16-397923af.pth",
    used_by="LPIPS-VGG16 trunk for PPL, fc7 features for precision/recall (torchvision ImageNet VGG16)",
    sha256_prefix="397923af"))
register_weights(WeightFile(
    "nvidia-vgg16", "vgg16.pt", f"{_NV}/stylegan2-ada-pytorch/pretrained/metrics/vgg16.pt",
    used_by="NVIDIA's TorchScript VGG16 (ADA: LPIPS for PPL, fc7 features for precision/recall); for cross-checks "
            "only, ganeval uses lpips + vgg16 and vgg16-fc7 + vgg16",
    note="TorchScript: ganeval never loads it (would run code)"))
register_weights(WeightFile(
    "dinov2-vitl14", "dinov2_vitl14_pretrain.pth",
    "https://dl.fbaipublicfiles.com/dinov2/dinov2_vitl14/dinov2_vitl14_pretrain.pth",
    used_by="DINOv2 ViT-L/14 features for FD_DINOv2 (Meta's torch.hub state dict)",
    note="no published sha256: the name carries no hash prefix and torch.hub loads it without checking one"))
register_weights(WeightFile(
    "clip-vitb32", "open_clip_vit_b_32_openai.safetensors",
    "https://huggingface.co/timm/vit_base_patch32_clip_224.openai/resolve/main/open_clip_model.safetensors",
    used_by="CLIP ViT-B/32 image embeddings for clean-fid's CLIP-FID (OpenAI's weights, open_clip's safetensors)",
    note="open_clip_model.safetensors of the Hugging Face repo, renamed; no sha256 published by the owners"))
register_weights(WeightFile(
    "nvidia-inception", "inception-2015-12-05.pt",
    f"{_NV}/stylegan2-ada-pytorch/pretrained/metrics/inception-2015-12-05.pt",
    used_by="NVIDIA's TorchScript Inception (ADA); for cross-checks only",
    note="TorchScript: ganeval never loads it (would run code)"))
register_weights(WeightFile(
    "vgg16-zhang-perceptual", "vgg16_zhang_perceptual.pkl",
    f"{_NV}/stylegan/networks/metrics/vgg16_zhang_perceptual.pkl",
    used_by="StyleGAN (TF) LPIPS pickle; reference only", note="TF pickle with code; never loaded"))
register_weights(WeightFile(
    "inception-v3-features", "inception_v3_features.pkl", f"{_NV}/stylegan/networks/metrics/inception_v3_features.pkl",
    used_by="StyleGAN (TF) FID pickle; reference only", note="TF pickle with code; never loaded"))
for _i, _attr in enumerate(NVIDIA_ATTRS):
    register_weights(WeightFile(
        f"celebahq-classifier-{_i:02d}-{_attr}", f"celebahq-classifier-{_i:02d}-{_attr}.pkl",
        f"{_NV}/stylegan/networks/metrics/celebahq-classifier-{_i:02d}-{_attr}.pkl",
        used_by=f"NVIDIA CelebA-HQ attribute classifier {_i} ({_attr}) for linear separability",
        note="TF pickle; needs conversion to ganeval's classifier format"))

GROUPS = {"celebahq-classifiers": "celebahq-classifier-*"}


def search_dirs() -> list[Path]:
    """Where weight files are looked for, in order."""
    dirs = []
    if os.environ.get("GANEVAL_WEIGHTS"):
        dirs.append(Path(os.environ["GANEVAL_WEIGHTS"]).expanduser())
    if os.environ.get("TORCH_HOME"):
        dirs.append(Path(os.environ["TORCH_HOME"]).expanduser() / "hub" / "checkpoints")
    dirs.append(Path.home() / ".cache" / "torch" / "hub" / "checkpoints")
    return dirs


def default_dir() -> Path:
    """Where `fetch` writes and where the error message asks users to copy files."""
    return search_dirs()[0]


def get_entry(name: str) -> WeightFile:
    if name in REGISTRY:
        return REGISTRY[name]
    for entry in REGISTRY.values():
        if entry.filename == name:
            return entry
    raise WeightsNotFoundError(f"unknown weight file '{name}' (see `ganeval weights list`)")


def resolve_names(names) -> list[str]:
    """Names, file names, group names ('celebahq-classifiers') or glob patterns -> registry names."""
    out: list[str] = []
    for spec in names:
        spec = GROUPS.get(spec, spec)
        if any(ch in spec for ch in "*?["):
            matched = [n for n in REGISTRY if fnmatch.fnmatch(n, spec)]
            if not matched:
                raise WeightsNotFoundError(f"no weight file matches '{spec}' (see `ganeval weights list`)")
            out.extend(matched)
        else:
            out.append(get_entry(spec).name)
    return list(dict.fromkeys(out))


def find(name: str) -> Path | None:
    """The first existing copy of a registered file, or None."""
    entry = get_entry(name)
    for d in search_dirs():
        p = d / entry.filename
        if p.is_file():
            return p
    return None


def missing_message(entry: WeightFile) -> str:
    return (f"weight file '{entry.filename}' ({entry.used_by}) not found: copy it to {default_dir()}, "
            f"or run `ganeval weights fetch {entry.name}` on a machine with internet and copy it there")


def locate(name_or_path: str | os.PathLike) -> Path:
    """Path of a weight file given its registry name (or an explicit existing path); one-line error if absent.

    A registered file is checked against the registry's sha256 (or its torch.hub prefix) the first time it
    is used, the verdict cached by path, size and modification time: a different or damaged file under the
    right name is refused unless ALLOW_UNVERIFIED is set to 1.
    """
    p = Path(name_or_path)
    if p.is_absolute() or os.sep in str(name_or_path):
        if not p.is_file():
            raise WeightsNotFoundError(f"weight file {p} does not exist")
        return p
    entry = get_entry(str(name_or_path))
    found = find(entry.name)
    if found is None:
        raise WeightsNotFoundError(missing_message(entry))
    if _sha256_matches(entry, found) is False and os.environ.get(ALLOW_UNVERIFIED) != "1":
        raise WeightsHashError(f"{found}: its sha256 is not the registry's for '{entry.name}' (another or a damaged "
                               f"file); get a good copy with `ganeval weights fetch {entry.name}`, or set "
                               f"{ALLOW_UNVERIFIED}=1 to use it anyway")
    return found


def read_state_dict(path: str | os.PathLike, name: str, expect: tuple[str, ...] = ()) -> dict:
    """torch.load(weights_only=True) of a weight file (no code in it ever runs) -> its state dict; any failure
    (empty, truncated, random bytes, pickled code, another network: `expect` keys missing) is one line that
    names the file and how to get a good copy."""
    fix = f"get a good copy with `ganeval weights fetch {name}`" if name in REGISTRY else "use another file"
    try:
        with open(path, "rb") as f, warnings.catch_warnings():
            # A file object: newer torch versions pick a reader by the file name's extension. On a TorchScript archive
            # torch warns that it dispatches to torch.jit.load, then refuses (weights_only) before loading anything.
            warnings.filterwarnings("ignore", message=".*looks like a TorchScript archive")
            state = torch.load(f, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - torch.load fails in many ways on a bad file; the user gets one line
        if "TorchScript" in str(e):
            raise WeightsFileError(f"{path}: a TorchScript archive, which carries code and which ganeval never "
                                   f"loads; {fix}") from None
        first = (str(e).strip().splitlines() or [type(e).__name__])[0][:160]
        raise WeightsFileError(f"{path}: not a readable weight file ({type(e).__name__}: {first}); {fix}") from None
    if not isinstance(state, dict):
        raise WeightsFileError(f"{path}: not the weights of {name} (not a state dict); {fix}")
    missing = [k for k in expect if k not in state]
    if missing:
        raise WeightsFileError(f"{path}: not the weights of {name} (no '{missing[0]}'); {fix}")
    return state


def load_into(module: torch.nn.Module, state: dict, path: str | os.PathLike, name: str, assign: bool = False) -> None:
    """`module.load_state_dict(state, strict=True)` after checking names and shapes, so that another network's (or
    another size's) file is one line naming the first difference; `assign=True` for modules built on the meta device."""
    fix = f"get a good copy with `ganeval weights fetch {name}`" if name in REGISTRY else "use another file"
    own = module.state_dict(keep_vars=True)
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shape = lambda v: tuple(v.shape) if isinstance(v, torch.Tensor) else type(v).__name__  # noqa: E731
    wrong = [k for k in own if k in state and shape(state[k]) != shape(own[k])]
    if missing or unexpected or wrong:
        what = (f"no '{missing[0]}'" if missing else f"unexpected '{unexpected[0]}'" if unexpected else
                f"'{wrong[0]}' has shape {shape(state[wrong[0]])}, expected {shape(own[wrong[0]])}")
        raise WeightsFileError(f"{path}: not the weights of {name} ({what}); {fix}")
    module.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()},
                           strict=True, assign=assign)


# Set to 1 to use registered files whose sha256 does not match (stand-in weights of tests and benchmarks).
ALLOW_UNVERIFIED = "GANEVAL_ALLOW_UNVERIFIED_WEIGHTS"


def _sha256_matches(entry: WeightFile, path: Path) -> bool | None:
    """entry.check of the file's sha256, hashed once per (path, size, mtime) and kept in the user cache."""
    st = path.stat()
    key = f"{path.resolve()}:{st.st_size}:{st.st_mtime_ns}"
    store = cache_dir() / "weights-sha256.json"
    try:
        known = json.loads(store.read_text())
    except (OSError, ValueError):
        known = {}
    if key not in known:
        known[key] = sha256_file(path)
        try:
            with atomic_write(store, suffix=".json") as tmp:
                tmp.write_text(json.dumps(known, indent=0))
        except (OSError, GanevalError):
            pass   # an unwritable cache only costs hashing again next time
    return entry.check(known[key])


def verify(name: str, path: str | os.PathLike | None = None) -> dict:
    """Hash a located file and compare with the registry: status 'ok' | 'mismatch' | 'unverified' | 'missing'."""
    entry = get_entry(name)
    path = Path(path) if path is not None else find(name)
    if path is None:
        return dict(name=entry.name, file=entry.filename, path=None, sha256=None, status="missing")
    digest = sha256_file(path)
    ok = entry.check(digest)
    status = "unverified" if ok is None else ("ok" if ok else "mismatch")
    return dict(name=entry.name, file=entry.filename, path=str(path), sha256=digest, status=status)


def fetch(name: str, dest_dir: str | os.PathLike | None = None, url: str | None = None, force: bool = False,
          timeout: float = 60.0, progress: bool = False) -> Path:
    """Download a registered file into `dest_dir` (default: the first search directory), atomically.

    `url` overrides the registry URL (a mirror). The digest is checked against the registry before
    the file gets its final name; a mismatch leaves nothing behind.
    """
    entry = get_entry(name)
    dest = Path(dest_dir) if dest_dir is not None else default_dir()
    target = dest / entry.filename
    if target.is_file() and not force:
        if entry.check(sha256_file(target)) is not False:
            return target
    src = url or entry.url
    h = hashlib.sha256()
    try:
        with urllib.request.urlopen(src, timeout=timeout) as resp, atomic_write(target) as tmp:
            total = int(resp.headers.get("Content-Length") or 0) or None
            bar = None
            if progress:
                bar = tqdm(total=total, unit="B", unit_scale=True, desc=entry.filename)
            with open(tmp, "wb") as f:
                while chunk := resp.read(1 << 20):
                    f.write(chunk)
                    h.update(chunk)
                    if bar is not None:
                        bar.update(len(chunk))
            if bar is not None:
                bar.close()
            if entry.check(h.hexdigest()) is False:
                raise WeightsHashError(f"{entry.filename} downloaded from {src} has sha256 {h.hexdigest()}, "
                                       f"expected {entry.sha256 or entry.sha256_prefix + '...'}; not kept")
    except (urllib.error.URLError, OSError, ValueError) as e:
        reason = getattr(e, "reason", None) or e
        raise GanevalError(f"cannot download {entry.filename} from {src}: {reason}") from None
    return target
