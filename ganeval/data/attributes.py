"""The 40 CelebA attributes in the two orders that matter.

NVIDIA's linear-separability classifiers are numbered 00-male ... 39-wearing-necktie
(`celebahq-classifier-NN-name.pkl`); CelebA's `list_attr_celeba.txt` lists the same 40 attributes
alphabetically. Every classifier in ganeval outputs logits in NVIDIA's order.
"""

from __future__ import annotations

from ..errors import ConfigError

# NVIDIA's classifier order (index = classifier number).
NVIDIA_ATTRS = [
    "male", "smiling", "attractive", "wavy-hair", "young", "5-o-clock-shadow", "arched-eyebrows",
    "bags-under-eyes", "bald", "bangs", "big-lips", "big-nose", "black-hair", "blond-hair", "blurry",
    "brown-hair", "bushy-eyebrows", "chubby", "double-chin", "eyeglasses", "goatee", "gray-hair",
    "heavy-makeup", "high-cheekbones", "mouth-slightly-open", "mustache", "narrow-eyes", "no-beard",
    "oval-face", "pale-skin", "pointy-nose", "receding-hairline", "rosy-cheeks", "sideburns",
    "straight-hair", "wearing-earrings", "wearing-hat", "wearing-lipstick", "wearing-necklace",
    "wearing-necktie",
]

# CelebA's column order in list_attr_celeba.txt.
CELEBA_ATTRS = [
    "5_o_Clock_Shadow", "Arched_Eyebrows", "Attractive", "Bags_Under_Eyes", "Bald", "Bangs", "Big_Lips",
    "Big_Nose", "Black_Hair", "Blond_Hair", "Blurry", "Brown_Hair", "Bushy_Eyebrows", "Chubby",
    "Double_Chin", "Eyeglasses", "Goatee", "Gray_Hair", "Heavy_Makeup", "High_Cheekbones", "Male",
    "Mouth_Slightly_Open", "Mustache", "Narrow_Eyes", "No_Beard", "Oval_Face", "Pale_Skin", "Pointy_Nose",
    "Receding_Hairline", "Rosy_Cheeks", "Sideburns", "Smiling", "Straight_Hair", "Wavy_Hair",
    "Wearing_Earrings", "Wearing_Hat", "Wearing_Lipstick", "Wearing_Necklace", "Wearing_Necktie", "Young",
]


def celeba_to_nvidia(name: str) -> str:
    """'5_o_Clock_Shadow' -> '5-o-clock-shadow'."""
    return name.lower().replace("_", "-")


def nvidia_to_celeba(name: str) -> str:
    return CELEBA_ATTRS[[celeba_to_nvidia(c) for c in CELEBA_ATTRS].index(name)]


# Permutation: column j of NVIDIA order = column CELEBA_TO_NVIDIA[j] of CelebA order.
CELEBA_TO_NVIDIA = [[celeba_to_nvidia(c) for c in CELEBA_ATTRS].index(n) for n in NVIDIA_ATTRS]


def resolve_attrs(spec: str | list | None, names: list[str] | None = None) -> list[int]:
    """Resolve 'all', a comma list of names (either spelling) or indices into NVIDIA-order indices."""
    names = names or NVIDIA_ATTRS
    if spec is None or spec == "all":
        return list(range(len(names)))
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    out = []
    for item in items:
        item = str(item).strip()
        if not item:
            continue
        if item.isdigit():
            idx = int(item)
            if not 0 <= idx < len(names):
                raise ConfigError(f"attribute index {idx} out of range 0..{len(names) - 1}")
        else:
            key = celeba_to_nvidia(item)
            if key not in names:
                raise ConfigError(f"unknown attribute '{item}' (known: {', '.join(names)})")
            idx = names.index(key)
        out.append(idx)
    if not out:
        raise ConfigError(f"no attributes in '{spec}'")
    return out
