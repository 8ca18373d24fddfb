"""Forward time of the teacher CNN vs the SCLC layer by layer vs the folded SCLC (paper Fig. 3).

For each input size N (32 ... 1024) the networks use the default plan for that size
(``osclc.models.networks.plan.default_plan``: the real AlexNet plan from 160 px up, so 224 is AlexNet),
3 input channels and 10 classes, in eval mode under ``torch.no_grad``:

- ``teacher``: the AlexNet-style CNN (cuDNN / oneDNN convolutions);
- ``sclc``: the student layer by layer: one FFT of the padded P x P input, then every layer
  on the output's bins only (``spectral_band``: the Hermitian half of the final h x h window,
  one batched complex c_in x c_out product per frequency with the cached kernel spectra),
  one h x h inverse FFT, detector ``intensity``, linear backend;
- ``folded``: ``fold(student)``: partial DFTs of the lowest h x w input frequencies, one
  per-frequency channel mix, an h x w inverse FFT, detector, backend.

Batch 1 and 64, on the CPU and on CUDA when present (synchronised before and after every
timed call). A point is skipped (and listed with its reason in the JSON) when its estimated
memory exceeds the budget (``--memory-gib``, default 3 GiB on the CPU, 40 % of the GPU) or
when its batch-1 time predicts more than ``--point-s`` seconds per call at batch 64. The models
of one (size, batch) are timed in turns (teacher, sclc, folded, matmul probe, teacher, ...),
about ``--seconds`` of calls (3 to 20 rounds) after one warm-up call each; each point gives
median and min and the load it ran under (1-min load average before and after, CPU count).

Compute floor of the folded path: its FLOPs counted analytically (partial DFTs, Hermitian
combination, per-frequency channel mix, inverse FFT, detector, backend; ``folded_flops``) at
the rate of a torch matmul of the shape of its largest product (``[2R, N] @ x``), timed in
the same turns; ``measured_over_floor`` says how many times the floor the folded path takes.

Load: a figure taken while the 1-min load average beyond the benchmark's own threads exceeds
half the CPUs is not recorded (exit 3, nothing written) unless ``--allow-load``; the JSON's
``load`` says which.

Usage: ``python benchmarks/forward_time.py [--quick] [--device cpu|cuda|all] [--threads 1]
[--allow-load]``; writes ``benchmarks/results/forward_time.json`` and ``.png``.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path
from typing import Any, Callable

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, load_snapshot, load_verdict, time_call, time_interleaved, write_result  # noqa: E402

from osclc.models.folding import FoldedSCLC, fold  # noqa: E402
from osclc.models.layers.spectral_band import SpectralBand  # noqa: E402
from osclc.models.layers.spectral_conv import SpectralConv2d  # noqa: E402
from osclc.models.networks.plan import default_plan  # noqa: E402
from osclc.models.networks.sclc import SCLC  # noqa: E402
from osclc.models.networks.teachers import AlexNetTeacher  # noqa: E402
from osclc.storage import save_figure  # noqa: E402

SIZES = [32, 64, 128, 224, 256, 512, 1024]
QUICK_SIZES = [32, 128, 224, 512]
BATCHES = [1, 64]
CHANNELS, CLASSES = 3, 10
MODELS = ("teacher", "sclc", "folded")
REFUSED = 3  # exit status when heavy load keeps the figures from being recorded


def _memory_estimate(name: str, student: SCLC, teacher: AlexNetTeacher, size: int, batch: int) -> float:
    """Rough peak bytes of one forward: weights / cached kernel spectra plus the largest activations."""
    if name == "teacher":
        weights = sum(p.numel() for p in teacher.parameters()) * 4
        first = teacher.features[0]
        out = (size - 1) // first.stride[0] + 1
        return weights + 3 * batch * first.out_channels * out * out * 4
    if name == "folded":  # the input itself, its (2R x N) row transforms, the backend weights
        return batch * CHANNELS * size * size * 4 * 1.5 + sum(p.numel() for p in student.backend.parameters()) * 4
    band = SpectralBand.window(student.frontend.out_size, hermitian=True)
    bins = len(band.rows) * len(band.cols)
    convs = [layer for layer in student.frontend.layers if isinstance(layer, SpectralConv2d)]
    spectra = sum(layer.in_channels * layer.out_channels * bins * 8.0 for layer in convs)
    activation = max([batch * CHANNELS * size * student.frontend.pad * 8.0] + [batch * layer.out_channels * bins * 8.0 for layer in convs])
    return spectra + 3 * activation


def folded_flops(folded: FoldedSCLC, batch: int) -> dict[str, float]:
    """Floating-point operations of one folded forward on ``batch`` real images, by stage (closed forms).

    Partial DFTs: ``[2R, N] @ x @ [N, 2C]`` with R = h // 2 + 1 rows (Hermitian half) and
    C = w (+1 for even w) columns, 2 flops per multiply-add; Hermitian combination: 2 real adds
    per complex bin; channel mix: a complex product (6) per input channel plus complex adds (2);
    inverse FFT: 5 n log2 n per h x w plane (n = h w); detector: ``re^2 + im^2`` (3) for
    ``intensity``, none for the linear readouts; backend: gain and offset (2 per feature) then
    its linear layers (2 per weight; an MLP adds its hidden biases).
    """
    n, (h, w) = folded.input_size, folded.out_size
    c_in, c_out = folded.in_channels, folded.out_channels
    rows, cols = 2 * (h // 2 + 1), 2 * (w + 1 - w % 2)
    planes_in, planes_out, bins = batch * c_in, batch * c_out, h * w
    backend = folded.backend
    features = backend.channels * backend.height * backend.width
    if backend.kind == "linear":
        head = 2.0 * features * backend.num_classes
    else:
        head = 2.0 * features * backend.hidden + backend.hidden + 2.0 * backend.hidden * backend.num_classes
    return {
        "partial_dft_rows": 2.0 * rows * n * n * planes_in,
        "partial_dft_cols": 2.0 * rows * n * cols * planes_in,
        "hermitian_combine": 2.0 * (rows // 2) * (cols // 2) * planes_in,
        "channel_mix": (8.0 * c_in - 2.0) * bins * planes_out,
        "inverse_fft": 5.0 * bins * math.log2(bins) * planes_out if bins > 1 else 0.0,
        "detector": 3.0 * bins * planes_out if folded.detector == "intensity" else 0.0,
        "backend": batch * (2.0 * features + head),
    }


def matmul_probe(folded: FoldedSCLC, x: torch.Tensor) -> tuple[Callable[[], torch.Tensor], float]:
    """A torch matmul of the folded path's largest product (``[2R, N] @ x``, random left factor) and its flops."""
    rows = 2 * (folded.out_size[0] // 2 + 1)
    left = torch.rand(rows, x.shape[-2], dtype=x.dtype, device=x.device)
    return (lambda: left @ x), 2.0 * rows * x.numel()


def compute_floor(folded: FoldedSCLC, batch: int, folded_times: dict[str, float], probe_times: dict[str, float], probe_flops: float) -> dict[str, Any]:
    """The folded path's FLOPs at the measured matmul rate, and how many times that floor it takes (min and median)."""
    flops = folded_flops(folded, batch)
    total = sum(flops.values())
    out: dict[str, Any] = {"flops": flops, "total_flops": total}
    for stat in ("min", "median"):
        rate = probe_flops / probe_times[f"{stat}_s"]
        out[f"matmul_gflops_{stat}"] = rate / 1e9
        out[f"floor_s_{stat}"] = total / rate
        out[f"measured_over_floor_{stat}"] = folded_times[f"{stat}_s"] * rate / total
    return out


def _sync(device: torch.device) -> Callable[[], None] | None:
    return (lambda: torch.cuda.synchronize(device)) if device.type == "cuda" else None


def measure_size(size: int, device: torch.device, memory_budget: float, point_budget_s: float, seconds: float) -> tuple[list[dict[str, Any]], dict[str, Any], list[dict[str, float]]]:
    """Timings of the three models at one input size on one device, interleaved per batch.

    Returns the points (one per model and batch; the folded one with its compute floor), the
    plan info and the load snapshots taken before and after each batch's timing.
    """
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
    snapshots: list[dict[str, float]] = []
    batch_one: dict[str, float] = {}
    sync = _sync(device)
    for batch in BATCHES:
        group: dict[str, dict[str, Any]] = {}
        for name in MODELS:
            point: dict[str, Any] = {"device": device.type, "model": name, "size": size, "batch": batch}
            points.append(point)
            estimate = _memory_estimate(name, student, teacher, size, batch)
            if estimate > memory_budget:
                point["skipped"] = f"estimated memory {estimate / 2**30:.1f} GiB > budget {memory_budget / 2**30:.1f} GiB"
            elif batch > 1 and name in batch_one and batch_one[name] * batch > point_budget_s:
                point["skipped"] = f"batch-1 time {batch_one[name]:.2f} s predicts > {point_budget_s:.0f} s per call at batch {batch}"
            else:
                group[name] = point
        if not group:
            continue
        x = torch.rand(batch, CHANNELS, size, size, device=device)
        calls: dict[str, Callable[[], object]] = {name: (lambda model=models[name]: model(x)) for name in group}
        if "folded" in group:
            calls["matmul"], probe_flops = matmul_probe(folded, x)
        with torch.no_grad():
            once = {name: time_call(call, repeat=1, warmup=1, sync=sync)["median_s"] for name, call in calls.items()}  # warm-up: caches, plans
            repeat = int(min(20, max(3, seconds / max(sum(once.values()), 1e-6))))
            before = load_snapshot()
            timed = time_interleaved(calls, repeat=repeat, warmup=0, sync=sync)
            after = load_snapshot()
        snapshots += [before, after]
        for name, point in group.items():
            point.update(timed[name])
            point["load"] = {"load_1min_before": before["load_1min"], "load_1min_after": after["load_1min"], "cpu_count": after["cpu_count"]}
            if batch == 1:
                batch_one[name] = point["median_s"]
        if "folded" in group:
            group["folded"]["floor"] = compute_floor(folded, batch, timed["folded"], timed["matmul"], probe_flops)
        del x, calls
    del teacher, student, folded, models
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return points, info, snapshots


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


def _refuse(verdict: dict[str, Any], when: str) -> int:
    print(f"heavy load {when}: 1-min load average {verdict['excess_load']:.2f} beyond this benchmark's {verdict['own_threads']} thread(s) "
          f"exceeds {verdict['limit']:.1f} (half of {verdict['cpu_count']} CPUs); figures not recorded. Rerun on a quiet machine, "
          "or pass --allow-load to record them marked as taken under load.", file=sys.stderr)
    return REFUSED


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"sizes {QUICK_SIZES} only")
    parser.add_argument("--sizes", type=int, nargs="+", help="input sizes to measure (overrides --quick)")
    parser.add_argument("--device", choices=("cpu", "cuda", "all"), default="all", help="where to measure (all = CPU and CUDA if present)")
    parser.add_argument("--memory-gib", type=float, default=3.0, help="CPU memory budget per point (GiB)")
    parser.add_argument("--point-s", type=float, default=15.0, help="skip batch 64 when batch 1 predicts more seconds per call")
    parser.add_argument("--seconds", type=float, default=1.0, help="about how long the timed rounds of one (size, batch) take (s; 3 to 20 rounds)")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0 = torch's default)")
    parser.add_argument("--allow-load", action="store_true", help="record figures taken under heavy load (marked so in the JSON)")
    parser.add_argument("--out-dir", type=Path, default=RESULTS, help="folder for forward_time.json/.png")
    args = parser.parse_args(argv)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    threads = torch.get_num_threads()
    first = load_verdict([load_snapshot()], threads, args.allow_load)
    if first["heavy"] and not args.allow_load:
        return _refuse(first, "before the start")
    devices = [torch.device("cpu")] if args.device in ("cpu", "all") else []
    if args.device in ("cuda", "all") and torch.cuda.is_available():
        devices.append(torch.device("cuda"))
    if not devices:
        print("no CUDA device here; use --device cpu", file=sys.stderr)
        return 2
    sizes = args.sizes or (QUICK_SIZES if args.quick else SIZES)
    points: list[dict[str, Any]] = []
    plans: list[dict[str, Any]] = []
    snapshots: list[dict[str, float]] = []
    for device in devices:
        budget = args.memory_gib * 2**30 if device.type == "cpu" else 0.4 * torch.cuda.get_device_properties(device).total_memory
        for size in sizes:
            size_points, info, size_snapshots = measure_size(size, device, budget, args.point_s, args.seconds)
            points += size_points
            snapshots += size_snapshots
            plans.append({"device": device.type, **info})
            shown = ", ".join(f"{p['model']}/b{p['batch']}: " + (f"{p['median_s'] * 1e3:.2f} ms (min {p['min_s'] * 1e3:.2f})" if "median_s" in p else "skipped") for p in size_points)
            load = ", ".join(f"{s['load_1min']:.2f}" for s in size_snapshots)
            print(f"{device.type} N={size} (P={info['pad']}, h={info['out_size']}): {shown}; 1-min load {load} on {size_snapshots[-1]['cpu_count'] if size_snapshots else '?'} CPUs", flush=True)
    headline = speedups(points, 224, 1)
    for device, ratios in headline.items():
        print(f"{device}: 224x224 batch 1: " + ", ".join(f"{k} = {v:.2f}x" for k, v in ratios.items()))
    for point in points:
        if "floor" in point and point["size"] == 224:
            floor = point["floor"]
            print(f"{point['device']}: folded 224x224 batch {point['batch']}: {floor['total_flops'] / 1e6:.2f} MFLOP, matmul {floor['matmul_gflops_min']:.1f} GFLOP/s, "
                  f"floor {floor['floor_s_min'] * 1e3:.3f} ms, measured {point['min_s'] * 1e3:.3f} ms = {floor['measured_over_floor_min']:.1f}x the floor (min)")
    verdict = load_verdict([load_snapshot(), *snapshots], threads, args.allow_load)
    if verdict["heavy"] and not args.allow_load:
        return _refuse(verdict, "during the measurement")
    figures = {
        "quick": args.quick,
        "sizes": sizes,
        "load": verdict,
        "plans": plans,
        "points": points,
        "speedup_224_batch1": headline,
        "speedup_224_batch64": speedups(points, 224, 64),
        "goal": "teacher / folded >= 100 and teacher / sclc >= 1 at 224 x 224, batch 1, same device (paper: 31.7x SCLC vs AlexNet)",
        "goal_met": {device: {"folded": ratios.get("teacher_over_folded_median", math.nan) >= 100, "sclc": ratios.get("teacher_over_sclc_median", math.nan) >= 1}
                     for device, ratios in headline.items()},
    }
    path = write_result("forward_time", figures, args.out_dir)
    plot(points, args.out_dir / "forward_time.png")
    print(f"wrote {path} and {path.with_suffix('.png')}" + (" (taken under heavy load: --allow-load)" if verdict["heavy"] else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
