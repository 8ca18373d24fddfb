"""Forward time of the teacher CNN vs the SCLC layer by layer vs the folded SCLC (paper Fig. 3).

For each input size N (32 ... 1024) the networks use the default plan for that size
(``osclc.models.networks.plan.default_plan``: the real AlexNet plan from 160 px up, so 224 is AlexNet),
3 input channels and 10 classes, in eval mode under ``torch.no_grad``:

- ``teacher``: the AlexNet-style CNN (cuDNN / oneDNN convolutions);
- ``sclc``: the student layer by layer (P x P FFT, per-frequency products and crops, inverse
  FFT; a convolution followed by a pool is evaluated on the kept bins only; kernel spectra
  cached, as in inference), detector ``intensity``, linear backend;
- ``folded``: ``fold(student)``: partial DFTs of the lowest h x w input frequencies, one
  per-frequency channel mix, an h x w inverse FFT, detector, backend.

Batch 1 and 64, on the CPU and on CUDA when present. A point is skipped (and listed with its
reason in the JSON) when its estimated memory exceeds the budget (``--memory-gib``, default 3 GiB
on the CPU, 40 % of the GPU) or when its batch-1 time predicts more than ``--point-s`` seconds
per call at batch 64 (the teacher and layer-by-layer SCLC at the largest sizes on a CPU). Each
point is the median (and min) of repeated calls (about 1 s of calls, 3 to 20) after one
warm-up call. On a CPU shared with other jobs the minimum is the steadier figure; ratios are
given for both. The headline figure is
``teacher / folded`` at 224 x 224, batch 1, per device (goal >= 100; the paper reports 31.7
for its SCLC vs AlexNet).

Usage: ``python benchmarks/forward_time.py [--quick] [--device cpu|cuda|all]``; writes
``benchmarks/results/forward_time.json`` and ``.png``.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, time_call, write_result  # noqa: E402

from osclc.models.folding import fold  # noqa: E402
from osclc.models.networks.plan import default_plan  # noqa: E402
from osclc.models.networks.sclc import SCLC  # noqa: E402
from osclc.models.networks.teachers import AlexNetTeacher  # noqa: E402
from osclc.storage import save_figure  # noqa: E402

SIZES = [32, 64, 128, 224, 256, 512, 1024]
QUICK_SIZES = [32, 128, 224, 512]
BATCHES = [1, 64]
CHANNELS, CLASSES = 3, 10
MODELS = ("teacher", "sclc", "folded")


def _memory_estimate(name: str, student: SCLC, teacher: AlexNetTeacher, size: int, batch: int) -> float:
    """Rough peak bytes of one forward: weights / cached kernel spectra plus the largest activations."""
    if name == "teacher":
        weights = sum(p.numel() for p in teacher.parameters()) * 4
        first = teacher.features[0]
        out = (size - 1) // first.stride[0] + 1
        return weights + 3 * batch * first.out_channels * out * out * 4
    if name == "folded":  # the input itself, its (2R x N) row transforms, the backend weights
        return batch * CHANNELS * size * size * 4 * 1.5 + sum(p.numel() for p in student.backend.parameters()) * 4
    layers = list(student.frontend.layers)
    grid = student.frontend.pad
    spectra, activation = 0.0, batch * CHANNELS * grid * grid * 8.0  # the input's P x P spectrum
    for index, layer in enumerate(layers):
        if hasattr(layer, "out_channels"):  # a convolution, evaluated on the bins the next pool keeps
            following = layers[index + 1] if index + 1 < len(layers) else None
            size = getattr(following, "out_size", grid)
            spectra += layer.in_channels * layer.out_channels * size * size * 8
            activation = max(activation, batch * layer.out_channels * size * size * 8)
        else:
            grid = layer.out_size
    return spectra + 3 * activation


def _sync(device: torch.device):
    return (lambda: torch.cuda.synchronize(device)) if device.type == "cuda" else None


def measure_size(size: int, device: torch.device, memory_budget: float, point_budget_s: float) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Timings of the three models at one input size on one device (list of points, plan info)."""
    torch.manual_seed(0)
    plan = default_plan(size)
    teacher = AlexNetTeacher(plan, CHANNELS, size, CLASSES).to(device).eval()
    student = SCLC.from_plan(plan, CHANNELS, size, CLASSES).to(device).eval()
    start = time.perf_counter()
    folded = fold(student)
    fold_s = time.perf_counter() - start
    info = {"size": size, "plan": plan.name, "pad": student.frontend.pad, "out_size": student.frontend.out_size, "fold_s": fold_s}
    models = {"teacher": teacher, "sclc": student, "folded": folded}
    points: list[dict[str, Any]] = []
    batch_one: dict[str, float] = {}
    for batch in BATCHES:
        for name in MODELS:
            point: dict[str, Any] = {"device": device.type, "model": name, "size": size, "batch": batch}
            points.append(point)
            estimate = _memory_estimate(name, student, teacher, size, batch)
            if estimate > memory_budget:
                point["skipped"] = f"estimated memory {estimate / 2**30:.1f} GiB > budget {memory_budget / 2**30:.1f} GiB"
                continue
            if batch > 1 and name in batch_one and batch_one[name] * batch > point_budget_s:
                point["skipped"] = f"batch-1 time {batch_one[name]:.2f} s predicts > {point_budget_s:.0f} s per call at batch {batch}"
                continue
            x = torch.rand(batch, CHANNELS, size, size, device=device)
            model = models[name]
            with torch.no_grad():
                model(x)  # warm-up: kernel spectra cache, DFT matrices, cuDNN plans
                once = time_call(lambda: model(x), repeat=1, warmup=0, sync=_sync(device))["median_s"]
                repeat = int(min(20, max(3, 1.0 / max(once, 1e-6))))
                point.update(time_call(lambda: model(x), repeat=repeat, warmup=0, sync=_sync(device)))
                if batch == 1:
                    batch_one[name] = point["median_s"]
            del x
    del teacher, student, folded, models
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return points, info


def speedups(points: list[dict[str, Any]], size: int, batch: int) -> dict[str, dict[str, float]]:
    """teacher / sclc and teacher / folded time ratios (of medians, and of minima) per device at (size, batch)."""
    out: dict[str, dict[str, float]] = {}
    for device in sorted({p["device"] for p in points}):
        chosen = [p for p in points if p["device"] == device and p["size"] == size and p["batch"] == batch and "median_s" in p]
        ratios: dict[str, float] = {}
        for stat in ("median_s", "min_s"):
            times = {p["model"]: p[stat] for p in chosen}
            if "teacher" in times:
                ratios.update({f"teacher_over_{m}_{stat[:-2]}": times["teacher"] / times[m] for m in ("sclc", "folded") if m in times})
        if ratios:
            out[device] = ratios
    return out


def plot(points: list[dict[str, Any]], path: Path) -> None:
    """Time vs input size (log-log), one panel per device; batch 1 solid, batch 64 dashed."""
    devices = sorted({p["device"] for p in points})
    fig, axes = plt.subplots(1, len(devices), figsize=(6 * len(devices), 4.5), squeeze=False)
    colours = {"teacher": "tab:blue", "sclc": "tab:red", "folded": "tab:green"}
    for ax, device in zip(axes[0], devices):
        for name in MODELS:
            for batch, style in zip(BATCHES, ("-", "--")):
                series = sorted((p["size"], p["median_s"]) for p in points if p["device"] == device and p["model"] == name and p["batch"] == batch and "median_s" in p)
                if series:
                    ax.plot([s for s, _ in series], [t * 1e3 for _, t in series], style, marker="o", color=colours[name], label=f"{name}, batch {batch}")
        ax.axvline(224, color="grey", lw=0.8, ls=":")
        ax.set(xscale="log", yscale="log", xlabel="input size N (N x N pixels)", ylabel="forward time (ms)", title=f"forward time on {device}")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"sizes {QUICK_SIZES} only")
    parser.add_argument("--device", choices=("cpu", "cuda", "all"), default="all", help="where to measure (all = CPU and CUDA if present)")
    parser.add_argument("--memory-gib", type=float, default=3.0, help="CPU memory budget per point (GiB)")
    parser.add_argument("--point-s", type=float, default=15.0, help="skip batch 64 when batch 1 predicts more seconds per call")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0 = torch's default)")
    parser.add_argument("--out-dir", type=Path, default=RESULTS, help="folder for forward_time.json/.png")
    args = parser.parse_args(argv)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    devices = [torch.device("cpu")] if args.device in ("cpu", "all") else []
    if args.device in ("cuda", "all") and torch.cuda.is_available():
        devices.append(torch.device("cuda"))
    if not devices:
        print("no CUDA device here; use --device cpu", file=sys.stderr)
        return 2
    sizes = QUICK_SIZES if args.quick else SIZES
    points: list[dict[str, Any]] = []
    plans: list[dict[str, Any]] = []
    for device in devices:
        budget = args.memory_gib * 2**30 if device.type == "cpu" else 0.4 * torch.cuda.get_device_properties(device).total_memory
        for size in sizes:
            size_points, info = measure_size(size, device, budget, args.point_s)
            points += size_points
            plans.append({"device": device.type, **info})
            shown = ", ".join(f"{p['model']}/b{p['batch']}: " + (f"{p['median_s'] * 1e3:.2f} ms" if "median_s" in p else "skipped") for p in size_points)
            print(f"{device.type} N={size} (P={info['pad']}, h={info['out_size']}): {shown}", flush=True)
    headline = speedups(points, 224, 1)
    figures = {
        "quick": args.quick,
        "sizes": sizes,
        "plans": plans,
        "points": points,
        "speedup_224_batch1": headline,
        "speedup_224_batch64": speedups(points, 224, 64),
        "goal": "teacher / folded >= 100 at 224 x 224, batch 1, same device (paper: 31.7x SCLC vs AlexNet)",
        "goal_met": {device: ratios.get("teacher_over_folded_median", math.nan) >= 100 for device, ratios in headline.items()},
    }
    path = write_result("forward_time", figures, args.out_dir)
    plot(points, args.out_dir / "forward_time.png")
    for device, ratios in headline.items():
        print(f"{device}: 224x224 batch 1: " + ", ".join(f"{k} = {v:.1f}x" for k, v in ratios.items()))
    print(f"wrote {path} and {path.with_suffix('.png')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
