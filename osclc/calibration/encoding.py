"""Complex values on a phase-only SLM: the encodings the compiler can use.

Every encoding takes the wanted complex transmittance ``field`` (amplitude <= 1) and returns a
phase pattern (radians, not yet wrapped) whose light, in a known diffraction term, is ``field``:

- ``"double_phase"`` (checkerboard): ``A exp(i phi)`` is the mean of ``exp(i(phi + acos A))`` and
  ``exp(i(phi - acos A))``; the two are shown on the two colours of a checkerboard (of single pixels or
  of ``block`` x ``block`` squares). The programmed field is the low-frequency part; the residual is
  modulated by the checkerboard and lands half an output period (over ``block``) away on both axes.
- ``"grating"`` (amplitude by grating modulation depth, first-order readout): a blazed grating of
  local depth ``2 pi D`` and phase offset ``phi`` has Fourier-series coefficients
  ``c_n(D) = exp(i pi (D - n)) sinc(D - n)`` (pointwise in ``exp(i n xi)``, ``xi`` the grating phase),
  so its first order carries ``sinc(1 - D) exp(i(phi + pi (D - 1)))``. The encoder picks ``D`` with
  ``sinc(1 - D) = A`` and removes the ``pi (D - 1)`` offset, so the first order carries exactly
  ``A exp(i phi)`` times the grating's own linear phase (the carrier that puts it off axis).
- ``"phase"``: a student trained phase-only (``|K| = 1``) is shown as its phase, no encoding.
"""

from __future__ import annotations

import numpy as np

TWO_PI = 2.0 * np.pi
ENCODINGS = ("double_phase", "grating", "phase")
_SINC_TABLE_SIZE = 4097


class EncodingError(ValueError):
    """A field that an encoding cannot show (NaN, amplitude above 1, unknown encoding); the message says which."""


def check_field(field: np.ndarray, name: str = "mask") -> tuple[np.ndarray, np.ndarray]:
    """``field`` as complex128 and its amplitude ``|field|``, or :class:`EncodingError` for NaN/infinity or an
    amplitude above 1 (+1e-9); one pass: a NaN or infinity makes the largest amplitude non-finite."""
    field = np.asarray(field, dtype=np.complex128)
    amplitude = np.abs(field)
    peak = float(np.max(amplitude)) if field.size else 0.0
    if not np.isfinite(peak):
        raise EncodingError(f"{name}: contains NaN or infinity; check the kernel it was compiled from")
    if peak > 1.0 + 1e-9:
        raise EncodingError(f"{name}: amplitude {peak:.4g} exceeds 1; normalise the mask to a peak amplitude of 1")
    return field, amplitude


def checkerboard(shape: tuple[int, int], origin: tuple[int, int] = (0, 0), block: int = 1) -> np.ndarray:
    """+1/-1 checkerboard of ``block`` x ``block`` squares; pixel (r, c) of the array is ``origin + (r, c)`` globally."""
    rows, cols = _checker_signs(shape, origin, block)
    return rows[:, None] * cols[None, :]


def _checker_signs(shape: tuple[int, int], origin: tuple[int, int], block: int) -> tuple[np.ndarray, np.ndarray]:
    """+1/-1 per row and per column: the checkerboard is their outer product (``(-1)^(a + b) = (-1)^a (-1)^b``)."""
    rows = 1.0 - 2.0 * (((np.arange(shape[0]) + origin[0]) // block) & 1)
    cols = 1.0 - 2.0 * (((np.arange(shape[1]) + origin[1]) // block) & 1)
    return rows, cols


def double_phase(field: np.ndarray, origin: tuple[int, int] = (0, 0), block: int = 1) -> np.ndarray:
    """Checkerboard double-phase encoding of ``field`` [rows, cols] (|field| <= 1): phase (rad).

    Squares of ``block`` x ``block`` pixels alternate between ``phi + acos A`` and ``phi - acos A``
    (:func:`checkerboard` with the array's first pixel at global ``origin``). ``block > 1`` keeps most
    pixels away from a square's edge, where the SLM's fringing mixes the two phases; the residual then
    lands ``1 / (2 block)`` of the output period away on each axis (and its odd multiples).
    """
    field, amplitude = check_field(field)
    if field.ndim != 2:
        raise EncodingError(f"double_phase: expected a 2-D field, got shape {field.shape}")
    if block < 1:
        raise EncodingError(f"double_phase: block={block} must be >= 1 pixel")
    spread = np.arccos(np.minimum(amplitude, 1.0, out=amplitude), out=amplitude)
    rows, cols = _checker_signs(field.shape, origin, block)
    spread *= rows[:, None]
    spread *= cols[None, :]
    phase = np.angle(field)
    phase += spread
    return phase


def _depth_table() -> tuple[np.ndarray, np.ndarray]:
    """First-order amplitude ``sinc(1 - D)`` (increasing) for depths ``D`` in [0, 1]."""
    depth = np.linspace(0.0, 1.0, _SINC_TABLE_SIZE)
    return np.sinc(1.0 - depth), depth


_AMPLITUDE, _DEPTH = _depth_table()


def grating_depth(amplitude: np.ndarray) -> np.ndarray:
    """Blaze depth ``D`` (fraction of 2 pi, in [0, 1]) whose first-order amplitude ``sinc(1 - D)`` is ``amplitude``."""
    return np.interp(np.clip(amplitude, 0.0, 1.0), _AMPLITUDE, _DEPTH)


def grating(field: np.ndarray, grating_phase: np.ndarray) -> np.ndarray:
    """Amplitude-by-depth encoding of ``field`` on a blazed grating of phase ``grating_phase`` (rad, same shape).

    Returns ``D * mod(angle(field) - pi (D - 1) + grating_phase, 2 pi)``: its first diffraction order is
    ``field * exp(i grating_phase)``. ``grating_phase`` is the linear phase of the carrier.
    """
    field, amplitude = check_field(field)
    grating_phase = np.asarray(grating_phase, dtype=np.float64)
    if grating_phase.shape != field.shape:
        raise EncodingError(f"grating: grating_phase shape {grating_phase.shape} differs from the field shape {field.shape}")
    depth = grating_depth(amplitude)
    xi = np.mod(np.angle(field) - np.pi * (depth - 1.0) + grating_phase, TWO_PI)
    return depth * xi


def phase_only(field: np.ndarray) -> np.ndarray:
    """Phase (rad) of ``field`` where it is nonzero, 0 in the aperture's dark part (no encoding).

    For a student trained phase-only: its amplitude is discarded (the compiler checks it is 1).
    """
    field = np.asarray(field, dtype=np.complex128)
    if not np.all(np.isfinite(field)):
        raise EncodingError("phase: the mask contains NaN or infinity; check the kernel it was compiled from")
    return np.where(np.abs(field) > 0.0, np.angle(field), 0.0)
