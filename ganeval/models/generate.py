"""Image grids from a generator: uncurated samples and StyleGAN's style-mixing figure."""

from __future__ import annotations

import torch

from ..errors import NonFiniteError
from ..images import to_uint8


def check_finite(img: torch.Tensor, G, ids, what: str = "sample") -> torch.Tensor:
    """`img` unchanged when every value is finite; else one NonFiniteError line naming the checkpoint and the
    first bad image by its id (`ids[k]`: its seed or sample index). Checked before uint8 conversion, which
    would silently turn NaN into black."""
    bad = ~torch.isfinite(img.reshape(len(img), -1)).all(dim=1)
    if bool(bad.any()):
        where = getattr(G, "checkpoint_path", None) or f"this {getattr(G, 'arch', '')} generator".replace("  ", " ")
        first = ids[int(bad.nonzero()[0, 0])]
        raise NonFiniteError(f"{where}: the generator output NaN or Inf for {what} {first} "
                             f"(damaged weights or a non-finite option)")
    return img


def z_from_seeds(seeds: list[int], z_dim: int) -> torch.Tensor:
    """One z per seed, as NVlabs' generate.py: each seed's z independent of the others."""
    return torch.stack([torch.randn([z_dim], generator=torch.Generator().manual_seed(int(s))) for s in seeds])


@torch.no_grad()
def generate_images(G, seeds: list[int], psi: float = 1.0, truncation_cutoff: int | None = None,
                    noise_mode: str = "const", batch_size: int = 16, device="cpu") -> torch.Tensor:
    """uint8 NCHW images, one per seed."""
    out = []
    z = z_from_seeds(seeds, G.z_dim)
    for i in range(0, len(seeds), batch_size):
        img = G(z[i:i + batch_size].to(device), truncation_psi=psi, truncation_cutoff=truncation_cutoff,
                noise_mode=noise_mode)
        out.append(to_uint8(check_finite(img, G, seeds[i:i + batch_size], "seed")).cpu())
    return torch.cat(out)


@torch.no_grad()
def style_mixing_grid(G, row_seeds: list[int], col_seeds: list[int], crossover: int | None = None,
                      psi: float = 1.0, noise_mode: str = "const", device="cpu") -> tuple[torch.Tensor, int]:
    """StyleGAN Fig. 3 layout: first row = column sources, first column = row sources; cell (i, j)
    takes the layers before `crossover` from row seed i and the rest from column seed j.
    -> (uint8 images in row-major order incl. a blank corner, images per row)."""
    crossover = G.num_ws // 2 if crossover is None else crossover
    w_rows = G.mapping(z_from_seeds(row_seeds, G.z_dim).to(device), truncation_psi=psi)
    w_cols = G.mapping(z_from_seeds(col_seeds, G.z_dim).to(device), truncation_psi=psi)
    img_rows = to_uint8(G.synthesis(w_rows, noise_mode=noise_mode)).cpu()
    img_cols = to_uint8(G.synthesis(w_cols, noise_mode=noise_mode)).cpu()
    cells = [torch.zeros_like(img_rows[0])] + list(img_cols)
    for i in range(len(row_seeds)):
        mixed = G.style_mix(w_rows[i:i + 1].expand(len(col_seeds), -1, -1), w_cols, crossover)
        cells += [img_rows[i]] + list(to_uint8(G.synthesis(mixed, noise_mode=noise_mode)).cpu())
    return torch.stack(cells), len(col_seeds) + 1
