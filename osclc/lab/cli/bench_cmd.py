"""``osclc bench check CONFIG``: open a bench, show each device's identity and state, take a test frame."""

from __future__ import annotations

import argparse
import time

import numpy as np

from osclc.drivers.bench import Bench, open_bench
from osclc.lab.config.files import load_config
from osclc.lab.runs import Run
from osclc.storage import save_figure


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``bench`` command and its ``check`` subcommand."""
    parser = sub.add_parser("bench", help="check a bench: open it, show its devices, take a test frame")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    check = actions.add_parser("check", help="open the bench, print each device's identity and state, save a test frame as PNG in a run")
    check.add_argument("config", help="bench config (YAML, kind: bench), e.g. configs/bench-sim-realistic.yaml")
    check.add_argument("--timeout-s", type=float, default=None, help="capture timeout (s); default: the config's timeout_s")
    check.set_defaults(func=_check)


def test_image(shape: tuple[int, int]) -> np.ndarray:
    """A centred frame-and-cross test target (amplitude in [0, 1]) whose inverted image is easy to recognise."""
    rows, cols = shape
    image = np.zeros(shape, np.float32)
    r0, r1, c0, c1 = rows // 4, rows - rows // 4, cols // 4, cols - cols // 4
    width = max(1, min(rows, cols) // 32)
    image[r0:r1, c0:c0 + width] = image[r0:r1, c1 - width:c1] = 1.0
    image[r0:r0 + width, c0:c1] = image[r1 - width:r1, c0:c1] = 1.0
    image[r0:rows // 2, cols // 2 - width // 2:cols // 2 + width - width // 2] = 1.0  # upper half of a vertical bar: shows the inversion
    return image


def _describe(bench: Bench) -> list[dict[str, object]]:
    rows = [{"device": "laser", "name": bench.laser.name, "backend": bench.config.laser.backend,
             "identity": bench.laser.identity(), **bench.laser.state()}]
    for kind in ("input", "slm", "camera"):
        device = getattr(bench, kind)
        rows.append({"device": kind, "name": device.name, "backend": getattr(bench.config, kind).backend, **device.state()})
    return rows


def _save_png(image: np.ndarray, path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 5))
    shown = ax.imshow(image, cmap="gray")
    fig.colorbar(shown, ax=ax, label="counts")
    ax.set_title(title)
    ax.set_xlabel("camera column (pixels)")
    ax.set_ylabel("camera row (pixels)")
    fig.tight_layout()
    save_figure(fig, path, dpi=100)
    plt.close(fig)


def _check(args: argparse.Namespace) -> int:
    config = load_config(args.config, kind="bench")
    timeout_s = args.timeout_s if args.timeout_s is not None else config.timeout_s
    with Run.create("bench-check", config=config, device="bench", root=args.runs_dir, inputs={"bench_config": args.config}) as run:
        with open_bench(config) as bench:
            described = _describe(bench)
            for row in described:
                details = ", ".join(f"{k}={v}" for k, v in row.items() if k not in ("device", "name"))
                print(f"{row['device']:>7} {row['name']}: {details}")
            run.append("devices", described)
            bench.input.show(test_image(bench.input.shape))
            bench.slm.blank()
            bench.laser.set_emission(True)
            start = time.perf_counter()
            frame = bench.camera.capture(timeout_s=timeout_s)
            elapsed = time.perf_counter() - start
            bench.laser.set_emission(False)
        image = np.asarray(frame.image, dtype=np.float64)
        integer = np.issubdtype(frame.image.dtype, np.integer)  # float frames (quantisation off) never saturate
        saturated = float(np.mean(image >= (1 << config.camera.bit_depth) - 1)) if integer else 0.0
        run.save_array("frame", frame.image)
        _save_png(image, run.path("frame.png"), f"{config.name}: test frame {frame.index}")
        metrics = {"frame_min": float(image.min()), "frame_max": float(image.max()), "frame_mean": float(image.mean()),
                   "saturated_fraction": saturated, "capture_wall_s": elapsed,
                   "exposure_to_receipt_s": (frame.t_received_ns - frame.t_exposure_start_ns) * 1e-9}
        run.set_metrics(**metrics)
        print(f"test frame {frame.index}: shape {frame.image.shape}, counts {metrics['frame_min']:g} .. {metrics['frame_max']:g} "
              f"(mean {metrics['frame_mean']:.4g}, saturated {saturated:.2%}); bench closed safely")
        print(f"run: {run.folder}")
    return 0
