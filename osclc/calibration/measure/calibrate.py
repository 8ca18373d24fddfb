"""Run the calibrations on an open bench and assemble a :class:`CalibrationRecord`.

Order (each needs the ones before it): dark (with hot pixels) and gain (flat response, dead pixels)
-> lut -> far-field map (SLM frequency -> camera, with slmsuite's ``fourier_calibrate`` through the
adapter; measured whenever a later step needs it) -> wavefront -> fringing and zero order (the DC spot
of checkerboards, at the far-field map's origin) -> camera registration (with the wavefront correction displayed) -> fourier (knife edges on the
input's spectrum). A partial run (e.g. only ``fourier``) starts from ``base`` (a previous record of
the same bench, or the nominal :meth:`CalibrationRecord.identity`) and replaces what it measures in a new
record (``base`` itself is never modified: records are immutable once made, their content hash is computed once).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Iterable

import numpy as np

from osclc.calibration.measure.camera_registration import measure_camera_registration
from osclc.calibration.measure.dark_gain import measure_dark, measure_gain
from osclc.calibration.measure.fourier_geometry import FarFieldMap, measure_far_field_map, measure_spectrum_affine
from osclc.calibration.measure.fringing import measure_fringing
from osclc.calibration.lut import phase_to_gray
from osclc.calibration.measure.lut_measure import measure_lut
from osclc.calibration.measure.patterns import used_box
from osclc.calibration.measure.probe import BenchProbe
from osclc.calibration.record import CALIBRATIONS, CalibrationError, CalibrationRecord
from osclc.calibration.measure.wavefront import measure_wavefront
from osclc.calibration.protocols import OpenBench
from osclc.drivers.errors import DeviceError


@dataclass
class Calibration:
    """The assembled ``record`` and each step's detailed result by name (``dark``, ``gain``, ``lut``,
    ``far_field``, ``wavefront``, ``fringing``, ``camera``, ``fourier``) for plots and reports."""

    record: CalibrationRecord
    details: dict[str, Any] = field(default_factory=dict)


def _far_field(probe: BenchProbe, lut: np.ndarray, wavelength_m: float, tolerance_px: float = 0.5) -> tuple[FarFieldMap, str]:
    """The far-field map from slmsuite's ``fourier_calibrate`` (through the adapter); eight single blazes instead
    when slmsuite's fit fails or misplaces the check blazes by more than ``tolerance_px``."""
    from osclc.calibration.measure.slmsuite_adapter import far_field_map_slmsuite  # slmsuite is slow to import: only here

    try:
        far_field: FarFieldMap | None = far_field_map_slmsuite(probe, lut, wavelength_m)
    except DeviceError:
        raise
    except Exception:  # noqa: BLE001 - slmsuite's array detection raises many kinds of errors; fall back to blazes
        far_field = None
    if far_field is not None and far_field.rms_px <= tolerance_px:
        return far_field, "slmsuite fourier_calibrate"
    return measure_far_field_map(probe, lut), "blazes"


def parse_which(which: str | Iterable[str]) -> list[str]:
    """``"all"`` or calibration names -> the names in run order; ValueError naming an unknown one."""
    names = list(CALIBRATIONS) if which == "all" else [which] if isinstance(which, str) else list(which)
    unknown = [n for n in names if n not in CALIBRATIONS]
    if unknown:
        raise CalibrationError(f"unknown calibration {unknown[0]!r}; choose all or one of {', '.join(CALIBRATIONS)}")
    return [n for n in CALIBRATIONS if n in names]


def calibrate(
    bench: OpenBench, which: str | Iterable[str] = "all", base: CalibrationRecord | None = None,
    run_id: str | None = None, progress: Callable[[str], None] | None = None,
) -> Calibration:
    """Measure ``which`` calibrations on the open ``bench`` (through its drivers only); returns a new record
    (``base``, or the nominal identity record, with the measured parts replaced; checked like a loaded one) and
    the details. ``base`` is left as it was."""
    names = parse_which(which)
    start = base if base is not None else CalibrationRecord.identity(bench.config)
    start.check_bench(bench.config)
    record = dataclasses.replace(start, fits=dict(start.fits))  # the working copy the steps write into
    probe = BenchProbe(bench)
    try:
        details = _run_steps(probe, names, record, progress or (lambda _: None))
    finally:
        probe.restore_power()
    measured = dataclasses.replace(
        record, measured=[n for n in CALIBRATIONS if n in set(record.measured) | set(names)],
        stats={**record.stats, **probe.stats}, run_id=run_id,
        created_utc=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )
    return Calibration(record=measured, details=details)


def _run_steps(probe: BenchProbe, names: list[str], record: CalibrationRecord, say: Callable[[str], None]) -> dict[str, Any]:
    """Measure ``names`` in order, writing the results into ``record``; returns each step's details."""
    bench = probe.bench
    details: dict[str, Any] = {}
    if "dark" in record.measured:
        probe.use_corrections(record.dark_frame, record.dark_per_s, record.dark_exposure_s, record.gain_frame, record.bad_pixels)
    if "dark" in names:
        say("dark and gain")
        with probe.stage("dark"):
            dark = measure_dark(probe)
            gain, dead = measure_gain(probe)
        record.dark_frame, record.dark_per_s, record.dark_exposure_s = dark.frame, dark.per_s, dark.exposure_s
        record.dark_noise_counts, record.gain_frame, record.bad_pixels = dark.noise_counts, gain, dark.hot | dead
        record.fits["dark"] = {"hot_pixels": int(dark.hot.sum()), "dead_pixels": int(dead.sum())}
        details["dark"], details["gain"] = dark, gain
    if "lut" in names:
        say("phase LUT")
        with probe.stage("lut"):
            lut = measure_lut(probe)
        record.lut_phase_rad = lut.phase_rad
        record.fits["lut"] = {"reference_level": lut.ref2, "levels_scanned": int(lut.levels.size)}
        details["lut"] = lut
    lut_rad = record.lut_phase_rad
    if {"wavefront", "fringing", "fourier"} & set(names):
        say("far-field map")
        with probe.stage("far_field"):
            far_field, method = _far_field(probe, lut_rad, bench.config.optics.wavelength_m)
        record.fits["far_field"] = {"g": far_field.g.tolist(), "origin": far_field.origin.tolist(), "rms_px": far_field.rms_px,
                                    "method": method}
        details["far_field"] = far_field
    if "wavefront" in names:
        say("wavefront")
        with probe.stage("wavefront"):
            box = used_box(bench.config.slm.shape, CalibrationRecord.identity(bench.config).fourier_affine, record.fourier_pad)
            wavefront = measure_wavefront(probe, lut_rad, details["far_field"], box)
        record.wavefront_phase_rad = wavefront.correction_rad
        record.fits["wavefront"] = {"misfit_rad": wavefront.misfit_rad, "box": list(box), "zernike_noll_from": 2,
                                    "coefficients_rad": wavefront.coefficients.tolist()}
        details["wavefront"] = wavefront
    if "fringing" in names:
        say("fringing and zero order")
        with probe.stage("fringing"):
            fringing = measure_fringing(probe, lut_rad, details["far_field"])
        record.fringing_px, record.zero_order = fringing.fringing_px, fringing.zero_order
        record.fits["fringing"] = {"residual_rms": fringing.residual_rms, "window_px": fringing.window_px,
                                   "patterns": int(fringing.blocks.size)}
        details["fringing"] = fringing
    if "camera" in names:
        say("camera registration")
        with probe.stage("camera"):
            registration = measure_camera_registration(probe, phase_to_gray(record.wavefront_phase_rad, lut_rad))
        record.camera_affine = registration.affine
        record.fits["camera"] = {"rms_px": registration.rms_px, "points": int(registration.input_points.shape[0])}
        details["camera"] = registration
    if "fourier" in names:
        say("Fourier geometry")
        nominal = CalibrationRecord.identity(bench.config).fourier_affine
        with probe.stage("fourier"):
            spectrum = measure_spectrum_affine(probe, lut_rad, details["far_field"], nominal, record.fourier_pad,
                                               correction=record.wavefront_phase_rad)
        record.fourier_affine = spectrum.affine
        record.fits["fourier"] = {"rms_px": spectrum.rms_px, "bins": spectrum.bins.tolist(), "centres": spectrum.centres.tolist()}
        details["fourier"] = spectrum
    return details
