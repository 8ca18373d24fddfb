"""The band of frequencies a spectral frontend evaluates: only the bins its output keeps.

Every layer of a ``SpectralFrontend`` is diagonal in frequency and every spectral pool is a
centred crop (nested centred crops keep the same integer frequencies as one crop to the
smallest), so the output on its final h x h grid depends on the input's spectrum at those
h x h frequencies only, and every layer needs to be evaluated there only: the same function
as the full-grid computation, with the work of a P x P grid shrunk to h x h.

For a real input and real (``"spatial"``) kernels every spectrum is Hermitian,
``Y(-f) = conj(Y(f))`` (the input's DFT and each kernel's are; products keep it). The band is
then the half plane of the window: rows ``fy = -(h // 2) .. h // 2`` and columns
``fx = 0 .. h // 2`` (for even h one row and one column more than the window: the mirrors of
its one-sided Nyquist bins), about half the bins, and ``complete`` rebuilds the whole centred
window from them. Frequencies are integers in bins of ``1 / P`` cycles per input pixel
(``spectral_grid`` conventions); a per-frequency 0/1 mask (a pool's Nyquist zeroing) is
not Hermitian, so it is applied after ``complete``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from osclc.models.layers.spectral_grid import input_offset


@dataclass(frozen=True)
class SpectralBand:
    """Integer frequencies ``rows`` x ``cols`` evaluated for a centred ``size`` x ``size`` output window."""

    rows: range
    cols: range
    size: int
    hermitian: bool

    @classmethod
    def window(cls, size: int, hermitian: bool) -> SpectralBand:
        """The band for a ``size`` x ``size`` window: the window itself, or its Hermitian half plane."""
        if size < 1:
            raise ValueError(f"spectral band: window size {size} must be >= 1")
        if hermitian:
            return cls(range(-(size // 2), size // 2 + 1), range(0, size // 2 + 1), size, True)
        centred = range(-(size // 2), size - size // 2)
        return cls(centred, centred, size, False)

    def spectrum(self, x: torch.Tensor, pad: int) -> torch.Tensor:
        """DFT of ``x`` [..., N, N] zero-padded to the P x P window, at the band's frequencies [..., |rows|, |cols|].

        One FFT per axis on the padded grid: along x for the N input rows (a real FFT for a
        Hermitian band), keep the band's columns, pad in y, along y, keep the band's rows.
        """
        size = x.shape[-1]
        offset = input_offset(size, pad)
        after = pad - size - offset
        cols = torch.arange(self.cols.start, self.cols.stop, device=x.device) % pad
        rows = torch.arange(self.rows.start, self.rows.stop, device=x.device) % pad
        transform = torch.fft.rfft if self.hermitian else torch.fft.fft
        along_x = transform(torch.nn.functional.pad(x, (offset, after)), dim=-1).index_select(-1, cols)
        placed = torch.nn.functional.pad(along_x, (0, 0, offset, after))
        return torch.fft.fft(placed, dim=-2).index_select(-2, rows)

    def complete(self, values: torch.Tensor) -> torch.Tensor:
        """Band values [..., |rows|, |cols|] -> the centred window [..., size, size] (Hermitian mirror for a half band)."""
        if not self.hermitian:
            return values
        size, half = self.size, self.size // 2
        positive = values[..., :size, : size - half]  # fx = 0 .. size - half - 1
        first = 1 - size % 2  # band row of -fy for the window's first row is the last one kept
        mirrored = values[..., first : first + size, 1 : half + 1].flip((-2, -1)).conj()  # fx = -half .. -1
        return torch.cat((mirrored, positive), dim=-1)
