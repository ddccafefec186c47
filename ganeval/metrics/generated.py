"""Features of generated images, streamed into FeatureStats (the generated side of FID, KID and FD).

Block b (16 samples) uses z from stream (seed, 'gen/z', b) and per-sample noise from the global RNG
seeded with (seed, 'gen/noise', b) (sampling.py); images are quantised as NVIDIA does
(``ganeval.images.to_uint8``) and never accumulate: only features leave a chunk.
"""

from __future__ import annotations

import torch

from ..features.registry import extract, load_feature_net
from ..images import to_uint8
from ..models.generate import check_finite
from . import sampling as streams
from .moments import FeatureStats
from .runner import run_chunks


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
    (`settings`: what else identifies the run).
    """
    net = load_feature_net(feature_net, device)
    batch_size = max(1, int(batch_size or 64))

    def compute(blocks, tick) -> dict:
        feats, pending = [], []

        def flush():
            if pending:
                feats.append(extract(net, torch.cat(pending)).cpu())
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
        return dict(features=torch.cat(feats).numpy())

    fs = FeatureStats(capture_mean_cov=True, capture_all=capture_all, num_replicates=num_replicates)
    settings = dict(settings or {}, feature_net=feature_net, seed=seed, truncation_psi=truncation_psi,
                    truncation_cutoff=truncation_cutoff, device=torch.device(device).type)
    with torch.no_grad():
        for blocks, payload in run_chunks("generated-features", num_samples, compute, settings=settings,
                                          modules=dict(generator=G), state_dir=state_dir, progress=progress,
                                          desc=f"generated ({feature_net})"):
            weights = None
            if num_replicates:
                # Poisson(1) bootstrap weights per block, from the seed: the same wherever the block ran.
                weights = torch.cat([torch.poisson(torch.ones(num_replicates, streams.BLOCK_SIZE),
                                                   generator=streams.block_generator(seed, "fid/bootstrap", b))
                                     [:, :stop - start] for b, start, stop in blocks], dim=1)
            fs.append(torch.from_numpy(payload["features"]).to(device), weights)
    return fs
