"""Camera pixels that integrate the intensity over their area (``simulation.pixel_integration``), exactly.

The output field is a trigonometric polynomial of the position x (output samples from the axis; see
:mod:`osclc.drivers.sim.optics`): ``b(x) = sum_k V_k exp(-2i pi k . x / Q)`` over the Q_r x Q_c SLM frequencies k,
so the intensity ``I = |b|^2`` holds frequencies ``m = k - l`` with ``|m_ax| < Q_ax`` and is known exactly from its
samples on the grid of half an output sample (2Q per axis; on Q samples it would alias). A camera pixel's footprint is
the parallelogram ``P = {G^-1 s : s in [-1/2, 1/2]^2}`` around its centre (G: camera pixels per output sample,
rotation and magnification included), and integrating over it multiplies each frequency of I by the footprint's
transform ``|det G^-1| sinc((G^-T phi)_r) sinc((G^-T phi)_c)``, phi = (m_r / Q_r, m_c / Q_c) cycles per sample. So:

1. the stored field (lens-1 spectrum times transmittance, centred order with its checkerboard sign) is embedded in the
   centre of a 2Q_r x 2Q_c array: its FFT is the field on the half-sample grid, index j <-> x = (j - Q) / 2;
2. ``I = |b|^2`` there, times the SLM aperture's envelope (if any);
3. ``J = irfft2(rfft2(I) H)``: the integral over a footprint centred on every grid point (exact);
4. J is read at each camera pixel's centre ``x = G^-1 (c + 1/2 - centre) - 1/2``: exactly when the centres fall on
   the grid (unrotated cameras with integer or half-integer sampling), else by periodic cubic-spline interpolation
   (0.2 % of a fringe's amplitude at 0.3 cycles per sample): the spline's prefilter, a division by the sampled cubic
   B-spline's transform ``(2 + cos(2 pi f)) / 3`` per axis (f in cycles per grid step), joins H in step 3, and
   ``scipy.ndimage.map_coordinates`` evaluates the spline. A pixel whose centre lies outside the simulated window
   (``|x| > Q/2``) sees no light.

J is in units of the intensity per output sample times samples (the footprint's area); its sum over a camera that
covers the window equals the sum of I over the window's samples (the total power is kept).
Cost: one complex and two real FFTs of the 2Q grid, about 8x the Q grid's FFT (plus the spline off the grid).
"""

from __future__ import annotations

import numpy as np
import scipy.fft
from scipy import ndimage


class PixelIntegrator:
    """Camera frame of pixel-area integrals of the intensity (module doc), for a fixed camera geometry.

    ``g_inv``: output samples per camera pixel (2x2 on (row, col)); ``centre``: camera pixel index of the optical axis
    (row, col, including the camera offset); ``envelope``: per-axis intensity factors on the half-sample grid (rows
    [2 Q_r], cols [2 Q_c]) or None.
    """

    def __init__(self, q: tuple[int, int], g_inv: np.ndarray, centre: np.ndarray, sensor_shape: tuple[int, int],
                 envelope: tuple[np.ndarray, np.ndarray] | None, real_dtype: type, complex_dtype: type, workers: int) -> None:
        self.q, self.sensor_shape, self.workers = q, sensor_shape, workers
        self.big = (2 * q[0], 2 * q[1])
        self.complex_dtype = complex_dtype
        f_r, f_c = scipy.fft.fftfreq(self.big[0]), scipy.fft.rfftfreq(self.big[1])  # cycles per grid step
        phi_r, phi_c = 2.0 * f_r, 2.0 * f_c  # cycles per output sample
        u0 = g_inv[0, 0] * phi_r[:, None] + g_inv[1, 0] * phi_c[None, :]  # (G^-T phi)_r
        u1 = g_inv[0, 1] * phi_r[:, None] + g_inv[1, 1] * phi_c[None, :]  # (G^-T phi)_c
        transfer = abs(float(np.linalg.det(g_inv))) * np.sinc(u0) * np.sinc(u1)
        self.envelope: tuple[np.ndarray, np.ndarray] | None = None
        if envelope is not None:
            self.envelope = (envelope[0].astype(real_dtype)[:, None], envelope[1].astype(real_dtype)[None, :])
        # camera (r, c) -> grid index j = 2 x + Q, x = G^-1 (c + 1/2 - centre) - 1/2 (row, col)
        rows, cols = np.mgrid[0:sensor_shape[0], 0:sensor_shape[1]].astype(np.float64)
        offsets = np.stack([rows + 0.5 - centre[0], cols + 0.5 - centre[1]])
        index = 2.0 * (np.einsum("ij,jrc->irc", g_inv, offsets) - 0.5) + np.array(q, dtype=np.float64)[:, None, None]
        self._lit = np.all((index >= 0) & (index <= np.array(self.big)[:, None, None] - 1), axis=0)
        nearest = np.rint(index)
        self._on_grid = bool(np.all(np.abs(index - nearest) < 1e-9))
        if self._on_grid:
            self._index = tuple(np.clip(nearest[ax].astype(np.intp), 0, self.big[ax] - 1) for ax in (0, 1))
        else:
            self._coordinates = index.reshape(2, -1)
            transfer /= np.outer((2.0 + np.cos(2 * np.pi * f_r)) / 3.0, (2.0 + np.cos(2 * np.pi * f_c)) / 3.0)
        self.transfer = transfer.astype(real_dtype)

    def half_sample_intensity(self, field: np.ndarray) -> np.ndarray:
        """``|b|^2`` (times the envelope) on the half-sample grid (2Q_r x 2Q_c, index j <-> x = (j - Q) / 2) of the
        stored field ``field`` (Q_r x Q_c, centred order with the checkerboard sign)."""
        q0, q1 = self.q
        padded: np.ndarray = np.zeros(self.big, self.complex_dtype)
        padded[q0 // 2:q0 // 2 + q0, q1 // 2:q1 // 2 + q1] = field
        out = scipy.fft.fft2(padded, workers=self.workers, overwrite_x=True)
        power = np.square(out.real)
        power += np.square(out.imag)
        if self.envelope is not None:
            power *= self.envelope[0]
            power *= self.envelope[1]
        return power

    def __call__(self, field: np.ndarray) -> np.ndarray:
        """The camera frame (sensor shape) of footprint integrals of the intensity of ``field`` (module doc)."""
        power = self.half_sample_intensity(field)
        spectrum = scipy.fft.rfft2(power, workers=self.workers, overwrite_x=True)
        spectrum *= self.transfer
        integrated = scipy.fft.irfft2(spectrum, s=self.big, workers=self.workers, overwrite_x=True)
        if self._on_grid:
            image = integrated[self._index]
        else:  # ``integrated`` holds the spline's coefficients (prefiltered in ``transfer``)
            image = ndimage.map_coordinates(integrated, self._coordinates, order=3, prefilter=False, mode="grid-wrap",
                                            output=integrated.dtype).reshape(self.sensor_shape)
        image[~self._lit] = 0.0
        return image
