"""The far-field map G (blaze frequency -> camera shift) against the simulated optics and against slmsuite's own
``fourier_calibrate`` (an independent method: one spot-array hologram, its lattice fitted), through the adapter.

G's truth on the simulated bench: the camera sees the FFT of the SLM plane on the SLM grid, so a blaze of f cycles per
pixel moves the image by f * Q output samples, which the camera's sampling maps to ``G = g_camera @ diag(Q)``.
"""

from __future__ import annotations

import numpy as np
import pytest

from osclc.calibration.measure.calibrate import calibrate
from osclc.calibration.measure.fourier_geometry import measure_far_field_map
from osclc.calibration.measure.probe import BenchProbe
from osclc.drivers.bench import open_bench
from osclc.drivers.bench_config import BenchConfig


def _bench() -> BenchConfig:
    """A half-size realistic bench (as the fault matrix's), moderate imperfections, noise on."""
    return BenchConfig.model_validate({
        "optics": {"wavelength_m": 532e-9, "f1_m": 0.05, "f2_m": 0.02, "pad": 128},
        "input": {"shape": [64, 64], "pitch_m": 25e-6}, "slm": {"shape": [256, 256], "pitch_m": 8e-6},
        "camera": {"shape": [256, 256], "pitch_m": 5e-6, "gain": 0.4, "dark_level": 64.0, "read_noise_e": 2.5,
                   "full_well_e": 10500.0, "quantum_efficiency": 0.6},
        "simulation": {"clock": "virtual", "noise": True, "quantize": True, "seed": 5, "throughput": 1e-4, "imperfections": {
            "fringing_px": 0.9, "zero_order": 0.1, "lut_gamma": 1.4, "phase_range_rad": 2.3 * np.pi, "zernike_rad": {4: 1.5, 6: -1.0},
            "camera_rotation_rad": 0.07, "camera_magnification": 1.12, "camera_offset_px": [9.0, -14.0],
            "hot_pixel_fraction": 1e-4, "dead_pixel_fraction": 1e-4}},
    })


def test_far_field_map_matches_the_optics_and_slmsuite_fourier_calibrate() -> None:
    pytest.importorskip("slmsuite")
    from osclc.calibration.measure.slmsuite_adapter import far_field_map_slmsuite

    config = _bench()
    with open_bench(config) as bench:
        record = calibrate(bench, ["dark", "lut"]).record
        probe = BenchProbe(bench)
        probe.use_corrections(record.dark_frame, record.dark_per_s, record.dark_exposure_s, record.gain_frame, record.bad_pixels)
        ours = measure_far_field_map(probe, record.lut_phase_rad)
        theirs = far_field_map_slmsuite(probe, record.lut_phase_rad, config.optics.wavelength_m)
        simulation = bench.simulation
        truth = simulation._g @ np.diag(np.array(simulation.q, dtype=np.float64))
    scale = np.abs(truth).max()
    assert np.abs(ours.g - truth).max() / scale < 1e-3  # the blazes: a tenth of a percent
    assert ours.inliers.all() and ours.rms_px < 0.1
    assert np.abs(theirs.g - truth).max() / scale < 0.02  # slmsuite's lattice fit: a few percent
    assert np.abs(ours.origin - theirs.origin).max() < 1.0
