"""Carvana-style binary segmentation folders: images and ``<name>_mask`` images beside them.

Layout (either pair of folder names under PATH)::

    PATH/train/<id>.jpg          PATH/train_masks/<id>_mask.gif      (Kaggle Carvana)
    PATH/images/<id>.<ext>       PATH/masks/<id>_mask.<ext>          (generic)

Every image needs exactly one mask of the same size whose values are 0 / 1 or 0 / 255, and every
mask needs its image; anything else raises :class:`SegmentationDataError` naming the file. Only
the training folder carries masks, so test and validation are seeded random splits of it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm import tqdm

from osclc.models.data.arrays import DatasetRequest, DatasetSplits, make_splits, request_folder
from osclc.models.data.segmentation_files import SegmentationDataError, image_files, read_binary_mask, read_image

FOLDER_PAIRS = (("images", "masks"), ("train", "train_masks"))
MASK_SUFFIX = "_mask"
CLASS_NAMES = ["background", "object"]
DEFAULT_SIZE = 128
"""Image side (pixels) when the request gives none (Carvana's 1918 x 1280 photos are squeezed to it)."""
TEST_FRACTION = 0.1
"""Share of the pairs held out as the test split."""


def carvana_pairs(root: Path) -> list[tuple[Path, Path]]:
    """(image, mask) file pairs under the existing folder ``root``, sorted by image name; validates the pairing."""
    root = Path(root)
    for images_name, masks_name in FOLDER_PAIRS:
        images_dir, masks_dir = root / images_name, root / masks_name
        if images_dir.is_dir() and masks_dir.is_dir():
            break
    else:
        raise SegmentationDataError(
            f"carvana:{root}: expected folders images/ + masks/ or train/ + train_masks/ (masks named <id>_mask.<ext>)"
        )
    masks: dict[str, Path] = {}
    for path in image_files(masks_dir):
        if not path.stem.endswith(MASK_SUFFIX):
            raise SegmentationDataError(f"{path}: mask name must end in {MASK_SUFFIX} (e.g. car01{MASK_SUFFIX}.png)")
        stem = path.stem[: -len(MASK_SUFFIX)]
        if stem in masks:
            raise SegmentationDataError(f"{path}: a second mask for image {stem!r} (also {masks[stem].name}); keep one")
        masks[stem] = path
    pairs = []
    for image in image_files(images_dir):
        mask = masks.pop(image.stem, None)
        if mask is None:
            raise SegmentationDataError(f"{image}: no mask {image.stem}{MASK_SUFFIX}.<ext> in {masks_dir}")
        pairs.append((image, mask))
    if masks:
        orphan = next(iter(masks.values()))
        raise SegmentationDataError(f"{orphan}: mask without an image {orphan.stem[: -len(MASK_SUFFIX)]}.<ext> in {images_dir}")
    if len(pairs) < 3:
        raise SegmentationDataError(f"carvana:{root}: {len(pairs)} image/mask pairs; need at least 3 (train, val, test)")
    return pairs


def load_carvana_arrays(pairs: list[tuple[Path, Path]], size: int, channels: int) -> tuple[np.ndarray, np.ndarray]:
    """Images ``[n, channels, size, size]`` float32 in [0, 1] and masks ``[n, size, size]`` int64 (0 / 1)."""
    xs = np.empty((len(pairs), channels, size, size), dtype=np.float32)
    ys = np.empty((len(pairs), size, size), dtype=np.int64)
    for i, (image, mask) in enumerate(tqdm(pairs, desc="carvana", disable=len(pairs) < 200, unit="img")):
        xs[i], original = read_image(image, channels, size)
        ys[i] = read_binary_mask(mask, original, size)
    return xs, ys


def load_carvana(request: DatasetRequest) -> DatasetSplits:
    """``carvana:PATH``: seeded test (10 %) and validation (``request.val_fraction``) splits of the pairs,
    images at ``request.image_size`` (default 128) with ``request.channels`` (default 3)."""
    spec, root = request_folder(request, "carvana", "/data/carvana", "the folder holding train/ + train_masks/ (or images/ + masks/)")
    arrays = load_carvana_arrays(carvana_pairs(root), request.image_size or DEFAULT_SIZE, request.channels or 3)
    return make_splits(request, spec, arrays, None, 2, tuple(CLASS_NAMES), task="segmentation", test_fraction=TEST_FRACTION)
