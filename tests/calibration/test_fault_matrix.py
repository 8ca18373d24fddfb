"""The fault matrix: each fault of a real bench is refused by the step that sees it, with the cause a person can act
on, and 20 good benches drawn over the whole plausible range (issue 14) pass every gate.

Benches: a half-size realistic bench (SLM 256 x 256 of 8 um, input 64 x 64 of 25 um, camera 256 x 256 of 5 um,
Fourier scale 1.04 SLM pixels per bin of P = 128, magnification 2, the realistic camera's noise), virtual clock.
The good benches draw every imperfection uniformly over the ranges of issue 14 with a seeded RNG: fringing 0 .. 1.5
px, zero order 0 .. 0.3, LUT gamma 0.4 .. 2.5 and phase range 1.5 .. 3 pi, three low-order Zernike terms of up to
+-3 rad, Fourier offset +-10 % of the SLM, rotation +-0.1 rad, scale 0.8 .. 1.25, camera offset +-10 % of the sensor,
rotation +-0.1 rad, magnification 0.8 .. 1.25, dead and hot pixels.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pytest

from osclc.calibration.measure.calibrate import calibrate
from osclc.calibration.quality import QualityError
from osclc.calibration.record import apply_affine
from osclc.drivers.bench import Bench, open_bench
from osclc.drivers.bench_config import BenchConfig

LOW_ORDER_NOLL = (4, 5, 6, 7, 8, 9, 10, 11)
SLM_PX, CAMERA_PX = 256, 256


def bench_config(seed: int, camera: dict | None = None, laser: dict | None = None, throughput: float = 1e-4,
                 **imperfections: object) -> BenchConfig:
    """A good bench drawn from ``seed`` over the plausible ranges; keyword arguments override what was drawn."""
    rng = np.random.default_rng(seed)
    drawn = {
        "fringing_px": float(rng.uniform(0.0, 1.5)), "zero_order": float(rng.uniform(0.0, 0.3)),
        "lut_gamma": float(rng.uniform(0.4, 2.5)), "phase_range_rad": float(rng.uniform(1.5, 3.0) * np.pi),
        "zernike_rad": {int(j): float(rng.uniform(-3, 3)) for j in rng.choice(LOW_ORDER_NOLL, size=3, replace=False)},
        "fourier_offset_px": tuple(float(v) for v in rng.uniform(-0.1, 0.1, 2) * SLM_PX),
        "fourier_rotation_rad": float(rng.uniform(-0.1, 0.1)), "fourier_scale": float(rng.uniform(0.8, 1.25)),
        "camera_offset_px": tuple(float(v) for v in rng.uniform(-0.1, 0.1, 2) * CAMERA_PX),
        "camera_rotation_rad": float(rng.uniform(-0.1, 0.1)), "camera_magnification": float(rng.uniform(0.8, 1.25)),
        "dead_pixel_fraction": 1e-4, "hot_pixel_fraction": 1e-4, "seed": seed,
    }
    return BenchConfig.model_validate({
        "name": f"bench-{seed}",
        "optics": {"wavelength_m": 532e-9, "f1_m": 0.05, "f2_m": 0.02, "pad": 128},
        "laser": {"power_mw": 1.0, **(laser or {})},
        "input": {"shape": [64, 64], "pitch_m": 25e-6},
        "slm": {"shape": [SLM_PX, SLM_PX], "pitch_m": 8e-6},
        "camera": {"shape": [CAMERA_PX, CAMERA_PX], "pitch_m": 5e-6, "gain": 0.4, "dark_level": 64.0, "read_noise_e": 2.5,
                   "full_well_e": 10500.0, "quantum_efficiency": 0.6, **(camera or {})},
        "simulation": {"clock": "virtual", "noise": True, "quantize": True, "seed": seed, "throughput": throughput,
                       "imperfections": {**drawn, **imperfections}},
    })


def _light_always_on(bench: Bench) -> None:
    bench.simulation.laser = None  # the simulated light no longer follows the laser's emission: light in the dark


def _slm_frozen(bench: Bench) -> None:
    bench.simulation.set_slm = lambda gray: None  # the SLM takes the patterns but the light never sees them


MODERATE = {"fringing_px": 0.5, "zero_order": 0.05, "lut_gamma": 1.2, "phase_range_rad": 2.2 * np.pi,
            "zernike_rad": {4: 0.8, 5: 0.3}}
FAULTS: dict[str, tuple[BenchConfig, Callable[[Bench], None] | None, str, str]] = {
    # fault: (bench, what the test does to the open bench, step that refuses it, words of the cause)
    "laser off": (bench_config(1, laser={"power_mw": 0.0}, **MODERATE), None, "dark", "no light on the camera"),
    "shutter closed": (bench_config(1, throughput=0.0, **MODERATE), None, "dark", "no light on the camera"),
    "camera 400 px off a 256 px sensor": (bench_config(1, camera_offset_px=(400.0, 0.0), **MODERATE), None, "dark",
                                          "no light on the camera"),
    "camera far off axis (400 px, image still on the sensor)": (
        bench_config(1, camera={"shape": [CAMERA_PX, 1024]}, camera_offset_px=(0.0, 400.0), **MODERATE), None,
        "camera", "camera far off axis"),
    "dark frame lit": (bench_config(1, **MODERATE), _light_always_on, "dark", "light reaches the camera with the laser off"),
    "camera saturating below full scale": (bench_config(1, camera={"full_well_e": 400.0}, **MODERATE), None, "dark",
                                           "the camera saturates below its full scale"),
    "camera black level at saturation": (bench_config(1, camera={"dark_level": 4000.0}, **MODERATE), None, "dark",
                                         "dark level is near saturation"),
    "SLM frozen": (bench_config(1, **MODERATE), _slm_frozen, "lut", "SLM frozen"),
    "f2 1.8x the config's": (bench_config(1, camera_magnification=1.8, **MODERATE), None, "far_field",
                             "far-field scale 1.8x the nominal"),
    "f1 1.75x the config's": (bench_config(1, fourier_scale=1.75, **MODERATE), None, "camera",
                              "check optics.f2_m and optics.f1_m"),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_fault_is_refused_by_the_right_step_with_the_right_cause(fault: str) -> None:
    config, act, step, cause = FAULTS[fault]
    with open_bench(config) as bench:
        if act is not None:
            act(bench)
        with pytest.raises(QualityError) as caught:
            calibrate(bench)
    error = caught.value
    assert error.failed[0].step == step, str(error)
    assert any(cause in figure.describe() for figure in error.failed), str(error)
    assert f"calibration step '{step}' failed its quality gate" in str(error) and cause in str(error)
    assert all(f in error.figures for f in error.failed) and error.figures[-1].step == step  # the table up to the failure


def test_camera_in_the_far_field_is_refused_by_the_camera_registration() -> None:
    """slmsuite's SimulatedSLM + SimulatedCamera: a camera in the SLM's far field that the input modulator does not
    reach. The input's spots do not move on it: the registration refuses it (never a collapsed fit with a tiny
    residual), and its dark frame holds the laser spot, which the dark step refuses."""
    pytest.importorskip("slmsuite")
    device = {"backend": "slmsuite", "shape": [128, 128], "pitch_m": 8e-6,
              "options": {"slmsuite_class": "slmsuite.hardware.slms.simulated.SimulatedSLM"}}
    config = {"name": "slmsuite-far-field", "input": device, "slm": device,
              "camera": {"backend": "slmsuite", "shape": [128, 128], "pitch_m": 5e-6, "bit_depth": 8,
                         "options": {"slmsuite_class": "slmsuite.hardware.cameras.simulated.SimulatedCamera"}}}
    with open_bench(config) as bench:
        with pytest.raises(QualityError) as caught:
            calibrate(bench, "camera")
        assert caught.value.failed[0].step == "camera"
        assert "the camera sees the SLM's far field, not the output image plane" in str(caught.value)
        with pytest.raises(QualityError, match="light reaches the camera with the laser off"):
            calibrate(bench, "dark")


def test_force_keeps_going_and_marks_the_record() -> None:
    config, act, _, _ = FAULTS["f2 1.8x the config's"]
    with open_bench(config) as bench:
        record = calibrate(bench, ["dark", "lut", "fringing"], force=True).record
    failed = [(f.step, f.name) for f in record.quality if f.verdict == "fail"]
    assert failed == [("far_field", "far-field scale / nominal (factor off 1)")] and record.forced
    assert record.measured == ["dark", "lut", "fringing"]


def test_strongest_fringing_is_measured_not_refused() -> None:
    """Fringing 1.5 px (where the knife edges of the Fourier calibration were 2.4 - 4.4 px off): every gate passes and
    the Fourier affine is within its 0.1 px bound, the fringing sigma within 0.05 px."""
    config = bench_config(3, fringing_px=1.5, zero_order=0.1)
    with open_bench(config) as bench:
        record = calibrate(bench).record
        truth = bench.truth
    assert not [f.describe() for f in record.quality if f.verdict == "fail"]
    half = config.input.shape[0] // 2
    bins = np.stack(np.meshgrid(np.arange(-half, half + 1), np.arange(-half, half + 1), indexing="ij"), -1).reshape(-1, 2)
    error = apply_affine(record.fourier_affine, bins) - apply_affine(truth.fourier_affine, bins)
    assert np.sqrt(np.mean(np.sum(error**2, axis=1))) <= 0.1
    assert abs(record.fringing_px - 1.5) <= 0.05


@pytest.mark.parametrize("seed", range(100, 120))
def test_good_bench_passes_every_gate(seed: int) -> None:
    with open_bench(bench_config(seed)) as bench:
        record = calibrate(bench).record
    assert not record.forced
    assert {f.step for f in record.quality} == {"dark", "lut", "far_field", "fringing", "wavefront", "camera", "fourier"}
