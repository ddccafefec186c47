"""Datasets: image folders, zips, CelebA-format data and the synthfaces benchmark, behind one interface.

    ds = open_dataset("synthfaces:70000?res=64&seed=0", split="train", xflip=True)
    img, labels = ds[0]        # uint8 [3, 64, 64], int64 [40] (NVIDIA order)

See `ganeval.data.dataset` for the contract, `ganeval.data.synthfaces` for the benchmark and
`ganeval.data.celeba` for the on-disk format.
"""

from .celeba import write_celeba
from .dataset import (
    CelebADataset,
    FolderDataset,
    ImageDataset,
    SynthFacesDataset,
    ZipDataset,
    open_dataset,
)
from .synthfaces import SynthFacesSpec, export_synthfaces, label_statistics, parse_spec, render, sample_labels

__all__ = [
    "CelebADataset", "FolderDataset", "ImageDataset", "SynthFacesDataset", "SynthFacesSpec", "ZipDataset",
    "export_synthfaces", "label_statistics", "open_dataset", "parse_spec", "render", "sample_labels",
    "write_celeba",
]
