"""Random simulated benches over the range a real bench can have: the benches the calibration has never seen
(issue 14; ``benchmarks/calibration_robustness.py`` draws them).

:func:`draw_bench` keeps the base config's devices, optics and geometry and draws the hidden truth
(``simulation.imperfections``) afresh, with noise and quantisation on. Every draw is uniform over its range unless
marked log-uniform (ratios, drawn symmetrically about 1 in log). The ranges and where they come from:

What the calibration models (always drawn; the ranges of issue 14, a real bench's spread):

=========================  ==================================  ==========================================================
setting                    range                               source
=========================  ==================================  ==========================================================
fringing_px                0 .. 1.5 px (RMS width)             LCoS crosstalk, a few tenths to > 1 pixel for small pitches
                                                               (Persson 2012; Moser 2019); Gaussian kernel
zero_order                 0 .. 0.3 (field fraction)           unmodulated light of LCoS panels, up to ~10 % of the power
lut_gamma                  0.4 .. 2.5, log-uniform             an uncalibrated gray -> phase curve
phase_range_rad            1.5 pi .. 3 pi                      panels driven at other wavelengths than their LUT's
zernike_rad (Noll 4..11)   -3 .. 3 rad each                    cover-glass flatness of a few waves before correction
fourier_offset_px          +-10 % of the SLM (each axis)       alignment of the lens-1 focus on the panel
fourier_rotation_rad       -0.1 .. 0.1 rad                     mounting of the SLM
fourier_scale              0.8 .. 1.25, log-uniform            focal-length and distance errors of lens 1
camera_offset_px           +-10 % of the sensor (each axis)    alignment of the camera
camera_rotation_rad        -0.1 .. 0.1 rad                     mounting of the camera
camera_magnification       0.8 .. 1.25, log-uniform            focal-length and distance errors of lens 2
dead / hot_pixel_fraction  0 .. 0.1 % each                     sensor defects
noise, quantize            on; camera read noise, full well,   ``configs/bench-sim-realistic.yaml``'s 12-bit CMOS
                           QE, gain, dark level, bit depth
=========================  ==================================  ==========================================================

What it does not model (``mismatch=True`` only; their own random stream, so the same seed gives the same bench
plus these effects):

=========================  ==================================  ==========================================================
setting                    range                               source
=========================  ==================================  ==========================================================
crosstalk_shape            gaussian | exponential |            measured kernels are not Gaussian; the LC pretilt makes
                           asymmetric (equally likely)         them reach further one way
crosstalk_asymmetry        -0.5 .. 0.5 (asymmetric only)       idem
pixel_fill_factor          0.85 .. 0.98                        LCoS datasheets (about 87 % .. 96 %)
lut_gamma_variation,       0 .. 0.05 each                      a few % of cell-gap non-uniformity (Reichelt, Appl. Opt.
phase_range_variation                                          52, 2610 (2013))
flicker_rad                0 .. 0.05 rad                       LCoS phase flicker at the refresh rate (issue 14)
prnu                       0 .. 2 %                            EMVA 1288 sheets of CMOS sensors (issue 14)
dsnu_e                     0 .. 5 e-                           EMVA 1288 sheets of CMOS sensors
dark_current_e_per_s       0 .. 50 e-/s                        uncooled CMOS at room temperature
stray_light                0 .. 1 % of a fully lit image       issue 14
stray_light_tilt           0 .. 1                              a background brighter on one side
laser_drift_per_s          -1 .. +1 %/min                      issue 14 (a free-running DPSS laser warming up)
input_extinction           1/1000 .. 1/200 (contrast           LC amplitude modulators and DMDs (issue 14)
                           200:1 .. 1000:1, log-uniform)
input_gamma                0.9 .. 1.1, log-uniform             what a vendor's linearisation leaves (a judgement: no
                                                               published spread)
pixel_integration          on                                  every camera integrates over its pixels
=========================  ==================================  ==========================================================
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import yaml

from osclc.configs import bundled
from osclc.drivers.bench_config import BenchConfig

REALISTIC_SENSOR = ("read_noise_e", "full_well_e", "quantum_efficiency", "gain", "dark_level", "bit_depth")
"""Camera settings taken from ``configs/bench-sim-realistic.yaml`` (the realistic bench's noise level)."""

WAVEFRONT_NOLL = range(4, 12)
"""Low-order Zernike terms of the drawn cover-glass wavefront (defocus .. spherical)."""


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(math.exp(rng.uniform(math.log(low), math.log(high))))


def _symmetric(rng: np.random.Generator, half_width: float) -> float:
    return float(rng.uniform(-half_width, half_width))


def modelled_imperfections(rng: np.random.Generator, base: BenchConfig) -> dict[str, object]:
    """The hidden truth the calibration models, drawn over a real bench's range (module doc); SLM and sensor sizes
    from ``base``."""
    slm, sensor = base.slm.shape, base.camera.shape
    return {
        "fringing_px": float(rng.uniform(0.0, 1.5)),
        "zero_order": float(rng.uniform(0.0, 0.3)),
        "lut_gamma": _log_uniform(rng, 0.4, 2.5),
        "phase_range_rad": float(rng.uniform(1.5 * math.pi, 3.0 * math.pi)),
        "zernike_rad": {j: _symmetric(rng, 3.0) for j in WAVEFRONT_NOLL},
        "fourier_offset_px": (_symmetric(rng, 0.1 * slm[0]), _symmetric(rng, 0.1 * slm[1])),
        "fourier_rotation_rad": _symmetric(rng, 0.1),
        "fourier_scale": _log_uniform(rng, 0.8, 1.25),
        "camera_offset_px": (_symmetric(rng, 0.1 * sensor[0]), _symmetric(rng, 0.1 * sensor[1])),
        "camera_rotation_rad": _symmetric(rng, 0.1),
        "camera_magnification": _log_uniform(rng, 0.8, 1.25),
        "dead_pixel_fraction": float(rng.uniform(0.0, 1e-3)),
        "hot_pixel_fraction": float(rng.uniform(0.0, 1e-3)),
        "seed": int(rng.integers(0, 2**32 - 1)),
    }


def unmodelled_imperfections(rng: np.random.Generator) -> dict[str, object]:
    """The effects the calibration does not model, at plausible levels (module doc)."""
    shape = ("gaussian", "exponential", "asymmetric")[int(rng.integers(0, 3))]
    asymmetry = _symmetric(rng, 0.5)
    return {
        "crosstalk_shape": shape,
        "crosstalk_asymmetry": asymmetry if shape == "asymmetric" else 0.0,
        "pixel_fill_factor": float(rng.uniform(0.85, 0.98)),
        "lut_gamma_variation": float(rng.uniform(0.0, 0.05)),
        "phase_range_variation": float(rng.uniform(0.0, 0.05)),
        "flicker_rad": float(rng.uniform(0.0, 0.05)),
        "prnu": float(rng.uniform(0.0, 0.02)),
        "dsnu_e": float(rng.uniform(0.0, 5.0)),
        "stray_light": float(rng.uniform(0.0, 0.01)),
        "stray_light_tilt": float(rng.uniform(0.0, 1.0)),
        "laser_drift_per_s": _symmetric(rng, 0.01 / 60.0),
        "input_extinction": 1.0 / _log_uniform(rng, 200.0, 1000.0),
        "input_gamma": _log_uniform(rng, 0.9, 1.1),
    }


def realistic_sensor() -> dict[str, object]:
    """The camera noise settings of the realistic bench (:data:`REALISTIC_SENSOR`)."""
    return dict(_realistic_sensor())


@lru_cache(maxsize=1)
def _realistic_sensor() -> tuple[tuple[str, object], ...]:
    realistic = BenchConfig.model_validate(yaml.safe_load(bundled("bench-sim-realistic.yaml").read_text()))
    return tuple((key, getattr(realistic.camera, key)) for key in REALISTIC_SENSOR)


def draw_bench(seed: int, base: BenchConfig, mismatch: bool) -> BenchConfig:
    """A random bench: ``base``'s devices, optics and geometry with hidden imperfections drawn over a real bench's
    range (seeded by ``seed`` >= 0, reproducible), noise and quantisation on at the realistic bench's level; with
    ``mismatch`` also the effects the calibration does not model (module doc). Validated like any bench config."""
    if not (isinstance(seed, (int, np.integer)) and seed >= 0):
        raise ValueError(f"draw_bench seed {seed!r}: use an integer >= 0")
    data = base.model_dump()
    imperfections = modelled_imperfections(np.random.default_rng([int(seed), 0]), base)
    camera = {**data["camera"], **realistic_sensor(), "dark_current_e_per_s": 0.0}
    if mismatch:
        extra = np.random.default_rng([int(seed), 1])
        imperfections.update(unmodelled_imperfections(extra))
        camera["dark_current_e_per_s"] = float(extra.uniform(0.0, 50.0))
    data["camera"] = camera
    data["simulation"].update(noise=True, quantize=True, pixel_integration=mismatch, seed=int(seed) % 2**32,
                              imperfections=imperfections)
    data["name"] = f"{base.name}-random-{int(seed)}{'-mismatch' if mismatch else ''}"
    return BenchConfig.model_validate(data)
