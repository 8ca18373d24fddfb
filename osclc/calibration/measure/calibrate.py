"""Run the calibrations on an open bench and assemble a :class:`CalibrationRecord`.

Order (each needs the ones before it): dark (with hot pixels) and gain (flat response, dead pixels) -> lut ->
far-field map (blazes; measured whenever a later step needs it) -> fringing and zero order (the DC spot of
checkerboards, at the far-field map's origin; the LUT's scans and the fringing's powers are then refitted with each
other's answer, twice, no capture) -> wavefront (its blazes kept below the frequencies the crosstalk washes out) ->
camera registration (with the wavefront correction displayed) -> fourier (linear part composed from the far-field
map and the camera registration, DC by a lens's tilt). A partial run (e.g. only ``lut``) starts from ``base`` (a previous record of the same bench,
or the nominal :meth:`CalibrationRecord.identity`) and replaces what it measures in a new record (``base``
itself is never modified: records are immutable once made, their content hash is computed once).

Every step returns quality figures (:mod:`osclc.calibration.quality`); they are judged as soon as the step
ends, so a failing step raises :class:`QualityError` (naming the step, figure, bound, cause and fix) before the
next one runs, unless ``force``. A step that cannot produce any result (no light, an SLM that shows nothing, a
fit without data) raises even when forced. The figures go into the record's ``quality``; a record that kept a
failing figure is ``forced``.
"""

from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Iterator

import numpy as np

from osclc.calibration.lut import phase_to_gray
from osclc.calibration.measure.camera_registration import measure_camera_registration
from osclc.calibration.measure.dark_gain import measure_dark, measure_gain
from osclc.calibration.measure.fitting import FitError
from osclc.calibration.measure.fourier_geometry import measure_far_field_map, measure_spectrum_affine
from osclc.calibration.measure.fringing import FringingResult, measure_fringing, refit_fringing
from osclc.calibration.measure.lut_measure import LutResult, measure_lut, refine_lut
from osclc.calibration.measure.patterns import used_box
from osclc.calibration.measure.probe import BenchProbe
from osclc.calibration.measure.wavefront import measure_wavefront
from osclc.calibration.protocols import OpenBench
from osclc.calibration.quality import Figure, QualityError, judge
from osclc.calibration.record import CALIBRATIONS, CalibrationError, CalibrationRecord

STEPS: dict[str, tuple[str, int]] = {
    "dark": ("dark and gain", 27),
    "lut": ("phase LUT", 71),
    "far_field": ("far-field map", 20),
    "fringing": ("fringing and zero order", 29),
    "wavefront": ("wavefront", 51),
    "camera": ("camera registration", 27),
    "fourier": ("Fourier geometry", 20),
}
"""Every step in run order: its label (what ``progress`` is told) and its usual number of captures (for a time estimate)."""


@dataclass
class Calibration:
    """The assembled ``record`` and each step's detailed result by name (``dark``, ``gain``, ``lut``,
    ``far_field``, ``wavefront``, ``fringing``, ``camera``, ``fourier``) for plots and reports."""

    record: CalibrationRecord
    details: dict[str, Any] = field(default_factory=dict)


def parse_which(which: str | Iterable[str]) -> list[str]:
    """``"all"`` or calibration names -> the names in record order; CalibrationError naming an unknown one."""
    names = list(CALIBRATIONS) if which == "all" else [which] if isinstance(which, str) else list(which)
    unknown = [n for n in names if n not in CALIBRATIONS]
    if unknown:
        raise CalibrationError(f"unknown calibration {unknown[0]!r}; choose all or one of {', '.join(CALIBRATIONS)}")
    return [n for n in CALIBRATIONS if n in names]


def plan(names: Iterable[str]) -> list[str]:
    """The steps (keys of :data:`STEPS`, in run order) that measuring the calibrations ``names`` runs."""
    wanted = set(names)
    if wanted & {"wavefront", "fringing", "fourier"}:
        wanted.add("far_field")
    return [step for step in STEPS if step in wanted]


def calibrate(
    bench: OpenBench, which: str | Iterable[str] = "all", base: CalibrationRecord | None = None,
    run_id: str | None = None, progress: Callable[[str], None] | None = None, force: bool = False,
) -> Calibration:
    """Measure ``which`` calibrations on the open ``bench`` (through its drivers only); returns a new record
    (``base``, or the nominal identity record, with the measured parts replaced; checked like a loaded one) and
    the details. ``base`` is left as it was. ``progress`` is called with each step's label as it starts.

    Raises :class:`QualityError` when a step fails its quality gate (unless ``force``: then the record keeps the
    failing figures and is marked ``forced``; its ``figures`` hold everything measured up to the failure),
    :class:`CalibrationError` for a request it cannot serve (the
    Fourier geometry without a measured camera registration).
    """
    names = parse_which(which)
    start = base if base is not None else CalibrationRecord.identity(bench.config)
    start.check_bench(bench.config)
    if "fourier" in names and "camera" not in names and "camera" not in start.measured:
        raise CalibrationError("the Fourier geometry is composed with the camera registration: calibrate `camera` "
                               "with it (`osclc calibrate all`) or start from a record that has it")
    record = dataclasses.replace(start, fits=dict(start.fits))  # the working copy the steps write into
    probe = BenchProbe(bench)
    figures: list[Figure] = []
    try:
        details = _run_steps(probe, names, record, progress or (lambda _: None), figures, force)
    except QualityError as error:
        error.figures = figures + [f for f in error.failed if f not in figures]  # the table up to the failure
        raise
    finally:
        probe.restore_power()
    steps = set(plan(names))
    quality = [f for f in start.quality if f.step not in steps] + figures
    measured = dataclasses.replace(
        record, measured=[n for n in CALIBRATIONS if n in set(record.measured) | set(names)],
        stats={**record.stats, **probe.stats}, run_id=run_id, quality=quality,
        forced=any(f.verdict == "fail" for f in quality),
        created_utc=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )
    return Calibration(record=measured, details=details)


def _run_steps(
    probe: BenchProbe, names: list[str], record: CalibrationRecord, say: Callable[[str], None], figures: list[Figure],
    force: bool,
) -> dict[str, Any]:
    """Measure ``names`` in order, writing the results into ``record`` and the judged figures into ``figures``;
    returns each step's details."""
    bench = probe.bench
    details: dict[str, Any] = {}
    if "dark" in record.measured:
        noise = record.dark_noise_counts.get(f"{record.dark_exposure_s:.6g}")
        probe.use_corrections(record.dark_frame, record.dark_per_s, record.dark_exposure_s, record.gain_frame,
                              record.bad_pixels, noise)

    def step(name: str) -> contextlib.AbstractContextManager[None]:
        say(STEPS[name][0])
        return _step(probe, name)

    def keep(step_figures: list[Figure]) -> None:
        figures.extend(step_figures)
        judge(step_figures, force)

    if "dark" in names:
        with step("dark"):
            dark = measure_dark(probe)
            keep(dark.figures)
            gain = measure_gain(probe)
            keep(gain.figures)
        record.dark_frame, record.dark_per_s, record.dark_exposure_s = dark.frame, dark.per_s, dark.exposure_s
        record.dark_noise_counts, record.gain_frame, record.bad_pixels = dark.noise_counts, gain.gain, dark.hot | gain.dead
        record.fits["dark"] = {"hot_pixels": int(dark.hot.sum()), "dead_pixels": int(gain.dead.sum())}
        details["dark"], details["gain"] = dark, gain.gain
    if "lut" in names:
        with step("lut"):
            lut = measure_lut(probe)
            if "fringing" not in names:  # refined with the base record's crosstalk (else with the one measured below)
                lut = refine_lut(lut, record.fringing_px)
            keep(lut.figures)
        record.lut_phase_rad = lut.phase_rad
        record.fits["lut"] = {"reference_level": lut.ref2, "levels_scanned": int(lut.levels.size)}
        details["lut"] = lut
    lut_rad = record.lut_phase_rad
    if "far_field" in plan(names):
        with step("far_field"):
            far_field = measure_far_field_map(probe, lut_rad)
            keep(far_field.figures)
        record.fits["far_field"] = {"g": far_field.g.tolist(), "origin": far_field.origin.tolist(), "rms_px": far_field.rms_px,
                                    "method": "blazes", "spots_used": int(far_field.inliers.sum())}
        details["far_field"] = far_field
    if "fringing" in names:
        with step("fringing"):
            fringing = measure_fringing(probe, lut_rad, details["far_field"])
            if "lut" in details:
                details["lut"], fringing = refit_together(details["lut"], fringing)
                record.lut_phase_rad = lut_rad = details["lut"].phase_rad
                record.fits["lut"]["refined_with_fringing_px"] = fringing.fringing_px
                refitted = {f.name: f for f in details["lut"].figures}
                figures[:] = [refitted.get(f.name, f) if f.step == "lut" else f for f in figures]
                judge(details["lut"].figures, force)
            keep(fringing.figures)
        record.fringing_px, record.zero_order = fringing.fringing_px, fringing.zero_order
        record.fits["fringing"] = {"residual_rms": fringing.residual_rms, "window_px": fringing.window_px,
                                   "patterns": int(fringing.blocks.size)}
        details["fringing"] = fringing
    if "wavefront" in names:
        with step("wavefront"):
            box = used_box(bench.config.slm.shape, CalibrationRecord.identity(bench.config).fourier_affine, record.fourier_pad)
            wavefront = measure_wavefront(probe, lut_rad, details["far_field"], box, fringing_px=record.fringing_px)
            keep(wavefront.figures)
        record.wavefront_phase_rad = wavefront.correction_rad
        record.fits["wavefront"] = {"misfit_rad": wavefront.misfit_rad, "box": list(box), "zernike_noll_from": 2,
                                    "coefficients_rad": wavefront.coefficients.tolist()}
        details["wavefront"] = wavefront
    if "camera" in names:
        with step("camera"):
            registration = measure_camera_registration(probe, phase_to_gray(record.wavefront_phase_rad, lut_rad))
            keep(registration.figures)
        record.camera_affine = registration.affine
        record.fits["camera"] = {"rms_px": registration.rms_px, "points": int(registration.inliers.sum())}
        details["camera"] = registration
    if "fourier" in names:
        nominal = CalibrationRecord.identity(bench.config).fourier_affine
        with step("fourier"):
            spectrum = measure_spectrum_affine(probe, lut_rad, details["far_field"], record.camera_affine, nominal,
                                               record.fourier_pad, correction=record.wavefront_phase_rad)
            keep(spectrum.figures)
        record.fourier_affine = spectrum.affine
        record.fits["fourier"] = {"method": "far-field map x camera registration; DC by lens tilt",
                                  "dc_passes": spectrum.passes.tolist()}
        details["fourier"] = spectrum
    return details


def refit_together(lut: LutResult, fringing: FringingResult, rounds: int = 2) -> tuple[LutResult, FringingResult]:
    """The LUT's scans refitted with the measured crosstalk and the crosstalk's DC powers with that LUT, ``rounds``
    times (each fit assumed the other's answer; no capture)."""
    for _ in range(rounds):
        lut = refine_lut(lut, fringing.fringing_px)
        fringing = refit_fringing(fringing, lut.phase_rad)
    return lut, fringing


@contextlib.contextmanager
def _step(probe: BenchProbe, name: str) -> Iterator[None]:
    """Count the block's captures and seconds as step ``name``; a fit that had no data becomes a failed gate."""
    with probe.stage(name):
        try:
            yield
        except (FitError, np.linalg.LinAlgError) as error:
            raise QualityError([_unmeasurable(name, error)]) from error


def _unmeasurable(step: str, error: BaseException) -> Figure:
    """A failing figure for a step whose fit had no data to work on (the error says what was missing)."""
    return Figure(step, "measurement", float("nan"), 0.0, "max", "", f"the step could not measure: {error}",
                  "check the figures of the steps before it and the bench, then re-run")
