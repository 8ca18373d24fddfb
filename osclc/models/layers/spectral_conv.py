"""Spectral convolution: a per-frequency product with the kernel spectrum, summed over input channels.

``SpectralConv2d`` works on centred spectra of the frontend's zero-padded grid (see
``spectral_grid``): ``Y[b, o, f] = sum_i X[b, i, f] * K[i, o, f]``. Nothing is cropped or
padded in space, so the layer is diagonal in frequency and stacks of them fold exactly.

Kernel parameterisations:

* ``"spatial"`` (default, the paper's): a real ``weight[c_out, c_in, k, k]`` with the layout
  **and orientation of ``torch.nn.Conv2d.weight``** (cross-correlation). Its spectrum on a grid
  of M bins is ``K[i, o, f] = sum_j weight[o, i, j] exp(+2 pi i f (j - c) / M)`` per axis with
  ``c = (k - 1) // 2`` the centre tap, i.e. the DFT of the zero-padded *flipped* kernel
  ``h[m] = weight[c - m]`` (the convolution kernel of the paper's eq. 3), centred on the
  origin. Consequence, tested: one layer on a grid with ``P >= N + k - 1``, its output field
  cropped to the input window, equals ``torch.nn.functional.conv2d(x, weight, padding="same")``
  (the zero padding makes the product a linear, not circular, convolution; for odd k the whole
  P x P field is then the full linear result, for even k its support is one pixel longer on the
  left than on the right, so the centred window needs P >= N + k). Taps are one
  grid pixel apart, i.e. ``P / M`` input pixels on a grid of M bins (after spectral pools).
* ``"free"``: a free complex spectrum on one fixed centred grid of M bins, parameter
  ``spectrum[M, M, c_in, c_out, 2]`` (real/imag pairs, frequency-major), initialised to the
  spectrum of a random k x k spatial kernel. Not limited to a k x k support, so its
  convolution may wrap around the P window (it is a per-frequency operator, not a lens-sized kernel).

Kernel spectra are frequency-major, ``[H, W, c_in, c_out]`` (``response``; one c_in x c_out matrix per
frequency: the channel sum is a batched matrix product), applied as their transposes
``[H, W, c_out, c_in]`` (``mix_channels``), and cached in that layout while no gradient is being
taken (evaluation), keyed on the grid, the frequencies asked for and the parameter's storage
and version counter, so inference never recomputes them.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import nn

from osclc.models.layers.spectral_grid import centred_frequencies, input_offset, smooth_size, to_field, to_spectrum

KernelKind = Literal["spatial", "free"]


def mix_channels(spectrum: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Per-frequency channel mixing: spectrum [B, Ci, H, W], output-major kernel [H, W, Co, Ci] -> [B, Co, H, W].

    One batched matrix product per frequency, ``kernel[f] @ spectrum[:, :, f].T`` (the result is a
    strided view in [B, Co, H, W] order whose storage is [H, W, Co, B], the order the next layer
    reads). With the kernel's rows contiguous, a batch of one is a matrix-vector product that
    streams each kernel once (about 2x faster on this project's test CPU than the [Ci, Co] layout).
    """
    height, width, out_channels, in_channels = kernel.shape
    rows = spectrum.permute(2, 3, 0, 1).reshape(height * width, spectrum.shape[0], in_channels)  # [F, B, Ci]
    out = torch.bmm(kernel.reshape(height * width, out_channels, in_channels), rows.transpose(1, 2))  # [F, Co, B]
    return out.view(height, width, out_channels, -1).permute(3, 2, 0, 1)


def tap_phases(grid: int, frequencies: torch.Tensor, kernel_size: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """``A[f, j] = exp(+2 pi i f (j - c) / grid)`` for centred integer ``frequencies`` and taps j (complex)."""
    centre = (kernel_size - 1) // 2
    taps = torch.arange(kernel_size, dtype=torch.float64) - centre
    angle = (2 * math.pi / grid) * frequencies.to(torch.float64)[:, None] * taps[None, :]
    return torch.polar(torch.ones_like(angle), angle).to(device=device, dtype=dtype)


def complex_dtype(real: torch.dtype) -> torch.dtype:
    """The complex dtype matching a real float dtype (float64 -> complex128, else complex64)."""
    return torch.complex128 if real == torch.float64 else torch.complex64


class SpectralConv2d(nn.Module):
    """Linear convolution of all channel pairs as a product on a centred frequency grid.

    ``forward(X)``: X complex [B, c_in, M, M] (centred spectrum) -> [B, c_out, M, M].
    ``response(grid, fy, fx)``: the kernel spectrum, frequency-major ``[len(fy), len(fx), c_in, c_out]``,
    at the centred integer frequencies fy, fx of a grid of ``grid`` bins (all of them by default).
    ``conv_same(x)``: the same layer applied to spatial maps, cropped to "same" size.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, kernel: KernelKind = "spatial", grid: int | None = None) -> None:
        super().__init__()
        if in_channels < 1 or out_channels < 1 or kernel_size < 1:
            raise ValueError(f"SpectralConv2d: channels ({in_channels}, {out_channels}) and kernel_size {kernel_size} must be >= 1")
        if kernel not in ("spatial", "free"):
            raise ValueError(f"SpectralConv2d: kernel={kernel!r}; use 'spatial' or 'free'")
        self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, kernel_size
        self.kernel_kind: KernelKind = kernel
        self.grid = grid if kernel == "free" else None
        bound = math.sqrt(3.0 / (in_channels * kernel_size**2))  # variance 1/fan_in: a linear stack keeps its scale
        weight = torch.empty(out_channels, in_channels, kernel_size, kernel_size).uniform_(-bound, bound)
        if kernel == "spatial":
            self.weight = nn.Parameter(weight)
        elif grid is None or grid < kernel_size:
            raise ValueError(f"SpectralConv2d: a free spectral kernel needs grid >= kernel_size, got grid={grid}")
        else:
            spectrum = self._spatial_response(weight, grid, None, None)  # [M, M, c_in, c_out]
            self.spectrum = nn.Parameter(torch.view_as_real(spectrum).contiguous())
        self._cache: tuple[tuple, torch.Tensor] | None = None

    def extra_repr(self) -> str:
        grid = f", grid={self.grid}" if self.grid else ""
        return f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, kernel={self.kernel_kind!r}{grid}"

    @property
    def parameter(self) -> torch.Tensor:
        """The learned tensor (spatial weight or real/imag spectrum pairs)."""
        return self.weight if self.kernel_kind == "spatial" else self.spectrum

    def _spatial_response(self, weight: torch.Tensor, grid: int, fy: torch.Tensor | None, fx: torch.Tensor | None) -> torch.Tensor:
        fy = centred_frequencies(grid) if fy is None else fy
        fx = centred_frequencies(grid) if fx is None else fx
        cdtype = complex_dtype(weight.dtype)
        a_y = tap_phases(grid, fy, self.kernel_size, cdtype, weight.device)  # [Y, k]
        a_x = tap_phases(grid, fx, self.kernel_size, cdtype, weight.device)  # [X, k]
        k, pairs = self.kernel_size, self.in_channels * self.out_channels
        w = weight.permute(3, 2, 1, 0).reshape(k, k * pairs).to(cdtype)  # [l, (j, i, o)]
        along_x = (a_x @ w).reshape(len(fx), k, pairs).transpose(0, 1).reshape(k, len(fx) * pairs)  # [j, (x, i, o)]
        return (a_y @ along_x).reshape(len(fy), len(fx), self.in_channels, self.out_channels)

    def response(self, grid: int, fy: torch.Tensor | None = None, fx: torch.Tensor | None = None) -> torch.Tensor:
        """Kernel spectrum [|fy|, |fx|, c_in, c_out] at centred frequencies of a ``grid``-bin grid."""
        if self.kernel_kind == "spatial":
            return self._spatial_response(self.weight, grid, fy, fx)
        if grid != self.grid:
            raise ValueError(f"SpectralConv2d: this free spectral kernel lives on a {self.grid}-bin grid, got a {grid}-bin grid; "
                             "rebuild the model for this input size")
        full = torch.view_as_complex(self.spectrum)
        rows = full if fy is None else full.index_select(0, (fy + grid // 2).to(full.device))
        return rows if fx is None else rows.index_select(1, (fx + grid // 2).to(full.device))

    def _band_response(self, grid: int, rows: range, cols: range) -> torch.Tensor:
        """Output-major response [|rows|, |cols|, c_out, c_in] at integer frequencies of a ``grid``-bin grid (cached in eval)."""
        param = self.parameter
        full = rows == cols == range(-(grid // 2), grid - grid // 2)
        fy, fx = (None, None) if full else (torch.arange(rows.start, rows.stop), torch.arange(cols.start, cols.stop))
        if torch.is_grad_enabled() and param.requires_grad:
            self._cache = None
            return self.response(grid, fy, fx).transpose(-1, -2)
        key = (grid, rows, cols, param.device, param.dtype, param.data_ptr(), param._version)
        if self._cache is None or self._cache[0] != key:
            self._cache = (key, self.response(grid, fy, fx).transpose(-1, -2).contiguous())
        return self._cache[1]

    def forward(self, spectrum: torch.Tensor, grid: int | None = None, rows: range | None = None, cols: range | None = None) -> torch.Tensor:
        """Spectrum [B, c_in, R, C] -> [B, c_out, R, C]: one batched c_in x c_out product per frequency.

        ``rows`` x ``cols``: the integer frequencies the spectrum holds (default: the centred
        R x C ones); ``grid``: the grid (bins) the layer works on (default R), which sets the tap
        pitch (one ``grid`` pixel). A frontend passes only the bins its output keeps
        (``spectral_band``); a spatial kernel's response is periodic in the grid, so any
        integer frequency is valid for it, a free kernel's must lie on its grid.
        """
        if spectrum.dim() != 4 or spectrum.shape[1] != self.in_channels:
            raise ValueError(f"SpectralConv2d: expected a spectrum [B, {self.in_channels}, R, C], got {tuple(spectrum.shape)}")
        height, width = spectrum.shape[-2:]
        rows = range(-(height // 2), height - height // 2) if rows is None else rows
        cols = range(-(width // 2), width - width // 2) if cols is None else cols
        grid = height if grid is None else grid
        if (len(rows), len(cols)) != (height, width):
            raise ValueError(f"SpectralConv2d: a {height}x{width} spectrum holds {len(rows)}x{len(cols)} frequencies")
        lowest, highest = min(rows.start, cols.start), max(rows.stop, cols.stop) - 1
        if self.kernel_kind == "free" and (lowest < -(grid // 2) or highest > grid - grid // 2 - 1):
            raise ValueError(f"SpectralConv2d: frequencies {lowest}..{highest} do not lie on the free kernel's {grid}-bin grid")
        return mix_channels(spectrum, self._band_response(grid, rows, cols))

    def conv_same(self, x: torch.Tensor) -> torch.Tensor:
        """Spatial maps [B, c_in, S, S] -> [B, c_out, S, S]: zero-padded (linear) convolution, 'same' crop.

        Real output for a real input and a spatial kernel (equals ``conv2d(x, weight, padding='same')``).
        """
        size = x.shape[-1]
        grid = smooth_size(size + self.kernel_size - 1) if self.grid is None else self.grid  # None: a spatial kernel
        if grid < size + self.kernel_size - 1:
            raise ValueError(f"SpectralConv2d.conv_same: a {size}x{size} map needs a grid >= {size + self.kernel_size - 1}, this free kernel has {grid}")
        field = to_field(self.forward(to_spectrum(x, grid)), grid)
        offset = input_offset(size, grid)
        out = field[..., offset : offset + size, offset : offset + size]
        return out.real if (not x.is_complex() and self.kernel_kind == "spatial") else out
