"""Pascal VOC 2012 semantic segmentation in its published folder layout.

PATH is the ``VOC2012`` folder (or a folder containing ``VOC2012`` or ``VOCdevkit/VOC2012``)::

    JPEGImages/<id>.jpg
    SegmentationClass/<id>.png           palette PNG: class index per pixel, 255 = ignore (borders)
    ImageSets/Segmentation/train.txt     one id per line
    ImageSets/Segmentation/val.txt

The public test set has no masks, so ``val.txt`` is the test split and the validation split is a
seeded share of ``train.txt``. A listed id without its image or mask, a mask of another size
than its image, or values outside 0..20 and 255 raise :class:`SegmentationDataError` naming the file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm import tqdm

from osclc.models.data.arrays import DatasetRequest, DatasetSplits, make_splits, request_folder
from osclc.models.data.segmentation_files import SegmentationDataError, read_image, read_palette_mask

CLASS_NAMES = [
    "background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor",
]
IGNORE_INDEX = 255
DEFAULT_SIZE = 128
"""Image side (pixels) when the request gives none."""


def voc_root(path: Path) -> Path:
    """The folder holding JPEGImages / SegmentationClass / ImageSets under the existing folder ``path``."""
    path = Path(path)
    for candidate in (path, path / "VOC2012", path / "VOCdevkit" / "VOC2012"):
        if (candidate / "ImageSets" / "Segmentation").is_dir():
            return candidate
    raise SegmentationDataError(
        f"voc:{path}: no ImageSets/Segmentation folder here, in VOC2012/ or in VOCdevkit/VOC2012/; "
        "point voc: at the VOC2012 folder"
    )


def read_id_list(root: Path, split: str) -> list[str]:
    """Ids listed in ``ImageSets/Segmentation/<split>.txt`` (blank lines skipped)."""
    path = root / "ImageSets" / "Segmentation" / f"{split}.txt"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing list of {split} ids (one image id per line)")
    ids = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    if not ids:
        raise SegmentationDataError(f"{path}: empty list; it must name at least one image id")
    return ids


def load_voc_arrays(root: Path, ids: list[str], size: int, channels: int) -> tuple[np.ndarray, np.ndarray]:
    """Images ``[n, channels, size, size]`` float32 in [0, 1] and masks ``[n, size, size]`` int64 (255 = ignore)."""
    xs = np.empty((len(ids), channels, size, size), dtype=np.float32)
    ys = np.empty((len(ids), size, size), dtype=np.int64)
    for i, name in enumerate(tqdm(ids, desc="voc", disable=len(ids) < 200, unit="img")):
        image = root / "JPEGImages" / f"{name}.jpg"
        mask = root / "SegmentationClass" / f"{name}.png"
        for path in (image, mask):
            if not path.is_file():
                raise FileNotFoundError(f"{path}: listed id {name!r} has no such file")
        xs[i], original = read_image(image, channels, size)
        ys[i] = read_palette_mask(mask, original, size, len(CLASS_NAMES), IGNORE_INDEX)
    return xs, ys


def load_voc(request: DatasetRequest) -> DatasetSplits:
    """``voc:PATH``: train.txt (less ``request.val_fraction`` for validation) and val.txt as the test split,
    images at ``request.image_size`` (default 128) with ``request.channels`` (default 3)."""
    spec, folder = request_folder(request, "voc", "/data/VOCdevkit/VOC2012", "the VOC2012 folder (or one holding VOC2012/ or VOCdevkit/VOC2012/)")
    root = voc_root(folder)
    size, channels = request.image_size or DEFAULT_SIZE, request.channels or 3
    train = load_voc_arrays(root, read_id_list(root, "train"), size, channels)
    test = load_voc_arrays(root, read_id_list(root, "val"), size, channels)
    return make_splits(request, spec, train, test, len(CLASS_NAMES), tuple(CLASS_NAMES), task="segmentation")
