"""Speed of the simulated bench: time per captured frame against the bare NumPy FFT pair of the same grid.

For each SLM grid Q x Q (256 ... 2048) the realistic imperfections, noise and quantisation are on
(misalignment and camera rotation take the general, slower paths) with a virtual clock, so only the
computation is timed. Three cases per grid, each against ``np.fft.ifft2(np.fft.fft2(x))`` (complex128)
measured in the same run:

- ``capture``: the input and SLM pattern unchanged (cached lens-1 spectrum and transmittance);
- ``show_capture``: a new input image per frame (the inference loop);
- ``display_capture``: a new random SLM pattern per frame (calibration sweeps; the scattered light puts many
  pixels in the exact-Poisson range, the costliest case of the noise model), also with noise off.

Writes ``benchmarks/results/sim_bench.json`` and ``sim_bench.png``. ``--quick``: grids up to 1024.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, time_call, write_result  # noqa: E402

from osclc.configs import bundled  # noqa: E402
from osclc.drivers.bench import open_bench  # noqa: E402
from osclc.drivers.bench_config import BenchConfig  # noqa: E402
from osclc.lab.config.files import load_config  # noqa: E402
from osclc.storage import save_figure  # noqa: E402


def grid_config(q: int) -> BenchConfig:
    """The realistic bench scaled to a q x q SLM (camera q x q, input q/4 x q/4), virtual clock.

    Input and camera pitches scale with 512 / q so every grid keeps the realistic sampling ratios
    (an input pixel spans 1.92 samples, the input fills half the window, a camera pixel ~1 sample).
    """
    base = load_config(bundled("bench-sim-realistic.yaml"), kind="bench").model_dump()
    base["slm"]["shape"] = (q, q)
    base["camera"]["shape"] = (q, q)
    base["input"]["shape"] = (q // 4, q // 4)
    base["input"]["pitch_m"] *= 512 / q
    base["camera"]["pitch_m"] *= 512 / q
    base["optics"]["pad"] = q // 2
    base["simulation"]["clock"] = "virtual"
    return BenchConfig.model_validate(base)


def measure(q: int, repeat: int) -> dict[str, float]:
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((q, q)) + 1j * rng.standard_normal((q, q)))
    numpy_before = time_call(lambda: np.fft.ifft2(np.fft.fft2(x)), repeat=repeat)["median_s"]
    cfg = grid_config(q)
    images = [rng.random(cfg.input.shape) for _ in range(repeat + 2)]
    patterns = [rng.integers(0, 256, cfg.slm.shape, dtype=np.uint8) for _ in range(repeat + 2)]
    with open_bench(cfg, emission=True) as bench:
        bench.input.show(images[0])
        capture = time_call(lambda: bench.camera.capture(), repeat=repeat)["median_s"]
        cycle = iter(range(10 ** 6))

        def show_capture() -> None:
            bench.input.show(images[next(cycle) % len(images)])
            bench.camera.capture()

        def display_capture() -> None:
            bench.slm.display(patterns[next(cycle) % len(patterns)])
            bench.camera.capture()

        show = time_call(show_capture, repeat=repeat)["median_s"]
        display = time_call(display_capture, repeat=repeat)["median_s"]
    quiet = cfg.model_copy(update={"simulation": cfg.simulation.model_copy(update={"noise": False, "quantize": False})})
    with open_bench(quiet, emission=True) as bench:
        bench.input.show(images[0])
        display_quiet = time_call(lambda: (bench.slm.display(patterns[next(cycle) % len(patterns)]), bench.camera.capture()),
                                  repeat=repeat)["median_s"]
    # the machine is shared: time the reference again after the simulation and use the mean of both
    numpy_pair = 0.5 * (numpy_before + time_call(lambda: np.fft.ifft2(np.fft.fft2(x)), repeat=repeat)["median_s"])
    return {"grid": q, "numpy_fft_pair_s": numpy_pair, "capture_s": capture, "show_capture_s": show,
            "display_capture_s": display, "display_capture_noiseless_s": display_quiet, "capture_ratio": capture / numpy_pair,
            "show_capture_ratio": show / numpy_pair, "display_capture_ratio": display / numpy_pair,
            "display_capture_noiseless_ratio": display_quiet / numpy_pair}


def plot(rows: list[dict[str, float]], path: Path) -> None:
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    grids = [r["grid"] for r in rows]
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    ax.loglog(grids, [r["numpy_fft_pair_s"] for r in rows], "k--o", label="bare NumPy FFT pair (complex128)")
    for key, label in (("capture_s", "capture (cached input and SLM)"), ("show_capture_s", "new input + capture"),
                       ("display_capture_s", "new SLM pattern + capture"),
                       ("display_capture_noiseless_s", "new SLM pattern + capture, noise off")):
        ax.loglog(grids, [r[key] for r in rows], "-o", label=label)
    ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    ax.set_xticks(grids, [f"{g}²" for g in grids])
    ax.set_xlabel("simulation grid (SLM pixels)")
    ax.set_ylabel("time per frame (s, median)")
    ax.set_title("simulated bench (realistic imperfections, noise on)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path, dpi=100)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="grids 256 .. 1024 only, fewer repeats")
    args = parser.parse_args()
    grids = [256, 512, 1024] if args.quick else [256, 512, 1024, 2048]
    rows = []
    for q in grids:
        row = measure(q, repeat=3 if args.quick or q >= 2048 else 5)
        rows.append(row)
        print(f"{q:5d}^2: numpy pair {row['numpy_fft_pair_s'] * 1e3:8.2f} ms | capture {row['capture_s'] * 1e3:8.2f} ms "
              f"({row['capture_ratio']:.2f}x) | new input {row['show_capture_s'] * 1e3:8.2f} ms ({row['show_capture_ratio']:.2f}x) "
              f"| new SLM {row['display_capture_s'] * 1e3:8.2f} ms ({row['display_capture_ratio']:.2f}x; "
              f"{row['display_capture_noiseless_ratio']:.2f}x without noise)")
    goal_met = all(r["show_capture_ratio"] <= 2.0 and r["display_capture_ratio"] <= 2.0 for r in rows)
    path = write_result("sim_bench", {"quick": args.quick, "goal": "frame time <= 2x the bare NumPy FFT pair",
                                      "goal_met": goal_met, "rows": rows})
    plot(rows, RESULTS / "sim_bench.png")
    print(f"goal (<= 2x) met: {goal_met}; wrote {path}")


if __name__ == "__main__":
    main()
