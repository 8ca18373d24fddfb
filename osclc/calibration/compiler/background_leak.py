"""How much light each candidate dark background sends onto a program's readouts, all candidates at once.

The dark double-phase backgrounds are periodic: the SLM shows ``tile[row mod p, col mod p]`` (p = 2 x the square
size). What a background sends to a readout grid is ``R(O)`` of its field ``O = z E + (1 - z) E P`` outside the
box's region (``E = exp(-i C)`` the cover glass behind the wavefront correction C, ``P = exp(i G * shown)`` the
blurred modulated light; :class:`osclc.calibration.compiler.crosstalk_model.Region`). Evaluated directly, that is
one product over the whole SLM per candidate. Here ``P`` is split into its periodic part (the tile blurred
periodically) and what the SLM's border changes (the blur continues the edge pixels: a strip of the blur radius r
along each edge), and the sum of ``E P_periodic`` over a window is taken by column classes: with L a common period
of the tiles, ``F_c(x, g) = sum_{y = c mod L} E(x, y) exp(2 pi i g y)`` is one product over the window, and each
candidate is then ``sum_x exp(2 pi i f x) sum_c P(x mod p, c mod p) F_c(x, g)``, small. So

``R(O) = z R(E) + (1 - z) [R_SLM(E P_periodic) - R_region(E P_periodic) + R_strips(E (P - P_periodic))]``

costs one product over the SLM (and one over the region) per readout grid, whatever the number of candidates.
"""

from __future__ import annotations

import math

import numpy as np

from osclc.calibration.compiler.crosstalk_model import Band, cis, phasors, region_slices
from osclc.drivers.physics.slm_response import blur_phase, fringing_kernel


def _periodic_reads(e: np.ndarray | None, rows: slice, cols: slice, e_rows: np.ndarray, e_cols: np.ndarray,
                    tiles: list[np.ndarray], period: int) -> list[np.ndarray]:
    """``sum_{x in rows, y in cols} E(x, y) M(x mod p, y mod p) e_rows[x, f] e_cols[y, g]`` [f, g] for each tile M
    [p, p] (p divides ``period``; x, y absolute SLM pixels), ``E`` [rows, cols] the window of ``exp(-i C)`` (None:
    1), ``e_rows`` [rows, f] and ``e_cols`` [cols, g] the window's phasors."""
    lead = cols.start % period
    width = -(-(lead + cols.stop - cols.start) // period) * period
    padded_cols = np.zeros((width, e_cols.shape[1]), np.complex64)
    padded_cols[lead:lead + e_cols.shape[0]] = e_cols
    by_class = padded_cols.reshape(width // period, period, -1)
    if e is None:
        sums = by_class.sum(axis=0)[:, None]  # [class, 1, g]: the same for every row
    else:
        padded = np.zeros((e.shape[0], width), np.complex64)
        padded[:, lead:lead + e.shape[1]] = e
        classes = np.ascontiguousarray(padded.reshape(e.shape[0], width // period, period).transpose(2, 0, 1))
        sums = classes @ by_class.transpose(1, 0, 2)  # [class, row, g]
    x = np.arange(rows.start, rows.stop)
    reads = []
    for tile in tiles:
        p = tile.shape[0]
        per_class = sums.reshape(period // p, p, *sums.shape[1:]).sum(axis=0)  # [c mod p, row or 1, g]
        weights = tile[x % p]  # [row, c mod p]
        if e is None:
            reads.append((e_rows.T @ weights) @ per_class[:, 0])
        else:
            mixed = weights[:, 0, None] * per_class[0]
            for c in range(1, p):
                mixed += weights[:, c, None] * per_class[c]
            reads.append(e_rows.T @ mixed)
    return reads


def _edge_strips(shape: tuple[int, int], r: int) -> list[tuple[slice, slice]]:
    """The pixels within ``r`` of the SLM's border: top and bottom rows, then the left and right columns between."""
    rows, cols = shape
    return [(slice(0, r), slice(0, cols)), (slice(rows - r, rows), slice(0, cols)),
            (slice(r, rows - r), slice(0, r)), (slice(r, rows - r), slice(cols - r, cols))]


def background_leaks(tiles: list[np.ndarray], correction: np.ndarray, bands: list[Band], box: tuple[int, int, int, int],
                     sigma_px: float, zero_order: float) -> list[float]:
    """For each background that repeats ``tile`` [p, p] (phases, rad; from the SLM's pixel (0, 0)) over the SLM of
    ``correction`` (its wavefront correction, rad), the norm of the field it sends, with the unmodulated light,
    onto the held points of ``bands``, outside the region of ``box`` (lower is better): what
    ``Region(background, correction, box, sigma_px, zero_order).surround`` gives over all grids, for every tile at
    the cost of about one."""
    kernel = fringing_kernel(sigma_px).astype(np.float32)
    r = (kernel.size - 1) // 2
    shape = correction.shape
    period = math.lcm(*(tile.shape[0] for tile in tiles))
    z = float(zero_order)
    e = cis(-np.asarray(correction, np.float32)) if np.any(correction) else None
    periodic = [(1.0 - z) * cis(blur_phase(np.pad(np.asarray(t, np.float32), r, mode="wrap"), kernel)[r:-r, r:-r])
                for t in tiles]
    region = region_slices(shape, box, r)
    strips = []
    for window in _edge_strips(shape, r):
        x, y = np.arange(shape[0])[window[0]], np.arange(shape[1])[window[1]]
        wide = (slice(max(window[0].start - r, 0), min(window[0].stop + r, shape[0])),
                slice(max(window[1].start - r, 0), min(window[1].stop + r, shape[1])))
        inner = (slice(window[0].start - wide[0].start, window[0].stop - wide[0].start),
                 slice(window[1].start - wide[1].start, window[1].stop - wide[1].start))
        wx, wy = np.arange(shape[0])[wide[0]], np.arange(shape[1])[wide[1]]
        outside = np.ones((x.size, y.size), bool)
        outside[np.ix_((x >= region[0].start) & (x < region[0].stop), (y >= region[1].start) & (y < region[1].stop))] = False
        changes = []
        for tile, wrapped in zip(tiles, periodic):
            p = tile.shape[0]
            shown = np.asarray(tile, np.float32)[np.ix_(wx % p, wy % p)]
            change = (1.0 - z) * cis(blur_phase(shown, kernel)[inner]) - wrapped[np.ix_(x % p, y % p)]
            change *= outside
            changes.append(change if e is None else change * e[window])
        strips.append((window, changes))
    leaks = np.zeros(len(tiles))
    for band in bands:
        for rows_f, cols_f in zip(band.rows, band.cols):
            e_rows = phasors(np.arange(shape[0]) - box[0], rows_f)
            e_cols = phasors(np.arange(shape[1]) - box[1], cols_f)
            full = _periodic_reads(e, slice(0, shape[0]), slice(0, shape[1]), e_rows, e_cols,
                                   [np.full((1, 1), z, np.complex64), *periodic], period)
            cleared = _periodic_reads(None if e is None else e[region], *region, e_rows[region[0]], e_cols[region[1]],
                                      periodic, period)
            for i in range(len(tiles)):
                held = full[0] + full[i + 1] - cleared[i]
                for window, changes in strips:
                    held += np.linalg.multi_dot([e_rows[window[0]].T, changes[i], e_cols[window[1]]])
                leaks[i] += float(np.sum(np.abs(held.astype(np.complex128)) ** 2))
    return np.sqrt(leaks).tolist()
