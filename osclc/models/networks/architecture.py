"""Which network to build: ``ArchConfig``, a classification or a segmentation architecture, and ``build_model``.

``ArchConfig`` is a discriminated union of :class:`ClassificationArch` (``classification_arch.py``:
teachers and SCLC students on a layer plan) and :class:`SegmentationArch`
(``segmentation_arch.py``: U-Net teacher and SCLC U-Net student). The ``variant`` key selects
the member: ``teacher``, ``sq_teacher``, ``sclc``, ``sclc_maxpool``, ``backend_only`` (or no
variant: ``sclc``) are classification, ``unet`` and ``sclc_unet`` segmentation. Each member
forbids the other's fields, and validation errors name the member
(``arch.segmentation.pools: unknown key``).
"""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import Discriminator, Tag
from torch import nn

from osclc.models.networks.classification_arch import (
    ClassificationArch,
    ClassificationVariant,
    build_classifier,
)
from osclc.models.networks.segmentation_arch import (
    SegmentationArch,
    SegmentationVariant,
    build_segmentation_model,
)

__all__ = [
    "CLASSIFICATION_VARIANTS",
    "SEGMENTATION_VARIANTS",
    "ArchConfig",
    "ClassificationArch",
    "SegmentationArch",
    "build_model",
]

CLASSIFICATION_VARIANTS: tuple[str, ...] = get_args(ClassificationVariant)
SEGMENTATION_VARIANTS: tuple[str, ...] = get_args(SegmentationVariant)
_DEFAULT_VARIANT = ClassificationArch.model_fields["variant"].default


def _task_tag(value: object) -> Literal["classification", "segmentation"] | None:
    """Union tag of a mapping (its ``variant``, default ``sclc``) or of an architecture instance; None if neither."""
    variant = value.get("variant", _DEFAULT_VARIANT) if isinstance(value, dict) else getattr(value, "variant", None)
    if variant in CLASSIFICATION_VARIANTS:
        return "classification"
    if variant in SEGMENTATION_VARIANTS:
        return "segmentation"
    return None


ArchConfig = Annotated[
    Annotated[ClassificationArch, Tag("classification")] | Annotated[SegmentationArch, Tag("segmentation")],
    Discriminator(
        _task_tag,
        custom_error_type="arch_variant",
        custom_error_message=(
            f"variant must be one of {', '.join(CLASSIFICATION_VARIANTS)} (classification) "
            f"or {', '.join(SEGMENTATION_VARIANTS)} (segmentation), in a mapping of architecture fields"
        ),
    ),
]
"""A classification or a segmentation architecture, told apart by ``variant``."""


def build_model(arch: ArchConfig, in_channels: int, image_size: int, num_classes: int) -> nn.Module:
    """The network ``arch`` describes for images [B, in_channels, N, N] and ``num_classes`` classes (per image or pixel)."""
    if in_channels < 1 or image_size < 1 or num_classes < 1:
        raise ValueError(f"build_model: in_channels={in_channels}, image_size={image_size}, num_classes={num_classes} must all be >= 1")
    if isinstance(arch, SegmentationArch):
        return build_segmentation_model(arch, in_channels, image_size, num_classes)
    return build_classifier(arch, in_channels, image_size, num_classes)
