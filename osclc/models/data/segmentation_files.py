"""Reading segmentation images and masks from files, with errors that name the file.

Images become amplitudes in [0, 1] (``[C, S, S]`` float32, C = 1 grey or 3 RGB), resized to a
square side S with area averaging (the whole image is squeezed to a square, not cropped: a
segmentation must see the whole object, and the mask goes through the same geometry); masks become class indices (``[S, S]`` int64) resized with
nearest neighbour, so no label is ever invented by interpolation. Pillow reads the files (it
reads GIF, which OpenCV does not, and keeps palette indices of VOC-style PNGs).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from osclc.models.data.arrays import DatasetError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".gif")


class SegmentationDataError(DatasetError):
    """A missing, unreadable or inconsistent image or mask; the message names the file and the fix."""


def _open(path: Path) -> Image.Image:
    try:
        image = Image.open(path)
        image.load()
    except FileNotFoundError:
        raise
    except (UnidentifiedImageError, OSError) as exc:
        raise SegmentationDataError(f"{path}: cannot read the image ({exc}); replace or remove the file") from None
    return image


def read_image(path: Path, channels: int, size: int | None) -> tuple[np.ndarray, tuple[int, int]]:
    """Image at ``path`` as ``[channels, S, S]`` float32 in [0, 1] and its original (height, width)."""
    image = _open(path)
    original = (image.height, image.width)
    image = image.convert("L" if channels == 1 else "RGB")
    if size is not None and (image.width, image.height) != (size, size):
        image = image.resize((size, size), Image.Resampling.BOX if image.width >= size else Image.Resampling.BILINEAR)
    array = np.asarray(image, dtype=np.float32) / 255.0
    return (array[None] if channels == 1 else array.transpose(2, 0, 1)).copy(), original


def read_binary_mask(path: Path, expected: tuple[int, int], size: int | None) -> np.ndarray:
    """Binary mask (0 / 1 or 0 / 255, any mode with equal colour channels) as ``[S, S]`` int64 of 0 / 1.

    Raises :class:`SegmentationDataError` naming ``path`` when its size differs from the image's
    ``expected`` (height, width), its channels differ, or it holds values other than two levels.
    """
    image = _open(path)
    _check_size(path, image, expected)
    array = np.asarray(image.convert("RGB") if image.mode == "P" else image)
    if array.ndim == 3:
        if not (array == array[..., :1]).all():
            raise SegmentationDataError(f"{path}: colour mask; a binary mask must be grey (0 = background, 1 or 255 = object)")
        array = array[..., 0]
    values = set(np.unique(array).tolist())
    if not (values <= {0, 1} or values <= {0, 255}):
        shown = sorted(values)[:6]
        raise SegmentationDataError(
            f"{path}: mask values {shown}{'...' if len(values) > 6 else ''} are not binary; "
            "save masks losslessly (PNG/GIF) with 0 = background and 1 or 255 = object"
        )
    mask = (array > 0).astype(np.uint8)
    return _resize_labels(mask, size)


def read_palette_mask(path: Path, expected: tuple[int, int], size: int | None, num_classes: int,
                      ignore_index: int = 255) -> np.ndarray:
    """Palette-index mask (VOC ``SegmentationClass``: mode P or L) as ``[S, S]`` int64 class indices.

    Values must be in ``[0, num_classes)`` or equal ``ignore_index``; otherwise (or on an RGB
    mask, or a size that differs from the image's) raises :class:`SegmentationDataError` naming ``path``.
    """
    image = _open(path)
    _check_size(path, image, expected)
    if image.mode not in ("P", "L"):
        raise SegmentationDataError(
            f"{path}: mask mode {image.mode}; expected a palette (P) or grey (L) PNG whose values are class indices"
        )
    array = np.asarray(image)
    bad = (array >= num_classes) & (array != ignore_index)
    if bad.any():
        raise SegmentationDataError(
            f"{path}: mask values {sorted(np.unique(array[bad]).tolist())[:6]} are not classes 0..{num_classes - 1} "
            f"nor the ignore value {ignore_index}"
        )
    return _resize_labels(array.astype(np.uint8), size)


def _check_size(path: Path, image: Image.Image, expected: tuple[int, int]) -> None:
    if (image.height, image.width) != expected:
        raise SegmentationDataError(
            f"{path}: mask is {image.height} x {image.width} pixels but its image is {expected[0]} x {expected[1]}; "
            "the mask must match its image"
        )


def _resize_labels(mask: np.ndarray, size: int | None) -> np.ndarray:
    if size is not None and mask.shape != (size, size):
        mask = np.asarray(Image.fromarray(mask).resize((size, size), Image.Resampling.NEAREST))
    return mask.astype(np.int64)


def image_files(folder: Path) -> list[Path]:
    """Image files directly in ``folder``, sorted by name."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
