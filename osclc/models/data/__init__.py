"""Datasets read from local folders or shipped with packages (digits, CIFAR-10, IDX, image folders, shapes, Carvana, VOC) and augmentation.

``load_dataset(spec)`` is the entry point (``parse_spec`` checks a spec, :data:`DATASETS` lists
the kinds); every loader returns :class:`DatasetSplits`. Names are imported on first use.
"""

from osclc.models.lazy_exports import lazy_exports

TYPE_CHECKING = False
if TYPE_CHECKING:
    from osclc.models.data.arrays import (
        ArraySplit,
        DatasetError,
        DatasetSplits,
        stratified_split,
    )
    from osclc.models.data.augment import random_shift
    from osclc.models.data.segmentation_files import SegmentationDataError
    from osclc.models.data.shapes import SHAPE_KINDS, ShapesSpecError, generate_shapes
    from osclc.models.data.spec import DATASETS, load_dataset, parse_spec

__all__ = [
    "DATASETS", "SHAPE_KINDS", "ArraySplit", "DatasetError", "DatasetSplits", "SegmentationDataError", "ShapesSpecError",
    "generate_shapes", "load_dataset", "parse_spec", "random_shift", "stratified_split",
]

if not TYPE_CHECKING:  # a module __getattr__ would let type checkers accept any attribute
    __getattr__, __dir__ = lazy_exports(__name__, __file__, __all__)
