"""Student frontends: the linear optical part that turns input images into an output field.

``SpectralFrontend`` (the SCLC's): the input is zero-padded once to the P x P window and
Fourier transformed; every layer is then diagonal in frequency (``SpectralConv2d`` a
per-frequency product, ``SpectralPool2d`` a crop); one inverse DFT at the end gives the
complex field on the final h x w grid (samples every P/h input pixels over the whole window,
conventions in ``spectral_grid``). Nothing is cropped or padded in space between layers, so
the whole frontend equals one per-frequency matrix (``folding.fold``), and the layers are
evaluated on the output's bins only (``spectral_band``).

P is chosen so that the support of the convolutions never wraps:
``P >= N + sum_l (k_l - 1) * r_l`` with ``r_l`` the down-sampling before layer l (tap pitch in
input pixels), rounded up to a multiple of the total down-sampling and to a 5-smooth size.
(Spectral pools are ideal low-pass filters whose sinc tails are periodic on the grid by
definition; the bound is exact for the convolutions.)

``MaxPoolFrontend`` (the paper's max-pool ablation): the same spectral convolutions applied
block by block in space ('same' crop, stride by subsampling) with spatial max-pooling; real
maps, nonlinear, not foldable.
"""

from __future__ import annotations

import torch
from torch import nn

from osclc.models.layers.module_types import module_as
from osclc.models.layers.spectral_band import SpectralBand
from osclc.models.layers.spectral_conv import KernelKind, SpectralConv2d
from osclc.models.layers.spectral_grid import centred_frequencies, input_offset, smooth_size, to_field
from osclc.models.layers.spectral_pool import NyquistMode, SpectralPool2d
from osclc.models.networks.plan import NetworkPlan
from osclc.models.networks.teachers import teacher_map_sizes


def required_pad(plan: NetworkPlan, image_size: int) -> tuple[int, int]:
    """(minimum P without wrap-around, total down-sampling the P grid must be divisible by)."""
    support, ratio = image_size, 1
    for layer in plan.layers:
        support += (layer.kernel - 1) * ratio
        ratio *= layer.shrink
    return support, ratio


class SpectralFrontend(nn.Module):
    """Input images [B, C_in, N, N] -> complex field [B, C_out, h, h] through diagonal spectral layers."""

    def __init__(self, in_channels: int, input_size: int, pad: int, layers: list[nn.Module]) -> None:
        super().__init__()
        input_offset(input_size, pad)  # validates P >= N
        self.in_channels, self.input_size, self.pad = in_channels, input_size, pad
        self.layers = nn.ModuleList(layers)
        channels, grid = in_channels, pad
        for index, layer in enumerate(self.layers):
            if isinstance(layer, SpectralConv2d):
                if layer.in_channels != channels:
                    raise ValueError(f"frontend layer {index}: expects {layer.in_channels} channels, gets {channels}")
                if layer.kernel_kind == "free" and layer.grid != grid:
                    raise ValueError(f"frontend layer {index}: free kernel on a {layer.grid}-bin grid, but the layer sees {grid} bins")
                channels = layer.out_channels
            elif isinstance(layer, SpectralPool2d):
                if layer.out_size > grid:
                    raise ValueError(f"frontend layer {index}: pools a {grid}-bin grid to {layer.out_size}")
                grid = layer.out_size
            else:
                raise ValueError(f"frontend layer {index}: {type(layer).__name__} is not a spectral layer (SpectralConv2d or SpectralPool2d)")
        self.out_channels, self.out_size = channels, grid

    @classmethod
    def from_plan(cls, plan: NetworkPlan, in_channels: int, image_size: int, kernel: KernelKind = "spatial", nyquist: NyquistMode = "keep",
                  pad: int | None = None) -> SpectralFrontend:
        """The student frontend of ``plan``: spectral conv per block, one spectral pool per down-sampling."""
        support, ratio = required_pad(plan, image_size)
        if pad is None:
            pad = smooth_size(support, ratio)
        elif pad < support or pad % ratio:
            raise ValueError(f"architecture.pad={pad}: must be >= {support} (no wrap-around) and a multiple of {ratio} "
                             f"(the plan's total down-sampling); leave it unset to choose {smooth_size(support, ratio)}")
        layers: list[nn.Module] = []
        channels, grid = in_channels, pad
        for layer in plan.layers:
            layers.append(SpectralConv2d(channels, layer.channels, layer.kernel, kernel=kernel, grid=grid))
            channels = layer.channels
            if layer.shrink > 1:
                grid //= layer.shrink
                layers.append(SpectralPool2d(grid, nyquist))
        return cls(in_channels, image_size, pad, layers)

    @property
    def offset(self) -> int:
        """Offset (input pixels) of the input inside the P x P window along each axis."""
        return input_offset(self.input_size, self.pad)

    def band(self, x: torch.Tensor) -> SpectralBand:
        """The frequencies the output needs: its h x h window, or its Hermitian half for a real input and spatial kernels."""
        hermitian = not x.is_complex() and all(layer.kernel_kind == "spatial" for layer in self.layers if isinstance(layer, SpectralConv2d))
        return SpectralBand.window(self.out_size, hermitian)

    def pass_mask(self, device: torch.device) -> torch.Tensor | None:
        """Product of the pools' Nyquist masks on the centred h x h window (None when all ones)."""
        freqs = centred_frequencies(self.out_size)
        mask = None
        for layer in self.layers:
            if isinstance(layer, SpectralPool2d) and (layer_mask := layer.mask_at(freqs, freqs)) is not None:
                mask = layer_mask if mask is None else mask * layer_mask
        return None if mask is None else mask.to(device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Layer by layer: images [B, C_in, N, N] -> complex field [B, C_out, h, h].

        The input is Fourier transformed once on the padded P x P grid and every layer is
        evaluated on the bins the output keeps only (``spectral_band``: the final h x h window,
        or its Hermitian half): a spectral pool then only changes the grid (the tap pitch) of the
        convolutions after it, and its Nyquist mask, being per frequency, is applied once at the end.
        """
        if x.dim() != 4 or x.shape[1] != self.in_channels or tuple(x.shape[-2:]) != (self.input_size, self.input_size):
            raise ValueError(f"frontend: expected images [B, {self.in_channels}, {self.input_size}, {self.input_size}], got {tuple(x.shape)}")
        band = self.band(x)
        spectrum, grid = band.spectrum(x, self.pad), self.pad
        for layer in self.layers:
            if isinstance(layer, SpectralConv2d):
                spectrum = layer(spectrum, grid, band.rows, band.cols)
            elif isinstance(layer, SpectralPool2d):  # the only other kind the constructor admits
                grid = layer.out_size
        window = band.complete(spectrum)
        mask = self.pass_mask(window.device)
        return to_field(window if mask is None else window * mask, self.pad)


class MaxPoolFrontend(nn.Module):
    """Max-pool ablation: spectral convolutions applied in space, max-pooling between blocks (real maps)."""

    def __init__(self, plan: NetworkPlan, in_channels: int, image_size: int) -> None:
        super().__init__()
        self.in_channels, self.input_size = in_channels, image_size
        self.out_size = teacher_map_sizes(plan, image_size)[-1]
        self.convs = nn.ModuleList()
        self.strides: list[int] = []
        pools: list[nn.Module] = []
        channels = in_channels
        for layer in plan.layers:
            self.convs.append(SpectralConv2d(channels, layer.channels, layer.kernel))
            self.strides.append(layer.stride)
            pools.append(nn.MaxPool2d(plan.pool_kernel or layer.pool, stride=layer.pool) if layer.pool > 1 else nn.Identity())
            channels = layer.channels
        self.pools = nn.ModuleList(pools)
        self.out_channels = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Images [B, C_in, N, N] -> real maps [B, C_out, h, h] (same sizes as the teacher's)."""
        for conv, stride, pool in zip(self.convs, self.strides, self.pools, strict=True):
            x = pool(module_as(conv, SpectralConv2d).conv_same(x)[..., ::stride, ::stride])
        return x

