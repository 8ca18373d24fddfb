"""Classification architectures: AlexNet-style teachers and SCLC students on one layer plan.

``ClassificationArch`` names the variant and optionally overrides the default layer plan
(``plan.default_plan``: AlexNet-style, scaled to the input size); ``build_classifier`` turns it
into an ``nn.Module`` for a given input (channels, N x N pixels) and class count:

* ``teacher`` / ``sq_teacher``: ``AlexNetTeacher`` with ReLU / square activations;
* ``sclc`` / ``sclc_maxpool`` / ``backend_only``: an ``SCLC`` student (see ``sclc.py``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from osclc.models.layers.backend import BackendKind
from osclc.models.layers.spectral_conv import KernelKind
from osclc.models.networks.arch_fields import (
    DetectorField,
    KernelSize,
    NyquistField,
    Width,
)
from osclc.models.networks.plan import LayerPlan, NetworkPlan, default_plan
from osclc.models.networks.sclc import SCLC, StudentVariant
from osclc.models.networks.teachers import AlexNetTeacher

TeacherVariant = Literal["teacher", "sq_teacher"]
ClassificationVariant = Literal[TeacherVariant, StudentVariant]
Factor = Annotated[int, Field(ge=1, le=16)]


class ClassificationArch(BaseModel):
    """An image classifier: a teacher CNN or an SCLC student, on the default layer plan for the input size or its overrides."""

    model_config = ConfigDict(extra="forbid")

    variant: ClassificationVariant = Field("sclc", description=(
        "teacher (ReLU CNN), sq_teacher (square activations), sclc (spectral student), sclc_maxpool (max-pool ablation), backend_only (no frontend)"))
    channels: list[Width] | None = Field(None, min_length=1, max_length=16, description=(
        "output channels of each conv block (count, 1..8192); None = the default plan for the input size"))
    kernel_size: KernelSize = Field(None, description=(
        "kernel size of every conv block (pixels, odd, 1..63); None = the plan's (3 for custom channels)"))
    strides: list[Factor] | None = Field(None, max_length=16, description=(
        "conv stride of each block (pixels, 1..16); None = the plan's (1 for custom channels)"))
    pools: list[Factor] | None = Field(None, max_length=16, description=(
        "down-sampling factor after each block (1 = none, 1..16); None = the plan's (2 while the map stays >= 2 pixels, for custom channels)"))
    head_hidden: list[Width] | None = Field(None, max_length=4, description="teacher FC hidden widths (units, 1..8192); None = the plan's")
    detector: DetectorField = "intensity"
    backend: BackendKind = Field("linear", description=(
        "student backend after per-channel gain/offset: one FC layer (paper) or Linear-ReLU-Linear"))
    hidden: int = Field(128, ge=1, le=65536, description="hidden width of the mlp backend (units, 1..65536)")
    spectral_kernel: KernelKind = Field("spatial", description=(
        "student kernels: learned k x k in space then FFT'd (paper, realisable), or a free complex spectrum per grid bin"))
    nyquist: NyquistField = "keep"
    pad: int | None = Field(None, ge=1, le=65536, description=(
        "student's zero-padded window P (input pixels, 1..65536); None = smallest wrap-free 5-smooth size"))


def _default_pools(strides: list[int], image_size: int) -> list[int]:
    pools, size = [], image_size
    for stride in strides:
        size = (size - 1) // stride + 1
        pool = 2 if size >= 4 else 1
        pools.append(pool)
        size //= pool
    return pools


def resolve_plan(arch: ClassificationArch, image_size: int) -> NetworkPlan:
    """The layer plan ``arch`` describes for an N x N input (default plan with its overrides applied)."""
    base = default_plan(image_size)
    if arch.channels is None:
        count = len(base.layers)
        channels = [layer.channels for layer in base.layers]
        kernels = [arch.kernel_size or layer.kernel for layer in base.layers]
        strides = arch.strides or [layer.stride for layer in base.layers]
        pools = arch.pools or [layer.pool for layer in base.layers]
        pool_kernel, head_pool = base.pool_kernel, base.head_pool
    else:
        count = len(arch.channels)
        channels = list(arch.channels)
        kernels = [arch.kernel_size or 3] * count
        strides = arch.strides or [1] * count
        pools = arch.pools or _default_pools(strides, image_size)
        pool_kernel, head_pool = None, None
    for name, values in (("strides", strides), ("pools", pools)):
        if len(values) != count:
            raise ValueError(f"architecture.{name}: {len(values)} entries for {count} conv blocks; give one per block (or leave it unset)")
    layers = tuple(LayerPlan(c, k, s, p) for c, k, s, p in zip(channels, kernels, strides, pools, strict=True))
    head = tuple(arch.head_hidden) if arch.head_hidden is not None else base.head_hidden
    return NetworkPlan(layers, head, pool_kernel, head_pool, name=base.name if arch.channels is None else "custom")


def build_classifier(arch: ClassificationArch, in_channels: int, image_size: int, num_classes: int) -> nn.Module:
    """Teacher or student for images [B, in_channels, N, N] and ``num_classes`` classes."""
    plan = resolve_plan(arch, image_size)
    if arch.variant == "teacher" or arch.variant == "sq_teacher":
        return AlexNetTeacher(plan, in_channels, image_size, num_classes, "relu" if arch.variant == "teacher" else "square")
    return SCLC.from_plan(
        plan, in_channels, image_size, num_classes, arch.variant, arch.detector, arch.backend, arch.hidden,
        arch.spectral_kernel, arch.nyquist, arch.pad,
    )
