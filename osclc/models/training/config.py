"""The ``train`` config (``kind: train``): dataset, architecture, optimiser, schedule, KD.

One schema serves teachers and students: ``osclc train teacher`` ignores the ``kd`` section and
refuses a ``teacher`` checkpoint; ``osclc train student`` distils from ``teacher`` when it is set
(or given with ``--teacher``) and trains on the labels alone otherwise.

Optimiser defaults are the paper's (SGD, learning rate 1e-4, momentum 0.9, weight decay 5e-4,
batch 16). That learning rate needs hundreds of epochs; the shipped digits configs
(``configs/train-*-digits.yaml``) use Adam (3e-3 teacher, 1e-2 student) with a cosine schedule
so that a run of seconds converges (chosen on the validation split).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from osclc.models.data.spec import parse_spec
from osclc.models.networks.architecture import ArchConfig
from osclc.models.networks.classification_arch import ClassificationArch


class OptimiserConfig(BaseModel):
    """Optimiser and learning-rate schedule."""

    model_config = ConfigDict(extra="forbid")

    name: Literal["sgd", "adam"] = Field("sgd", description="optimiser: sgd (with momentum, the paper's) or adam")
    lr: float = Field(1e-4, gt=0.0, le=10.0, description="learning rate at epoch 1 (per step, dimensionless); paper: 1e-4")
    momentum: float = Field(0.9, ge=0.0, lt=1.0, description="SGD momentum (dimensionless, 0..1); paper: 0.9; ignored by adam")
    weight_decay: float = Field(5e-4, ge=0.0, le=1.0, description="L2 weight decay (per step, dimensionless); paper: 5e-4")
    schedule: Literal["constant", "cosine"] = Field(
        "constant", description="learning rate over epochs: constant (paper) or cosine decay to 0 at the last epoch"
    )


class KDConfig(BaseModel):
    """Knowledge distillation, paper eq. 8: alpha * CE(labels, student) + (1 - alpha) * KL(teacher/T || student/T)."""

    model_config = ConfigDict(extra="forbid")

    alpha: float = Field(0.5, ge=0.0, le=1.0, description="weight of the hard-label cross-entropy (0..1); 1 - alpha weights the KL term")
    temperature: float = Field(4.0, gt=0.0, le=100.0, description="distillation temperature T (dimensionless, > 0)")
    t_squared: bool = Field(True, description="multiply the KL term by T^2 (Hinton et al.) so its gradient scale does not shrink with T")


class TrainConfig(BaseModel):
    """Training of a teacher CNN or an SCLC student on one dataset (``osclc train teacher|student``)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["train"] = "train"
    dataset: str = Field("digits", description="dataset spec: digits, cifar10:PATH, folder:PATH, mnist:PATH, ...")
    image_size: int | None = Field(None, ge=2, le=8192, description="square input size (pixels); null = the dataset's own")
    channels: Literal[1, 3] | None = Field(None, description="input channels: 1 gray, 3 colour; null = the dataset's own")
    split_seed: int = Field(0, ge=0, le=2**31 - 1, description="seed of the train/val/test split (keep it fixed across training seeds)")
    val_fraction: float = Field(0.1, ge=0.0, le=0.9, description="share of the training images held out for validation (0..0.9)")
    arch: ArchConfig = Field(default_factory=ClassificationArch,
                             description="network to train: a classification or a segmentation architecture, chosen by its variant")
    optimiser: OptimiserConfig = Field(default_factory=OptimiserConfig, description="optimiser and learning-rate schedule")
    epochs: int = Field(10, ge=1, le=100000, description="passes over the training split")
    batch_size: int = Field(16, ge=1, le=65536, description="images per optimiser step, over all processes (paper: 16)")
    augment_shift: int = Field(
        0, ge=0, le=16,
        description="training images only: shift each by a random integer (dy, dx) in -s..s pixels, zero fill (0 = off; 1 is standard for 8 x 8 digits)",
    )
    eval_batch_size: int = Field(256, ge=1, le=65536, description="images per forward pass when evaluating")
    seed: int = Field(0, ge=0, le=2**31 - 1, description="seed of the initial weights, shuffling and any randomness in training")
    kd: KDConfig = Field(default_factory=KDConfig, description="knowledge distillation (students with a teacher only)")
    teacher: str | None = Field(None, description="teacher checkpoint folder for KD (students only); null = no distillation")

    @field_validator("dataset")
    @classmethod
    def _known_dataset(cls, value: str) -> str:
        parse_spec(value)
        return value
