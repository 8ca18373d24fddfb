"""Time per batch of the electronic backend that finishes the network after the camera, on the CPU and on CUDA.

What the loop's backend stage does for one batch of captured images: camera features (float32, on the
host) -> device, the student's backend (per-channel gain/offset, then the fully connected head) ->
argmax -> predictions on the host. Measured for the digits student (8 x 8 input) and a 28 x 28 student,
each with the default plan and a 64-channel detector, at batch 1 to 1024, with the devices' calls timed
in turns; on CUDA every timed call is synchronised before and after (the figure includes both copies).

Usage: ``python benchmarks/backend_time.py [--device cpu|cuda|all] [--out-dir DIR]``; writes
``backend_time.json``. Without CUDA the JSON says so and holds the CPU figures only.
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import load_snapshot, time_interleaved, write_result  # noqa: E402

from osclc.models.networks.architecture import ClassificationArch, build_model  # noqa: E402

STUDENTS = {"digits_8x8": 8, "mnist_28x28": 28}
CHANNELS = 64
BATCHES = (1, 8, 64, 256, 1024)


def _backend_call(backend: torch.nn.Module, features: np.ndarray, device: torch.device) -> Callable[[], object]:
    def call() -> object:
        with torch.no_grad():
            logits = backend(torch.from_numpy(features).to(device, non_blocking=True))
            return logits.argmax(dim=1).cpu()

    return call


def measure(devices: list[torch.device], seconds_repeat: int) -> dict[str, Any]:
    """Per student, batch and device: median / min seconds per batch and per image."""
    figures: dict[str, Any] = {}
    rng = np.random.default_rng(0)
    for name, size in STUDENTS.items():
        torch.manual_seed(0)
        student = build_model(ClassificationArch(variant="sclc", detector="intensity", channels=[CHANNELS]), 1, size, 10).eval()
        backends = {str(d): copy.deepcopy(student.backend).to(d) for d in devices}
        shape = (student.backend.channels, student.backend.height, student.backend.width)
        rows = []
        for batch in BATCHES:
            features = rng.random((batch, *shape), dtype=np.float32)
            calls = {str(d): _backend_call(backends[str(d)], features, d) for d in devices}
            sync = torch.cuda.synchronize if any(d.type == "cuda" for d in devices) else None
            timed = time_interleaved(calls, repeat=seconds_repeat, warmup=3, sync=sync)
            for device, t in timed.items():
                rows.append({"device": device, "batch": batch, "median_s": t["median_s"], "min_s": t["min_s"],
                             "per_image_median_s": t["median_s"] / batch})
        figures[name] = {"feature_shape": list(shape), "rows": rows}
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=("cpu", "cuda", "all"), default="all")
    parser.add_argument("--repeat", type=int, default=30, help="timed rounds per (batch, device)")
    parser.add_argument("--out-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    cuda = torch.cuda.is_available()
    if args.device == "cuda" and not cuda:
        print("backend_time: no CUDA device here", file=sys.stderr)
        return 1
    devices = ([torch.device("cpu")] if args.device in ("cpu", "all") else []) + ([torch.device("cuda")] if cuda and args.device != "cpu" else [])
    before = load_snapshot()
    figures = measure(devices, args.repeat)
    path = write_result("backend_time", {
        "cuda": cuda, "note": None if cuda else "no CUDA device on this machine: CPU figures only",
        "load_before": before, "load_after": load_snapshot(), "students": figures,
    }, args.out_dir)
    for name, data in figures.items():
        for row in data["rows"]:
            print(f"{name:12s} {row['device']:5s} batch {row['batch']:5d}: {1e3 * row['median_s']:8.3f} ms "
                  f"({1e6 * row['per_image_median_s']:8.2f} us/image)")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
