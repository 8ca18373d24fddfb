"""In-memory image datasets shared by every loader: splits, amplitude images, resizing, channels.

Every loader turns its files into the same thing: images whose pixel value is the **field
amplitude** the input modulator shows, in [0, 1] (0 = dark, 1 = full transmission), never
mean/std normalised (an amplitude modulator cannot show negative values). 8-bit sources are
kept as ``uint8`` in memory (amplitude = value / 255, converted per batch, 4x less memory than
float32); other sources are held as float32 amplitude.

Images are square (``image_size`` x ``image_size``): a non-square image is centre-cropped to a
square, then resized with OpenCV (area averaging when shrinking, bilinear when enlarging).
Colour -> grayscale uses the ITU-R BT.601 luminance (0.299 R + 0.587 G + 0.114 B, what OpenCV
uses); grayscale -> colour repeats the channel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

Task = Literal["classification", "segmentation"]


class DatasetError(ValueError):
    """A dataset that cannot be used; the message names the file or folder, the problem and the fix."""


@dataclass(frozen=True)
class DatasetRequest:
    """What a loader is asked for: the spec's name and argument, and the wanted image geometry.

    ``image_size`` (pixels, square) and ``channels`` (1 or 3) are None for the dataset's native
    ones; ``seed`` fixes the train/val(/test) split; ``val_fraction`` (0..0.9) of the training
    images becomes the validation split (stratified by class).
    """

    name: str
    argument: str | None = None
    image_size: int | None = None
    channels: int | None = None
    seed: int = 0
    val_fraction: float = 0.1


class ArraySplit(Dataset):
    """One split held in memory: ``images`` ``[N, C, H, W]`` (uint8 = amplitude x 255, or float32
    amplitude in [0, 1]) and ``targets`` (``[N]`` class indices, or ``[N, H, W]`` for segmentation).

    It is a ``torch.utils.data.Dataset`` (items are ``(x float32 [C, H, W], y)``), and
    :meth:`batch` gathers many items at once, which is what the training loop uses.
    """

    def __init__(self, images: torch.Tensor, targets: torch.Tensor) -> None:
        if images.ndim != 4:
            raise DatasetError(f"images must be [N, C, H, W], got shape {tuple(images.shape)}")
        if images.dtype not in (torch.uint8, torch.float32):
            raise DatasetError(f"images must be uint8 or float32, got {images.dtype}")
        if len(images) != len(targets):
            raise DatasetError(f"{len(images)} images but {len(targets)} targets; they must match one to one")
        self.images = images
        self.targets = targets.to(torch.int64)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return _amplitude(self.images[index]), self.targets[index]

    def batch(self, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Images (float32 amplitude ``[B, C, H, W]``) and targets at ``index`` (a 1-D int64 tensor)."""
        return _amplitude(self.images[index]), self.targets[index]

    @property
    def x(self) -> torch.Tensor:
        """All images as float32 amplitude ``[N, C, H, W]`` (materialised; fine for small sets)."""
        return _amplitude(self.images)

    @property
    def y(self) -> torch.Tensor:
        """All targets (int64)."""
        return self.targets


def _amplitude(images: torch.Tensor) -> torch.Tensor:
    if images.dtype == torch.uint8:
        return images.to(torch.float32) / 255.0
    return images


def as_array_split(dataset: Dataset) -> ArraySplit:
    """An :class:`ArraySplit` view of any map-style dataset of ``(x, y)`` items (stacks them if needed)."""
    if isinstance(dataset, ArraySplit):
        return dataset
    tensors = getattr(dataset, "tensors", None)
    if tensors is not None and len(tensors) == 2:
        images, targets = tensors
    else:
        items = [dataset[i] for i in range(len(dataset))]  # type: ignore[arg-type]
        images = torch.stack([torch.as_tensor(x) for x, _ in items])
        targets = torch.stack([torch.as_tensor(y) for _, y in items])
    if images.dtype != torch.uint8:
        images = images.to(torch.float32)
    return ArraySplit(images, targets)


@dataclass(frozen=True)
class DatasetSplits:
    """A dataset ready for training: train / val / test splits and what the model must be built for.

    ``image_size`` (pixels, square), ``channels`` (input channels), ``num_classes``; ``task`` is
    ``classification`` (targets ``[N]``) or ``segmentation`` (targets ``[N, H, W]``); ``spec`` is
    the spec string it was loaded from; ``class_names`` the label of each class index.
    """

    train: ArraySplit
    val: ArraySplit
    test: ArraySplit
    num_classes: int
    image_size: int
    channels: int
    task: Task
    spec: str
    class_names: tuple[str, ...] = field(default=())

    def summary(self) -> str:
        """One line: sizes of the splits and the geometry."""
        return (
            f"{self.spec}: {len(self.train)} train / {len(self.val)} val / {len(self.test)} test, "
            f"{self.channels} x {self.image_size} x {self.image_size}, {self.num_classes} classes ({self.task})"
        )


# ---------------------------------------------------------------------------- image preparation


def square_resize(image: np.ndarray, size: int) -> np.ndarray:
    """Centre-crop ``image`` (``[H, W]`` or ``[H, W, C]``) to a square, then resize it to ``size`` x ``size``."""
    height, width = image.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    image = image[top : top + side, left : left + side]
    if side == size:
        return np.ascontiguousarray(image)
    interpolation = cv2.INTER_AREA if size < side else cv2.INTER_LINEAR
    resized = cv2.resize(np.ascontiguousarray(image), (size, size), interpolation=interpolation)
    if image.ndim == 3 and resized.ndim == 2:  # OpenCV drops a single channel axis
        resized = resized[:, :, None]
    return resized


def convert_channels(image: np.ndarray, channels: int) -> np.ndarray:
    """``image`` ``[H, W, C]`` (RGB order) with ``channels`` channels: BT.601 luminance for 3 -> 1, repeat for 1 -> 3."""
    have = image.shape[2]
    if have == channels:
        return image
    if have == 3 and channels == 1:
        return cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY)[:, :, None]
    if have == 1 and channels == 3:
        return np.repeat(image, 3, axis=2)
    raise DatasetError(f"cannot convert {have} channel(s) to {channels}; channels must be 1 or 3")


def prepare_images(
    images: np.ndarray, image_size: int | None, channels: int | None, source: str
) -> np.ndarray:
    """Stack of square images ``[N, H, W, C]`` (uint8 or float32 amplitude) -> ``[N, C', S, S]`` of the same dtype.

    ``image_size`` / ``channels`` None keep the native ones. ``source`` names the file in errors.
    """
    if images.ndim != 4 or images.shape[3] not in (1, 3):
        raise DatasetError(f"{source}: images must be [N, H, W, 1 or 3], got shape {images.shape}")
    if len(images) == 0:
        raise DatasetError(f"{source}: holds no images")
    changes = (
        images.shape[1] != images.shape[2]
        or image_size not in (None, images.shape[1])
        or channels not in (None, images.shape[3])
    )
    out = np.stack([_prepare_one(image, image_size, channels) for image in images]) if changes else images
    if out.dtype == np.float32:
        out = np.clip(out, 0.0, 1.0)
    return np.ascontiguousarray(out.transpose(0, 3, 1, 2))


def _prepare_one(image: np.ndarray, image_size: int | None, channels: int | None) -> np.ndarray:
    if channels is not None:
        image = convert_channels(image, channels)
    size = image_size if image_size is not None else min(image.shape[:2])
    return square_resize(image, size)


def check_channels(channels: int | None, source: str) -> None:
    """Refuse a channel count other than None, 1 or 3."""
    if channels not in (None, 1, 3):
        raise DatasetError(f"{source}: channels={channels!r}; use 1 (grayscale), 3 (colour) or leave it unset")


def request_folder(request: DatasetRequest, scheme: str, example: str, what: str) -> tuple[str, Path]:
    """``(spec, folder)`` for a loader whose argument is a folder: ``spec`` is ``"<scheme>:<argument>"``.

    Refuses (DatasetError) a missing argument (the message shows ``example``, a sample path), a bad
    channel count, and a folder that does not exist (the message says to give ``what``).
    """
    if not request.argument:
        raise DatasetError(f"{scheme}: needs a folder, e.g. '{scheme}:{example}'")
    spec = f"{scheme}:{request.argument}"
    check_channels(request.channels, spec)
    folder = Path(request.argument).expanduser()
    if not folder.is_dir():
        raise DatasetError(f"{spec}: no such folder; give {what}")
    return spec, folder


# ---------------------------------------------------------------------------- splits


def stratified_split(targets: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(keep, take)``: ``take`` holds ``fraction`` of the items, stratified by class where possible.

    Stratification needs at least two items per class and one per class in each part; otherwise a
    plain seeded random split is used. ``fraction`` 0 takes nothing.
    """
    n = len(targets)
    order = np.random.default_rng(seed).permutation(n)
    n_take = int(round(fraction * n))
    if n_take == 0:
        return np.sort(order), np.zeros(0, dtype=np.int64)
    if n_take >= n:
        raise DatasetError(f"a split fraction of {fraction} leaves no items out of {n}; use a smaller fraction")
    classes, counts = np.unique(targets, return_counts=True) if targets.ndim == 1 else (np.zeros(0), np.zeros(0))
    if targets.ndim == 1 and counts.min() >= 2 and len(classes) <= min(n_take, n - n_take):
        take_parts = []
        rng = np.random.default_rng(seed)
        exact = counts * fraction
        per_class = np.floor(exact).astype(int)
        # hand the remaining items to the classes with the largest remainders (ties in class order)
        remainder = n_take - per_class.sum()
        per_class[np.argsort(-(exact - per_class), kind="stable")[:remainder]] += 1
        per_class = np.clip(per_class, 1, counts - 1)
        for cls, k in zip(classes, per_class, strict=True):
            members = np.flatnonzero(targets == cls)
            take_parts.append(rng.permutation(members)[:k])
        take = np.sort(np.concatenate(take_parts))
    else:
        take = np.sort(order[:n_take])
    keep = np.setdiff1d(np.arange(n), take)
    return keep, take


def make_splits(
    request: DatasetRequest,
    spec: str,
    train: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray] | None,
    num_classes: int,
    class_names: tuple[str, ...] = (),
    task: Task = "classification",
    test_fraction: float = 0.2,
) -> DatasetSplits:
    """Build :class:`DatasetSplits` from prepared arrays ``(images [N, C, S, S], targets)``.

    Without a ``test`` pair, ``test_fraction`` of ``train`` becomes the test split (seeded by
    ``request.seed``, stratified); then ``request.val_fraction`` of what is left becomes validation.
    """
    images, targets = train
    if test is None:
        keep, take = stratified_split(targets, test_fraction, request.seed)
        test = (images[take], targets[take])
        images, targets = images[keep], targets[keep]
    keep, take = stratified_split(targets, request.val_fraction, request.seed + 1)
    parts = [(images[keep], targets[keep]), (images[take], targets[take]), test]
    splits = [
        ArraySplit(torch.from_numpy(np.require(x, requirements=["C", "W"])), torch.from_numpy(np.require(y, requirements=["C", "W"])))
        for x, y in parts
    ]
    channels, size = images.shape[1], images.shape[2]
    for split in splits:
        if split.images.shape[1:] != (channels, size, size):
            raise DatasetError(
                f"{spec}: train images are {channels} x {size} x {size} but another split has "
                f"{tuple(split.images.shape[1:])}; give image_size/channels so they match"
            )
    return DatasetSplits(
        train=splits[0], val=splits[1], test=splits[2], num_classes=num_classes, image_size=size,
        channels=channels, task=task, spec=spec, class_names=tuple(class_names),
    )
