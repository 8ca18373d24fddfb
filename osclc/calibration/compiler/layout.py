"""Where things go: input channels on the input modulator, output channels on the camera.

All positions are in the *output plane* expressed in image-pixel coordinates ``(row, col)`` (the
coordinates of ``camera.affine`` when each image pixel is one modulator pixel: a flat SLM images input
pixel ``(r, c)`` onto output point ``(r, c)``; the compiler rescales for larger input blocks). A linear phase ``exp(-2 pi i f . tau / P)`` on the mask (f in bins of the P grid) moves the
output by ``tau``; the SLM pixel lattice makes the output plane periodic (:func:`period_lattice`).

Multiplexing:

- ``"time"``: one mask per output channel, all at the same carrier ``tau0``; one capture each.
- ``"space"``: one mask holding every output channel, channel ``o`` at ``tau0 + grid offset``: a grid of
  tiles of pitch ``P + N + margin`` so that no channel's output reaches another's readout window.
- both (``per_mask`` channels on each of ``ceil(c_out / per_mask)`` masks): channel ``o`` on tile ``o % per_mask``.

Optical batching (``images`` > 1): several input images on the input modulator in one frame, on a grid whose
pitch is the whole readout block of one image (its channel tiles, each ``P + N + margin`` wide: the linear
convolution of an N-pixel image with a kernel of support K <= P - N + 1 spans N + K - 1 <= P pixels, plus the
readout margin, so a guard of at least K - 1 + margin separates neighbouring images' outputs). Shift invariance
puts image ``i``'s outputs at its own offset ``image_shift[i]``; its zero order and cross terms move with it.

Input channels (``c_in > 1``) are always tiled on the input modulator (coherent superposition does the
channel sum; intensity detection could not), each channel's kernel carrying the opposite shift so the
wanted terms coincide and the cross terms land ``t_i - t_j`` away, outside every readout window.

:func:`plan_layout` picks the smallest carrier for which the readout windows (their bounding box)
avoid every nuisance term (zero order, cross terms, the encoding's other diffraction terms, all modulo
the period) and lie on the camera; it returns None when none does.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import numpy as np

MARGIN_PX = 2.0
"""Extra clearance (input pixels) around every footprint: interpolation support and sinc tails."""
MAX_CARRIER = 0.3
"""Largest shift, as a fraction of the output period along each lattice axis (keeps ramps < 0.6 pi per pixel)."""
_CHUNK = 256
"""Carrier candidates tested at once (bounded memory)."""
MAX_STEPS = 24
"""Carrier candidates per axis and direction (the search grid is at most 49 x 49)."""


@dataclass
class Boxes:
    """Axis-aligned rectangles in the output plane that move with the carrier ``tau``.

    Box k is centred on ``centre[k] + coef[k] * tau`` with half sizes ``half[k]`` (row, col), input pixels:
    ``coef`` 0 = fixed (zero order), 1 = moves with the wanted outputs, n = a grating's order n.
    """

    centre: np.ndarray
    coef: np.ndarray
    half: np.ndarray

    @staticmethod
    def of(centre: np.ndarray, half: np.ndarray, coef: float) -> "Boxes":
        """Boxes with one shared ``coef`` from [k, 2] centres and half sizes (broadcast)."""
        centre = np.atleast_2d(np.asarray(centre, dtype=np.float64))
        half = np.broadcast_to(np.asarray(half, dtype=np.float64), centre.shape).copy()
        return Boxes(centre, np.full(centre.shape[0], float(coef)), half)

    def __add__(self, other: "Boxes") -> "Boxes":
        return Boxes(np.concatenate([self.centre, other.centre]), np.concatenate([self.coef, other.coef]),
                     np.concatenate([self.half, other.half]))


def period_lattice(slm_per_bin: np.ndarray, pad: int) -> np.ndarray:
    """Columns = the two period vectors (input pixels) of the output plane: ``P * A.T``.

    ``slm_per_bin`` is the 2x2 linear part of the bins -> SLM pixels map for the P grid.
    """
    return pad * np.asarray(slm_per_bin, dtype=np.float64).T


def lattice_fraction(shift: np.ndarray, lattice: np.ndarray) -> np.ndarray:
    """``shift[..., 2]`` (row, col) in lattice coordinates (fractions of each period vector)."""
    return np.asarray(shift, dtype=np.float64) @ np.linalg.inv(lattice).T


def _lattice_shifts(lattice: np.ndarray) -> np.ndarray:
    """[25, 2] lattice vectors ``L m`` for m in {-2..2}^2."""
    m = np.array([[i, j] for i in range(-2, 3) for j in range(-2, 3)], dtype=np.float64)
    return m @ lattice.T


def meets(windows: np.ndarray, half: np.ndarray, boxes: Boxes, taus: np.ndarray, lattice: np.ndarray) -> np.ndarray:
    """[n_tau] True where a window (centres [w, 2] moving with tau, shared ``half``) meets a box or its periodic copies.

    Per (window, box, lattice copy) the separation ``(window - box) + tau (1 - coef) - L`` is linear in tau, so
    over the taus' bounding box it spans a known interval: the pairs that stay apart for every tau are
    dropped first and the exact test runs on the others only.
    """
    windows, taus = np.asarray(windows, dtype=np.float64), np.asarray(taus, dtype=np.float64)
    if taus.shape[0] == 0:
        return np.zeros(0, dtype=bool)
    base = windows[:, None, :] - boxes.centre[None, :, :]  # [w, b, 2]
    slope = 1.0 - boxes.coef  # [b]
    reach = half[None, :] + boxes.half  # [b, 2]
    shifts = _lattice_shifts(lattice)  # [s, 2]
    ends = slope[:, None, None] * np.stack([taus.min(axis=0), taus.max(axis=0)])[None]  # [b, 2 ends, 2 axes]
    low = base[:, :, None, :] + ends.min(axis=1)[None, :, None, :] - shifts[None, None]  # [w, b, s, 2]
    high = base[:, :, None, :] + ends.max(axis=1)[None, :, None, :] - shifts[None, None]
    margin = 1e-9 * (1.0 + np.abs(low) + np.abs(high))
    limit = reach[None, :, None, :] + margin
    w, b, s = np.nonzero(np.all((low < limit) & (high > -limit), axis=-1))
    if w.size == 0:
        return np.zeros(taus.shape[0], dtype=bool)
    # the exact test, same operations as for every pair: ((window - box) + tau (1 - coef)) - L, |.| < reach
    shifted = base[w, b][None] + taus[:, None, :] * slope[b][None, :, None] - shifts[s][None]
    return np.all(np.abs(shifted) < reach[b][None], axis=-1).any(axis=1)


@dataclass
class Layout:
    """Placement chosen by :func:`plan_layout` (input-modulator / output-plane pixels, (row, col))."""

    multiplex: str
    input_corner: np.ndarray
    """[c_in, 2] top-left input-modulator pixel of each input channel's N x N image."""
    input_shift: np.ndarray
    """[c_in, 2] shift of each input channel from channel 0 (its kernel carries the opposite shift)."""
    output_shift: np.ndarray
    """[c_out, 2] output-plane shift ``tau`` of each output channel (mask linear phase)."""
    carrier: np.ndarray
    """[2] the common carrier ``tau0`` (for the grating encoding: the grating's own shift)."""
    image_shift: np.ndarray = field(default_factory=lambda: np.zeros((1, 2)))
    """[images, 2] shift of each batched image (input modulator and output plane alike) from image 0."""

    @property
    def images(self) -> int:
        """Input images per frame."""
        return int(self.image_shift.shape[0])


def tile_offsets(count: int, pitch: float) -> np.ndarray:
    """[count, 2] offsets of a near-square grid of ``count`` tiles of ``pitch``, centred on (0, 0)."""
    cols = math.ceil(math.sqrt(count))
    rows = math.ceil(count / cols)
    index = np.arange(count)
    grid = np.stack([index // cols - (rows - 1) / 2, index % cols - (cols - 1) / 2], axis=1)
    return grid * pitch


def nuisance(
    encoding: str, zero: Boxes, anchor: np.ndarray, block_centre: np.ndarray, block_half: np.ndarray,
    lattice: np.ndarray, pad: int, size: int, block: int = 1,
) -> Boxes:
    """Footprints of the light other than the wanted terms, for wanted outputs filling ``block`` (at tau = 0).

    ``anchor`` is the centre of the input images (where the zero order lands). The double-phase residual is
    the programmed field moved by odd multiples of ``1 / (2 block)`` of the period on both axes; the grating's order n lands n times as far
    from the anchor as the first order, n times as wide (0: the undiffracted envelope).
    """
    spread = pad / 2 + size
    boxes = zero
    if encoding == "double_phase":
        steps = np.arange(1, 2 * block, 2) / (2 * block)  # odd multiples of 1 / (2 block), modulo the period
        for a in steps:
            for b in steps:
                offset = lattice @ np.array([a, b])
                boxes = boxes + Boxes(zero.centre + offset, zero.coef, zero.half)
                boxes = boxes + Boxes.of(block_centre + offset, block_half + spread, 1.0)
    elif encoding == "grating":
        for order in (-3, -2, -1, 0, 2, 3):
            centre = anchor + order * (block_centre - anchor)
            boxes = boxes + Boxes.of(centre, max(abs(order), 1) * block_half + spread, float(order))
    return boxes


def plan_layout(
    multiplex: str,
    encoding: str,
    c_in: int,
    c_out: int,
    input_size: int,
    pad: int,
    readout_start: np.ndarray,
    input_shape: tuple[int, int],
    lattice: np.ndarray,
    camera_affine: np.ndarray,
    camera_shape: tuple[int, int],
    block: int = 1,
    per_mask: int | None = None,
    images: int = 1,
) -> Layout | None:
    """The layout with the smallest carrier that fits, or None.

    ``readout_start`` [c_out, 2]: start of each channel's P-wide readout interval in the folded model's
    window coordinates (:func:`osclc.calibration.compiler.kernel_resampling.readout_start`). ``block``: square size
    of the double-phase checkerboard (SLM pixels). ``per_mask``: output channels sharing one mask (default 1 for
    ``"time"``, ``c_out`` for ``"space"``); ``images``: input images tiled in one frame (optical batching).
    """
    if images < 1:
        raise ValueError(f"images={images}: give at least one input image per frame")
    n = input_size
    per_mask = (1 if multiplex == "time" else c_out) if per_mask is None else min(int(per_mask), c_out)
    pitch = pad + n + 2 * MARGIN_PX
    in_offsets = np.stack([np.arange(c_in) * pitch, np.zeros(c_in)], axis=1)
    tiles = tile_offsets(per_mask, pitch)[np.arange(c_out) % per_mask]
    image_pitch = np.maximum(np.ptp(tiles, axis=0) + pitch, np.array([in_offsets[-1, 0] + pitch, pitch]))
    image_shift = tile_offsets(images, 1.0) * image_pitch
    image_shift -= image_shift[0]
    block_shape = np.array([in_offsets[-1, 0] + n, n]) + np.ptp(image_shift, axis=0)
    corner0 = np.array([(input_shape[0] - block_shape[0]) // 2, (input_shape[1] - block_shape[1]) // 2], dtype=np.float64)
    if corner0.min() < 0:
        return None
    corners = corner0 + in_offsets
    anchor = corner0 + block_shape / 2
    origin = corner0 - (pad - n) // 2  # output-plane point of window coordinate 0 (channel 0's frame)
    own = origin + np.asarray(readout_start, dtype=np.float64) + tiles + pad / 2  # image 0's window centres at tau = 0
    windows = (own[None] + image_shift[:, None]).reshape(-1, 2)
    half = np.full(2, pad / 2)
    extra = (n - 1) / 2 + MARGIN_PX
    lo, hi = windows.min(axis=0) - half - extra, windows.max(axis=0) + half + extra
    zero = Boxes.of((corners[None] + image_shift[:, None]).reshape(-1, 2) + n / 2, n / 2 + pad / 2 + MARGIN_PX, 0.0)
    bad = nuisance(encoding, zero, anchor, (lo + hi) / 2, (hi - lo) / 2, lattice, pad, n, block)
    cross = [in_offsets[i] - in_offsets[j] for i in range(c_in) for j in range(c_in) if i != j]
    for d in cross:
        bad = bad + Boxes.of(windows + d, half + extra, 1.0)
    if per_mask > 1 or images > 1:
        mask = np.tile(np.arange(c_out) // per_mask, images)
        for w in range(len(windows)):
            others = np.flatnonzero((mask == mask[w]) & (np.arange(len(windows)) != w))
            if others.size and meets(windows[w : w + 1], half, Boxes.of(windows[others], half + extra, 1.0), np.zeros((1, 2)), lattice)[0]:
                return None
    # all windows together: their bounding box (on the camera, and clear of every nuisance term)
    union = ((windows.min(axis=0) + windows.max(axis=0)) / 2)[None, :]
    union_half = (windows.max(axis=0) - windows.min(axis=0)) / 2 + half
    taus = carrier_candidates(lattice, n, tiles, union, union_half, camera_affine, camera_shape)
    for start in range(0, len(taus), _CHUNK):
        chunk = taus[start : start + _CHUNK]
        free = ~meets(union, union_half, bad, chunk, lattice)
        if free.any():
            tau = chunk[np.argmax(free)]
            return Layout(multiplex, corners, in_offsets, tiles + tau, tau, image_shift)
    return None


def carrier_candidates(
    lattice: np.ndarray, input_size: int, tiles: np.ndarray, union: np.ndarray, union_half: np.ndarray,
    camera_affine: np.ndarray, camera_shape: tuple[int, int],
) -> np.ndarray:
    """[n, 2] carriers ``tau`` to try, nearest first: a square grid (step >= N / 4, at most :data:`MAX_STEPS`
    per direction) within :data:`MAX_CARRIER` of the period for every tile, keeping the windows' bounding box
    (centre ``union`` [1, 2], half size ``union_half``) on the camera. Cached per arguments (the same for every
    checkerboard size and encoding tried; read-only)."""
    arrays = [np.ascontiguousarray(a, dtype=np.float64) for a in (lattice, tiles, union, union_half, camera_affine)]
    key = tuple((a.shape, a.tobytes()) for a in arrays)
    return _carrier_candidates(key, int(input_size), (int(camera_shape[0]), int(camera_shape[1])))


@functools.lru_cache(maxsize=64)
def _carrier_candidates(key: tuple, n: int, camera_shape: tuple[int, int]) -> np.ndarray:
    lattice, tiles, union, union_half, camera_affine = (np.frombuffer(data).reshape(shape) for shape, data in key)
    span = np.abs(lattice).sum(axis=1).max() * MAX_CARRIER
    step = max(1.0, n / 4, span / MAX_STEPS)
    reach = int(np.ceil(span / step))
    grid = np.arange(-reach, reach + 1, dtype=np.float64) * step
    taus = np.stack(np.meshgrid(grid, grid, indexing="ij"), axis=-1).reshape(-1, 2)
    taus = taus[np.lexsort((taus[:, 1], taus[:, 0], np.hypot(taus[:, 0], taus[:, 1])))]
    fraction = np.abs(lattice_fraction(tiles[None, :, :] + taus[:, None, :], lattice)).max(axis=(1, 2))
    taus = taus[fraction <= MAX_CARRIER]
    taus = taus[_on_camera(union, union_half, taus, camera_affine, camera_shape)]
    taus.setflags(write=False)
    return taus


def _on_camera(windows: np.ndarray, half: np.ndarray, taus: np.ndarray, camera_affine: np.ndarray,
               camera_shape: tuple[int, int]) -> np.ndarray:
    """[n_tau] True where every window's corners map inside the camera with a 2-pixel border (cubic taps)."""
    signs = np.array([[a, b] for a in (-1, 1) for b in (-1, 1)], dtype=np.float64)
    corners = windows[:, None, :] + signs[None] * half  # [w, 4, 2]
    points = corners[None] + taus[:, None, None, :]
    cam = points @ camera_affine[:, :2].T + camera_affine[:, 2]
    limit = np.array(camera_shape, dtype=np.float64) - 3
    inside = (cam >= 2).all(axis=-1) & (cam <= limit).all(axis=-1)
    return inside.all(axis=(1, 2))
