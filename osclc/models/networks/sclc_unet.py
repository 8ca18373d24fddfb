"""The SCLC U-Net student: linear spectral contracting path, one readout per level, U-Net decoder.

Contracting path (the optical frontend): the input is zero-padded once to the P x P window
and Fourier transformed (``spectral_grid`` conventions); level 0 is two spectral convolutions,
every further level a spectral pool halving the grid then two spectral convolutions; no
ReLU, nothing cropped in space, so each level's output is one per-frequency operator of the
input (``fold_levels``). Each level is read out (its skip connection): the complex field on
its grid (``P / 2**l`` samples, one every ``2**l`` input pixels over the window), the detector
(``intensity`` = camera, ``field``, ``none``), then the image window is cut out:
``N / 2**l`` samples starting at ``offset / 2**l``, so level l's map lines up with the
teacher's level-l map. The electronic backend (:class:`UNetBackend`) normalises every level
with a ``BatchNorm2d`` (in eval mode exactly a per-channel gain/offset, :meth:`UNetBackend.gain_offset`:
what hardware-in-the-loop fine-tuning retrains; in training it keeps the camera's widely
varying intensity scales trainable), passes each level through one electronic
(conv-BN-ReLU) x 2 block (:class:`~osclc.models.networks.unet.ConvBlock`, ``c_l`` channels: the nonlinearity
the teacher's contracting path has and the optical one cannot; without it the bottleneck's linear
readout went straight into an up-convolution: 82.7 vs 84.4 % validation mean IoU on the shapes, 8 epochs) and runs
the teacher's expanding path (:class:`~osclc.models.networks.unet.UNetDecoder`, nonlinear).

P: ``P = N + 2 o`` with the input offset ``o`` the smallest multiple of ``2**L`` covering half
the convolutions' support (so the image window lands on whole samples at every level) and
P free of prime factors above 5 (fast FFTs).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
from torch import nn

from osclc.models.folding import FoldedFrontend, fold_frontend
from osclc.models.networks.frontend import SpectralFrontend
from osclc.models.layers.detector import Detector, DetectorMode, detector_channels
from osclc.models.layers.module_types import module_as
from osclc.models.layers.spectral_conv import SpectralConv2d
from osclc.models.layers.spectral_grid import smooth_size, to_field, to_spectrum
from osclc.models.layers.spectral_pool import NyquistMode, SpectralPool2d
from osclc.models.networks.unet import ConvBlock, UNetDecoder, check_unet_plan

CONVS_PER_LEVEL = 2


def unet_pad(image_size: int, depth: int, kernel_size: int) -> int:
    """Window P (input pixels) for an N-pixel input, ``depth`` pools and two k x k convolutions per level."""
    support = sum(CONVS_PER_LEVEL * (kernel_size - 1) * 2**level for level in range(depth + 1))
    step = 2**depth
    offset = -(-((support + 1) // 2) // step) * step
    while smooth_size(image_size + 2 * offset) != image_size + 2 * offset:
        offset += step
    return image_size + 2 * offset


class UNetBackend(nn.Module):
    """Electronic backend: level detector maps on their full grids -> crop -> gain/offset -> level block -> decoder -> logits."""

    def __init__(self, channels: Sequence[int], skip_channels: Sequence[int], num_classes: int, kernel_size: int,
                 image_size: int, pad: int) -> None:
        super().__init__()
        self.image_size, self.pad = image_size, pad
        self.skip_channels = list(skip_channels)
        self.readout = nn.ModuleList(nn.BatchNorm2d(c) for c in self.skip_channels)
        self.levels = nn.ModuleList(ConvBlock(s, c, kernel_size) for s, c in zip(self.skip_channels, channels, strict=True))
        self.decoder = UNetDecoder(channels, num_classes, kernel_size)

    def window(self, level: int) -> tuple[int, int]:
        """(first sample, samples) of the image window on level ``level``'s grid."""
        stride = 2**level
        return (self.pad - self.image_size) // 2 // stride, self.image_size // stride

    def gain_offset(self, level: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-channel (gain, offset) the readout of ``level`` applies in eval mode (``x * gain + offset``)."""
        norm = module_as(self.readout[level], nn.BatchNorm2d)
        if norm.running_mean is None or norm.running_var is None:
            raise ValueError(f"SCLC U-Net readout {level}: keeps no running statistics, so it has no fixed gain and offset; "
                             "build it with BatchNorm2d(track_running_stats=True)")
        gain = norm.weight / torch.sqrt(norm.running_var + norm.eps)
        return gain, norm.bias - norm.running_mean * gain

    def calibrate(self, level: int, features: torch.Tensor) -> torch.Tensor:
        """Crop level ``level``'s detector map ``[B, C, P/2**l, P/2**l]`` to the image and apply its readout."""
        start, size = self.window(level)
        return self.readout[level](features[..., start:start + size, start:start + size])

    def forward(self, features: Sequence[torch.Tensor]) -> torch.Tensor:
        """Detector maps of every level (full grids) -> logits ``[B, classes, N, N]``."""
        if len(features) != len(self.skip_channels):
            raise ValueError(f"segmentation backend: expected {len(self.skip_channels)} level maps, got {len(features)}")
        return self.decoder([self.levels[level](self.calibrate(level, f)) for level, f in enumerate(features)])


class SCLCUNet(nn.Module):
    """Student ``backend([detector(field_l(x)) for each level])`` with a spectral contracting path.

    ``kernel_size``: the spectral convolutions' k x k support (a larger one costs the optics nothing,
    only a larger P); ``decoder_kernel_size``: the electronic decoder's convolutions (the teacher's).
    """

    def __init__(self, in_channels: int, num_classes: int, channels: Sequence[int], image_size: int,
                 kernel_size: int = 3, detector: DetectorMode = "intensity", nyquist: NyquistMode = "keep",
                 decoder_kernel_size: int = 3) -> None:
        super().__init__()
        check_unet_plan(channels, image_size)
        self.channels, self.input_size, self.in_channels = list(channels), image_size, in_channels
        depth = len(self.channels) - 1
        self.pad = unet_pad(image_size, depth, kernel_size)
        layers: list[nn.Module] = []
        self.level_ends: list[int] = []
        previous, grid = in_channels, self.pad
        for level, width in enumerate(self.channels):
            if level:
                grid //= 2
                layers.append(SpectralPool2d(grid, nyquist))
            layers += [SpectralConv2d(previous, width, kernel_size), SpectralConv2d(width, width, kernel_size)]
            previous = width
            self.level_ends.append(len(layers))
        self.layers = nn.ModuleList(layers)
        self.detector = Detector(detector)
        skip_channels = [detector_channels(detector, c) for c in self.channels]
        self.backend = UNetBackend(self.channels, skip_channels, num_classes, decoder_kernel_size, image_size, self.pad)

    def level_frontend(self, level: int) -> SpectralFrontend:
        """The contracting path up to ``level``'s readout as a ``SpectralFrontend`` (shares this model's layers)."""
        return SpectralFrontend(self.in_channels, self.input_size, self.pad, list(self.layers[: self.level_ends[level]]))

    def fields(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Complex field of every level ``[B, c_l, P/2**l, P/2**l]`` (one pass through the layers)."""
        if x.dim() != 4 or x.shape[1] != self.in_channels or tuple(x.shape[-2:]) != (self.input_size, self.input_size):
            raise ValueError(f"SCLC U-Net: expected images [B, {self.in_channels}, {self.input_size}, {self.input_size}], got {tuple(x.shape)}")
        spectrum, out = to_spectrum(x, self.pad), []
        for index, layer in enumerate(self.layers, start=1):
            spectrum = layer(spectrum)
            if index in self.level_ends:
                out.append(to_field(spectrum, self.pad))
        return out

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Detector output of every level (what the camera + readout give), full grids."""
        return [self.detector(field) for field in self.fields(x)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Images ``[B, C_in, N, N]`` (amplitude in [0, 1]) -> logits ``[B, classes, N, N]``."""
        return self.backend(self.features(x))


class FoldedSCLCUNet(nn.Module):
    """The folded student: one ``FoldedFrontend`` per level (its own operator and readout) + the backend.

    ``levels[l]`` computes level l's detector map with its folded kernel ``K_eff_l`` (what the
    compiler turns into SLM patterns); the electronic part of all levels together is :attr:`backend`.
    """

    def __init__(self, levels: Sequence[FoldedFrontend], backend: UNetBackend) -> None:
        super().__init__()
        self.levels = nn.ModuleList(levels)
        self.backend = backend

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Detector output of every level through its folded operator (full grids)."""
        return [module_as(level, FoldedFrontend).features(x) for level in self.levels]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Images -> logits ``[B, classes, N, N]`` (equals the layer-by-layer student up to rounding)."""
        return self.backend(self.features(x))


@torch.no_grad()
def fold_levels(student: SCLCUNet) -> FoldedSCLCUNet:
    """Fold every level's contracting path with ``folding.fold_frontend`` and keep a copy of the backend."""
    levels = [fold_frontend(student.level_frontend(level), student.detector.mode) for level in range(len(student.level_ends))]
    return FoldedSCLCUNet(levels, copy.deepcopy(student.backend))
