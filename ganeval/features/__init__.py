"""Networks that turn images into numbers, and the registry of their external weight files.

    weights.py       every external weight file: name, URL, sha256, where it is looked for
    inception.py     Inception-v3 pool features for FID/KID, unbiased logits for IS (torch-fidelity's port)
    dinov2.py        DINOv2 ViT-L/14 CLS features for FD_DINOv2 (timm; Meta's state dict)
    clip.py          CLIP ViT-B/32 image embeddings for clean-fid's CLIP-FID (open_clip; OpenAI's weights)
    vgg16.py         VGG16 fc7 features for precision/recall (NVIDIA's detector, from torchvision's weights)
    resize.py        the owners' resizes (PIL bicubic, torch antialiased bicubic, clean-fid's resize and crop)
    lpips.py         LPIPS-VGG16 v0.1 for PPL (the `lpips` package; local VGG16 trunk)
    attributes.py    the 40 attribute classifiers for linear separability
    synth.py         the synthetic benchmark's feature nets (synth-lpips, synth-fd), no external weights

Nothing is imported here, so `import ganeval` stays light.
"""
