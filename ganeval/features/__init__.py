"""Networks that turn images into numbers, and the registry of their external weight files.

    weights.py       every external weight file: name, URL, sha256, where it is looked for
    inception.py     Inception-v3 pool features for FID/KID (torch-fidelity's port; local weights only)
    lpips.py         LPIPS-VGG16 v0.1 for PPL (the `lpips` package; local VGG16 trunk)
    attributes.py    the 40 attribute classifiers for linear separability
    synth.py         the synthetic benchmark's feature nets (synth-lpips, synth-fd), no external weights

Nothing is imported here, so `import ganeval` stays light.
"""
