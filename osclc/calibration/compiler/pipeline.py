"""Compiling a folded student into an optical program for one calibrated bench.

``compile_program(folded, calibration, bench_config)`` (``folded``: a FoldedSCLC or a FoldedFrontend, e.g. one
U-Net level; any :class:`~osclc.calibration.protocols.FoldedOperator`):

1. checks the inputs (options, :mod:`~osclc.calibration.compiler.options`; kernel finite and [c_in, c_out, h, w],
   calibration measured on this bench, an intensity detector: the camera measures |field|^2);
2. finds each output channel's kernel centre and readout interval (``kernel_resampling``), and plans
   the layout for time and space multiplexing (``layout``); predicts both frame rates on this bench
   (``frame_rate``) and keeps the faster one that fits (or the one asked for);
3. designs the SLM patterns on the kernel window (zero outside it: an aperture) plus the crosstalk margin
   (``patterns``; the window and the input pixels' transfer from ``slm_geometry``);
4. builds the readout tables (``readout``) around the bad camera pixels (``bad_pixels``), with the dark
   frame at the exposure and the flat-field gain.

The per-channel gain/offset of the readout starts at 1 / 0 (raw corrected counts; ``info.feature_scale``
records how each pattern's field was scaled) and is fitted against the digital features on a few
calibration images by :func:`osclc.calibration.compiler.normalisation.fit_normalisation`.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import numpy as np
import threadpoolctl

from osclc.calibration.compiler import crosstalk, frame_rate
from osclc.calibration.compiler import kernel_resampling as kr
from osclc.calibration.compiler.bad_pixels import skip_bad_pixels
from osclc.calibration.compiler.hashing import model_hash
from osclc.calibration.compiler.layout import Layout, plan_layout
from osclc.calibration.compiler.options import CompileError, CompileKeywords, CompileOptions
from osclc.calibration.compiler.patterns import PatternJob, design_patterns
from osclc.calibration.compiler.readout import dark_at, readout_tables
from osclc.calibration.compiler.slm_geometry import ImageFrame, aperture_box, box_transfer
from osclc.calibration.program import OpticalProgram
from osclc.calibration.protocols import FoldedOperator
from osclc.calibration.record import CalibrationRecord, bench_config_hash
from osclc.drivers.bench_config import BenchConfig

if TYPE_CHECKING:
    from typing_extensions import Unpack

PHASE_ONLY_TOLERANCE = 1e-3
"""Relative spread of |K| under which a kernel counts as phase-only (``encoding="auto"`` then shows its phase)."""


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


def compile_program(
    folded: FoldedOperator, calibration: CalibrationRecord, bench_config: BenchConfig | dict[str, object],
    **options: Unpack[CompileKeywords],
) -> OpticalProgram:
    """Compile ``folded`` for the bench ``bench_config`` (a BenchConfig or its dict) measured by ``calibration``.

    ``options`` (keywords): ``multiplex``, ``encoding``, ``exposure_s``, ``regularisation``, ``input_pixel_width``,
    ``input_scale``, ``block``, ``fringing_px``, each described by
    :class:`~osclc.calibration.compiler.options.CompileOptions`.

    Raises :class:`CompileError`, ``CalibrationError`` or ``KernelError`` (all ValueError) naming the problem.
    BLAS runs single-threaded meanwhile (:func:`_blas_threads`).
    """
    checked = CompileOptions(**options)
    config = bench_config if isinstance(bench_config, BenchConfig) else BenchConfig.model_validate(bench_config)
    with _blas_threads().limit(limits=1, user_api="blas"):
        return _compile(folded, calibration, config, checked)


def _checked_kernel(folded: FoldedOperator, encoding: str) -> tuple[np.ndarray, str]:
    """The folded kernel [c_in, c_out, h, w] and the encoding to use ("auto" resolved), or the error naming the fix."""
    if folded.detector != "intensity":
        raise CompileError(
            f"the student's detector is {folded.detector!r}, but a camera measures intensity |field|^2; "
            "train the student with detector 'intensity' for this bench"
        )
    kernel = kr.folded_kernel(folded)
    if tuple(folded.out_size) != kernel.shape[2:]:
        raise CompileError(f"folded out_size {tuple(folded.out_size)} differs from the kernel grid {kernel.shape[2:]}")
    if encoding == "auto":
        encoding = "phase" if is_phase_only(kernel) else "double_phase"
    elif encoding == "phase" and not is_phase_only(kernel):
        raise CompileError("encoding='phase' needs a phase-only kernel (|K| constant); use 'grating' or 'double_phase'")
    return kernel, encoding


def _compile(folded: FoldedOperator, calibration: CalibrationRecord, config: BenchConfig, options: CompileOptions) -> OpticalProgram:
    """:func:`compile_program` (options checked)."""
    calibration.check_bench(config)
    kernel, encoding = _checked_kernel(folded, options.encoding)
    pad, size = int(folded.pad), int(folded.input_size)
    _, c_out, height, width = kernel.shape
    exposure = float(config.camera.exposure_s if options.exposure_s is None else options.exposure_s)
    centres = np.array([kr.kernel_centre(kernel[:, o], pad) for o in range(c_out)])
    starts = np.array([[kr.readout_start(c, size, pad) for c in centre] for centre in centres])
    frame = ImageFrame(calibration, pad, int(options.input_scale))
    images = int(options.images_per_frame)
    block, layouts = _layouts(options.blocks(encoding), encoding, kernel.shape, size, starts, frame, images)
    rates = {
        mode: (frame_rate.predicted_frame_rate_hz(mode, c_out, config, exposure, 1, images) if layouts[mode] is not None else None)
        for mode in layouts
    }
    chosen = _choose(options.multiplex, rates, c_out)
    layout = layouts[chosen]
    assert layout is not None
    groups = [[o] for o in range(c_out)] if chosen == "time" else [list(range(c_out))]

    fringing = float(calibration.fringing_px if options.fringing_px is None else options.fringing_px)
    box = aperture_box(calibration, frame.pad, (height, width), crosstalk.margin_px(fringing))
    job = PatternJob(kernel, starts, layout, groups, encoding, frame, size, options.regularisation,
                     box_transfer(calibration, frame, options.pixel_width, box), box, block, fringing)
    patterns = design_patterns(job, calibration)
    index, weight = readout_tables(layout, starts, frame, size, (height, width))
    weight = skip_bad_pixels(index, weight, calibration.bad_pixels)
    feature_scale = np.empty(c_out)
    for p, group in enumerate(groups):
        feature_scale[group] = patterns.scales[p] ** 2
    return OpticalProgram(
        multiplex=chosen, encoding=encoding, detector=folded.detector, patterns=patterns.gray, pattern_channels=groups,
        slm_bit_depth=calibration.slm_bit_depth, input_shape=calibration.input_shape, input_size=size,
        input_corner=(layout.input_corner * frame.scale).astype(np.int64), input_scale=frame.scale, out_size=(height, width),
        camera_shape=calibration.camera_shape, sample_index=index, sample_weight=weight, dark=dark_at(calibration, exposure),
        dark_per_s=calibration.dark_per_s, gain=calibration.gain_frame, feature_gain=np.ones(c_out),
        feature_offset=np.zeros(c_out), exposure_s=exposure, model_hash=model_hash(folded),
        tile_shift=np.rint(layout.image_shift * frame.scale).astype(np.int64),
        calibration_hash=calibration.content_hash, bench_hash=bench_config_hash(config), frame_rate_hz=rates,
        info={
            "pad": pad, "input_scale": frame.scale, "input_pixel_width": options.pixel_width,
            "coordinates": "image pixels (model input pixels) unless named _slm", "kernel_centre_px": centres.tolist(),
            "carrier_px": layout.carrier.tolist(), "output_shift_px": layout.output_shift.tolist(),
            "input_shift_px": layout.input_shift.tolist(), "aperture_box_slm": list(box), "double_phase_block": block,
            "mask_scale": patterns.scales, "fringing_px": fringing, "crosstalk_fit": patterns.crosstalk_fit,
            "feature_scale": feature_scale.tolist(),
            "feature_scale_means": "digital feature ~ camera intensity * feature_scale (up to photometric units)",
            "calibration_measured": list(calibration.measured), "calibration_run_id": calibration.run_id,
        },
    )


def _layouts(
    blocks: list[int], encoding: str, shape: tuple[int, ...], size: int, starts: np.ndarray, frame: ImageFrame,
    images: int = 1,
) -> tuple[int, dict[str, Layout | None]]:
    """The time and space layouts (None where it does not fit) of the first double-phase square size in ``blocks``
    for which either fits (the last one tried when none does), and that size. ``shape``: the kernel's."""
    c_in, c_out = shape[:2]
    for block in blocks:
        layouts: dict[str, Layout | None] = {
            mode: plan_layout(
                mode, encoding, c_in, c_out, size, frame.model_pad, starts, frame.input_shape, frame.lattice,
                frame.camera_affine, frame.camera_shape, block, images=images,
            )
            for mode in ("time", "space")
        }
        if any(layouts.values()):
            break
    return block, layouts


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
            "no layout fits: the kernel's outputs cannot be placed on the camera away from the zero order "
            "(camera or SLM too small for this model); try a smaller model or another encoding"
        )
    return max(fitting, key=lambda mode: (fitting[mode], mode == "space"))
