"""Learnable parts with no knowledge of hardware: layers, teachers, SCLC students, KD, folding, data.

The names below are the workflow's front door (build, train, checkpoint, fold); the
subpackages :mod:`~osclc.models.data`, :mod:`~osclc.models.layers`,
:mod:`~osclc.models.networks` and :mod:`~osclc.models.training` list the rest. Each name is
imported on first use (:mod:`osclc.models.lazy_exports`), so ``import osclc.models`` stays free
of torch.
"""

from osclc.models.lazy_exports import lazy_exports

TYPE_CHECKING = False
if TYPE_CHECKING:
    from osclc.models.data.arrays import DatasetSplits
    from osclc.models.data.spec import load_dataset
    from osclc.models.folding import FoldedSCLC, fold
    from osclc.models.networks.architecture import (
        ArchConfig,
        ClassificationArch,
        SegmentationArch,
        build_model,
    )
    from osclc.models.networks.sclc_unet import fold_levels
    from osclc.models.torch_device import select_device
    from osclc.models.training.checkpoints import (
        CheckpointError,
        CheckpointMeta,
        load_checkpoint,
        save_checkpoint,
    )
    from osclc.models.training.config import KDConfig, OptimiserConfig, TrainConfig
    from osclc.models.training.evaluation import evaluate_classifier
    from osclc.models.training.trainer import TrainResult, train_model

__all__ = [
    "ArchConfig", "CheckpointError", "CheckpointMeta", "ClassificationArch", "DatasetSplits", "FoldedSCLC", "KDConfig",
    "OptimiserConfig", "SegmentationArch", "TrainConfig", "TrainResult", "build_model", "evaluate_classifier", "fold",
    "fold_levels", "load_checkpoint", "load_dataset", "save_checkpoint", "select_device", "train_model",
]

if not TYPE_CHECKING:  # a module __getattr__ would let type checkers accept any attribute
    __getattr__, __dir__ = lazy_exports(__name__, __file__, __all__)
