"""Training: KD loss, the trainer with exact resume, torchrun DDP, train configs, safetensors checkpoints, evaluation and metrics.

``train_model(TrainConfig, DatasetSplits)`` is the entry point. Names are imported on first use.
"""

from osclc.models.lazy_exports import lazy_exports

TYPE_CHECKING = False
if TYPE_CHECKING:
    from osclc.models.training.checkpoints import (
        CheckpointError,
        CheckpointMeta,
        ResumeState,
        checkpoint_folder,
        load_checkpoint,
        load_resume_state,
        read_meta,
        save_checkpoint,
    )
    from osclc.models.training.config import KDConfig, OptimiserConfig, TrainConfig
    from osclc.models.training.distributed import init_distributed, shutdown_distributed
    from osclc.models.training.evaluation import (
        Accuracy,
        Evaluation,
        accuracy_interval,
        evaluate_classifier,
        mean_interval,
    )
    from osclc.models.training.kd import kd_loss
    from osclc.models.training.segmentation_metrics import (
        ConfusionMatrix,
        format_scores,
        segmentation_scores,
    )
    from osclc.models.training.trainer import EpochResult, TrainResult, train_model

__all__ = [
    "Accuracy", "CheckpointError", "CheckpointMeta", "ConfusionMatrix", "EpochResult", "Evaluation", "KDConfig",
    "OptimiserConfig", "ResumeState", "TrainConfig", "TrainResult", "accuracy_interval", "checkpoint_folder",
    "evaluate_classifier", "format_scores", "init_distributed", "kd_loss", "load_checkpoint", "load_resume_state",
    "mean_interval", "read_meta", "save_checkpoint", "segmentation_scores", "shutdown_distributed", "train_model",
]

if not TYPE_CHECKING:  # a module __getattr__ would let type checkers accept any attribute
    __getattr__, __dir__ = lazy_exports(__name__, __file__, __all__)
