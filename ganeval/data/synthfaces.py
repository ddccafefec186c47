"""synthfaces: procedurally drawn faces whose 40 CelebA attributes are known exactly.

Linear separability needs 40 attribute classifiers and FID needs a reference set; neither real
faces nor pretrained classifiers can be downloaded here. synthfaces is ganeval's own ground-truth
benchmark: image `i` of seed `s` is a deterministic function of `(i, s)`, drawn with soft
signed-distance edges (anti-aliased at any resolution) and labelled with all 40 CelebA attributes.
The same pipeline (datasets, classifiers, metrics) serves a real CelebA copy.

Rendering
---------
`render(indices, seed, resolution)` -> uint8 images [N, 3, R, R] and labels [N, 40] (NVIDIA order,
see `ganeval.data.attributes`). R is a power of two in 32..256 (64 by default). Geometry lives in face
units (face half-width = 1, u to the right, v downwards) and every shape is a signed distance
whose coverage is `clamp(0.5 - d / pixel, 0, 1)`, so all resolutions draw the same picture.

Determinism: each random quantity is a counter-based hash of (seed, index, quantity name), and
the raster uses only exactly rounded float32 operations (+ - * / sqrt min max floor) on fixed,
resolution-dependent pixel windows. An image is therefore byte-identical whatever batch it is
rendered in, and on any number of threads. `RENDERER_VERSION` enters every dataset identity and
changes whenever a picture would change.

Nuisance variation: rotation (about +-8 degrees), scale (+-6 %), translation (+-2.5 % of the image),
skin tone (continuous, light to dark), hair shade, eye colour, clothing, background (two-colour
gradient and a blob), lighting (brightness, a linear light gradient, white balance).

How each attribute is drawn (what a classifier has to see)
-----------------------------------------------------------
* Male: broad neck and shoulders (female: narrow ones).
* Young: smooth skin; not young = nasolabial folds, forehead lines and crow's feet.
* Attractive: clear skin; not attractive = six dark blemishes on the cheeks.
* Smiling: a wide mouth with the corners turned up.
* Mouth_Slightly_Open: a dark gap between the lips (teeth show when also smiling).
* High_Cheekbones: a dark slanted shadow under each cheekbone.
* Narrow_Eyes: the eye opening is a third of the normal height.
* Arched_Eyebrows / Bushy_Eyebrows: strongly arched brows (else nearly flat) / brows nearly three
  times as thick.
* Bags_Under_Eyes: a purple-brown crescent under each eye.
* Big_Nose / Pointy_Nose: the nose 1.38x larger / a dark, sharp triangular tip (else a light round
  tip with two nostrils).
* Big_Lips: lips 2.5x as full (natural lips are reddened skin, visible on any skin tone).
* Heavy_Makeup: coloured eye shadow and thick eyeliner. Wearing_Lipstick: saturated red, pink,
  plum or coral lips. Rosy_Cheeks: pink blush on both cheeks.
* Pale_Skin: a near-white, unsaturated skin tone (separate from the light end of the normal range).
* Chubby / Oval_Face: the face 1.25x wider / a taller face with a tapered chin (else a squarer jaw).
* Double_Chin: a skin bulge with a crease under the chin.
* Black_Hair, Blond_Hair, Brown_Hair, Gray_Hair: the hair colour; other faces have ginger, auburn
  or dyed hair.
* Straight_Hair / Wavy_Hair: straight streaks / wavy streaks and a wavy outline (else plain hair).
* Bald: a bare shining scalp, hair only above the ears. Receding_Hairline: the hairline recedes at
  the temples (M shape). Bangs: hair covers the forehead down to the brows.
* Wearing_Hat: a cap or beanie. Eyeglasses: frames, bridge and temples. Wearing_Earrings: a gold or
  silver stud, hoop or drop under each ear. Wearing_Necklace: a chain with a pendant.
  Wearing_Necktie: a jacket open on a white collar and a tie.
* Goatee / Mustache / Sideburns: hair on the chin / over the top of the upper lip / strips in front
  of the ears. 5_o_Clock_Shadow: grey stubble over the lower face. No_Beard: none of goatee,
  mustache or the (unlabelled) jaw-line beard.
* Blurry: the whole picture is blurred (sigma about 1.4 px at 64 px).

Intended label frequencies (200,000 faces of seed 0; CelebA's in brackets; `INTENDED_FREQUENCY`)
------------------------------------------------------------------------------------------------
Male .42 (.42)  Smiling .48 (.48)  Attractive .53 (.51)  Wavy_Hair .31 (.32)  Young .78 (.77)
5_o_Clock_Shadow .10 (.11)  Arched_Eyebrows .27 (.27)  Bags_Under_Eyes .22 (.20)  Bald .02 (.02)
Bangs .14 (.15)  Big_Lips .24 (.24)  Big_Nose .25 (.23)  Black_Hair .24 (.24)
Blond_Hair .15 (.15)  Blurry .05 (.05)  Brown_Hair .20 (.20)  Bushy_Eyebrows .14 (.14)
Chubby .06 (.06)  Double_Chin .05 (.05)  Eyeglasses .07 (.07)  Goatee .06 (.06)
Gray_Hair .04 (.04)  Heavy_Makeup .38 (.39)  High_Cheekbones .45 (.46)
Mouth_Slightly_Open .47 (.48)  Mustache .04 (.04)  Narrow_Eyes .12 (.12)  No_Beard .86 (.83)
Oval_Face .28 (.28)  Pale_Skin .04 (.04)  Pointy_Nose .28 (.28)  Receding_Hairline .08 (.08)
Rosy_Cheeks .07 (.07)  Sideburns .07 (.06)  Straight_Hair .20 (.21)  Wearing_Earrings .18 (.19)
Wearing_Hat .05 (.05)  Wearing_Lipstick .48 (.47)  Wearing_Necklace .12 (.12)
Wearing_Necktie .07 (.07)

Correlation structure (CelebA-like, so that a latent space has something to untangle)
-------------------------------------------------------------------------------------
* Male drives most attributes: beards (Goatee, Mustache, jaw beard, 5_o_Clock_Shadow, Sideburns)
  and Wearing_Necktie occur (almost) only for men; Heavy_Makeup, Wearing_Lipstick, Wearing_Earrings,
  Wearing_Necklace, Rosy_Cheeks, Arched_Eyebrows, Bangs, Pale_Skin, long hair and Oval_Face mostly
  for women; Bald, Receding_Hairline, Big_Nose, Bushy_Eyebrows, Chubby, Bags_Under_Eyes lean male.
* Young lowers Gray_Hair (P .15 old vs .005 young), Bald, Receding_Hairline, Chubby, Double_Chin,
  Eyeglasses and Bags_Under_Eyes, and raises Heavy_Makeup and Attractive.
* Attractive is highest for young women with make-up (.85) and lowest for old men (.10); Chubby
  halves it.
* Smiling raises High_Cheekbones (.75 vs .17), Mouth_Slightly_Open (.72 vs .25) and Narrow_Eyes.
* Heavy_Makeup implies Wearing_Lipstick (.97); Chubby raises Double_Chin (.45) and excludes Oval_Face;
  Goatee raises Mustache (.45 vs .03) and the jaw beard.
* Exclusive by construction: the four hair colours; Straight vs Wavy; Bald excludes Bangs, Receding,
  hat and hair texture; a hat excludes Bald and Receding; No_Beard = not (Goatee or Mustache or jaw
  beard).
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import math
import re
import zlib
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from ..errors import ConfigError
from .attributes import NVIDIA_ATTRS, nvidia_to_celeba
from .celeba import synthetic_partition, write_celeba

RENDERER_VERSION = 1
DEFAULT_RESOLUTION = 64
DEFAULT_COUNT = 70_000
RESOLUTIONS = (32, 64, 128, 256)

# Pose ranges (image coordinates span [-1, 1]); the pixel windows below are derived from them.
_SCALE = 0.50          # face half-width in image coordinates
_SCALE_JITTER = 0.06
_CENTER_Y = -0.14
_SHIFT = 0.05          # +- translation in image coordinates (= 2.5 % of the image)
_TAN_HALF = 0.07       # +- tan(theta / 2): about +-8 degrees of rotation


# ---------------------------------------------------------------------------------------------
# Counter-based randomness: every quantity is a hash of (seed, index, name).
# ---------------------------------------------------------------------------------------------

_U64 = np.uint64


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser on a uint64 array (wrapping arithmetic)."""
    x = x + _U64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> _U64(30))) * _U64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> _U64(27))) * _U64(0x94D049BB133111EB)
    return x ^ (x >> _U64(31))


class _Random:
    """Uniform numbers in [0, 1) for a set of faces; `u(name)` is the same for a face in any batch."""

    def __init__(self, indices: np.ndarray, seed: int):
        with np.errstate(over="ignore"):
            seed_key = _splitmix64(np.array([seed & 0xFFFFFFFFFFFFFFFF], dtype=np.uint64))
            self._base = _splitmix64(indices.astype(np.uint64) ^ seed_key)

    def u(self, name: str) -> np.ndarray:
        key = np.array([zlib.crc32(name.encode())], dtype=np.uint64)
        with np.errstate(over="ignore"):
            h = _splitmix64(self._base ^ _splitmix64(key))
        return (h >> _U64(11)).astype(np.float64) * (1.0 / (1 << 53))

    def uniform(self, name: str, lo: float, hi: float) -> np.ndarray:
        return lo + (hi - lo) * self.u(name)

    def bern(self, name: str, p) -> np.ndarray:
        return self.u(name) < p

    def choice(self, name: str, n: int) -> np.ndarray:
        return np.minimum((self.u(name) * n).astype(np.int64), n - 1)


# ---------------------------------------------------------------------------------------------
# Attributes and their correlations.
# ---------------------------------------------------------------------------------------------

def _sample_attributes(r: _Random) -> dict[str, np.ndarray]:
    """All 40 labels (NVIDIA names) plus hidden switches, as boolean arrays."""
    w = np.where
    a: dict[str, np.ndarray] = {}
    male = a["male"] = r.bern("male", 0.42)
    young = a["young"] = r.bern("young", w(male, 0.67, 0.85))
    old = ~young

    # Head hair: baldness, hats, hairlines.
    bald = a["bald"] = male & r.bern("bald", w(old, 0.12, 0.02))
    hat = a["wearing-hat"] = ~bald & r.bern("hat", 0.05)
    a["receding-hairline"] = ~bald & ~hat & r.bern(
        "receding", w(male, w(old, 0.35, 0.10), w(old, 0.06, 0.01)))
    a["bangs"] = ~bald & ~a["receding-hairline"] & r.bern("bangs", w(male, 0.06, 0.22))
    long_hair = ~bald & r.bern("long-hair", w(male, 0.08, 0.85))

    # Hair colour: one category per face (gray mostly for the old; 'other' = red, auburn, dyed).
    gray = r.bern("gray", w(old, 0.15, 0.005))
    hc = r.u("hair-colour")
    p_blond = w(male, 0.07, 0.22)
    a["gray-hair"] = gray
    a["blond-hair"] = ~gray & (hc < p_blond)
    a["black-hair"] = ~gray & (hc >= p_blond) & (hc < p_blond + 0.25)
    a["brown-hair"] = ~gray & (hc >= p_blond + 0.25) & (hc < p_blond + 0.46)

    # Hair texture: only visible where there is hair to see.
    ht = r.u("hair-texture")
    visible = ~bald & (long_hair | ~hat)
    p_wavy = w(male, 0.18, 0.42)
    a["wavy-hair"] = visible & (ht < p_wavy)
    a["straight-hair"] = visible & (ht >= p_wavy) & (ht < p_wavy + w(male, 0.20, 0.22))

    # Expression.
    smiling = a["smiling"] = r.bern("smiling", w(male, 0.42, 0.52))
    a["mouth-slightly-open"] = r.bern("mouth-open", w(smiling, 0.72, 0.25))
    a["high-cheekbones"] = r.bern("cheekbones", w(smiling, 0.75, 0.17))
    a["narrow-eyes"] = r.bern("narrow-eyes", w(smiling, 0.17, 0.07))

    # Make-up and accessories.
    makeup = a["heavy-makeup"] = ~male & r.bern("makeup", w(young, 0.70, 0.45))
    a["wearing-lipstick"] = ~male & r.bern("lipstick", w(makeup, 0.97, 0.55))
    a["rosy-cheeks"] = r.bern("rosy", w(male, 0.01, w(makeup, 0.13, 0.07)))
    a["wearing-earrings"] = r.bern("earrings", w(male, 0.01, 0.31))
    a["wearing-necklace"] = r.bern("necklace", w(male, 0.01, 0.20))
    a["wearing-necktie"] = r.bern("necktie", w(male, 0.16, 0.003))
    a["eyeglasses"] = r.bern("glasses", w(old, 0.18, 0.03) + 0.02 * male)

    # Face shape and features.
    a["arched-eyebrows"] = r.bern("arched", w(male, 0.06, w(makeup, 0.52, 0.25)))
    a["bushy-eyebrows"] = r.bern("bushy", w(male, 0.26, 0.06))
    chubby = a["chubby"] = r.bern("chubby", w(male, w(old, 0.20, 0.06), w(old, 0.08, 0.02)))
    a["double-chin"] = r.bern("double-chin", w(chubby, 0.45, w(old, 0.06, 0.01)))
    a["oval-face"] = ~chubby & r.bern("oval", w(male, 0.17, 0.38))
    a["bags-under-eyes"] = r.bern("bags", w(old, 0.45, 0.13) + 0.05 * male)
    big_nose = a["big-nose"] = r.bern("big-nose", w(male, 0.38, 0.12) + 0.10 * old)
    a["pointy-nose"] = r.bern("pointy-nose", w(big_nose, 0.12, w(male, 0.22, 0.38)))
    a["big-lips"] = r.bern("big-lips", w(male, 0.17, 0.29))
    a["pale-skin"] = r.bern("pale", w(male, 0.015, 0.06))

    # Facial hair (men only).
    goatee = a["goatee"] = male & r.bern("goatee", w(young, 0.12, 0.20))
    mustache = a["mustache"] = male & r.bern("mustache", w(goatee, 0.45, 0.03))
    jaw_beard = male & r.bern("jaw-beard", w(goatee, 0.40, 0.20))
    a["no-beard"] = ~(goatee | mustache | jaw_beard)
    a["5-o-clock-shadow"] = male & ~jaw_beard & r.bern("stubble", w(goatee | mustache, 0.15, 0.34))
    a["sideburns"] = male & ~long_hair & r.bern("sideburns", w(jaw_beard | goatee, 0.40, 0.08))

    # Attractive: young women with make-up most often, old men least; chubby halves it.
    p_att = w(male, w(young, 0.42, 0.10), w(young, w(makeup, 0.85, 0.55), w(makeup, 0.40, 0.30)))
    a["attractive"] = r.bern("attractive", p_att * w(chubby, 0.5, 1.0))
    a["blurry"] = r.bern("blurry", 0.05)

    a["_long_hair"] = long_hair
    a["_jaw_beard"] = jaw_beard
    return a


def _check_indices(indices) -> np.ndarray:
    idx = np.asarray(indices, dtype=np.int64).reshape(-1)
    if idx.size and idx.min() < 0:
        raise ConfigError("synthfaces indices must be >= 0")
    return idx


def sample_labels(indices, seed: int = 0) -> torch.Tensor:
    """The 40 labels of faces `indices` (int64 0/1, NVIDIA order) without drawing them."""
    a = _sample_attributes(_Random(_check_indices(indices), int(seed)))
    return torch.from_numpy(np.stack([a[n] for n in NVIDIA_ATTRS], axis=1).astype(np.int64))


# ---------------------------------------------------------------------------------------------
# Continuous parameters (nuisance and appearance), per face, float64 -> float32.
# ---------------------------------------------------------------------------------------------

_HAIR_BLACK = (0.09, 0.07, 0.06)
_HAIR_BROWN = (0.40, 0.25, 0.14)
_HAIR_BLOND = (0.88, 0.74, 0.45)
_HAIR_GRAY = (0.72, 0.72, 0.74)
# 'Other' hair: mostly ginger and auburn, sometimes dyed (pink, blue, purple, green).
_HAIR_OTHER = ((0.80, 0.38, 0.15), (0.52, 0.14, 0.09), (0.80, 0.38, 0.15), (0.52, 0.14, 0.09),
               (0.80, 0.38, 0.15), (0.52, 0.14, 0.09), (0.90, 0.40, 0.65), (0.25, 0.40, 0.85),
               (0.50, 0.25, 0.70), (0.20, 0.60, 0.40))
_SKIN_LIGHT = np.array([0.95, 0.78, 0.66])
_SKIN_DARK = np.array([0.40, 0.26, 0.18])
_SKIN_PALE = np.array([0.99, 0.93, 0.90])
_EYESHADOW = ((0.45, 0.25, 0.65), (0.20, 0.35, 0.75), (0.55, 0.38, 0.20), (0.85, 0.40, 0.60),
              (0.22, 0.20, 0.22), (0.15, 0.50, 0.45))
_LIPSTICK = ((0.80, 0.05, 0.15), (0.90, 0.25, 0.50), (0.55, 0.08, 0.28), (0.95, 0.30, 0.22))
_IRIS = ((0.30, 0.18, 0.08), (0.25, 0.45, 0.75), (0.30, 0.50, 0.30), (0.12, 0.08, 0.05))
_METAL = ((1.00, 0.84, 0.30), (0.92, 0.92, 0.97))
_JACKET = ((0.10, 0.12, 0.22), (0.12, 0.12, 0.12), (0.35, 0.35, 0.38), (0.30, 0.22, 0.15))
_TIE = ((0.75, 0.10, 0.12), (0.15, 0.30, 0.75), (0.15, 0.55, 0.25), (0.85, 0.70, 0.15), (0.50, 0.15, 0.55))


def _luma(rgb: np.ndarray) -> np.ndarray:
    # Elementwise on purpose: a BLAS dot product may round differently for different batch sizes.
    return rgb[:, 0] * 0.299 + rgb[:, 1] * 0.587 + rgb[:, 2] * 0.114


def _contrast(colour: np.ndarray, skin: np.ndarray, gap: float, darker_only: bool) -> np.ndarray:
    """Darken `colour` where its luma is within `gap` of the skin's (or above it, if darker_only)."""
    lc, ls = _luma(colour), _luma(skin)
    ok = (lc <= ls - gap) | (~np.asarray(darker_only) & (lc >= ls + gap))
    scale = np.maximum(ls - gap, 0.03) / np.maximum(lc, 1e-3)
    return np.where(ok[:, None], colour, colour * np.minimum(scale, 1.0)[:, None])


def _pick(r: _Random, name: str, palette) -> np.ndarray:
    pal = np.asarray(palette, dtype=np.float64)
    return pal[r.choice(name, len(pal))]


def _rgb(r: _Random, name: str, lo: float = 0.0, hi: float = 1.0) -> np.ndarray:
    return np.stack([r.uniform(f"{name}.{c}", lo, hi) for c in "rgb"], axis=1)


def _sample_params(indices: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    r = _Random(indices, seed)
    a = _sample_attributes(r)
    p: dict[str, np.ndarray] = {k: v for k, v in a.items()}

    # Pose. Rotation through the rational parametrisation (exact arithmetic, no sin/cos).
    t = r.uniform("rot", -_TAN_HALF, _TAN_HALF)
    p["cos"] = (1 - t * t) / (1 + t * t)
    p["sin"] = 2 * t / (1 + t * t)
    p["scale"] = _SCALE * r.uniform("scale", 1 - _SCALE_JITTER, 1 + _SCALE_JITTER)
    p["cx"] = r.uniform("cx", -_SHIFT, _SHIFT)
    p["cy"] = _CENTER_Y + r.uniform("cy", -_SHIFT, _SHIFT)

    # Face shape.
    p["face_a"] = np.where(a["chubby"], 1.25, 1.0) * r.uniform("face-a", 0.97, 1.03)
    p["face_b"] = np.where(a["oval-face"], 1.44, 1.30) * r.uniform("face-b", 0.98, 1.02)
    p["taper"] = np.where(a["oval-face"], 0.30, 0.04)
    p["square"] = np.where(a["oval-face"], 0.0, 0.30)

    # Skin: a continuous tone from light to dark, or the separate pale tone.
    tone = r.uniform("skin-tone", 0.08, 1.0)
    skin = _SKIN_LIGHT + (_SKIN_DARK - _SKIN_LIGHT) * tone[:, None]
    skin = np.where(a["pale-skin"][:, None], _SKIN_PALE, skin) + _rgb(r, "skin-jitter", -0.02, 0.02)
    p["skin"] = skin

    # Hair colour and shade.
    other = _pick(r, "hair-other", _HAIR_OTHER)
    hair = np.where(a["black-hair"][:, None], _HAIR_BLACK, other)
    hair = np.where(a["brown-hair"][:, None], _HAIR_BROWN, hair)
    hair = np.where(a["blond-hair"][:, None], _HAIR_BLOND, hair)
    hair = np.where(a["gray-hair"][:, None], _HAIR_GRAY, hair)
    shade = r.uniform("hair-shade", 0.87, 1.13)[:, None]
    hair = np.minimum(hair * shade, 1.0) + np.where(a["black-hair"], r.uniform("black-lift", 0, 0.05), 0)[:, None]
    p["hair"] = hair
    p["hair_hi"] = hair + (1 - hair) * 0.35
    dyed = ~(a["black-hair"] | a["brown-hair"] | a["blond-hair"] | a["gray-hair"])
    # Brows are always clearly darker than the skin, beards clearly darker or lighter: on a face
    # of the same tone as the hair they would otherwise vanish.
    p["brow"] = _contrast(np.where(dyed[:, None], np.array([0.30, 0.20, 0.12]), hair * 0.55), skin, 0.25, True)
    p["beard"] = _contrast(hair * 0.75, skin, 0.22, False)
    p["hair_vol"] = np.where(p["_long_hair"], r.uniform("hair-vol", 0.12, 0.22), r.uniform("hair-vol", 0.07, 0.13))
    p["wave_phase"] = r.uniform("wave-phase", 0.0, 1.0)
    p["strand_phase"] = r.uniform("strand-phase", 0.0, 1.0)

    # Eyes, brows, nose, mouth.
    p["eye_h"] = np.where(a["narrow-eyes"], 0.035, 0.11) * r.uniform("eye-h", 0.92, 1.08)
    p["gaze"] = r.uniform("gaze", -0.04, 0.04)
    p["iris"] = _pick(r, "iris", _IRIS)
    p["liner"] = np.where(a["heavy-makeup"], 0.055, 0.022)
    p["eyeshadow"] = _pick(r, "eyeshadow", _EYESHADOW)
    p["brow_arch"] = np.where(a["arched-eyebrows"], 0.17, 0.02)
    p["brow_th"] = np.where(a["bushy-eyebrows"], 0.15, 0.05)
    p["nose_k"] = np.where(a["big-nose"], 1.38, 1.0) * r.uniform("nose-k", 0.95, 1.05)
    p["mouth_w"] = np.where(a["smiling"], 0.40, 0.29) * r.uniform("mouth-w", 0.95, 1.05)
    p["smile"] = np.where(a["smiling"], 0.17, r.uniform("mouth-curve", -0.03, 0.01))
    p["lip_th"] = np.where(a["big-lips"], 0.14, 0.055)
    p["open"] = np.where(a["mouth-slightly-open"], r.uniform("open", 0.12, 0.15), 0.0)
    natural_lips = skin + (np.array([0.70, 0.28, 0.32]) - skin) * 0.45  # reddened skin: visible on any tone
    p["lips"] = np.where(a["wearing-lipstick"][:, None], _pick(r, "lipstick", _LIPSTICK), natural_lips)

    # Blemishes (not attractive): three per cheek at random places.
    for k in range(3):
        p[f"spot{k}_u"] = r.uniform(f"spot{k}-u", 0.33, 0.68)
        p[f"spot{k}_v"] = r.uniform(f"spot{k}-v", 0.10 + 0.15 * k, 0.22 + 0.15 * k)
        p[f"spot{k}_u2"] = r.uniform(f"spot{k}-u2", 0.33, 0.68)
        p[f"spot{k}_v2"] = r.uniform(f"spot{k}-v2", 0.10 + 0.15 * k, 0.22 + 0.15 * k)

    # Body, accessories.
    p["neck_w"] = np.where(a["male"], 0.60, 0.38) + np.where(a["chubby"], 0.06, 0.0)
    p["shoulder_w"] = np.where(a["male"], 2.45, 1.85)
    p["shirt"] = _rgb(r, "shirt", 0.1, 0.95)
    p["jacket"] = _pick(r, "jacket", _JACKET)
    p["tie"] = _pick(r, "tie", _TIE)
    p["metal"] = _pick(r, "metal", _METAL)
    p["earring_kind"] = r.choice("earring-kind", 3)
    p["hat"] = _rgb(r, "hat", 0.05, 0.9)
    p["brim"] = r.bern("brim", 0.6)
    p["glasses"] = np.where(r.bern("glasses-dark", 0.7)[:, None], np.array([0.08, 0.08, 0.1]),
                            _rgb(r, "glasses-col", 0.05, 0.5))

    # Background and lighting.
    p["bg0"] = _rgb(r, "bg0", 0.05, 0.95)
    p["bg1"] = _rgb(r, "bg1", 0.05, 0.95)
    p["bg2"] = _rgb(r, "bg2", 0.05, 0.95)
    tb = r.uniform("bg-dir", -1.0, 1.0)
    p["bg_dx"] = (1 - tb * tb) / (1 + tb * tb)
    p["bg_dy"] = 2 * tb / (1 + tb * tb)
    p["blob_x"] = r.uniform("blob-x", -1.0, 1.0)
    p["blob_y"] = r.uniform("blob-y", -1.0, 0.3)
    p["blob_r"] = r.uniform("blob-r", 0.2, 0.6)
    p["light"] = r.uniform("light", 0.88, 1.08)
    p["light_x"] = r.uniform("light-x", -0.10, 0.10)
    p["light_y"] = r.uniform("light-y", -0.06, 0.06)
    p["white_balance"] = _rgb(r, "wb", 0.96, 1.04)
    return p


# ---------------------------------------------------------------------------------------------
# The raster: signed distances in face units on fixed pixel windows.
# ---------------------------------------------------------------------------------------------

@functools.cache
def _window(res: int, u0: float, u1: float, v0: float, v1: float) -> tuple[slice, slice]:
    """Pixel rows/columns that can see the face-unit box [u0,u1]x[v0,v1] under any allowed pose.

    x = cx + s*(u*cos - v*sin) is multilinear in (cx, s, u, v, cos, sin), so its extremes lie on the
    corners of the parameter box. Being independent of the batch, the window never changes a pixel.
    """
    t = _TAN_HALF
    cos_min, sin_max = (1 - t * t) / (1 + t * t), 2 * t / (1 + t * t)
    xs, ys = [], []
    for u, v, s, c, sn, dx, dy in itertools.product(
            (u0, u1), (v0, v1), (_SCALE * (1 - _SCALE_JITTER), _SCALE * (1 + _SCALE_JITTER)),
            (cos_min, 1.0), (-sin_max, sin_max), (-_SHIFT, _SHIFT), (-_SHIFT, _SHIFT)):
        xs.append(dx + s * (u * c - v * sn))
        ys.append(_CENTER_Y + dy + s * (u * sn + v * c))
    margin = 2.0  # the anti-aliasing ramp is half a pixel wide; keep a safety pixel
    to_px = lambda z: (z + 1) / 2 * res - 0.5  # noqa: E731
    x0 = max(0, math.floor(to_px(min(xs)) - margin))
    x1 = min(res, math.ceil(to_px(max(xs)) + margin) + 1)
    y0 = max(0, math.floor(to_px(min(ys)) - margin))
    y1 = min(res, math.ceil(to_px(max(ys)) + margin) + 1)
    return slice(y0, max(y0, y1)), slice(x0, max(x0, x1))


def _cover(d: torch.Tensor, px: torch.Tensor) -> torch.Tensor:
    """Anti-aliased coverage of the region d < 0 (d in face units, px = pixel size in face units)."""
    return (0.5 - d / px).clamp(0.0, 1.0)


def _soft(d: torch.Tensor, width: float) -> torch.Tensor:
    """A soft-edged region (make-up, shadows): 1 inside, fading to 0 over `width` outside."""
    return (0.5 - d / width).clamp(0.0, 1.0)


def _circle(u, v, cu, cv, r):
    return ((u - cu) * (u - cu) + (v - cv) * (v - cv)).sqrt() - r


def _ellipse(u, v, cu, cv, a, b):
    """First-order signed distance to an ellipse: (k - 1) / |grad k| with k the ellipse norm."""
    p, q = (u - cu) / a, (v - cv) / b
    k = (p * p + q * q).sqrt()
    g = (p * p / (a * a) + q * q / (b * b) + 1e-12).sqrt()
    return (k - 1) * k / g


def _box(u, v, cu, cv, hu, hv, radius=0.0):
    qu, qv = (u - cu).abs() - hu, (v - cv).abs() - hv
    outside = (qu.clamp(min=0) * qu.clamp(min=0) + qv.clamp(min=0) * qv.clamp(min=0)).sqrt()
    return outside + torch.maximum(qu, qv).clamp(max=0) - radius


def _segment(u, v, au, av, bu, bv, r):
    du, dv = bu - au, bv - av
    h = (((u - au) * du + (v - av) * dv) / (du * du + dv * dv)).clamp(0.0, 1.0)
    eu, ev = u - au - h * du, v - av - h * dv
    return (eu * eu + ev * ev).sqrt() - r


def _curve(u, v, center, half_width, height, depth, thickness):
    """A band of `thickness` around v = height - depth * (1 - ((u - center) / half_width)^2)."""
    x = (u - center) / half_width
    vc = height - depth * (1 - x * x)
    slope = 2 * depth * x / half_width
    d = (v - vc).abs() / (1 + slope * slope).sqrt() - thickness / 2
    return torch.maximum(d, (u - center).abs() - half_width)


def _tri(t):
    """Triangle wave with period 1 in [-1, 1] (a sine without transcendental functions)."""
    return 4 * (t - (t + 0.5).floor()).abs() - 1


class _Canvas:
    """An RGB float image batch plus face coordinates; paints shapes on fixed windows."""

    def __init__(self, p: dict[str, np.ndarray], res: int):
        self.res = res
        self.n = len(p["cos"])
        self.p = {k: torch.from_numpy(np.asarray(v, dtype=np.float32)) for k, v in p.items()}
        coords = (torch.arange(res, dtype=torch.float32) + 0.5) * (2.0 / res) - 1
        x, y = coords.view(1, 1, res), coords.view(1, res, 1)
        dx, dy = x - self.col("cx"), y - self.col("cy")
        c, s, k = self.col("cos"), self.col("sin"), self.col("scale")
        self.x = x.expand(self.n, res, res)
        self.y = y.expand(self.n, res, res)
        self.u = (dx * c + dy * s) / k
        self.v = (dy * c - dx * s) / k
        self.px = (2.0 / res) / k  # one pixel in face units
        self.img = torch.zeros(self.n, 3, res, res)

    def col(self, name: str, idx: torch.Tensor | None = None) -> torch.Tensor:
        """Per-face scalar parameter as [n, 1, 1] (or colour as [n, 3, 1, 1])."""
        t = self.p[name] if idx is None else self.p[name][idx]
        return t.view(len(t), 1, 1) if t.dim() == 1 else t.view(len(t), -1, 1, 1)

    def faces(self, name: str) -> torch.Tensor | None:
        """Indices of faces with boolean parameter `name` set (None = no face)."""
        idx = self.p[name].nonzero().view(-1)
        return idx if len(idx) else None

    def coords(self, box, idx=None):
        """Face coordinates (u, v), pixel size, and the window for face-unit box (u0, u1, v0, v1)."""
        win = _window(self.res, *box)
        u, v = self.u[:, win[0], win[1]], self.v[:, win[0], win[1]]
        px = self.px
        if idx is not None:
            u, v, px = u[idx], v[idx], px[idx]
        return u, v, px, win

    def paint(self, win, alpha: torch.Tensor, colour: torch.Tensor, idx=None) -> None:
        """Composite `colour` ([n,3,1,1] or [n,3,h,w]) over the window with coverage `alpha` [n,h,w]."""
        view = self.img[:, :, win[0], win[1]]
        if idx is None:
            view.add_(alpha.unsqueeze(1) * (colour - view))
        else:
            old = view[idx]
            view[idx] = old + alpha.unsqueeze(1) * (colour - old)


def _face_sdf(cv: _Canvas, u, v, idx=None):
    """The face outline: an ellipse whose lower half tapers (oval) or squares off (jaw)."""
    a, b = cv.col("face_a", idx), cv.col("face_b", idx)
    lower = (v / b).clamp(0.0, 1.0)
    a_eff = a * (1 - cv.col("taper", idx) * lower * lower)
    p, q = u / a_eff, v / b
    r_round = (p * p + q * q).sqrt()
    r_square = torch.maximum(p.abs(), q.abs())
    k = cv.col("square", idx) * (v * (4 / 1.3)).clamp(0.0, 1.0)
    return (r_round + k * (r_square - r_round) - 1) * a_eff


def _draw_background(cv: _Canvas) -> None:
    t = (cv.x * cv.col("bg_dx") + cv.y * cv.col("bg_dy")) * 0.5 + 0.5
    bg0, bg1 = cv.col("bg0"), cv.col("bg1")
    cv.img.copy_(bg0 + t.unsqueeze(1) * (bg1 - bg0))
    full = (slice(0, cv.res), slice(0, cv.res))
    d = ((cv.x - cv.col("blob_x")) ** 2 + (cv.y - cv.col("blob_y")) ** 2).sqrt() - cv.col("blob_r")
    cv.paint(full, _soft(d, 0.3) * 0.6, cv.col("bg2"))


def _paint_hair(cv: _Canvas, win, d, u, v, px, idx) -> None:
    """Hair colour over d < 0, then strand highlights (straight or wavy streaks) where textured.

    Streaks are faded out where their period falls below about two pixels, so that low
    resolutions show plain hair instead of aliasing.
    """
    cover = _cover(d, px)
    cv.paint(win, cover, cv.col("hair", idx), idx)
    textured = cv.p["wavy-hair"] + cv.p["straight-hair"]
    sub = textured.nonzero().view(-1) if idx is None else idx[textured[idx] > 0]
    if len(sub) == 0:
        return
    pos = sub if idx is None else (textured[idx] > 0).nonzero().view(-1)  # rows of the subset
    u, v, px, cover = u[pos], v[pos], px[pos], cover[pos]
    period = 0.2
    wave = cv.col("wavy-hair", sub) * 0.11 * _tri(v * 2.6 + cv.col("wave_phase", sub))
    t = (u + wave) / period + cv.col("strand_phase", sub)
    streak = (1 - 4 * (t - (t + 0.5).floor()).abs()).clamp(0.0, 1.0)
    fade = ((period / px - 1.5) / 1.5).clamp(0.0, 1.0)
    cv.paint(win, cover * streak * (fade * 0.8), cv.col("hair_hi", sub), sub)


def _draw_back_hair(cv: _Canvas) -> None:
    """Hair behind the head: a cap for short hair, down to the shoulders for long hair, a fringe if bald."""
    def head(u, v, idx):
        vol = cv.col("hair_vol", idx)
        wavy = cv.col("wavy-hair", idx) * 0.06 * _tri(v * 2.2 + cv.col("wave_phase", idx))
        return _ellipse(u, v, 0.0, -0.12, cv.col("face_a", idx) + vol + 0.05, cv.col("face_b", idx) + vol) + wavy

    long_hair, bald = cv.p["_long_hair"] > 0, cv.p["bald"] > 0
    groups = {"long": long_hair, "short": ~long_hair & ~bald, "bald": bald}
    boxes = {"long": (-1.75, 1.75, -1.9, 2.1), "short": (-1.6, 1.6, -1.9, 0.25), "bald": (-1.6, 1.6, -1.1, 0.1)}
    for name, mask in groups.items():
        idx = mask.nonzero().view(-1)
        if len(idx) == 0:
            continue
        u, v, px, win = cv.coords(boxes[name], idx)
        d = head(u, v, idx)
        if name == "long":
            wavy = cv.col("wavy-hair", idx) * 0.06 * _tri(v * 2.2 + cv.col("wave_phase", idx))
            sides = _box(u, v, 0.0, 0.9, cv.col("face_a", idx) + 0.2 + cv.col("hair_vol", idx), 1.0, 0.25)
            d = torch.minimum(d, sides + wavy)
        elif name == "short":
            d = torch.maximum(d, v - 0.05)  # short hair stops above the ears
        else:
            d = torch.maximum(torch.maximum(d, 0.6 - u.abs()), (v + 0.42).abs() - 0.36)
        _paint_hair(cv, win, d, u, v, px, idx)


def _draw_body(cv: _Canvas) -> None:
    skin = cv.col("skin")
    # Neck, shaded: the chin throws a shadow.
    u, v, px, win = cv.coords((-0.8, 0.8, 0.5, 2.4))
    neck = _box(u, v, 0.0, 1.5, cv.col("neck_w"), 0.9, 0.05)
    cv.paint(win, _cover(neck, px), skin * 0.8)
    # Torso: shirt (or jacket + white collar + tie).
    u, v, px, win = cv.coords((-2.6, 2.6, 1.5, 2.6))
    torso = _ellipse(u, v, 0.0, 2.75, cv.col("shoulder_w"), 1.05)
    tie = cv.col("wearing-necktie")
    cloth = cv.col("shirt") + tie.unsqueeze(1) * (cv.col("jacket") - cv.col("shirt"))
    cv.paint(win, _cover(torso, px), cloth)
    idx = cv.faces("wearing-necktie")
    if idx is not None:
        u, v, px, win = cv.coords((-0.7, 0.7, 1.55, 2.6), idx)
        # The jacket opens in a V on a white shirt; on it a tie: a knot and a widening blade.
        opening = torch.maximum((u.abs() - 0.6 * (v - 1.62) - 0.14) * 0.857, 1.62 - v)
        torso = _ellipse(u, v, 0.0, 2.75, cv.col("shoulder_w", idx), 1.05)
        cv.paint(win, _cover(torch.maximum(opening, torso), px), torch.full((1, 3, 1, 1), 0.95), idx)
        knot = _box(u, v, 0.0, 1.76, 0.085, 0.065, 0.02)
        blade = torch.maximum((u.abs() - 0.05 - 0.3 * (v - 1.82)) * 0.958, 1.82 - v)
        cv.paint(win, _cover(torch.minimum(knot, blade), px), cv.col("tie", idx), idx)


def _draw_necklace(cv: _Canvas) -> None:
    idx = cv.faces("wearing-necklace")
    if idx is None:
        return
    u, v, px, win = cv.coords((-0.8, 0.8, 1.2, 2.1), idx)
    half = cv.col("neck_w", idx) + 0.12
    chain = _curve(u, v, 0.0, half, 1.50, -0.30, 0.055)
    pendant = _circle(u, v, 0.0, 1.86, 0.075)
    cv.paint(win, _cover(torch.minimum(chain, pendant), px), cv.col("metal", idx), idx)


def _draw_head(cv: _Canvas) -> None:
    skin = cv.col("skin")
    # Ears, half hidden behind the face.
    u, v, px, win = cv.coords((-1.45, 1.45, -0.45, 0.4))
    ear = _ellipse(u.abs(), v, cv.col("face_a") + 0.04, -0.02, 0.15, 0.26)
    cv.paint(win, _cover(ear, px), skin * 0.9)
    # Double chin: a bulge of skin under the chin with a crease at its lower edge.
    idx = cv.faces("double-chin")
    if idx is not None:
        u, v, px, win = cv.coords((-0.8, 0.8, 1.0, 1.8), idx)
        b = cv.col("face_b", idx)
        bulge = _ellipse(u, v, 0.0, b + 0.06, 0.58, 0.25)
        cv.paint(win, _cover(bulge, px), skin[idx] * 0.97, idx)
        crease = torch.maximum(bulge.abs() - 0.045, b + 0.06 - v)
        cv.paint(win, _cover(crease, px), skin[idx] * 0.45, idx)
    # The face itself, with a slightly darker rim for volume.
    u, v, px, win = cv.coords((-1.3, 1.3, -1.6, 1.6))
    d = _face_sdf(cv, u, v)
    cv.paint(win, _cover(d, px), skin)
    cv.paint(win, _cover(d, px) * _soft(-d - 0.12, 0.2) * 0.25, skin * 0.7)


def _draw_skin_marks(cv: _Canvas) -> None:
    """Stubble, wrinkles, cheekbones, blush, blemishes, eye bags: all painted on the skin."""
    skin = cv.col("skin")
    idx = cv.faces("5-o-clock-shadow")
    if idx is not None:
        u, v, px, win = cv.coords((-1.3, 1.3, 0.2, 1.6), idx)
        inside = _cover(_face_sdf(cv, u, v, idx), px) * ((v - 0.40) / 0.12).clamp(0.0, 1.0)
        dots = 0.75 + 0.25 * _tri(u * 9.0) * _tri(v * 9.0 + 0.25)
        cv.paint(win, inside * dots * 0.55, torch.tensor([0.22, 0.22, 0.26]).view(1, 3, 1, 1), idx)
    idx = cv.faces("_old")
    if idx is not None:
        line = skin[idx] * 0.5
        u, v, px, win = cv.coords((-0.75, 0.75, 0.15, 1.1), idx)
        fold = _segment(u.abs(), v, 0.24, 0.38, 0.54, 1.0, 0.03)
        cv.paint(win, _cover(fold, px) * 0.85, line, idx)
        u, v, px, win = cv.coords((-0.55, 0.55, -0.75, -0.35), idx)
        forehead = torch.minimum(_curve(u, v, 0.0, 0.42, -0.50, 0.03, 0.04),
                                 _curve(u, v, 0.0, 0.36, -0.62, 0.03, 0.04))
        cv.paint(win, _cover(forehead, px) * 0.8, line, idx)
        u, v, px, win = cv.coords((-0.95, 0.95, -0.3, 0.1), idx)
        au = u.abs()
        crow = torch.minimum(_segment(au, v, 0.67, -0.12, 0.84, -0.2, 0.022),
                             _segment(au, v, 0.67, -0.05, 0.84, -0.01, 0.022))
        cv.paint(win, _cover(crow, px) * 0.8, line, idx)
    idx = cv.faces("high-cheekbones")
    if idx is not None:
        u, v, px, win = cv.coords((-1.1, 1.1, 0.0, 0.6), idx)
        shadow = _segment(u.abs(), v, 0.92, 0.14, 0.52, 0.44, 0.05)
        cv.paint(win, _soft(shadow, 0.08) * 0.75, skin[idx] * 0.55, idx)
    idx = cv.faces("rosy-cheeks")
    if idx is not None:
        u, v, px, win = cv.coords((-0.9, 0.9, 0.05, 0.65), idx)
        blush = _circle(u.abs(), v, 0.56, 0.34, 0.14)
        cv.paint(win, _soft(blush, 0.14) * 0.7, torch.tensor([0.95, 0.32, 0.40]).view(1, 3, 1, 1), idx)
    idx = cv.faces("_blemished")
    if idx is not None:
        u, v, px, win = cv.coords((-0.8, 0.8, 0.0, 0.75), idx)
        d = torch.full_like(u, 10.0)
        for k in range(3):
            d = torch.minimum(d, _circle(u, v, cv.col(f"spot{k}_u", idx), cv.col(f"spot{k}_v", idx), 0.065))
            d = torch.minimum(d, _circle(u, v, -cv.col(f"spot{k}_u2", idx), cv.col(f"spot{k}_v2", idx), 0.065))
        cv.paint(win, _cover(d, px) * 0.9, torch.tensor([0.42, 0.14, 0.12]).view(1, 3, 1, 1), idx)
    idx = cv.faces("bags-under-eyes")
    if idx is not None:
        u, v, px, win = cv.coords((-0.75, 0.75, -0.1, 0.25), idx)
        bag = torch.maximum(_ellipse(u.abs(), v, 0.42, 0.03, 0.23, 0.13), -0.02 - v)
        cv.paint(win, _soft(bag, 0.04) * 0.8, torch.tensor([0.33, 0.18, 0.26]).view(1, 3, 1, 1), idx)


def _draw_eyes(cv: _Canvas) -> None:
    u, v, px, win = cv.coords((-0.8, 0.8, -0.62, 0.12))
    au = u.abs()
    side = torch.where(u < 0, -1.0, 1.0)
    idx = cv.faces("heavy-makeup")
    if idx is not None:
        shadow = _ellipse(au[idx], v[idx], 0.42, -0.17, 0.27, 0.13)
        cv.paint(win, _soft(shadow, 0.05) * 0.85, cv.col("eyeshadow", idx), idx)
    eye = _ellipse(au, v, 0.42, -0.08, 0.21, cv.col("eye_h"))
    cv.paint(win, _cover(eye, px), torch.tensor([0.94, 0.93, 0.90]).view(1, 3, 1, 1))
    iris = torch.maximum(_circle(au, v, 0.42 + side * cv.col("gaze"), -0.08, 0.095), eye)
    cv.paint(win, _cover(iris, px), cv.col("iris"))
    pupil = torch.maximum(_circle(au, v, 0.42 + side * cv.col("gaze"), -0.08, 0.035), eye)
    cv.paint(win, _cover(pupil, px), torch.zeros(1, 3, 1, 1))
    liner = eye.abs() - cv.col("liner") / 2
    cv.paint(win, _cover(liner, px) * 0.9, torch.full((1, 3, 1, 1), 0.08))
    # Brows: a parabola peaking towards the outer end; thickness tapers at the tips.
    x = (au - 0.44) / 0.25
    arch = cv.col("brow_arch")
    centre = -0.31 - arch * (1 - x * x)
    slope = 2 * arch * x / 0.25
    th = cv.col("brow_th") * (1 - 0.4 * x * x)
    brow = (v - centre).abs() / (1 + slope * slope).sqrt() - th / 2
    brow = torch.maximum(brow, (au - 0.44).abs() - 0.25)
    cv.paint(win, _cover(brow, px), cv.col("brow"))


def _draw_nose(cv: _Canvas) -> None:
    u, v, px, win = cv.coords((-0.5, 0.5, -0.2, 0.72))
    k = cv.col("nose_k")
    # Scale about the nose root so that a big nose grows downwards and sideways.
    nu, nv = u / k, (v - 0.05) / k + 0.05
    skin = cv.col("skin")
    pointy = cv.col("pointy-nose")
    # Round: a light bulb with two dark nostrils. Pointy: a dark, sharp triangle hanging lower
    # (the intersection of two slanted half-planes and a top edge), nostrils hidden.
    tip_round = _circle(nu, nv, 0.0, 0.29, 0.13)
    tip_v = torch.maximum((nu.abs() - (0.48 - nv) * 0.39) * 0.93, 0.12 - nv)
    tip = torch.where(pointy > 0, tip_v, tip_round) * k
    bridge = _segment(nu, nv, 0.0, -0.05, 0.0, 0.2, 0.04) * k
    shape = torch.minimum(tip, bridge)
    cv.paint(win, _cover(shape, px), skin * (0.86 - 0.26 * pointy.unsqueeze(1)))
    cv.paint(win, _cover(shape.abs() - 0.02, px) * 0.8, skin * 0.45)
    nostril = _ellipse(nu.abs(), nv, 0.11, 0.38, 0.055, 0.035) * k
    cv.paint(win, _cover(nostril, px) * (1 - pointy), skin * 0.3)


def _draw_mouth(cv: _Canvas) -> None:
    u, v, px, win = cv.coords((-0.55, 0.55, 0.45, 1.15))
    w, smile = cv.col("mouth_w"), cv.col("smile")
    x = u / w
    mid = 0.86 - smile * x * x                          # corners turn up when smiling
    taper = (1 - x * x).clamp(min=0.0)
    gap = cv.col("open") * taper
    th = cv.col("lip_th") * (0.35 + 0.65 * taper)
    edge = u.abs() - w
    upper = torch.maximum((v - (mid - gap / 2 - th / 2)).abs() - th / 2, edge)
    lower = torch.maximum((v - (mid + gap / 2 + th * 0.55)).abs() - th * 0.55, edge)
    opening = torch.maximum((v - mid).abs() - gap / 2, edge)
    cv.paint(win, _cover(opening, px), torch.tensor([0.22, 0.05, 0.06]).view(1, 3, 1, 1))
    idx = cv.faces("smiling")
    if idx is not None:
        teeth = torch.maximum(opening[idx], v[idx] - mid[idx])
        teeth = torch.maximum(teeth, u[idx].abs() - 0.7 * w[idx])
        cv.paint(win, _cover(teeth, px[idx]), torch.full((1, 3, 1, 1), 0.95), idx)
    cv.paint(win, _cover(torch.minimum(upper, lower), px), cv.col("lips"))
    line = torch.maximum((v - mid).abs() - 0.012, edge)
    cv.paint(win, _cover(line, px) * 0.7, cv.col("lips") * 0.45)


def _draw_facial_hair(cv: _Canvas) -> None:
    beard = cv.col("beard")
    idx = cv.faces("_jaw_beard")
    if idx is not None:
        u, v, px, win = cv.coords((-1.3, 1.3, 0.0, 1.6), idx)
        face = _face_sdf(cv, u, v, idx)
        band = torch.maximum(torch.maximum(face, -face - 0.26), 0.25 - v)
        band = torch.maximum(band, 0.28 - u.abs())
        cv.paint(win, _cover(band, px), beard[idx], idx)
    idx = cv.faces("goatee")
    if idx is not None:
        u, v, px, win = cv.coords((-0.5, 0.5, 0.8, 1.6), idx)
        patch = torch.maximum(_ellipse(u, v, 0.0, 1.18, 0.30, 0.25), _face_sdf(cv, u, v, idx))
        cv.paint(win, _cover(patch, px), beard[idx], idx)
    idx = cv.faces("sideburns")
    if idx is not None:
        u, v, px, win = cv.coords((-1.3, 1.3, -0.6, 0.6), idx)
        a = cv.col("face_a", idx)
        strip = _box(u.abs(), v, a - 0.13, -0.06, 0.13, 0.46)
        strip = torch.maximum(strip, _face_sdf(cv, u, v, idx))
        cv.paint(win, _cover(strip, px), beard[idx], idx)


def _draw_mustache(cv: _Canvas) -> None:
    """Over the top of the upper lip (drawn after the mouth), drooping at the ends."""
    idx = cv.faces("mustache")
    if idx is None:
        return
    u, v, px, win = cv.coords((-0.6, 0.6, 0.4, 0.9), idx)
    top_of_lip = 0.86 - cv.col("open", idx) / 2 - cv.col("lip_th", idx)
    must = _curve(u, v, 0.0, 0.42, top_of_lip + 0.02, 0.06, 0.15)
    cv.paint(win, _cover(must, px), cv.col("beard", idx), idx)


def _draw_front_hair(cv: _Canvas) -> None:
    """Hair over the forehead: the hairline (receding: M-shaped), bangs, or a bald scalp."""
    u, v, px, win = cv.coords((-1.5, 1.5, -1.9, 0.2))
    vol = cv.col("hair_vol")
    au = u.abs()
    line = -0.80 + 0.52 * ((au - 0.62) / 0.25).clamp(0.0, 1.0)
    recede = 0.40 * (1 - (au - 0.45).abs() / 0.25).clamp(0.0, 1.0)
    line = line - cv.col("receding-hairline") * recede
    bangs = cv.col("bangs") * ((0.88 - au) / 0.1).clamp(0.0, 1.0)
    line = line + bangs * (-0.50 + 0.04 * _tri(u * 3.0) - line)
    head = _ellipse(u, v, 0.0, -0.12, cv.col("face_a") + vol + 0.05, cv.col("face_b") + vol)
    d = torch.maximum(head, v - line)
    d = torch.where(cv.col("bald") > 0, torch.full_like(d, 10.0), d)
    _paint_hair(cv, win, d, u, v, px, None)
    idx = cv.faces("bald")
    if idx is not None:
        shine = _ellipse(u[idx], v[idx], 0.25, -1.0, 0.3, 0.15)
        cv.paint(win, _soft(shine, 0.15) * 0.5, torch.ones(1, 3, 1, 1), idx)


def _draw_hat(cv: _Canvas) -> None:
    idx = cv.faces("wearing-hat")
    if idx is None:
        return
    u, v, px, win = cv.coords((-1.6, 1.6, -2.0, -0.4), idx)
    a = cv.col("face_a", idx)
    crown = _box(u, v, 0.0, -1.2, a + 0.05, 0.5, 0.35)
    brim = _box(u, v, 0.0 + 0.2 * cv.col("brim", idx), -0.72, a + 0.32 * cv.col("brim", idx) + 0.08, 0.07, 0.03)
    hat = torch.minimum(crown, brim)
    colour = cv.col("hat", idx)
    cv.paint(win, _cover(hat, px), colour, idx)
    cv.paint(win, _cover(brim, px) * 0.5, colour * 0.5, idx)


def _draw_accessories(cv: _Canvas) -> None:
    idx = cv.faces("wearing-earrings")
    if idx is not None:
        u, v, px, win = cv.coords((-1.5, 1.5, 0.05, 0.8), idx)
        cu = cv.col("face_a", idx) + 0.06
        kind = cv.col("earring_kind", idx)
        au = u.abs()
        stud = _circle(au, v, cu, 0.31, 0.09)
        hoop = (_circle(au, v, cu, 0.40, 0.12).abs() - 0.04)
        drop = torch.minimum(_circle(au, v, cu, 0.30, 0.06), _circle(au, v, cu, 0.48, 0.095))
        d = torch.where(kind == 0, stud, torch.where(kind == 1, hoop, drop))
        cv.paint(win, _cover(d, px), cv.col("metal", idx), idx)
    idx = cv.faces("eyeglasses")
    if idx is not None:
        u, v, px, win = cv.coords((-1.3, 1.3, -0.5, 0.3), idx)
        au = u.abs()
        rim = _box(au, v, 0.42, -0.08, 0.24, 0.15, 0.06).abs() - 0.042
        bridge = _box(u, v, 0.0, -0.14, 0.19, 0.03)
        temple = torch.maximum(_box(au, v, 0.8, -0.15, 0.16, 0.03), au - cv.col("face_a", idx) - 0.02)
        frame = torch.minimum(torch.minimum(rim, bridge), temple)
        cv.paint(win, _cover(frame, px), cv.col("glasses", idx), idx)


def _blur(img: torch.Tensor, res: int) -> torch.Tensor:
    """Binomial blur, sigma about 1.4 px at 64 px (scaled with resolution), by shifted adds."""
    passes = max(1, round(2 * (res / 64) ** 2))
    taps = (1.0, 4.0, 6.0, 4.0, 1.0) if res >= 64 else (1.0, 2.0, 1.0)
    r = len(taps) // 2
    norm = 1.0 / sum(taps)
    for _ in range(passes):
        for dim in (2, 3):
            pad = (r, r, 0, 0) if dim == 3 else (0, 0, r, r)
            xp = F.pad(img, pad, mode="replicate")
            acc = None
            for k, w in enumerate(taps):
                part = xp.narrow(dim, k, img.shape[dim]) * w
                acc = part if acc is None else acc + part
            img = acc * norm
    return img


def _render_params(p: dict[str, np.ndarray], res: int) -> torch.Tensor:
    p = dict(p)
    p["_old"] = ~p["young"]
    p["_blemished"] = ~p["attractive"]
    cv = _Canvas(p, res)
    _draw_background(cv)
    _draw_back_hair(cv)
    _draw_body(cv)
    _draw_necklace(cv)
    _draw_head(cv)
    _draw_skin_marks(cv)
    _draw_eyes(cv)
    _draw_nose(cv)
    _draw_facial_hair(cv)
    _draw_mouth(cv)
    _draw_mustache(cv)
    _draw_front_hair(cv)
    _draw_hat(cv)
    _draw_accessories(cv)
    # Lighting: brightness, a linear light gradient across the picture, white balance.
    gain = cv.col("light") + cv.col("light_x") * cv.x + cv.col("light_y") * cv.y
    img = cv.img * gain.unsqueeze(1) * cv.col("white_balance")
    idx = cv.faces("blurry")
    if idx is not None:
        img[idx] = _blur(img[idx], res)
    return (img * 255 + 0.5).floor().clamp(0, 255).to(torch.uint8)


def check_resolution(resolution: int) -> int:
    resolution = int(resolution)
    if resolution not in RESOLUTIONS:
        raise ConfigError(f"synthfaces resolution must be one of {', '.join(map(str, RESOLUTIONS))}, "
                          f"got {resolution}")
    return resolution


def render(indices, seed: int = 0, resolution: int = DEFAULT_RESOLUTION,
           batch_size: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw faces `indices` of `seed`: uint8 images [N, 3, R, R] and int64 labels [N, 40] (NVIDIA order).

    Image i is byte-identical whatever the other indices in the call and whatever `batch_size`.
    """
    resolution = check_resolution(resolution)
    idx = _check_indices(indices)
    batch_size = batch_size or max(1, (256 * 64 * 64) // (resolution * resolution))
    images = torch.empty(len(idx), 3, resolution, resolution, dtype=torch.uint8)
    with _single_thread():
        for start in range(0, len(idx), batch_size):
            p = _sample_params(idx[start:start + batch_size], int(seed))
            images[start:start + batch_size] = _render_params(p, resolution)
    return images, sample_labels(idx, seed)


@contextlib.contextmanager
def _single_thread():
    """Render on one thread: the raster is hundreds of small elementwise ops, for which OpenMP's
    fork/join costs more than it gains (and far more on a busy machine). Parallel rendering comes
    from processes instead (DataLoader workers, `export_synthfaces(workers=...)`)."""
    threads = torch.get_num_threads()
    if threads == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


# ---------------------------------------------------------------------------------------------
# The dataset spec string: synthfaces[:N][?res=R&seed=S]
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SynthFacesSpec:
    """`synthfaces` (70,000 faces, 64 px, seed 0), `synthfaces:N`, `synthfaces:N?res=128&seed=3`."""

    count: int = DEFAULT_COUNT
    resolution: int = DEFAULT_RESOLUTION
    seed: int = 0

    def __str__(self) -> str:
        return f"synthfaces:{self.count}?res={self.resolution}&seed={self.seed}"

    @property
    def identity(self) -> str:
        return f"{self}&renderer={RENDERER_VERSION}"


_SPEC_RE = re.compile(r"^synthfaces(?::(?P<count>[0-9_kK]+))?(?:\?(?P<query>.*))?$")


def is_spec(text) -> bool:
    return isinstance(text, str) and (text == "synthfaces" or text.startswith(("synthfaces:", "synthfaces?")))


def parse_spec(text: str, default_resolution: int = DEFAULT_RESOLUTION) -> SynthFacesSpec:
    """Parse `synthfaces[:N][?res=R&seed=S]`; N may use '_' or a 'k' suffix (70k = 70000)."""
    m = _SPEC_RE.match(text.strip())
    if not m:
        raise ConfigError(f"bad synthfaces spec '{text}': expected synthfaces[:N][?res=R&seed=S]")
    count = DEFAULT_COUNT
    if m["count"]:
        c = m["count"].replace("_", "").lower()
        try:
            count = int(c[:-1]) * 1000 if c.endswith("k") else int(c)
        except ValueError:
            raise ConfigError(f"bad synthfaces count in '{text}'") from None
    if count <= 0:
        raise ConfigError(f"synthfaces count must be positive in '{text}'")
    opts = {"res": default_resolution, "seed": 0}
    for part in filter(None, (m["query"] or "").split("&")):
        key, _, value = part.partition("=")
        key = {"resolution": "res"}.get(key.strip(), key.strip())
        if key not in opts:
            raise ConfigError(f"unknown synthfaces option '{key}' in '{text}' (known: res, seed)")
        try:
            opts[key] = int(value)
        except ValueError:
            raise ConfigError(f"synthfaces option {key} must be an integer in '{text}'") from None
    if opts["seed"] < 0:
        raise ConfigError(f"synthfaces seed must be >= 0 in '{text}'")
    return SynthFacesSpec(count, check_resolution(opts["res"]), opts["seed"])


# ---------------------------------------------------------------------------------------------
# Label statistics and export.
# ---------------------------------------------------------------------------------------------

# The intended label frequencies (measured on 200,000 faces of seed 0; the tests hold the model to them).
INTENDED_FREQUENCY = {
    "male": 0.420, "smiling": 0.478, "attractive": 0.526, "wavy-hair": 0.310, "young": 0.775,
    "5-o-clock-shadow": 0.102, "arched-eyebrows": 0.274, "bags-under-eyes": 0.222, "bald": 0.022,
    "bangs": 0.144, "big-lips": 0.239, "big-nose": 0.252, "black-hair": 0.241, "blond-hair": 0.151,
    "blurry": 0.050, "brown-hair": 0.202, "bushy-eyebrows": 0.144, "chubby": 0.061, "double-chin": 0.046,
    "eyeglasses": 0.073, "goatee": 0.062, "gray-hair": 0.037, "heavy-makeup": 0.383,
    "high-cheekbones": 0.448, "mouth-slightly-open": 0.475, "mustache": 0.038, "narrow-eyes": 0.118,
    "no-beard": 0.857, "oval-face": 0.278, "pale-skin": 0.041, "pointy-nose": 0.277,
    "receding-hairline": 0.077, "rosy-cheeks": 0.067, "sideburns": 0.071, "straight-hair": 0.202,
    "wearing-earrings": 0.182, "wearing-hat": 0.049, "wearing-lipstick": 0.479, "wearing-necklace": 0.120,
    "wearing-necktie": 0.069,
}

# CelebA's positive rates (all 202,599 images), for comparison in `label_statistics`.
CELEBA_FREQUENCY = {
    "5-o-clock-shadow": 0.111, "arched-eyebrows": 0.267, "attractive": 0.513, "bags-under-eyes": 0.205,
    "bald": 0.022, "bangs": 0.152, "big-lips": 0.241, "big-nose": 0.234, "black-hair": 0.239,
    "blond-hair": 0.148, "blurry": 0.051, "brown-hair": 0.205, "bushy-eyebrows": 0.142, "chubby": 0.058,
    "double-chin": 0.047, "eyeglasses": 0.065, "goatee": 0.063, "gray-hair": 0.042, "heavy-makeup": 0.387,
    "high-cheekbones": 0.455, "male": 0.417, "mouth-slightly-open": 0.483, "mustache": 0.042,
    "narrow-eyes": 0.115, "no-beard": 0.835, "oval-face": 0.284, "pale-skin": 0.043, "pointy-nose": 0.277,
    "receding-hairline": 0.080, "rosy-cheeks": 0.066, "sideburns": 0.057, "smiling": 0.482,
    "straight-hair": 0.208, "wavy-hair": 0.320, "wearing-earrings": 0.189, "wearing-hat": 0.048,
    "wearing-lipstick": 0.472, "wearing-necklace": 0.123, "wearing-necktie": 0.073, "young": 0.774,
}


def label_statistics(count: int = 20_000, seed: int = 0):
    """Label frequencies and the 40 x 40 correlation matrix of faces 0..count-1 (no drawing needed).

    Returns (frequencies, correlations): a DataFrame with columns attr, celeba_name, frequency,
    celeba_frequency, and a DataFrame of Pearson correlations indexed by NVIDIA names.
    """
    if count < 2:
        raise ConfigError("label statistics need at least 2 faces")
    labels = sample_labels(np.arange(count), seed).numpy().astype(np.float64)
    freq = pd.DataFrame({
        "attr": NVIDIA_ATTRS,
        "celeba_name": [nvidia_to_celeba(n) for n in NVIDIA_ATTRS],
        "frequency": labels.mean(axis=0),
        "celeba_frequency": [CELEBA_FREQUENCY[n] for n in NVIDIA_ATTRS],
    })
    std = labels.std(axis=0)
    centred = labels - labels.mean(axis=0)
    cov = centred.T @ centred / count
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = cov / np.outer(std, std)
    return freq, pd.DataFrame(corr, index=NVIDIA_ATTRS, columns=NVIDIA_ATTRS)


def export_synthfaces(out, count: int = DEFAULT_COUNT, resolution: int = DEFAULT_RESOLUTION, seed: int = 0,
                      zip: bool = False, image_format: str = "png", batch_size: int = 256, workers: int = 0,
                      progress: bool = False):
    """Draw faces 0..count-1 and write them in CelebA format (80/10/10 train/val/test by index).

    `workers` > 0 renders in that many processes (the bytes do not depend on it).
    """
    resolution = check_resolution(resolution)
    if count <= 0:
        raise ConfigError("count must be positive")
    batches = torch.utils.data.DataLoader(_Batches(count, seed, resolution, batch_size), batch_size=None,
                                          num_workers=max(0, int(workers)))
    return write_celeba(out, batches, count=count, partition=lambda i: synthetic_partition(i, count),
                        image_format=image_format, zip=zip, progress=progress)


class _Batches(torch.utils.data.Dataset):
    """Consecutive blocks of faces, so that DataLoader workers can render them in parallel."""

    def __init__(self, count: int, seed: int, resolution: int, batch_size: int):
        self.count, self.seed, self.resolution, self.batch_size = count, seed, resolution, batch_size

    def __len__(self) -> int:
        return -(-self.count // self.batch_size)

    def __getitem__(self, b: int):
        start = b * self.batch_size
        return render(np.arange(start, min(self.count, start + self.batch_size)), self.seed, self.resolution)
