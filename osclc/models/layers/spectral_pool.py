"""Spectral pooling (paper eq. 6): a centre crop of the centred spectrum, i.e. an ideal low-pass.

``SpectralPool2d(out_size)`` maps a centred spectrum [..., M, M] to [..., out_size, out_size],
keeping the integer frequencies ``-(out_size // 2) ... out_size - out_size // 2 - 1`` (the
fftshift order of the new grid; the bin spacing ``1 / P`` is unchanged, the field it
describes is sampled ``M / out_size`` times more coarsely). It is a pure selection, so
``crop(X * K) = crop(X) * crop(K)`` and spectral convolutions before and after fold exactly.
The spatial form of eq. 6 is ``to_field(pool(to_spectrum(x, M)), M)``.

Even sizes and the Nyquist bin. For odd ``out_size`` the kept set is symmetric (``-f`` is
kept with every ``f``), so a real input and real spatial kernels give a real output. For
even ``out_size`` the first row/column holds frequency ``-out_size / 2`` (the new grid's
Nyquist bin) while its partner ``+out_size / 2`` is cropped away; the output of a real
input is then complex (its imaginary part is that one-sided Nyquist term). Two choices:

* ``nyquist="keep"`` (default, the plain crop of eq. 6): the bin is kept as is;
* ``nyquist="zero"``: that row and column are zeroed (a 0/1 mask, still diagonal in
  frequency and foldable); real in -> real out, symmetric pass band.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from osclc.models.layers.spectral_grid import crop_centre

NyquistMode = Literal["keep", "zero"]


class SpectralPool2d(nn.Module):
    """Centre crop of a centred spectrum [..., M, M] to [..., out_size, out_size] (no parameters)."""

    def __init__(self, out_size: int, nyquist: NyquistMode = "keep") -> None:
        super().__init__()
        if out_size < 1:
            raise ValueError(f"SpectralPool2d: out_size={out_size} must be >= 1")
        if nyquist not in ("keep", "zero"):
            raise ValueError(f"SpectralPool2d: nyquist={nyquist!r}; use 'keep' or 'zero'")
        self.out_size = out_size
        self.nyquist: NyquistMode = nyquist

    def extra_repr(self) -> str:
        return f"out_size={self.out_size}, nyquist={self.nyquist!r}"

    def mask_at(self, fy: torch.Tensor, fx: torch.Tensor) -> torch.Tensor | None:
        """The 0/1 pass mask at centred integer frequencies (fy, fx), or None when it is all ones."""
        if self.nyquist == "keep" or self.out_size % 2:
            return None
        edge = -(self.out_size // 2)
        return ((fy != edge)[:, None] & (fx != edge)[None, :]).to(torch.float32)

    def forward(self, spectrum: torch.Tensor) -> torch.Tensor:
        """Centred spectrum [..., M, M] -> [..., out_size, out_size]."""
        if spectrum.shape[-1] < self.out_size or spectrum.shape[-2] < self.out_size:
            raise ValueError(f"SpectralPool2d: cannot crop a {tuple(spectrum.shape[-2:])} spectrum to {self.out_size}x{self.out_size}")
        out = crop_centre(spectrum, (self.out_size, self.out_size))
        if self.nyquist == "zero" and self.out_size % 2 == 0:
            mask = torch.ones(self.out_size, self.out_size, dtype=out.real.dtype, device=out.device)
            mask[0, :] = 0
            mask[:, 0] = 0
            out = out * mask
        return out
