"""Features of generated images, streamed into FeatureStats (the generated side of FID, KID, FD and the metrics
that read features of generated images), and the one generation pass several of them share.

Block b (16 samples) uses z from stream (seed, 'gen/z', b) and per-sample noise from the global RNG
seeded with (seed, 'gen/noise', b) (sampling.py); images are quantised as NVIDIA does
(``ganeval.images.to_uint8``) and never accumulate: only features leave a chunk.

Sharing. Metrics that look at the same images — same generator, sample count, seed, psi, truncation cutoff (the
noise mode is always per-sample random here) — need those images only once. Inside
`share_generation(G, plan, ...)` (set up by `ganeval.evaluate`, `truncation_sweep` and `compare` from their preset
list) the first `generated_features` call of a planned group generates every block once and runs every feature
net the group needs on it; each metric then reads its own net's features, chunk by chunk in the same chunk order
and with the same feature-net batches as when it runs alone, so its number is the same bit for bit (tested).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import dataclass, field

import torch

from ..features.registry import canonical, entry, extract, load_feature_net
from ..images import to_uint8
from ..models.generate import check_finite
from . import sampling as streams
from .moments import FeatureStats
from .reference import reference_stats
from .runner import array_hash, content_hash, run_chunks, sub_state


def _compute(G, nets: dict, seed: int, batch_size: int, device, truncation_psi, truncation_cutoff):
    """The chunk function of a generation pass: every block generated once, every net in `nets` ({name: net}) run
    on batches of `batch_size` images -> {name: features [n, D]} (float32)."""

    def compute(blocks, tick) -> dict:
        feats = {name: [] for name in nets}
        pending = []

        # A net whose features follow from another's in the pass (Inception's logits from its pool features)
        # takes them from there instead of running the network twice.
        derived = {name: getattr(net, "derived_from", None) for name, net in nets.items()}
        derived = {name: parent for name, parent in derived.items() if parent in nets}

        def flush():
            if pending:
                img = torch.cat(pending)
                out = {name: extract(net, img) for name, net in nets.items() if name not in derived}
                out.update({name: nets[name].derive(out[parent]) for name, parent in derived.items()})
                for name in nets:
                    feats[name].append(out[name].cpu())
                pending.clear()

        for b, start, stop in blocks:
            z = streams.normal(seed, "gen/z", start, stop, G.z_dim).to(device)
            ws = G.mapping(z, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff)
            with streams.seeded_global_rng(seed, "gen/noise", b, device):
                img = G.synthesis(ws, noise_mode="random")
            pending.append(to_uint8(check_finite(img, G, range(start, stop))))
            if sum(p.shape[0] for p in pending) >= batch_size:
                flush()
            tick(stop - start)
        flush()
        return {name: torch.cat(f).numpy() for name, f in feats.items()}

    return compute


@dataclass
class _Group:
    """One planned generation pass: its feature nets and, once run, every chunk's features."""
    nets: tuple[str, ...]
    chunks: list | None = None          # [(blocks, {net: features})] in chunk order
    used: set = field(default_factory=set)


@dataclass
class _Sharing:
    generator: str                      # content hash of the generator the plan is for
    seed: int
    batch_size: int
    truncation_psi: float
    truncation_cutoff: int | None
    state_dir: str | None
    progress: bool | None
    groups: dict = field(default_factory=dict)   # num_samples -> _Group


_ACTIVE: list[_Sharing] = []


@contextlib.contextmanager
def share_generation(G, plan: dict[int, list[str]], *, seed: int, batch_size: int | None,
                     truncation_psi: float = 1.0, truncation_cutoff: int | None = None, state_dir=None,
                     progress: bool | None = None):
    """While active, `generated_features` calls on G's images share one pass per sample count.

    `plan`: {num_samples: feature nets}, the net of every metric of each group (a group of one metric is left to
    run alone). `state_dir`: the shared passes keep their chunks in state_dir/generated-<nets>-<n>/ and resume
    from them. The features are held in memory until the context ends: num_samples x (sum of the nets'
    dimensions) x 4 bytes, 1.5 GB for 50,000 images through Inception, NVIDIA's VGG16, DINOv2 and CLIP.
    """
    groups = {int(n): _Group(tuple(sorted({canonical(x) for x in nets}))) for n, nets in plan.items()
              if len(nets) > 1}
    if not groups:
        yield None
        return
    sharing = _Sharing(content_hash(G), int(seed), max(1, int(batch_size or 64)), truncation_psi, truncation_cutoff,
                       None if state_dir is None else str(state_dir), progress, groups)
    _ACTIVE.append(sharing)
    try:
        yield sharing
    finally:
        _ACTIVE.remove(sharing)


def _shared_chunks(G, num_samples, feature_net, seed, batch_size, device, truncation_psi, truncation_cutoff):
    """The chunks of `feature_net`'s features from an active shared pass that covers this call, else None."""
    for s in _ACTIVE:
        group = s.groups.get(int(num_samples))
        if (group is None or feature_net not in group.nets or s.seed != seed or s.batch_size != batch_size
                or s.truncation_psi != truncation_psi or s.truncation_cutoff != truncation_cutoff
                or content_hash(G) != s.generator):
            continue
        if group.chunks is None:
            nets = {name: load_feature_net(name, device) for name in group.nets}
            key = hashlib.sha256(json.dumps(group.nets).encode()).hexdigest()[:8]
            settings = dict(feature_nets=list(group.nets), seed=seed, truncation_psi=truncation_psi,
                            truncation_cutoff=truncation_cutoff, device=torch.device(device).type)
            compute = _compute(G, nets, seed, batch_size, device, truncation_psi, truncation_cutoff)
            with torch.no_grad():
                group.chunks = list(run_chunks(
                    "generated-features-shared", num_samples, compute, settings=settings, modules=dict(generator=G),
                    state_dir=sub_state(s.state_dir, f"generated-{key}-{num_samples}"), progress=s.progress,
                    desc=f"generated ({', '.join(group.nets)})",
                    bytes_per_sample=4 * 4096 * len(group.nets)))
        group.used.add(feature_net)
        return [(blocks, payload[feature_net]) for blocks, payload in group.chunks]
    return None


def generated_features(G, num_samples: int, feature_net: str, seed: int, batch_size: int, device,
                       truncation_psi: float = 1.0, truncation_cutoff: int | None = None,
                       capture_all: bool = False, num_replicates: int = 0,
                       progress: bool | None = None, state_dir=None, settings: dict | None = None) -> FeatureStats:
    """Features of `num_samples` images of G (already prepared on `device`), as streaming statistics.

    Block b (16 samples) uses z from stream (seed, 'gen/z', b) and noise from the global RNG seeded with
    (seed, 'gen/noise', b); the synthesis runs per block, the feature net per `batch_size` images.
    Features come back chunk by chunk in chunk order (whichever process computed them) and are added
    to the float64 sums one chunk at a time, so the sums are bit-identical for any batch size and any
    number of processes; images never accumulate. `state_dir` stores each chunk's features
    (`settings`: what else identifies the run). Inside `share_generation` the features come from the shared
    pass when it covers this call (the same numbers: same chunks, same batches).
    """
    feature_net = canonical(feature_net)
    batch_size = max(1, int(batch_size or 64))
    shared = _shared_chunks(G, num_samples, feature_net, seed, batch_size, device, truncation_psi, truncation_cutoff)
    if shared is None:
        settings = dict(settings or {}, feature_net=feature_net, seed=seed, truncation_psi=truncation_psi,
                        truncation_cutoff=truncation_cutoff, device=torch.device(device).type)
        one = _compute(G, {feature_net: load_feature_net(feature_net, device)}, seed, batch_size, device,
                       truncation_psi, truncation_cutoff)

        def compute(blocks, tick) -> dict:
            return dict(features=one(blocks, tick)[feature_net])   # the chunk files' key since format 1

        chunks = ((blocks, payload["features"]) for blocks, payload in run_chunks(
            "generated-features", num_samples, compute, settings=settings, modules=dict(generator=G),
            state_dir=state_dir, progress=progress, desc=f"generated ({feature_net})"))
    else:
        chunks = iter(shared)

    fs = FeatureStats(capture_mean_cov=True, capture_all=capture_all, num_replicates=num_replicates)
    with torch.no_grad():
        for blocks, features in chunks:
            weights = None
            if num_replicates:
                # Poisson(1) bootstrap weights per block, from the seed: the same wherever the block ran.
                weights = torch.cat([torch.poisson(torch.ones(num_replicates, streams.BLOCK_SIZE),
                                                   generator=streams.block_generator(seed, "fid/bootstrap", b))
                                     [:, :stop - start] for b, start, stop in blocks], dim=1)
            fs.append(torch.from_numpy(features).to(device), weights)
    return fs


def real_and_generated(G, reference, feature_net: str, num_samples: int, num_real: int | None, opts, *,
                       xflip: bool = False, cache: bool = True, features_dtype: str = "float16",
                       settings: dict | None = None):
    """(reference statistics with the real features kept, generated features [num_samples, D] float32, G's
    device) for the metrics that compare the two sets sample by sample (precision/recall, density/coverage).
    G is already prepared; the generated side shares a planned pass (`share_generation`) like FID's."""
    device = next((t.device for t in G.parameters()), torch.device("cpu"))
    batch_size = opts.batch(64)
    ref = reference_stats(reference, G.img_resolution, feature_net, num_real, xflip, capture_all=True,
                          batch_size=batch_size, device=device, cache=cache, progress=opts.progress,
                          state_dir=sub_state(opts.state_dir, "reference"), features_dtype=features_dtype)
    fs = generated_features(G, num_samples, feature_net, opts.seed, batch_size, device, opts.truncation_psi,
                            opts.truncation_cutoff, capture_all=True, progress=opts.progress,
                            state_dir=sub_state(opts.state_dir, "generated"),
                            settings=dict(settings or {}, num_real=ref.num,
                                          reference=ref.meta.get("key") or array_hash(ref.features)))
    return ref, fs.get_all(), device


def net_suffixed(name: str, feature_net: str, protocol_net: str) -> str:
    """`name` as it is with the protocol's feature net, else with the net's short label appended
    ('pr50k3_full_synth'), so a number measured in another feature space is never mistaken for the paper's."""
    if canonical(feature_net) == canonical(protocol_net):
        return name
    return f"{name}_{entry(feature_net, 'features').short or canonical(feature_net)}"
