"""Compile time of one SLM mask for a 1920 x 1152 SLM against one ``numpy.fft.fft2`` of that size (goal <= 2x).

A bench config with a 1920 x 1152 (cols x rows) SLM of 8 um pixels, nominal calibration (``identity``);
the student is one folded channel (c_in = c_out = 1) of an N = 32 input on P = 64, kernel window
h = w = 32 (a random compact kernel), so compiling makes exactly one mask. The whole
``compile_program`` is timed (layout search, mask design, encoding, wavefront, inverse LUT, readout
tables), side by side with ``numpy.fft.fft2`` of a complex128 1152 x 1920 array, each the median of
several runs in the same process. Also timed: the same mask with a calibration whose Fourier affine is
rotated by 0.5 degrees (as measured ones are: the mask is then interpolated to the rotated pixel grid), and
the 64-mask digits student (time multiplexing), per mask.

Usage: ``python benchmarks/compile_time.py [--quick]``; writes ``benchmarks/results/compile_time.json``
and ``.png``.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, time_call, write_result  # noqa: E402

from osclc.calibration.compiler.pipeline import compile_program  # noqa: E402
from osclc.calibration.record import CalibrationRecord  # noqa: E402
from osclc.drivers.bench_config import BenchConfig  # noqa: E402
from osclc.models.networks.architecture import ClassificationArch, build_model  # noqa: E402
from osclc.models.folding import fold  # noqa: E402
from osclc.storage import save_figure  # noqa: E402

SLM_SHAPE = (1152, 1920)


@dataclass
class OneChannel:
    """A folded single-channel frontend (the attributes the compiler reads)."""

    kernel: np.ndarray
    pad: int
    input_size: int
    detector: str = "intensity"

    @property
    def out_size(self) -> tuple[int, int]:
        return self.kernel.shape[-2:]


def one_channel(size: int = 32, pad: int = 64, grid: int = 32, seed: int = 0) -> OneChannel:
    """Centred spectrum (grid x grid of P) of a random 5 x 5 spatial kernel: one output channel."""
    rng = np.random.default_rng(seed)
    spatial = np.zeros((pad, pad))
    spatial[:5, :5] = rng.normal(size=(5, 5))
    spatial = np.roll(spatial, (-2, -2), axis=(0, 1))
    lo = pad // 2 - grid // 2
    kernel = np.fft.fftshift(np.fft.fft2(spatial))[lo : lo + grid, lo : lo + grid]
    return OneChannel(kernel[None, None], pad, size)


def bench_config() -> BenchConfig:
    """A large-panel bench: 1920 x 1152 SLM, 256 x 256 input of 12.5 um, 1920 x 1200 camera."""
    return BenchConfig.model_validate({
        "name": "compile-benchmark",
        "optics": {"wavelength_m": 532e-9, "f1_m": 0.2, "f2_m": 0.2, "pad": 512},
        "input": {"shape": [256, 256], "pitch_m": 12.5e-6},
        "slm": {"shape": list(SLM_SHAPE), "pitch_m": 8e-6},
        "camera": {"shape": [1200, 1920], "pitch_m": 5.86e-6},
    })


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = parser.parse_args()
    repeat = 3 if args.quick else 7
    config = bench_config()
    calibration = CalibrationRecord.identity(config)
    student = one_channel()
    program = compile_program(student, calibration, config, multiplex="time")
    assert program.patterns.shape == (1, *SLM_SHAPE)
    field = np.exp(1j * np.random.default_rng(1).uniform(0, 2 * np.pi, SLM_SHAPE))
    fft = time_call(lambda: np.fft.fft2(field), repeat=repeat)
    one = time_call(lambda: compile_program(student, calibration, config, multiplex="time"), repeat=repeat)
    angle = np.deg2rad(0.5)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    rotated = dataclasses.replace(calibration, fourier_affine=np.concatenate(
        [rotation @ calibration.fourier_affine[:, :2], calibration.fourier_affine[:, 2:]], axis=1))
    compile_program(student, rotated, config, multiplex="time")
    turned = time_call(lambda: compile_program(student, rotated, config, multiplex="time"), repeat=repeat)
    compensated = time_call(lambda: compile_program(student, calibration, config, multiplex="time", fringing_px=0.5), repeat=1, warmup=0)
    figures: dict = {
        "slm_shape": list(SLM_SHAPE),
        "fft2_s": fft,
        "compile_one_mask_s": one,
        "ratio_compile_over_fft2": one["median_s"] / fft["median_s"],
        "goal_ratio": 2.0,
        "load_average_1_5_15_min": list(os.getloadavg()),
        "compile_one_mask_rotated_calibration_s": turned,
        "ratio_rotated_over_fft2": turned["median_s"] / fft["median_s"],
        "compile_one_mask_crosstalk_compensated_s": compensated,
        "ratio_crosstalk_compensated_over_fft2": compensated["median_s"] / fft["median_s"],
        "crosstalk_compensation": "fringing_px 0.5: the mask optimised against the blurred SLM (calibration.crosstalk); "
                                  "not part of the 2x goal, which is for the closed-form design",
        "one_mask": {"multiplex": program.multiplex, "encoding": program.encoding, "aperture_box_slm": program.info["aperture_box_slm"]},
    }
    torch.manual_seed(0)
    digits = fold(build_model(ClassificationArch(channels=[32, 64], pools=[1, 2]), 1, 8, 10).eval()).eval()
    many = time_call(lambda: compile_program(digits, calibration, config, multiplex="time"), repeat=max(1, repeat // 3))
    masks = digits.out_channels
    figures["digits_student"] = {"masks": masks, "compile_s": many, "per_mask_s": many["median_s"] / masks,
                                 "per_mask_over_fft2": many["median_s"] / masks / fft["median_s"]}
    path = write_result("compile_time", figures)
    fig, ax = plt.subplots(figsize=(7.5, 3.5))
    labels = ["fft2 1152x1920", "compile 1 mask", "1 mask, rotated", "digits: per mask"]
    values = [fft["median_s"], one["median_s"], turned["median_s"], many["median_s"] / masks]
    ax.bar(labels, [v * 1e3 for v in values], color=["grey", "tab:blue", "tab:cyan", "tab:green"])
    ax.axhline(2e3 * fft["median_s"], color="red", linestyle="--", label="goal: 2 x fft2")
    ax.set_ylabel("median time (ms)")
    ax.set_title(f"compile vs fft2: ratio {figures['ratio_compile_over_fft2']:.2f}")
    ax.legend()
    fig.tight_layout()
    save_figure(fig, RESULTS / "compile_time.png", dpi=110)
    print(f"fft2 {fft['median_s'] * 1e3:.1f} ms, compile one mask {one['median_s'] * 1e3:.1f} ms: "
          f"ratio {figures['ratio_compile_over_fft2']:.2f} (goal <= 2); rotated calibration "
          f"{turned['median_s'] * 1e3:.1f} ms (ratio {figures['ratio_rotated_over_fft2']:.2f}); crosstalk-compensated "
          f"{compensated['median_s'] * 1e3:.0f} ms (ratio {figures['ratio_crosstalk_compensated_over_fft2']:.1f}); digits {masks} masks "
          f"{many['median_s']:.2f} s ({figures['digits_student']['per_mask_s'] * 1e3:.1f} ms per mask); {path}")


if __name__ == "__main__":
    main()
