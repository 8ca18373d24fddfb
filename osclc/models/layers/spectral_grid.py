"""The one zero-padded frequency grid every spectral layer of a student works on.

Conventions (shared by the spectral layers, the student, folding and calibration):

* The N x N input (pixel pitch = 1 "input pixel") is placed in a P x P zero window at offset
  ``o = (P - N) // 2`` along each axis (centred on the optical axis), and its unnormalised DFT is
  taken: ``X[f] = sum_y x[y] exp(-2 pi i f (y + o) / P)``.
* Spectra are stored **centred** (``numpy.fft.fftshift`` order): index ``i`` of a grid with M
  bins holds the integer frequency ``f = i - M // 2``; bin f means ``f / P`` cycles per input
  pixel on every grid of the frontend (cropping never changes the bin spacing ``1 / P``).
* A grid with M bins describes a field sampled every ``P / M`` input pixels over the whole
  P-wide window; the field of a centred spectrum ``Y`` of size h x w is
  ``b[m, n] = (1 / P**2) sum_f Y[f] exp(+2 pi i (f_y m / h + f_x n / w))``, i.e. the
  band-limited output evaluated at window coordinates ``(m P / h, n P / w)`` input pixels
  (amplitude preserved: with no cropping, b is exactly the padded spatial result).
"""

from __future__ import annotations

import math

import torch


def centred_frequencies(size: int) -> torch.Tensor:
    """Integer frequencies of a centred grid of ``size`` bins: ``arange(size) - size // 2`` (int64)."""
    return torch.arange(size, dtype=torch.int64) - size // 2


def crop_start(size: int, new_size: int) -> int:
    """First index of the centred crop of ``new_size`` bins out of a centred grid of ``size`` bins.

    Keeps frequencies ``-(new_size // 2) ... new_size - new_size // 2 - 1``, so the cropped grid is
    again in fftshift order (for even ``new_size`` its first row/column is its Nyquist bin).
    """
    if not 0 < new_size <= size:
        raise ValueError(f"spectral crop: output size {new_size} must be in 1..{size} (the input grid size)")
    return size // 2 - new_size // 2


def crop_centre(spectrum: torch.Tensor, out_size: tuple[int, int]) -> torch.Tensor:
    """Centre crop of the last two (centred-frequency) dims of ``spectrum`` to ``out_size`` (a view)."""
    rows, cols = spectrum.shape[-2:]
    r0, c0 = crop_start(rows, out_size[0]), crop_start(cols, out_size[1])
    return spectrum[..., r0 : r0 + out_size[0], c0 : c0 + out_size[1]]


def input_offset(input_size: int, pad: int) -> int:
    """Offset (input pixels) of the N-wide input inside the P-wide zero window: ``(P - N) // 2``."""
    if pad < input_size:
        raise ValueError(f"pad P={pad} is smaller than the input size N={input_size}; use P >= N")
    return (pad - input_size) // 2


def to_spectrum(x: torch.Tensor, pad: int) -> torch.Tensor:
    """Centred DFT of ``x`` [..., N, N] zero-padded to the P x P window (see module docstring)."""
    size = x.shape[-1]
    if x.shape[-2] != size:
        raise ValueError(f"input: expected square images, got {tuple(x.shape[-2:])}")
    offset = input_offset(size, pad)
    after = pad - size - offset
    padded = torch.nn.functional.pad(x, (offset, after, offset, after))
    return torch.fft.fftshift(torch.fft.fft2(padded), dim=(-2, -1))


def to_field(spectrum: torch.Tensor, pad: int) -> torch.Tensor:
    """Complex field [..., h, w] of a centred spectrum on the P window (samples every P/h pixels)."""
    rows, cols = spectrum.shape[-2:]
    field = torch.fft.ifft2(torch.fft.ifftshift(spectrum, dim=(-2, -1)))
    return field * (rows * cols / pad**2)


def smooth_size(minimum: int, multiple: int = 1) -> int:
    """Smallest multiple of ``multiple`` that is >= ``minimum`` and has no prime factor above 5 (fast FFT)."""
    candidate = max(1, math.ceil(minimum / multiple)) * multiple
    while True:
        rest = candidate
        for prime in (2, 3, 5):
            while rest % prime == 0:
                rest //= prime
        if rest == 1:
            return candidate
        candidate += multiple
