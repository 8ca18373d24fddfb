"""Generated segmentation data: shapes on textured backgrounds with exact per-pixel masks.

Every image is an amplitude in [0, 1] (``[C, S, S]`` float32, C = 1 grey or 3 colour) made of a
background texture (a few random oriented gratings plus smoothed noise) on which 1 to
``max_shapes`` filled shapes (disc, square, triangle, cross) are painted with hard edges, later
shapes occluding earlier ones, each with its own texture and a random contrast of either sign,
then pixel noise. The mask is computed with the same geometric test as the painting, so it is
exact: label 0 is background; ``binary`` labels every shape pixel 1, ``multi`` labels it
1 + the index of its kind in :data:`SHAPE_KINDS`.

Generation is vectorised over batches of images and fully determined by the seed (NumPy
``default_rng``): a few thousand 64 x 64 images take about a second.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Literal

import numpy as np

from osclc.models.data.arrays import DatasetRequest, DatasetSplits, check_channels, make_splits

SHAPE_KINDS: tuple[str, ...] = ("disc", "square", "triangle", "cross")
"""The shape kinds, in label order for the multi-class task (label = 1 + index)."""

ShapesLabels = Literal["binary", "multi"]
_BLOCK = 256  # images generated together (bounds memory; each block has its own seed)


class ShapesSpecError(ValueError):
    """A bad option of the ``shapes`` dataset; the message names the option, the value and the fix."""


@dataclass(frozen=True)
class ShapesOptions:
    """What to generate (all counts are images, sizes pixels).

    ``labels``: "binary" (background / shape, the default, like Carvana) or "multi" (background +
    one class per kind).
    ``n_train``: training images (the validation split is carved from them); ``n_test``: test images.
    ``max_shapes``: at most this many shapes per image (at least one).
    ``noise``: standard deviation of the additive pixel noise (amplitude units).
    """

    labels: ShapesLabels = "binary"
    n_train: int = 1000
    n_test: int = 250
    max_shapes: int = 3
    noise: float = 0.04

    @property
    def num_classes(self) -> int:
        """Number of per-pixel classes including background."""
        return 2 if self.labels == "binary" else 1 + len(SHAPE_KINDS)

    @property
    def class_names(self) -> list[str]:
        """Class names in label order."""
        return ["background", "shape"] if self.labels == "binary" else ["background", *SHAPE_KINDS]


_INT_OPTIONS = {"n": (2, 200_000), "n_test": (1, 100_000), "max_shapes": (1, 8)}
NATIVE_SIZE = 64
"""Image side (pixels) when the request gives none."""


def parse_shapes_options(text: str) -> ShapesOptions:
    """Options from the part of a ``shapes:...`` spec after the colon (empty = defaults).

    Grammar: comma-separated items, each ``binary``, ``multi`` or ``key=value`` with keys
    ``n`` (training images), ``n_val``, ``n_test``, ``max_shapes`` (integers) and ``noise``
    (float in [0, 0.5]). Example: ``shapes:binary,n=3000,noise=0.02``.
    """
    values: dict[str, object] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        if item in ("binary", "multi"):
            values["labels"] = item
            continue
        key, sep, raw = item.partition("=")
        if not sep:
            raise ShapesSpecError(f"shapes option {item!r} is not binary, multi or key=value; e.g. shapes:binary,n=3000")
        if key in _INT_OPTIONS:
            lo, hi = _INT_OPTIONS[key]
            try:
                number = int(raw)
            except ValueError:
                raise ShapesSpecError(f"shapes option {key}={raw!r} is not an integer; use e.g. {key}={lo + 99}") from None
            if not lo <= number <= hi:
                raise ShapesSpecError(f"shapes option {key}={number} is outside [{lo}, {hi}]")
            values["n_train" if key == "n" else key] = number
        elif key == "noise":
            try:
                noise = float(raw)
            except ValueError:
                raise ShapesSpecError(f"shapes option noise={raw!r} is not a number; use e.g. noise=0.04") from None
            if not 0.0 <= noise <= 0.5:
                raise ShapesSpecError(f"shapes option noise={noise} is outside [0, 0.5] (amplitude units)")
            values["noise"] = noise
        else:
            raise ShapesSpecError(
                f"unknown shapes option {key!r}; known: binary, multi, {', '.join(_INT_OPTIONS)}, noise"
            )
    return ShapesOptions(**values)  # type: ignore[arg-type]


def _texture(rng: np.random.Generator, n: int, size: int, channels: int, yy: np.ndarray, xx: np.ndarray) -> np.ndarray:
    """``[n, channels, size, size]`` textures in [0, 1]: random gratings plus smoothed noise."""
    out = np.zeros((n, size, size), dtype=np.float32)
    for _ in range(3):
        freq = (rng.uniform(1.0, 8.0, size=(n, 1, 1)) * (2 * np.pi / size)).astype(np.float32)  # rad per pixel
        angle = rng.uniform(0, np.pi, size=(n, 1, 1))
        ky, kx = (freq * np.sin(angle)).astype(np.float32), (freq * np.cos(angle)).astype(np.float32)
        phase = rng.uniform(0, 2 * np.pi, size=(n, 1, 1)).astype(np.float32)
        amp = rng.uniform(0.2, 1.0, size=(n, 1, 1)).astype(np.float32)
        # cos(a + b) separably: outer products of 1-D rows and columns instead of a full-grid cos
        cy, sy = np.cos(ky * yy + phase), np.sin(ky * yy + phase)
        cx, sx = np.cos(kx * xx), np.sin(kx * xx)
        out += amp * (cy * cx - sy * sx)
    coarse = rng.standard_normal((n, size // 8 + 1, size // 8 + 1)).astype(np.float32)
    out += 0.8 * np.repeat(np.repeat(coarse, 8, axis=1), 8, axis=2)[:, :size, :size]
    out -= out.min(axis=(1, 2), keepdims=True)
    out /= out.max(axis=(1, 2), keepdims=True) + 1e-6
    if channels == 1:
        return out[:, None]
    tint = rng.uniform(0.3, 1.0, size=(n, channels, 1, 1)).astype(np.float32)
    return out[:, None] * tint + (1 - tint) * rng.uniform(0, 1, size=(n, channels, 1, 1)).astype(np.float32)


def _inside(kind: np.ndarray, cy: np.ndarray, cx: np.ndarray, r: np.ndarray, theta: np.ndarray,
            yy: np.ndarray, xx: np.ndarray) -> np.ndarray:
    """Boolean ``[n, S, S]``: pixel centres inside each image's shape (kind index per image)."""
    dy, dx = yy - cy, xx - cx
    u = np.cos(theta) * dx + np.sin(theta) * dy
    v = -np.sin(theta) * dx + np.cos(theta) * dy
    disc = dy**2 + dx**2 <= r**2
    half = 0.85 * r
    square = (np.abs(u) <= half) & (np.abs(v) <= half)
    # equilateral triangle with circumradius 1.2 r: three half-planes at 120 degrees
    tri = np.ones_like(disc)
    for k in range(3):
        a = theta + 2 * np.pi * k / 3
        tri &= np.cos(a) * dx + np.sin(a) * dy <= 0.6 * r
    arm = r / 3
    cross = ((np.abs(u) <= r) & (np.abs(v) <= arm)) | ((np.abs(u) <= arm) & (np.abs(v) <= r))
    return np.select([kind == 0, kind == 1, kind == 2], [disc, square, tri], default=cross)


def generate_shapes(n: int, size: int = 64, channels: int = 1, labels: ShapesLabels = "binary",
                    seed: int = 0, max_shapes: int = 3, noise: float = 0.04) -> tuple[np.ndarray, np.ndarray]:
    """``n`` images ``[n, channels, size, size]`` float32 in [0, 1] and masks ``[n, size, size]`` int64.

    Deterministic: the same arguments give the same arrays.
    """
    if n < 1 or size < 8 or channels not in (1, 3) or max_shapes < 1:
        raise ShapesSpecError(
            f"generate_shapes: n={n} (>= 1), size={size} (>= 8 pixels), channels={channels} (1 or 3), "
            f"max_shapes={max_shapes} (>= 1): fix the offending value"
        )
    if labels not in ("binary", "multi"):
        raise ShapesSpecError(f"generate_shapes: labels={labels!r}; use 'binary' or 'multi'")
    images = np.empty((n, channels, size, size), dtype=np.float32)
    masks = np.empty((n, size, size), dtype=np.int64)
    coords = np.arange(size, dtype=np.float32) + 0.5
    yy, xx = coords[None, :, None], coords[None, None, :]
    for start in range(0, n, _BLOCK):
        count = min(_BLOCK, n - start)
        rng = np.random.default_rng([seed, start // _BLOCK, size, channels])
        img = _texture(rng, count, size, channels, yy, xx)
        mask = np.zeros((count, size, size), dtype=np.int64)
        n_shapes = rng.integers(1, max_shapes + 1, size=count)
        for slot in range(max_shapes):
            kind = rng.integers(0, len(SHAPE_KINDS), size=(count, 1, 1))
            r = rng.uniform(0.1, 0.25, size=(count, 1, 1)) * size
            cy = rng.uniform(0.15, 0.85, size=(count, 1, 1)) * size
            cx = rng.uniform(0.15, 0.85, size=(count, 1, 1)) * size
            theta = rng.uniform(0, 2 * np.pi, size=(count, 1, 1))
            fill = _texture(rng, count, size, channels, yy, xx)
            contrast = rng.uniform(0.25, 0.6, size=(count, 1, 1, 1)) * rng.choice([-1.0, 1.0], size=(count, 1, 1, 1))
            inside = _inside(kind, cy, cx, r, theta, yy, xx) & (slot < n_shapes)[:, None, None]
            base = img.mean(axis=(2, 3), keepdims=True)
            painted = np.clip(base + contrast + 0.5 * (fill - 0.5), 0.0, 1.0).astype(np.float32)
            img = np.where(inside[:, None], painted, img)
            label = np.ones_like(kind) if labels == "binary" else kind + 1
            mask = np.where(inside, label, mask)
        img += noise * rng.standard_normal(img.shape).astype(np.float32)
        images[start:start + count] = np.clip(img, 0.0, 1.0)
        masks[start:start + count] = mask
    return images, masks


def load_shapes(request: DatasetRequest) -> DatasetSplits:
    """The ``shapes[:options]`` dataset (native 1 x 64 x 64): train pool and test generated from seeds
    derived from ``request.seed``, validation carved from the pool (``request.val_fraction``)."""
    options = parse_shapes_options(request.argument or "")
    check_channels(request.channels, "shapes")
    size = request.image_size or NATIVE_SIZE
    channels = request.channels or 1
    spec = f"shapes:{request.argument}" if request.argument else "shapes"
    generate = partial(generate_shapes, size=size, channels=channels, labels=options.labels, max_shapes=options.max_shapes,
                       noise=options.noise)
    train = generate(options.n_train, seed=2 * request.seed + 1)
    test = generate(options.n_test, seed=2 * request.seed + 2)
    return make_splits(request, spec, train, test, options.num_classes, tuple(options.class_names), task="segmentation")
