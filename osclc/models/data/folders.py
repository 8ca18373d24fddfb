"""``folder:PATH``: ImageFolder-style datasets, one sub-folder per class (Cats vs Dogs, HIGH-10 layouts).

Two layouts are recognised:

- ``PATH/<class>/<image>``: every image is training data; 20 % (stratified, seeded) is held out
  as the test split;
- ``PATH/train/<class>/<image>`` and ``PATH/test/<class>/<image>`` (``val``/``valid`` is read as
  part of the training data, validation is always carved from it with the seed).

Class indices follow the sorted names of the training class folders. Images are read with
OpenCV (png, jpg, bmp, tif, webp, pgm/ppm; hidden files and other extensions are skipped);
16-bit images are reduced to 8 bits (the input modulator's levels), an alpha channel is
dropped, BGR becomes RGB. Every image is centre-cropped to a square and resized to
``image_size``; without ``image_size`` all images must already share one square size.
Native channels: 3 if any image is in colour, else 1.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from osclc.models.data.arrays import (
    DatasetError,
    DatasetRequest,
    DatasetSplits,
    convert_channels,
    make_splits,
    request_folder,
    square_resize,
)

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm", ".pbm"})
SPLIT_FOLDERS = {"train": "train", "test": "test", "val": "train", "valid": "train"}


def read_image(path: Path) -> np.ndarray:
    """One image file -> uint8 ``[H, W, 1]`` (gray) or ``[H, W, 3]`` (RGB); DatasetError names a corrupt file."""
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None or image.size == 0:
        raise DatasetError(f"{path}: not a readable image (corrupt or unsupported); remove or replace it")
    if image.dtype == np.uint16:
        image = np.right_shift(image, 8).astype(np.uint8)
    elif image.dtype != np.uint8:
        raise DatasetError(f"{path}: {image.dtype} pixels; only 8- and 16-bit images are supported")
    if image.ndim == 2:
        return image[:, :, None]
    if image.shape[2] == 4:
        image = image[:, :, :3]
    if image.shape[2] == 1:
        return image
    return np.ascontiguousarray(image[:, :, ::-1])


def _class_folders(root: Path) -> dict[str, list[Path]]:
    classes: dict[str, list[Path]] = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        files = sorted(
            p for p in folder.iterdir()
            if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in IMAGE_EXTENSIONS
        )
        if not files:
            raise DatasetError(f"{folder}: class folder holds no images ({', '.join(sorted(IMAGE_EXTENSIONS))})")
        classes[folder.name] = files
    return classes


def _layout(root: Path) -> dict[str, dict[str, list[Path]]]:
    """Split name ('train', 'test') -> class name -> image files."""
    subfolders = {p.name.lower(): p for p in root.iterdir() if p.is_dir()}
    if "train" in subfolders:
        splits: dict[str, dict[str, list[Path]]] = {"train": {}}
        for name, folder in sorted(subfolders.items()):
            role = SPLIT_FOLDERS.get(name)
            if role is None:
                raise DatasetError(
                    f"{folder}: unexpected folder beside train/; a split layout has only train, val/valid and test"
                )
            for cls, files in _class_folders(folder).items():
                splits.setdefault(role, {}).setdefault(cls, []).extend(files)
        return splits
    classes = _class_folders(root)
    if not classes:
        raise DatasetError(f"{root}: no class folders; put the images of each class in PATH/<class>/")
    return {"train": classes}


def _read_split(
    classes: dict[str, list[Path]], index: dict[str, int], image_size: int | None, channels: int | None
) -> tuple[list[np.ndarray], np.ndarray]:
    """Images (``[S, S, C]``, native channels when ``channels`` is None) and labels of one split, read once."""
    images: list[np.ndarray] = []
    labels: list[int] = []
    first: tuple[Path, tuple[int, int]] | None = None
    for cls, files in classes.items():
        for path in files:
            image = read_image(path)
            if channels is not None:
                image = convert_channels(image, channels)
            if image_size is None:
                size = image.shape[:2]
                if size[0] != size[1]:
                    raise DatasetError(f"{path}: {size[1]} x {size[0]} is not square; give image_size")
                first = first or (path, size)
                if size != first[1]:
                    raise DatasetError(
                        f"{path}: {size[1]} x {size[0]} differs from {first[0]} "
                        f"({first[1][1]} x {first[1][0]}); give image_size to resize them all"
                    )
            else:
                image = square_resize(image, image_size)
            images.append(image)
            labels.append(index[cls])
    return images, np.asarray(labels, dtype=np.int64)


def _stack(images: list[np.ndarray], channels: int) -> np.ndarray:
    """``[N, C, S, S]`` uint8 with every image brought to ``channels``."""
    stacked = np.stack([convert_channels(image, channels) for image in images])
    return np.ascontiguousarray(stacked.transpose(0, 3, 1, 2))


def load_folder(request: DatasetRequest) -> DatasetSplits:
    """An ImageFolder-style dataset (``request.argument`` is its root folder)."""
    spec, root = request_folder(request, "folder", "/data/cats-vs-dogs", "the folder holding one sub-folder per class")
    splits = _layout(root)
    names = sorted(splits["train"])
    unknown = sorted(set(splits.get("test", {})) - set(names))
    if unknown:
        raise DatasetError(f"{root / 'test'}: classes {unknown} have no training images in {root / 'train'}")
    if len(names) < 2:
        raise DatasetError(f"{root}: found {len(names)} class folder(s) ({names}); classification needs at least 2")
    index = {name: i for i, name in enumerate(names)}
    read = {role: _read_split(classes, index, request.image_size, request.channels) for role, classes in splits.items()}
    colour = any(image.shape[2] == 3 for images, _ in read.values() for image in images)
    channels = request.channels or (3 if colour else 1)
    train = (_stack(read["train"][0], channels), read["train"][1])
    test = (_stack(read["test"][0], channels), read["test"][1]) if "test" in read else None
    if test is not None and test[0].shape[2:] != train[0].shape[2:]:
        raise DatasetError(
            f"{root / 'test'}: images are {test[0].shape[3]} x {test[0].shape[2]} but the training images are "
            f"{train[0].shape[3]} x {train[0].shape[2]}; give image_size to resize them all"
        )
    return make_splits(request, spec, train, test, len(names), tuple(names))
