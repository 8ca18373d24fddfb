"""Lens 1 of the simulated bench: the exact Fourier transform of the pixelated input modulator at the SLM pixels,
scaled, rotated and offset as the bench's hidden Fourier-plane misalignment says (:mod:`osclc.drivers.sim.optics`
describes the model; :class:`Lens1` how it is computed, with chirp-z transforms, :class:`ScaledDFT`)."""

from __future__ import annotations

import math

import numpy as np
import scipy.fft

_ROW_MARGIN = 24  # zero pixels on each side of a sheared pixel row: room for its windowed tails (see Lens1)
_BAND_SPACING = 0.75  # spacing of the row-frequency bands of the shear (cycles per pixel, 1/2 .. 1; see Lens1)


def rotation(theta: float) -> np.ndarray:
    """2x2 rotation acting on (row, col) vectors (rad)."""
    c, s = math.cos(theta), math.sin(theta)
    return np.array([[c, -s], [s, c]])


def _band_window(x: np.ndarray, spacing: float) -> np.ndarray:
    """Band window of support |x| <= 1/2 whose copies spaced by ``spacing`` (1/2 .. 1) add up to 1: flat on
    |x| <= spacing - 1/2, then ``cos^2(pi/2 h(u))`` over the rest, u from 0 to 1, ``h(u) = u - sin(2 pi u) / (2 pi)``
    (``h(u) + h(1 - u) = 1`` makes the overlapping copies add up to 1; h' = 0 at both ends makes the window smooth)."""
    u = np.clip((np.abs(x) - (spacing - 0.5)) / (1.0 - spacing), 0.0, 1.0)
    return np.cos(0.5 * np.pi * (u - np.sin(2.0 * np.pi * u) / (2.0 * np.pi))) ** 2


class ScaledDFT:
    """Chirp-z (Bluestein) DFT along one axis at scaled frequencies, exact up to rounding:
    ``X[j] = sum_t x[t] exp(-2i pi c k_j y_t)`` for the frequencies ``k_j = k_first + j`` (j = 0 .. count - 1) and the
    equally spaced positions ``y_t = y0 + step t`` (t = 0 .. n - 1; any real y0, step, k_first and c).
    With ``c k y = c (k_first + j) y0 + c step (k_first t + j t)`` and ``j t = (j^2 + t^2 - (j - t)^2) / 2`` it is the
    input chirp :meth:`pre`, a convolution with a chirp (FFTs of ``length``), the output chirp :meth:`post`; the
    caller applies the chirps (folded into its own factors), so one transform serves any ``k_first``."""

    def __init__(self, y0: float, step: float, n: int, count: int, c: float, dtype: type, workers: int) -> None:
        self.y0, self.n, self.count, self.c, self.cs = y0, n, count, c, c * step
        self.dtype, self.workers = dtype, workers
        self.length = scipy.fft.next_fast_len(n + count - 1)
        m = np.arange(-(n - 1), count, dtype=np.float64)
        chirp = np.zeros(self.length, np.complex128)
        chirp[:m.size] = np.exp(1j * np.pi * self.cs * m * m)
        self.kernel = scipy.fft.fft(chirp).astype(dtype)

    def pre(self, k_first: float) -> np.ndarray:
        """Input chirp (n), complex128."""
        t = np.arange(self.n, dtype=np.float64)
        return np.exp(-2j * np.pi * self.cs * (k_first * t + t * t / 2))

    def post(self, k_first: float) -> np.ndarray:
        """Output chirp (count), complex128."""
        j = np.arange(self.count, dtype=np.float64)
        return np.exp(-2j * np.pi * (self.c * (k_first + j) * self.y0 + self.cs * j * j / 2))

    def __call__(self, x: np.ndarray, axis: int, pre: np.ndarray, post: np.ndarray | None = None) -> np.ndarray:
        """The transform of ``x`` along ``axis`` (n samples -> count frequencies): ``x`` times ``pre`` (broadcasting to
        x's shape, including the input chirp), the chirp convolution, times ``post`` (broadcasting to the output's shape,
        including the output chirp; None: left to the caller)."""
        line = [1] * x.ndim
        line[axis] = self.length
        shape = list(x.shape)
        shape[axis] = self.length
        padded: np.ndarray = np.zeros(shape, self.dtype)
        head = padded[(slice(None),) * axis + (slice(0, self.n),)]
        np.multiply(x, pre, out=head)
        spectrum = scipy.fft.fft(padded, axis=axis, workers=self.workers, overwrite_x=True)
        spectrum *= self.kernel.reshape(line)
        out = scipy.fft.ifft(spectrum, axis=axis, workers=self.workers, overwrite_x=True)
        out = out[(slice(None),) * axis + (slice(self.n - 1, self.n - 1 + self.count),)]
        return out if post is None else out * post


class Lens1:
    """Lens 1 of the pixelated input onto the SLM, the spectrum scaled by ``scale``, rotated by ``theta`` (rad) and
    offset by ``offset`` (SLM pixels) there (A = scale R(theta)).

    Called with the modulator's amplitudes a (N_r x N_c), it returns the stored spectrum ``sgn(k) U(A^-1 (k - o)) / scale``
    on the SLM pixels k (centred; ``sgn`` the checkerboard), ``U(nu) = Pix(nu) sum_n a_n exp(-2i pi nu . Y_n)`` with
    ``Y_n = y_n / Q`` the centre of pixel n in window fractions and ``Pix(nu) = m_r m_c sinc(m_r nu_r / Q_r)
    sinc(m_c nu_c / Q_c)`` the transform of one square pixel of m x m samples.
    The offset is exactly the phase ``exp(2i pi (A^-1 o) . Y_n)`` on the pixels. Quarter turns of theta turn the pixel
    grid instead: ``(R(-r) R(-quarter pi/2) k) . Y = (R(-r) k) . (R(quarter pi/2) Y)``, with r within +-pi/4.
    Since ``(R(-r) k / scale) . Y = k . (A_r^-T Y)`` and ``A_r^-T = R(r) / scale = S0(-t) D S1(t)`` (shears
    ``S0(a): Y0 += a Y1``, ``S1(a): Y1 += a Y0``, ``t = tan(r)``, ``D = diag(1 / cos, cos) / scale``), each pixel row is
    shifted by S1(t), then ``k . S0(-t) D W = k0 D0 W0 + (k1 - t k0) D1 W1`` is summed exactly: a chirp-z transform
    along the columns (pixel rows at step m_r) at the frequencies ``D0 k0``, a phase ``exp(2i pi t k0 D1 W1)``, a
    chirp-z transform along the rows at ``D1 k1``. Without rotation that is all, and exact.

    The shear moves pixel row n0 by ``s = t (Q_c / Q_r) y_0 / m_c`` pixels: at the row frequency ``f = (k1 - t k0) D1
    m_c / Q_c`` (cycles per pixel) that SLM pixel sees, it multiplies the row's spectrum (periodic in f: the modulator
    grid's diffraction orders) by ``exp(-2i pi f s)``. A row is shifted through its FFT (zero-padded to ``row_length``),
    which knows f only modulo 1, so f is split into overlapping bands: centres b spaced by ``_BAND_SPACING``, band b
    multiplies the row's DFT bin g (taken as its alias g' nearest b) by ``w(g' - b) exp(-2i pi g' s)`` (w:
    :func:`_band_window`, the windows add up to 1), and band b's columns transform feeds only the SLM pixels with
    ``|f - b| < 1/2``. Exact but for the rows' finite padding: the smooth windows keep the shifted rows short
    (``_ROW_MARGIN`` zero pixels on each side leave ~2e-7 of the spectrum, about single-precision rounding). All bands
    share one batched rows transform and one batched columns transform (about 3 bands for m ~ 2: |f| <= m / 2).
    """

    def __init__(self, q: tuple[int, int], m: tuple[float, float], n: tuple[int, int], scale: float, theta: float,
                 offset: np.ndarray, dtype: type, workers: int) -> None:
        self.q, self.dtype, self.workers = q, dtype, workers
        a_inv = np.linalg.inv(scale * rotation(theta))
        y = [(np.arange(n[ax], dtype=np.float64) + 0.5 - n[ax] / 2) * m[ax] - 0.5 for ax in (0, 1)]  # pixel centres (samples)
        shift = a_inv @ offset
        self.ramp: np.ndarray = np.outer(np.exp(2j * np.pi * shift[0] * y[0] / q[0]), np.exp(2j * np.pi * shift[1] * y[1] / q[1])).astype(dtype)
        k = [np.arange(q[ax], dtype=np.float64) - q[ax] // 2 for ax in (0, 1)]
        sign = [np.where(np.arange(q[ax]) % 2, -1.0, 1.0) for ax in (0, 1)]
        nu = np.einsum("ij,jrc->irc", a_inv, np.stack(np.meshgrid(k[0] - offset[0], k[1] - offset[1], indexing="ij")))
        pixel = m[0] * m[1] * np.sinc(m[0] * nu[0] / q[0]) * np.sinc(m[1] * nu[1] / q[1])
        pixel_weight = np.outer(sign[0], sign[1]) * pixel / scale
        # quarter turns: np.rot90 of the pixel array, on the turned (again equally spaced) centres
        self.quarter = round(theta / (math.pi / 2)) % 4
        residual = theta - round(theta / (math.pi / 2)) * math.pi / 2
        turn = np.linalg.matrix_power(np.array([[0, -1], [1, 0]]), self.quarter)
        centres = np.rot90(np.einsum("ij,jrc->rci", turn, np.stack(np.meshgrid(y[0], y[1], indexing="ij"))), self.quarter)
        y = [centres[:, 0, 0], centres[0, :, 1]]
        n, m = (y[0].size, y[1].size), ((m[1], m[0]) if self.quarter % 2 else m)
        self.n = n
        t, c = math.tan(residual), math.cos(residual)
        ratio = (1.0 / (c * scale), c / scale)
        self.rows = ScaledDFT(y[0][0], m[0], n[0], q[0], ratio[0] / q[0], dtype, workers)
        self.rows_pre: np.ndarray = self.rows.pre(k[0][0]).astype(dtype)[:, None]
        self.shear: np.ndarray | None = None
        if residual == 0.0:
            self.left, self.row_length, cols = 0, n[1], y[1]
            starts, inside = [0], np.ones((q[0], 1, q[1]), bool)
            self.columns = ScaledDFT(y[1][0], m[1], n[1], q[1], ratio[1] / q[1], dtype, workers)
        else:
            shifts = t * q[1] / q[0] * y[0] / m[1]
            self.row_length = scipy.fft.next_fast_len(n[1] + 2 * math.ceil(np.abs(shifts).max()) + 2 * _ROW_MARGIN)
            self.left = (self.row_length - n[1]) // 2
            cols = y[1][0] + m[1] * (np.arange(self.row_length) - self.left)
            f = (k[1][None, :] - t * k[0][:, None]) * (ratio[1] * m[1] / q[1])
            centres_b = _BAND_SPACING * np.arange(math.floor((f.min() - 0.5) / _BAND_SPACING),
                                                  math.ceil((f.max() + 0.5) / _BAND_SPACING) + 1)
            near = np.abs(f[:, None, :] - centres_b[None, :, None]) < 0.5  # (Q0, bands, Q1)
            used = near.any(axis=(0, 2))
            centres_b, near = centres_b[used], near[:, used]
            hit = [np.flatnonzero(near[:, b].any(axis=0)) for b in range(centres_b.size)]
            count = max(int(h[-1] - h[0]) + 1 for h in hit)
            starts = [min(int(h[0]), q[1] - count) for h in hit]
            inside = np.stack([near[:, b, s:s + count] for b, s in enumerate(starts)], axis=1)
            g = scipy.fft.fftfreq(self.row_length)
            alias = g[None, :] + np.round(centres_b[:, None] - g[None, :])  # (bands, L)
            shear = _band_window(alias - centres_b[:, None], _BAND_SPACING)[None] * np.exp(
                -2j * np.pi * shifts[:, None, None] * alias[None])
            self.shear = shear.astype(dtype)  # (N0, bands, L)
            self.columns = ScaledDFT(cols[0], m[1], self.row_length, count, ratio[1] / q[1], dtype, workers)
        self.starts = starts
        # between the two transforms: the rows' output chirp, the coupling phase exp(2i pi t k0 D1 W1), each band's
        # columns input chirp; after: each band's output chirp on its SLM pixels (zero elsewhere) times sgn Pix / scale
        coupling = self.rows.post(k[0][0])[:, None] * np.exp(2j * np.pi * t * ratio[1] * np.outer(k[0], cols) / q[1])
        self.between: np.ndarray = np.stack([coupling * self.columns.pre(k[1][s])[None, :] for s in starts], axis=1).astype(dtype)
        width = self.columns.count
        after = np.stack([self.columns.post(k[1][s])[None, :] * pixel_weight[:, s:s + width] for s in starts], axis=1)
        self.after: np.ndarray = (after * inside).astype(dtype)

    def __call__(self, amplitude: np.ndarray) -> np.ndarray:
        """The stored lens-1 spectrum (SLM grid) of the modulator amplitudes (N_r x N_c, real)."""
        field = np.rot90(amplitude * self.ramp, self.quarter)
        if self.shear is None:
            rows = field[:, None, :]
        else:
            padded: np.ndarray = np.zeros((self.n[0], self.row_length), self.dtype)
            padded[:, self.left:self.left + self.n[1]] = field
            spectrum = scipy.fft.fft(padded, axis=1, workers=self.workers, overwrite_x=True)
            rows = scipy.fft.ifft(spectrum[:, None, :] * self.shear, axis=2, workers=self.workers, overwrite_x=True)
        bands = rows.shape[1]
        rows = self.rows(rows.reshape(self.n[0], bands * self.row_length), 0, self.rows_pre)
        parts = self.columns(rows.reshape(self.q[0], bands, self.row_length), 2, self.between, self.after)
        if bands == 1:
            spectrum = parts[:, 0]
        else:
            spectrum = np.zeros(self.q, self.dtype)
            for b, start in enumerate(self.starts):
                spectrum[:, start:start + parts.shape[2]] += parts[:, b]
        return spectrum
