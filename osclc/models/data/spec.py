"""Dataset specs: one string names a dataset and where it lives, e.g. ``digits`` or ``cifar10:/data/c10``.

Spec grammar: ``NAME`` or ``NAME:ARGUMENT`` (split at the first colon; the argument is usually
a folder). Registered names (see :data:`DATASETS`):

- ``digits``: scikit-learn's bundled 8 x 8 digits (the default; nothing to download);
- ``cifar10:PATH``: the CIFAR-10 python batches folder;
- ``folder:PATH``: ImageFolder-style class folders (Cats vs Dogs, HIGH-10);
- ``mnist:PATH``: MNIST-format IDX files;
- ``shapes[:OPTIONS]``: generated shapes on textured backgrounds with exact masks (segmentation);
- ``carvana:PATH``: Carvana-style image + ``_mask`` folders (binary segmentation);
- ``voc:PATH``: Pascal VOC 2012 segmentation layout (21 classes, 255 = ignore).

Every loader returns :class:`~osclc.models.data.arrays.DatasetSplits` whose images are field
amplitudes in [0, 1] (what the input modulator shows), split into train / val / test with a seed.
"""

from __future__ import annotations

from collections.abc import Callable

from osclc.models.data.arrays import DatasetError, DatasetRequest, DatasetSplits
from osclc.models.data.carvana import load_carvana
from osclc.models.data.cifar import load_cifar10
from osclc.models.data.digits import load_digits
from osclc.models.data.folders import load_folder
from osclc.models.data.idx import load_idx
from osclc.models.data.shapes import load_shapes
from osclc.models.data.voc import load_voc

DatasetLoader = Callable[[DatasetRequest], DatasetSplits]

DATASETS: dict[str, DatasetLoader] = {
    "digits": load_digits,
    "cifar10": load_cifar10,
    "folder": load_folder,
    "mnist": load_idx,
    "shapes": load_shapes,
    "carvana": load_carvana,
    "voc": load_voc,
}
"""Dataset name -> loader. Add a dataset with one line: ``DATASETS["name"] = loader``."""


def parse_spec(spec: str) -> tuple[str, str | None]:
    """``"name:argument"`` -> ``("name", "argument")``; ``"name"`` -> ``("name", None)``; unknown names refused."""
    if not isinstance(spec, str) or not spec.strip():
        raise DatasetError(f"dataset spec {spec!r} is empty; use one of {', '.join(DATASETS)} (e.g. 'digits')")
    name, sep, argument = spec.strip().partition(":")
    name = name.strip().lower()
    if name not in DATASETS:
        raise DatasetError(
            f"dataset spec {spec!r}: unknown dataset {name!r}; known: {', '.join(DATASETS)} "
            "(e.g. 'digits', 'cifar10:/data/cifar-10-batches-py', 'folder:/data/cats-vs-dogs', 'mnist:/data/mnist')"
        )
    return name, (argument if sep and argument else None)


def load_dataset(
    spec: str,
    image_size: int | None = None,
    channels: int | None = None,
    seed: int = 0,
    val_fraction: float = 0.1,
) -> DatasetSplits:
    """Load the dataset named by ``spec`` as amplitude images ``[N, C, S, S]`` in [0, 1].

    ``image_size`` (pixels, square) and ``channels`` (1 or 3) default to the dataset's own;
    ``seed`` fixes the split; ``val_fraction`` (0..0.9) of the training data is validation.
    """
    if image_size is not None and not 2 <= image_size <= 8192:
        raise DatasetError(f"image_size={image_size}: must be 2..8192 pixels")
    if not 0.0 <= val_fraction <= 0.9:
        raise DatasetError(f"val_fraction={val_fraction}: must be in [0, 0.9]")
    name, argument = parse_spec(spec)
    request = DatasetRequest(name, argument, image_size, channels, seed, val_fraction)
    return DATASETS[name](request)
