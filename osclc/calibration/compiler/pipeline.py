"""Compiling a folded student into an optical program for one calibrated bench.

``compile_program(folded, calibration, bench_config)`` (``folded``: a FoldedSCLC or a FoldedFrontend, e.g. one U-Net level):

1. checks the inputs (kernel finite and [c_in, c_out, h, w], calibration measured on this bench,
   an intensity detector: the camera measures |field|^2);
2. finds each output channel's kernel centre and readout interval (``kernel_resampling``), and plans
   the layout for time and space multiplexing (``layout``); predicts both frame rates on this bench
   (``frame_rate``) and keeps the faster one that fits (or the one asked for);
3. per pattern, evaluates ``sum_o sum_i M[i, o](u) exp(2 pi i u.(t_i - tau_o) / P)`` on the SLM pixels
   of the kernel window (``u = slm_to_bins(pixel)`` through ``fourier.affine``; ``M[i, o]`` the mask that
   reproduces ``K[i, o]`` at the readout points, see ``kernel_resampling``; zero outside the window: an
   aperture), divides it by the input pixels' transfer function, scales its peak amplitude to 1, encodes it on the phase-only SLM (``encoding``),
   adds the wavefront correction and maps phase to gray levels through the inverse LUT; on an SLM with a
   measured crosstalk (``fringing_px`` > 0) the encoded patterns are then optimised against the blurred
   SLM's model (``crosstalk``: window plus margin, dark background, held readout band);
4. builds the readout tables: each model grid point's window position -> output plane (input-modulator
   pixels, plus the channel's shift) -> camera pixels through ``camera.affine`` -> bicubic taps; with the
   dark frame at the exposure and the flat-field gain.

The per-channel gain/offset of the readout starts at 1 / 0 (raw corrected counts; ``info.feature_scale``
records how each pattern's field was scaled) and is fitted against the digital features on a few
calibration images by :func:`osclc.calibration.execute.fit_normalisation`.
"""

from __future__ import annotations

import functools
import weakref
from typing import Any

import numpy as np
import threadpoolctl

from osclc.calibration.compiler import crosstalk
from osclc.calibration import encoding as enc
from osclc.calibration.compiler import frame_rate
from osclc.calibration import lut as lut_mod
from osclc.calibration.compiler import kernel_resampling as kr
from osclc.calibration.compiler.camera_sampling import bicubic_taps
from osclc.calibration.compiler.layout import Layout, period_lattice, plan_layout
from osclc.calibration.program import OpticalProgram, ProgramError
from osclc.calibration.record import CalibrationRecord, apply_affine, bench_config_hash, invert_affine
from osclc.drivers.bench_config import BenchConfig
from osclc.storage import content_hash

MULTIPLEX = ("auto", "time", "space")
ENCODING_CHOICES = ("auto", *enc.ENCODINGS)
DOUBLE_PHASE_BLOCKS = (4, 3, 2, 1)
"""Square sizes (SLM pixels) of the double-phase checkerboard tried by default, largest first: larger
squares keep more pixels away from a square's edge, where the SLM's fringing mixes the two phases
(simulated realistic bench, digits student, measured calibration: mean feature correlation 0.93 with
2, 0.96 with 4); a bench without fringing does best with 1 (``block=1``)."""
INPUT_PIXEL_WIDTH = 1.0
"""Aperture of an input-modulator pixel, in pitches: a square pixel (its fill factor is not in the bench config)."""
PHASE_ONLY_TOLERANCE = 1e-3
"""Relative spread of |K| under which a kernel counts as phase-only (``encoding="auto"`` then shows its phase)."""


class CompileError(ProgramError):
    """A student that cannot be compiled for this bench (layout does not fit, unsupported detector, ...)."""


def _kernel_array(folded: Any) -> np.ndarray:
    kernel = folded.kernel
    if hasattr(kernel, "detach"):
        kernel = kernel.detach().cpu().numpy()
    return kr.check_kernel(kernel)


def model_hash(folded: Any) -> str:
    """BLAKE2b-256 (hex) of the folded frontend: kernel values (complex128), P, N and the detector mode."""
    return content_hash([np.ascontiguousarray(_kernel_array(folded)).tobytes(),
                         f"P={folded.pad};N={folded.input_size};detector={folded.detector}".encode()])


def calibration_hash(calibration: CalibrationRecord) -> str:
    """BLAKE2b-256 (hex) of a calibration record: its JSON document and every array.

    Computed once per record object (records are not modified after they are measured or loaded).
    """

    def compute() -> str:
        arrays = (calibration.lut_phase_rad, calibration.wavefront_phase_rad, calibration.dark_frame,
                  calibration.dark_per_s, calibration.gain_frame, calibration.bad_pixels)
        return content_hash([repr(sorted(calibration.to_json("").items())).encode(),
                             *(memoryview(np.ascontiguousarray(array)).cast("B") for array in arrays)])

    return _cached(calibration, "hash", compute)


_CACHE: dict[int, tuple[weakref.ref, dict[Any, Any]]] = {}


def _cached(calibration: CalibrationRecord, key: Any, compute: Any) -> Any:
    """``compute()`` once per (record object, key): records are not modified after measuring or loading."""
    entry = _CACHE.get(id(calibration))
    if entry is None or entry[0]() is not calibration:
        entry = _CACHE[id(calibration)] = (weakref.ref(calibration, lambda _, k=id(calibration): _CACHE.pop(k, None)), {})
    values = entry[1]
    if key not in values:
        values[key] = compute()
    return values[key]


def background_gray(calibration: CalibrationRecord, encoding: str, block: int, fringing_px: float = 0.0) -> np.ndarray:
    """Gray levels of a dark mask (zero field): what the SLM shows outside the kernel window. Cached per record.

    Double phase: a checkerboard of ``block`` squares; without crosstalk a +-pi/2 one with the wavefront
    correction; with crosstalk (``fringing_px`` > 0) the pair of phases whose blurred mean cancels the
    unmodulated light too (:func:`osclc.calibration.compiler.crosstalk.dark_checkerboard`, no correction: its 2 pi
    wraps would blur into light). Otherwise flat, with the wavefront correction.
    """

    def compute() -> np.ndarray:
        if encoding == "double_phase" and fringing_px > 0:
            lut = calibration.lut_phase_rad
            low, high = crosstalk.dark_checkerboard(block, fringing_px, calibration.zero_order, (float(lut[0]), float(np.max(lut))))
            checker = enc.checkerboard(calibration.slm_shape, block=block) > 0
            return lut_mod.level_nearest(np.where(checker, high, low), lut)
        background = calibration.wavefront_phase_rad.copy()
        if encoding == "double_phase":
            background += (np.pi / 2) * enc.checkerboard(calibration.slm_shape, block=block)
        return calibration.phase_to_gray(background)

    key = (block, fringing_px) if encoding == "double_phase" else (0, 0.0)
    return _cached(calibration, ("background", encoding, *key), compute)


def _dark(calibration: CalibrationRecord, exposure_s: float) -> np.ndarray:
    """:meth:`CalibrationRecord.dark_at` ``exposure_s``, computed once per (record, exposure) and read-only
    (programs share it: a program never writes into its dark frame, it adds each pattern's exposure at the taps)."""

    def compute() -> np.ndarray:
        dark = calibration.dark_at(exposure_s)
        dark.setflags(write=False)
        return dark

    return _cached(calibration, ("dark", exposure_s), compute)


def is_phase_only(kernel: np.ndarray) -> bool:
    """True when every |K| equals the largest one within :data:`PHASE_ONLY_TOLERANCE` (relative)."""
    amplitude = np.abs(kernel)
    return bool(np.max(amplitude) - np.min(amplitude) <= PHASE_ONLY_TOLERANCE * np.max(amplitude))


@functools.lru_cache(maxsize=1)
def _blas_threads() -> threadpoolctl.ThreadpoolController:
    """The BLAS thread pools, limited to one thread while masks are designed: the products are small
    (a few hundred rows), and on a shared machine waiting for a second BLAS thread costs more than it
    saves (measured on the loaded 2-core build VM: 72 ms with 2 threads, 14 ms with 1 for one mask)."""
    return threadpoolctl.ThreadpoolController()


def _config(bench_config: Any) -> BenchConfig:
    return bench_config if isinstance(bench_config, BenchConfig) else BenchConfig.model_validate(bench_config)


def compile_program(
    folded: Any,
    calibration: CalibrationRecord,
    bench_config: Any,
    multiplex: str = "auto",
    encoding: str = "auto",
    exposure_s: float | None = None,
    regularisation: float = kr.REGULARISATION,
    input_pixel_width: float | None = None,
    input_scale: int = 1,
    block: int | None = None,
    fringing_px: float | None = None,
) -> OpticalProgram:
    """Compile ``folded`` (a FoldedSCLC or FoldedFrontend) for the bench ``bench_config`` measured by ``calibration``.

    - ``multiplex``: "auto" (the faster of time and space that fits), "time" or "space".
    - ``encoding``: "auto" (``phase`` for a phase-only kernel, else ``double_phase``, which needs the
      smallest carrier), "double_phase", "grating" or "phase".
    - ``exposure_s``: camera exposure (s), default the config's.
    - ``regularisation``: Tikhonov weight of the mask design (``kernel_resampling``).
    - ``input_pixel_width``: aperture of an input pixel in pitches (the mask is divided by its transfer
      function, see :func:`pixel_transfer`); default :data:`INPUT_PIXEL_WIDTH` (a square pixel, fill factor 1,
      which is also what the simulated modulator shows).
    - ``input_scale``: modulator pixels per image pixel (each image pixel shown as a u x u block; u > 1
      shrinks the spectrum on the SLM u times, so the mask must vary faster per SLM pixel).
    - ``block``: square size (SLM pixels) of the double-phase checkerboard; None: the largest of
      :data:`DOUBLE_PHASE_BLOCKS` whose layout fits.
    - ``fringing_px``: the SLM's crosstalk blur (sigma, SLM pixels) the patterns are pre-compensated for
      (:mod:`osclc.calibration.compiler.crosstalk`); default the calibration's measured value, 0 for none.

    Raises :class:`CompileError`, ``CalibrationError`` or ``KernelError`` (all ValueError) naming the problem.
    BLAS runs single-threaded meanwhile (:func:`_blas_threads`).
    """
    with _blas_threads().limit(limits=1, user_api="blas"):
        return _compile(folded, calibration, _config(bench_config), multiplex, encoding, exposure_s, regularisation,
                        input_pixel_width, int(input_scale), block, fringing_px)


def compile_candidates(folded: Any, calibration: CalibrationRecord, bench_config: Any, **options: Any) -> list[OpticalProgram]:
    """The programs worth measuring before choosing one (:func:`osclc.calibration.execute.best_by_fit`).

    :func:`compile_program` with ``options``; for a double-phase program on an SLM whose crosstalk was not
    measured (``fringing_px`` 0), also the single-pixel checkerboard (``block=1``): which square size is best
    then depends on the unmeasured fringing. With a measured crosstalk the patterns are compensated for it
    and the one program is returned.
    """
    first = compile_program(folded, calibration, bench_config, **options)
    if first.encoding != "double_phase" or first.info["double_phase_block"] == 1 or first.info["fringing_px"] > 0:
        return [first]
    return [first, compile_program(folded, calibration, bench_config, **{**options, "block": 1})]


def _compile(
    folded: Any, calibration: CalibrationRecord, config: BenchConfig, multiplex: str, encoding: str,
    exposure_s: float | None, regularisation: float, input_pixel_width: float | None, input_scale: int,
    block: int | None, fringing_px: float | None,
) -> OpticalProgram:
    """:func:`compile_program` (arguments checked here)."""
    calibration.check_bench(config)
    if multiplex not in MULTIPLEX:
        raise CompileError(f"multiplex={multiplex!r}; use one of {', '.join(MULTIPLEX)}")
    if encoding not in ENCODING_CHOICES:
        raise CompileError(f"encoding={encoding!r}; use one of {', '.join(ENCODING_CHOICES)}")
    if folded.detector != "intensity":
        raise CompileError(
            f"the student's detector is {folded.detector!r}, but a camera measures intensity |field|^2; "
            "train the student with detector 'intensity' for this bench"
        )
    kernel = _kernel_array(folded)
    pad, size = int(folded.pad), int(folded.input_size)
    c_in, c_out, height, width = kernel.shape
    if tuple(folded.out_size) != (height, width):
        raise CompileError(f"folded out_size {tuple(folded.out_size)} differs from the kernel grid {(height, width)}")
    if encoding == "auto":
        encoding = "phase" if is_phase_only(kernel) else "double_phase"
    elif encoding == "phase" and not is_phase_only(kernel):
        raise CompileError("encoding='phase' needs a phase-only kernel (|K| constant); use 'grating' or 'double_phase'")
    exposure = float(config.camera.exposure_s if exposure_s is None else exposure_s)

    centres = np.array([kr.kernel_centre(kernel[:, o], pad) for o in range(c_out)])
    starts = np.array([[kr.readout_start(c, size, pad) for c in centre] for centre in centres])
    geometry = _Geometry(calibration, pad, input_scale)
    blocks = [int(block)] if block is not None else list(DOUBLE_PHASE_BLOCKS) if encoding == "double_phase" else [1]
    for block in blocks:
        layouts: dict[str, Layout | None] = {
            mode: plan_layout(
                mode, encoding, c_in, c_out, size, pad, starts, geometry.input_shape, geometry.lattice,
                geometry.camera_affine, calibration.camera_shape, block,
            )
            for mode in ("time", "space")
        }
        if any(layouts.values()):
            break
    rates = {
        mode: (frame_rate.predicted_frame_rate_hz(mode, c_out, config, exposure) if layouts[mode] is not None else None)
        for mode in layouts
    }
    chosen = _choose(multiplex, rates, c_out)
    layout = layouts[chosen]
    assert layout is not None
    groups = [[o] for o in range(c_out)] if chosen == "time" else [list(range(c_out))]

    fringing = float(calibration.fringing_px if fringing_px is None else fringing_px)
    if fringing < 0:
        raise CompileError(f"fringing_px={fringing}: must be >= 0 (SLM pixels; 0 switches the compensation off)")
    box = _aperture_box(calibration, geometry.pad, height, width, crosstalk.margin_px(fringing))
    pixel_width = INPUT_PIXEL_WIDTH if input_pixel_width is None else float(input_pixel_width)
    if not 0.0 <= pixel_width <= 1.0:
        raise CompileError(f"input_pixel_width={pixel_width}: must be in [0, 1] (fraction of the input pitch)")
    patterns, scales, crosstalk_fit = _patterns(
        kernel, starts, layout, groups, encoding, calibration, geometry.pad, pad, size, regularisation,
        _box_transfer(calibration, geometry.pad, pad, geometry.scale, pixel_width, box), box, block, fringing,
    )
    index, weight = _readout_tables(layout, starts, geometry.camera_affine, calibration.camera_shape, pad, size, (height, width))
    weight = skip_bad_pixels(index, weight, calibration.bad_pixels)
    feature_scale = np.empty(c_out)
    for p, group in enumerate(groups):
        feature_scale[group] = scales[p] ** 2
    return OpticalProgram(
        multiplex=chosen, encoding=encoding, detector=folded.detector, patterns=patterns, pattern_channels=groups,
        slm_bit_depth=calibration.slm_bit_depth, input_shape=calibration.input_shape, input_size=size,
        input_corner=(layout.input_corner * geometry.scale).astype(np.int64), input_scale=geometry.scale, out_size=(height, width), camera_shape=calibration.camera_shape,
        sample_index=index, sample_weight=weight, dark=_dark(calibration, exposure), dark_per_s=calibration.dark_per_s,
        gain=calibration.gain_frame, feature_gain=np.ones(c_out), feature_offset=np.zeros(c_out),
        exposure_s=exposure, model_hash=model_hash(folded), calibration_hash=calibration_hash(calibration),
        bench_hash=bench_config_hash(config), frame_rate_hz=rates,
        info={
            "pad": pad, "input_scale": geometry.scale, "input_pixel_width": pixel_width,
            "coordinates": "image pixels (model input pixels) unless named _slm", "kernel_centre_px": centres.tolist(), "carrier_px": layout.carrier.tolist(),
            "output_shift_px": layout.output_shift.tolist(), "input_shift_px": layout.input_shift.tolist(),
            "aperture_box_slm": list(box), "double_phase_block": block, "mask_scale": scales,
            "fringing_px": fringing, "crosstalk_fit": crosstalk_fit,
            "feature_scale": feature_scale.tolist(),
            "feature_scale_means": "digital feature ~ camera intensity * feature_scale (up to photometric units)",
            "calibration_measured": list(calibration.measured), "calibration_run_id": calibration.run_id,
        },
    )


def _choose(multiplex: str, rates: dict[str, float | None], c_out: int) -> str:
    """The multiplexing to use: the one asked for if it fits, else the faster that fits."""
    if multiplex != "auto":
        if rates[multiplex] is None:
            raise CompileError(
                f"{multiplex} multiplexing of {c_out} output channels does not fit this bench (readout windows would "
                "meet the zero order, another channel or the camera edge); use --multiplex auto"
            )
        return multiplex
    fitting = {mode: rate for mode, rate in rates.items() if rate is not None}
    if not fitting:
        raise CompileError(
            f"no layout fits: the kernel's outputs cannot be placed on the camera away from the zero order "
            f"(camera or SLM too small for this model); try a smaller model or another encoding"
        )
    return max(fitting, key=lambda mode: (fitting[mode], mode == "space"))


def _aperture_box(calibration: CalibrationRecord, pad: int, height: int, width: int, margin: int = 0) -> tuple[int, int, int, int]:
    """SLM pixel box (row0, col0, rows, cols) covering the kernel window and ``margin`` pixels around it (as far
    as the SLM goes; the compiled pattern may use them, the mask is zero there)."""
    lo_r, hi_r = kr.aperture_bounds(height)
    lo_c, hi_c = kr.aperture_bounds(width)
    corners = np.array([[r, c] for r in (lo_r, hi_r) for c in (lo_c, hi_c)])
    slm = calibration.bins_to_slm(corners, pad=pad)
    rows, cols = calibration.slm_shape
    r0, c0 = int(np.floor(slm[:, 0].min())), int(np.floor(slm[:, 1].min()))
    r1, c1 = int(np.ceil(slm[:, 0].max())) + 1, int(np.ceil(slm[:, 1].max())) + 1
    if r0 < 0 or c0 < 0 or r1 > rows or c1 > cols:
        raise CompileError(
            f"the kernel window ({height}x{width} bins of P={pad}) spans SLM rows {r0}..{r1 - 1}, cols {c0}..{c1 - 1}, "
            f"outside the {rows}x{cols} SLM; use a larger P or a smaller output grid"
        )
    r0, c0, r1, c1 = max(r0 - margin, 0), max(c0 - margin, 0), min(r1 + margin, rows), min(c1 + margin, cols)
    return r0, c0, r1 - r0, c1 - c0


def _slm_to_bins(calibration: CalibrationRecord, pad: int) -> np.ndarray:
    """2x3 affine: SLM pixel (row, col) -> fractional bins of a ``pad`` grid (:meth:`CalibrationRecord.slm_to_bins`)."""
    return invert_affine(calibration.fourier_affine) * (pad / calibration.fourier_pad)


def _box_bins(to_bins: np.ndarray, box: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Fractional bins (row axis, col axis) of the box's pixels, each [rows, 1], [1, cols] or [rows, cols]
    (an axis that depends on one pixel coordinate only is kept 1-D: broadcasting does the rest)."""
    r0, c0, nr, nc = box
    rows = np.arange(r0, r0 + nr, dtype=np.float64)[:, None]
    cols = np.arange(c0, c0 + nc, dtype=np.float64)[None, :]
    return tuple(  # type: ignore[return-value]
        np.asarray(b[2] + (b[0] * rows if b[0] else 0.0) + (b[1] * cols if b[1] else 0.0)) for b in to_bins
    )


def _box_transfer(
    calibration: CalibrationRecord, pad: int, model_pad: int, scale: int, width: float, box: tuple[int, int, int, int],
) -> np.ndarray:
    """:func:`pixel_transfer` on the box's pixels [rows, cols]; cached per (record, arguments)."""

    def compute() -> np.ndarray:
        u_row, u_col = _box_bins(_slm_to_bins(calibration, pad), box)
        return np.broadcast_to(pixel_transfer(u_row, u_col, model_pad, scale, width), box[2:]).copy()

    return _cached(calibration, ("transfer", pad, model_pad, scale, width, box), compute)


def _patterns(
    kernel: np.ndarray, starts: np.ndarray, layout: Layout, groups: list[list[int]], encoding: str,
    calibration: CalibrationRecord, pad: int, model_pad: int, size: int, regularisation: float, transfer: np.ndarray,
    box: tuple[int, int, int, int], block: int, fringing_px: float,
) -> tuple[np.ndarray, list[float], dict[str, Any] | None]:
    """Gray-level patterns [n, rows, cols], the factor each pattern's field was scaled by (peak amplitude 1), and
    the crosstalk compensation's fit (None without fringing: :mod:`osclc.calibration.compiler.crosstalk`).

    ``pad`` is the frequency grid of the SLM bins in modulator pixels (``input_scale * P``), ``model_pad`` the
    model's P: bins of both are the same frequencies (1/P cycles per image pixel). Only the box (the kernel
    window) is computed per pattern; the rest of the SLM is the cached dark background.
    """
    r0, c0, nr, nc = box
    rows, cols = calibration.slm_shape
    window = (slice(r0, r0 + nr), slice(c0, c0 + nc))
    grating_shift = layout.carrier if encoding == "grating" else np.zeros(2)
    compensate = fringing_px > 0
    to_bins = _slm_to_bins(calibration, pad)
    if encoding == "grating":
        u_row, u_col = _box_bins(to_bins, box)
        grating_phase = -2 * np.pi * (u_row * grating_shift[0] + u_col * grating_shift[1]) / model_pad
    wavefront = calibration.wavefront_phase_rad[window]
    pixel_rows, pixel_cols = np.arange(r0, r0 + nr), np.arange(c0, c0 + nc)
    dtype = np.uint8 if calibration.slm_bit_depth <= 8 else np.uint16
    patterns = np.empty((len(groups), rows, cols), dtype)
    scales: list[float] = []
    targets, phases, bands = [], [], []
    for p, group in enumerate(groups):
        field = np.zeros((nr, nc), np.complex128)
        band = crosstalk.Band([], [])
        for o in group:
            d_row = kr.differences(kr.readout_positions(starts[o, 0], kernel.shape[2], model_pad), size, model_pad)
            d_col = kr.differences(kr.readout_positions(starts[o, 1], kernel.shape[3], model_pad), size, model_pad)
            for i in range(kernel.shape[0]):
                weights = kr.mask_weights(kernel[i, o], d_row, d_col, model_pad, regularisation)
                read_at = layout.output_shift[o] - layout.input_shift[i]
                field += kr.mask_on_pixels(weights, d_row, d_col, to_bins, pixel_rows, pixel_cols, kernel.shape[2:], model_pad,
                                           read_at - grating_shift)
                if compensate:
                    rows_f, cols_f = crosstalk.band_frequencies(to_bins, crosstalk.read_points(d_row) + read_at[0],
                                                                crosstalk.read_points(d_col) + read_at[1], pad)
                    band.rows.append(rows_f)
                    band.cols.append(cols_f)
        field /= transfer
        peak = float(np.max(np.abs(field)))
        if not np.isfinite(peak) or peak == 0.0:
            raise CompileError(f"pattern {p} (output channels {group}) is zero or not finite on the SLM; check the kernel")
        field /= peak
        scales.append(1.0 / peak)
        if encoding == "double_phase":
            phase_box = enc.double_phase(field, origin=(r0, c0), block=block)
        elif encoding == "grating":
            phase_box = enc.grating(field, np.broadcast_to(grating_phase, field.shape))
        else:
            phase_box = enc.phase_only(field)
        phases.append(phase_box)
        if compensate:
            targets.append(field * np.exp(1j * grating_phase) if encoding == "grating" else field)
            bands.append(band)
    fit = None
    if compensate and encoding == "double_phase":
        background_block, gray_background = _darkest_background(calibration, bands, box, fringing_px)
    else:
        background_block, gray_background = None, background_gray(calibration, encoding, block, fringing_px)
    if compensate:
        lut = calibration.lut_phase_rad
        shown, fit = crosstalk.compensate(
            np.stack(phases), np.stack(targets), bands, lut[gray_background], calibration.wavefront_phase_rad, box,
            fringing_px, calibration.zero_order, (float(lut[0]), float(np.max(lut))),
        )
        fit["background_block"] = background_block
        boxes = [lut_mod.level_nearest(phase, lut) for phase in shown]
    else:
        boxes = [calibration.phase_to_gray(phase_box + wavefront) for phase_box in phases]
    for p, box_gray in enumerate(boxes):
        patterns[p] = gray_background
        patterns[p][window] = box_gray
    return patterns, scales, fit


BACKGROUND_BLOCKS = (1, 2, 3, 4, 6)
"""Square sizes (SLM pixels) tried for the dark background checkerboard under crosstalk; the one that sends
least light onto the readout points is used (:func:`_darkest_background`)."""


def _darkest_background(calibration: CalibrationRecord, bands: list[crosstalk.Band], box: tuple[int, int, int, int],
                        fringing_px: float) -> tuple[int, np.ndarray]:
    """The square size and gray levels of the dark double-phase background of :data:`BACKGROUND_BLOCKS` whose light reaches the readout
    points of the first few patterns least (:func:`osclc.calibration.compiler.crosstalk.background_leak`): its
    checkerboard orders diffract at the window's edge, by an amount that depends on the geometry."""
    lut = calibration.lut_phase_rad
    sample = bands[:8]
    leaks = {
        block: crosstalk.background_leak(lut[background_gray(calibration, "double_phase", block, fringing_px)],
                                         calibration.wavefront_phase_rad, sample, box, fringing_px, calibration.zero_order)
        for block in BACKGROUND_BLOCKS
    }
    best = min(leaks, key=leaks.get)
    return best, background_gray(calibration, "double_phase", best, fringing_px)


def _readout_tables(
    layout: Layout, starts: np.ndarray, camera_affine: np.ndarray, camera_shape: tuple[int, int], pad: int, size: int,
    out_size: tuple[int, int],
) -> tuple[np.ndarray, np.ndarray]:
    """Bicubic camera taps [c_out, h*w, 16] (flat indices, weights) of every model grid point of every channel.

    ``camera_affine`` maps image-frame coordinates (:class:`_Geometry`) to camera pixels.
    """
    origin = layout.input_corner[0] - (pad - size) // 2
    indices, weights = [], []
    for o, (start_r, start_c) in enumerate(starts):
        rows = kr.readout_positions(start_r, out_size[0], pad)
        cols = kr.readout_positions(start_c, out_size[1], pad)
        points = np.stack(np.meshgrid(rows, cols, indexing="ij"), axis=-1).reshape(-1, 2) + origin + layout.output_shift[o]
        camera = apply_affine(camera_affine, points)
        try:
            index, weight = bicubic_taps(camera, camera_shape)
        except ValueError as exc:
            raise CompileError(f"output channel {o}: {exc}") from exc
        indices.append(index)
        weights.append(weight)
    return np.stack(indices), np.stack(weights)


def skip_bad_pixels(index: np.ndarray, weight: np.ndarray, bad: np.ndarray) -> np.ndarray:
    """Weights with the taps on bad camera pixels (hot, dead) zeroed and the others rescaled to the same sum."""
    good = ~bad.reshape(-1)[index]
    kept = np.where(good, weight, 0.0)
    total, left = weight.sum(axis=-1, keepdims=True), kept.sum(axis=-1, keepdims=True)
    if np.any(np.abs(left) < 1e-3):
        raise CompileError("a readout point has only bad camera pixels around it; move the camera or recalibrate")
    return kept * (total / left)


class _Geometry:
    """The bench seen in *image pixels* when each image pixel is shown as a ``scale`` x ``scale`` modulator block.

    Image-frame coordinate X is the centre of modulator block ``[scale X, scale X + scale)``, i.e. modulator
    coordinate ``scale X + (scale - 1) / 2``. Frequencies are bins of the P grid in image pixels, i.e. of
    a ``scale * P`` grid in modulator pixels (``pad`` for the calibration record's conversions).
    """

    def __init__(self, calibration: CalibrationRecord, pad: int, scale: int) -> None:
        if scale < 1:
            raise CompileError(f"input_scale={scale}: must be an integer >= 1 (modulator pixels per image pixel)")
        self.scale, self.model_pad, self.pad = scale, pad, scale * pad
        self.slm_per_bin = calibration.fourier_affine[:, :2] * (calibration.fourier_pad / self.pad)
        self.lattice = period_lattice(self.slm_per_bin, pad)
        frame = np.array([[scale, 0.0, (scale - 1) / 2], [0.0, scale, (scale - 1) / 2], [0.0, 0.0, 1.0]])
        self.camera_affine = calibration.camera_affine @ frame
        self.input_shape = (calibration.input_shape[0] // scale, calibration.input_shape[1] // scale)


def pixel_transfer(row_bins: np.ndarray, col_bins: np.ndarray, pad: int, scale: int, width: float) -> np.ndarray:
    """Amplitude transfer of one image pixel (``scale`` x ``scale`` modulator pixels of aperture ``width`` pitches).

    At image frequency ``f = bins / P`` (cycles per image pixel; ``row_bins`` and ``col_bins`` broadcast
    against each other, e.g. [rows, 1] and [1, cols]), per axis:
    ``sin(pi f) / (scale sin(pi f / scale)) * sinc(width f / scale)`` (the block's phase is its centre, the
    frame origin). The mask is divided by it so the optics sees point-like image pixels, as the model does.
    """
    out = 1.0
    for bins in (row_bins, col_bins):
        f = np.asarray(bins, dtype=np.float64) / pad
        block = np.ones_like(f) if scale == 1 else np.sinc(f) / np.sinc(f / scale)
        out = out * (block * np.sinc(width * f / scale))
    return np.asarray(out)
