"""GAN-Control's control encoders E_k: y^k -> w^k (Shoshan et al. 2021, §3.2) and controlled generation.

After the disentangled GAN is trained, sample {z_i}, map them to {w_i} (no truncation), and let the
attribute classifiers read y_i^k = M_k(G(z_i)) from the images; E_k is a small MLP fitted to the pairs
{(y_i^k, w_i^k)} by least squares. Here y^k is the classifier's probability σ(logit_k) that attribute k is
present, so `--set Smiling=1` asks for a smile and `Smiling=0` for none. At inference every w^k is either
E_k(y^k) (explicit control) or f_k(z^k) from a sampled z^k.

The encoders are stored in the checkpoint's meta under 'gan_control' (plain types and tensors only, so the
file still loads with torch.load(weights_only=True)).
"""

from __future__ import annotations

import copy
import os
import time
from pathlib import Path

import torch
from torch import nn

from ..checkpoints import load_checkpoint, resolve_path, torch_load_safely
from ..checkpoints.native import is_native
from ..data.attributes import NVIDIA_ATTRS, celeba_to_nvidia, resolve_attrs
from ..errors import CheckpointError, ConfigError
from ..images import to_rgb, to_uint8
from ..metrics import sampling as streams
from ..metrics.separability import load_judge
from ..models.generate import z_from_seeds
from ..utils import atomic_write, resolve_device

FORMAT = "ganeval/control-encoders/1"
META_KEY = "gan_control"


class ControlEncoders(nn.Module):
    """One MLP per controlled attribute: y^k [N] (or [N, 1]) -> w^k [N, w_dims[k]]."""

    def __init__(self, attrs: list[str], w_dims: list[int], hidden: int = 64, depth: int = 3):
        super().__init__()
        self.attrs, self.w_dims = list(attrs), [int(d) for d in w_dims]
        self.hidden, self.depth = int(hidden), int(depth)
        if len(self.attrs) != len(self.w_dims):
            raise ValueError(f"{len(attrs)} attributes but {len(w_dims)} W subspaces")

        def mlp(out: int) -> nn.Sequential:
            layers, cin = [], 1
            for _ in range(self.depth - 1):
                layers += [nn.Linear(cin, self.hidden), nn.LeakyReLU(0.2)]
                cin = self.hidden
            return nn.Sequential(*layers, nn.Linear(cin, out))

        self.nets = nn.ModuleList(mlp(d) for d in self.w_dims)
        # w^k's mean and scale over the training samples: the MLPs regress standardised targets.
        self.register_buffer("w_mean", torch.zeros([sum(self.w_dims)]))
        self.register_buffer("w_std", torch.ones([sum(self.w_dims)]))
        self.meta: dict = {}

    @property
    def config(self) -> dict:
        return {"attrs": list(self.attrs), "w_dims": list(self.w_dims), "hidden": self.hidden, "depth": self.depth}

    def _slice(self, k: int) -> slice:
        start = sum(self.w_dims[:k])
        return slice(start, start + self.w_dims[k])

    def forward(self, k: int, y: torch.Tensor) -> torch.Tensor:
        """E_k(y^k) = w^k."""
        y = y.float().reshape(-1, 1)
        s = self._slice(k)
        return self.nets[k](y) * self.w_std[s] + self.w_mean[s]

    def to_payload(self) -> dict:
        return {"format": FORMAT, "config": self.config, "meta": dict(self.meta),
                "state_dict": {k: v.detach().cpu().clone() for k, v in self.state_dict().items()}}

    @classmethod
    def from_payload(cls, payload: dict) -> ControlEncoders:
        if not isinstance(payload, dict) or payload.get("format") != FORMAT:
            raise CheckpointError(f"control encoders: not a {FORMAT} entry")
        enc = cls(**payload["config"])
        enc.load_state_dict(payload["state_dict"])
        enc.meta = dict(payload.get("meta") or {})
        return enc.eval().requires_grad_(False)


def _check_control_generator(G) -> None:
    if getattr(G, "arch", None) != "stylegan2-control":
        raise ConfigError(f"GAN-Control needs a generator trained with --control (arch stylegan2-control), "
                          f"not {getattr(G, 'arch', type(G).__name__)}")


def attribute_probabilities(clf, img: torch.Tensor, attr_idx: list[int]) -> torch.Tensor:
    """y = σ(logit) of the chosen attributes, [N, len(attr_idx)]."""
    img = to_rgb(img)
    return torch.sigmoid(clf(img).float()[:, attr_idx])


@torch.no_grad()
def sample_pairs(G, clf, num_samples: int, seed: int = 0, batch_size: int = 32) -> tuple[list[torch.Tensor],
                                                                                            torch.Tensor]:
    """{(w_i^k, y_i^k)}: the W parts [N, w_dims[k]] per subspace and the attribute probabilities [N, N_attrs]."""
    _check_control_generator(G)
    device = next(G.parameters()).device
    attr_idx = resolve_attrs(list(G.control_attrs), list(clf.attr_names))
    parts, ys = [], []
    for b, start, stop in streams.blocks(num_samples):
        z = streams.normal(seed, "control/z", start, stop, G.z_dim).to(device)
        w_parts = G.mapping.parts(z)
        with streams.seeded_global_rng(seed, "control/noise", b, device):
            img = G.synthesis(G.mapping.assemble(w_parts), noise_mode="random").float()
        parts.append([p.cpu() for p in w_parts])
        ys.append(attribute_probabilities(clf, img, attr_idx).cpu())
    return [torch.cat([p[k] for p in parts]) for k in range(len(parts[0]))], torch.cat(ys)


def fit_encoders(w_parts: list[torch.Tensor], y: torch.Tensor, attrs: list[str], steps: int = 500,
                 batch: int = 128, lr: float = 3e-3, hidden: int = 64, seed: int = 0,
                 log=None) -> ControlEncoders:
    """Least-squares fit of E_k on the pairs (y^k, w^k) for k = 1..N (w_parts may hold the rest subspace too)."""
    n = len(y)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        enc = ControlEncoders(attrs, [w_parts[k].shape[1] for k in range(len(attrs))], hidden=hidden)
    w = torch.cat([w_parts[k] for k in range(len(attrs))], dim=1)
    enc.w_mean.copy_(w.mean(0))
    enc.w_std.copy_(w.std(0).clamp_min(1e-6) if n > 1 else torch.ones_like(enc.w_std))
    target = (w - enc.w_mean) / enc.w_std
    opt = torch.optim.Adam(enc.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    t0 = time.time()
    for step in range(steps):
        idx = torch.randint(n, [min(batch, n)], generator=gen)
        loss = sum(((enc.nets[k](y[idx, k:k + 1]) - target[idx, enc._slice(k)]) ** 2).mean()
                   for k in range(len(attrs)))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if log is not None and (step % 100 == 0 or step == steps - 1):
            log(f"step {step}/{steps} loss {loss.item():.4f}")
    enc.eval().requires_grad_(False)
    with torch.no_grad():
        # Fraction of w^k's variance the attribute value explains (R², standardised units; E_k is a conditional mean).
        r2 = {a: float(1 - ((enc.nets[k](y[:, k:k + 1]) - target[:, enc._slice(k)]) ** 2).mean())
              for k, a in enumerate(attrs)}
    enc.meta = {"num_samples": n, "steps": steps, "batch": batch, "lr": lr, "seed": seed, "r2": r2,
                "y": "classifier probability sigmoid(logit)", "train_time_s": round(time.time() - t0, 2)}
    return enc


def train_encoders(G, classifiers="synthfaces-classifiers", num_samples: int = 2000, steps: int = 500,
                   seed: int = 0, device=None, hidden: int = 64, log=None) -> ControlEncoders:
    """Sample the generator, classify its images and fit E_1..E_N (see the module docstring)."""
    _check_control_generator(G)
    device = resolve_device(device)
    G = copy.deepcopy(G).eval().requires_grad_(False).to(device)
    clf = load_judge(classifiers, device)
    w_parts, y = sample_pairs(G, clf, num_samples, seed=seed)
    enc = fit_encoders(w_parts, y, list(G.control_attrs), steps=steps, hidden=hidden, seed=seed, log=log)
    enc.meta["classifiers"] = str(classifiers) if isinstance(classifiers, (str, os.PathLike)) \
        else getattr(clf, "source", type(clf).__name__)
    return enc


# ----------------------------------------------------------------------------------------------------
# Checkpoints with encoders.

def save_with_encoders(ckpt_path, out_path, encoders: ControlEncoders) -> Path:
    """Copy a native checkpoint, adding the encoders to its meta (atomically; the source is untouched)."""
    src = resolve_path(ckpt_path)
    obj = torch_load_safely(src)
    if not is_native(obj):
        raise CheckpointError(f"{src}: control encoders go into native ganeval checkpoints only")
    if obj.get("arch") != "stylegan2-control":
        raise ConfigError(f"{src}: holds a {obj.get('arch')}; GAN-Control needs one trained with --control")
    obj["meta"] = {**dict(obj.get("meta") or {}), META_KEY: encoders.to_payload()}
    out = Path(out_path)
    with atomic_write(out, suffix=".pt") as tmp:
        torch.save(obj, tmp)
    return out


def load_encoders(meta: dict) -> ControlEncoders | None:
    payload = (meta or {}).get(META_KEY)
    return ControlEncoders.from_payload(payload) if payload is not None else None


def load_control(path, device="cpu", need_encoders: bool = True):
    """(G, encoders) from a checkpoint; encoders None when absent and not needed."""
    ckpt = load_checkpoint(path, device=device)
    G = ckpt.generator
    G.checkpoint_path = ckpt.path
    _check_control_generator(G)
    enc = load_encoders(ckpt.meta)
    if enc is None and need_encoders:
        raise ConfigError(f"{path}: no control encoders (run `ganeval control train {path}` first)")
    return G, (enc.to(device) if enc is not None else None)


# ----------------------------------------------------------------------------------------------------
# Controlled generation.

def parse_set(spec: str | dict | None, G) -> dict[int, float]:
    """'Smiling=1,Eyeglasses=0' -> {subspace k: y^k}; names in either spelling, values in [0, 1]."""
    if not spec:
        return {}
    items = spec.items() if isinstance(spec, dict) else \
        [p.split("=", 1) if "=" in p else (p, None) for p in (s.strip() for s in spec.split(",")) if p]
    out = {}
    for name, value in items:
        name = str(name).strip()
        if value is None:
            raise ConfigError(f"--set: expected NAME=VALUE, got '{name}'")
        try:
            k = G.attr_index(name)
        except KeyError:
            known = ", ".join(G.control_attrs)
            what = "not a controlled attribute of this generator" if celeba_to_nvidia(name) in NVIDIA_ATTRS \
                else "unknown attribute"
            raise ConfigError(f"--set: {what} '{name}' (controlled: {known})") from None
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"--set {name}: value must be a number in [0, 1], got '{value}'") from None
        if not 0 <= v <= 1:
            raise ConfigError(f"--set {name}: value must be in [0, 1] (the attribute's probability), got {v}")
        out[k] = v
    return out


def controlled_ws(G, encoders: ControlEncoders, z: torch.Tensor, values: dict[int, float],
                  truncation_psi: float = 1.0, truncation_cutoff: int | None = None) -> torch.Tensor:
    """ws with w^k = E_k(y^k) for every k in `values`; the other w^k come from z's sub-vectors."""
    parts = G.mapping.parts(z)
    for k, v in values.items():
        parts[k] = encoders(k, torch.full([len(z)], float(v), device=z.device)).to(parts[k].dtype)
    return G.mapping.assemble(parts, truncation_psi, truncation_cutoff)


@torch.no_grad()
def generate_controlled(G, encoders: ControlEncoders, seeds: list[int], values: dict[int, float],
                        truncation_psi: float = 1.0, noise_mode: str = "const", batch_size: int = 16) -> torch.Tensor:
    """uint8 images [len(seeds), C, H, W]; z from each seed as `ganeval generate` (unset sub-vectors sampled)."""
    device = next(G.parameters()).device
    z = z_from_seeds(seeds, G.z_dim).to(device)
    out = []
    for i in range(0, len(seeds), batch_size):
        ws = controlled_ws(G, encoders, z[i:i + batch_size], values, truncation_psi)
        out.append(to_uint8(G.synthesis(ws, noise_mode=noise_mode)).cpu())
    return torch.cat(out)
