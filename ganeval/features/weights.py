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
    used_by="FID/KID features (torch-fidelity's port of TF inception-2015-12-05)",
    note="torch-fidelity does not check a hash; the '6726825d' in the name is inherited, not verified"))
register_weights(WeightFile(
    "vgg16", "vgg16-397923af.pth", "https://download.pytorch.org/models/vgg16-397923af.pth",
    used_by="LPIPS-VGG16 trunk for PPL (torchvision ImageNet VGG16)", sha256_prefix="397923af"))
register_weights(WeightFile(
    "nvidia-vgg16", "vgg16.pt", f"{_NV}/stylegan2-ada-pytorch/pretrained/metrics/vgg16.pt",
    used_by="NVIDIA's TorchScript LPIPS (ADA); for cross-checks only, ganeval uses lpips + vgg16",
    note="TorchScript: ganeval never loads it (would run code)"))
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
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - torch.load fails in many ways on a bad file; the user gets one line
        first = (str(e).strip().splitlines() or [type(e).__name__])[0][:160]
        raise WeightsFileError(f"{path}: not a readable weight file ({type(e).__name__}: {first}); {fix}") from None
    if not isinstance(state, dict):
        raise WeightsFileError(f"{path}: not the weights of {name} (not a state dict); {fix}")
    missing = [k for k in expect if k not in state]
    if missing:
        raise WeightsFileError(f"{path}: not the weights of {name} (no '{missing[0]}'); {fix}")
    return state


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
