"""The layer plan a teacher and its SCLC student share, and the default plan by input size.

A plan is a list of blocks ``(channels, kernel, stride, pool)``: a convolution with ``channels``
outputs, a ``kernel`` x ``kernel`` support and ``stride``, then (``pool > 1``) a down-sampling by
``pool``. The teacher realises a block as conv (zero "same"-style padding ``kernel // 2``) ->
ReLU (or square) -> max-pool(``pool_kernel``, stride ``pool``); the student as a spectral
convolution followed by one spectral pool that shrinks the grid by ``stride * pool``.

Default plans (AlexNet-style, scaled to the input size N):

=============  ==============================================================  ============
N              blocks (channels/kernel/stride/pool)                            teacher head
=============  ==============================================================  ============
N < 16         16/3/1/2, 32/3/1/1                          (8x8 digits)        FC 64
16 <= N < 48   32/5/1/2, 64/5/1/2, 128/3/1/2                (CIFAR, MNIST)      FC 256
48 <= N < 160  48/7/2/2, 128/5/1/2, 192/3/1/1, 128/3/1/1, 128/3/1/2            FC 1024
N >= 160       64/11/4/2, 192/5/1/2, 384/3/1/1, 256/3/1/1, 256/3/1/2 (AlexNet)  avg-pool 6, FC 4096, 4096
=============  ==============================================================  ============

The two larger plans use AlexNet's overlapping 3 x 3 max-pool (stride 2) in the teacher. The
8 x 8 plan pools once: a second pool leaves the student only the lowest quarter of the
input band (measured on digits, no KD, 30 epochs Adam: teacher 98.5 %, intensity student
93.2 % with two pools, 97.7 % with one, teacher unchanged at 98.7 %).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class LayerPlan:
    """One block: output ``channels``, ``kernel`` size (pixels), conv ``stride``, ``pool`` factor (1 = none)."""

    channels: int
    kernel: int
    stride: int = 1
    pool: int = 1

    @property
    def shrink(self) -> int:
        """Total down-sampling of the block (stride x pool)."""
        return self.stride * self.pool


@dataclass(frozen=True)
class NetworkPlan:
    """Blocks, the teacher's FC hidden sizes, its max-pool kernel and optional adaptive avg-pool size."""

    layers: tuple[LayerPlan, ...]
    head_hidden: tuple[int, ...] = ()
    pool_kernel: int | None = None  # None: equal to each block's pool factor (non-overlapping)
    head_pool: int | None = None
    name: str = field(default="custom", compare=False)


ALEXNET = NetworkPlan(
    layers=(LayerPlan(64, 11, 4, 2), LayerPlan(192, 5, 1, 2), LayerPlan(384, 3), LayerPlan(256, 3), LayerPlan(256, 3, 1, 2)),
    head_hidden=(4096, 4096),
    pool_kernel=3,
    head_pool=6,
    name="alexnet",
)


def default_plan(image_size: int) -> NetworkPlan:
    """The AlexNet-style plan scaled to an N x N input (table in the module docstring)."""
    if image_size < 1:
        raise ValueError(f"image_size={image_size} must be >= 1")
    if image_size < 16:
        return NetworkPlan((LayerPlan(16, 3, 1, 2), LayerPlan(32, 3)), (64,), name="tiny")
    if image_size < 48:
        return NetworkPlan((LayerPlan(32, 5, 1, 2), LayerPlan(64, 5, 1, 2), LayerPlan(128, 3, 1, 2)), (256,), name="small")
    if image_size < 160:
        layers = (LayerPlan(48, 7, 2, 2), LayerPlan(128, 5, 1, 2), LayerPlan(192, 3), LayerPlan(128, 3), LayerPlan(128, 3, 1, 2))
        return NetworkPlan(layers, (1024,), pool_kernel=3, name="medium")
    return ALEXNET
