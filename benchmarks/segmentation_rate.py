"""Segmentation frames/s: U-Net teacher vs SCLC U-Net student (digital) vs student with an optical frontend.

At each input size (128^2, 256^2, 512^2; ``--quick``: 64^2, 128^2, 256^2 and fewer repeats), one
image at a time on this machine's torch device (CUDA when present), untrained weights (the rate
does not depend on them), the same channel plan for both networks:

- ``teacher``: the U-Net forward pass (contracting + expanding path);
- ``student_layers``: the SCLC U-Net layer by layer (FFT of the padded input, spectral layers, one
  inverse FFT per level readout), then its decoder;
- ``student_folded``: the folded student (one operator per level, partial DFTs), then its decoder:
  the digital deployment;
- ``student_optical``: the frontend on the bench (``bench-paper.yaml``: the paper's transfer-bound
  bench), predicted by the loop's budget model (:func:`osclc.lab.latency.budget.predict_budget`) with one
  space-multiplexed mask per level and the decoder time (``backend_s``) measured here. The host
  readout (camera pixels -> feature maps) is not included (``readout_s = 0``): it depends on the
  compiled program; the loop measures it.

Paper (Table IV, Carvana, their GPU and input size): U-Net 7.36 fps, OSCLC 12.7 fps (about 1.7x): the
up-convolution backend dominates the student's time.

Usage: ``python benchmarks/segmentation_rate.py [--quick]``; writes
``benchmarks/results/segmentation_rate.json`` and ``.png``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
import yaml  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, time_call, write_result  # noqa: E402

from osclc.configs import bundled  # noqa: E402
from osclc.drivers.bench_config import BenchConfig  # noqa: E402
from osclc.lab.latency.budget import predict_budget  # noqa: E402
from osclc.models.torch_device import select_device  # noqa: E402
from osclc.models.networks.sclc_unet import SCLCUNet, fold_levels  # noqa: E402
from osclc.models.networks.unet import UNet  # noqa: E402
from osclc.storage import save_figure  # noqa: E402

CHANNELS = [16, 32, 64, 128]
CLASSES = 2
PAPER = {"unet_fps": 7.36, "osclc_fps": 12.7, "dataset": "Carvana (Table IV)"}


def _seconds(fn, device: torch.device, repeat: int) -> float:
    sync = torch.cuda.synchronize if device.type == "cuda" else None
    return time_call(fn, repeat=repeat, warmup=1, sync=sync)["median_s"]


@torch.no_grad()
def measure(size: int, device: torch.device, repeat: int, bench: BenchConfig) -> dict:
    """Seconds per image and frames/s of every variant at ``size`` x ``size`` input."""
    torch.manual_seed(0)
    x = torch.rand(1, 1, size, size, device=device)
    teacher = UNet(1, CLASSES, CHANNELS).to(device).eval()
    student = SCLCUNet(1, CLASSES, CHANNELS, size, detector="intensity").to(device).eval()
    folded = fold_levels(student).eval()
    features = [f.detach() for f in folded.features(x)]
    times = {
        "teacher": _seconds(lambda: teacher(x), device, repeat),
        "student_layers": _seconds(lambda: student(x), device, repeat),
        "student_folded": _seconds(lambda: folded(x), device, repeat),
    }
    backend_s = _seconds(lambda: folded.backend(features), device, repeat)
    budget = predict_budget(bench, masks=len(folded.levels), readout_s=0.0, backend_s=backend_s)
    times["student_optical"] = 1.0 / budget.throughput_fps
    return {
        "size": size,
        "pad": student.pad,
        "seconds": times,
        "fps": {name: 1.0 / t for name, t in times.items()},
        "student_frontend_s": times["student_folded"] - backend_s,
        "decoder_s": backend_s,
        "optical_budget": budget.as_dict(),
        "speedup_vs_teacher": {name: times["teacher"] / t for name, t in times.items() if name != "teacher"},
    }


def plot(rows: list[dict], path: Path, device: str) -> None:
    """Frames/s against input size, one line per variant (log scales)."""
    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    for name in rows[0]["fps"]:
        ax.plot([r["size"] for r in rows], [r["fps"][name] for r in rows], marker="o", label=name)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("input size (pixels per side)")
    ax.set_ylabel("frames / s (batch 1)")
    ax.set_title(f"segmentation rate on {device}")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="sizes 64, 128, 256 and 3 repeats (busy CPU)")
    parser.add_argument("--device", default="auto", help="torch device (auto: CUDA when present)")
    args = parser.parse_args(argv)
    device = select_device(args.device)
    sizes, repeat = ((64, 128, 256), 3) if args.quick else ((128, 256, 512), 10)
    bench = BenchConfig.model_validate(yaml.safe_load(bundled("bench-paper.yaml").read_text()))
    rows = []
    for size in sizes:
        row = measure(size, device, repeat, bench)
        rows.append(row)
        print(f"{size:4d}^2: " + ", ".join(f"{k} {v:.2f} fps" for k, v in row["fps"].items()), flush=True)
    figures = {"device": str(device), "quick": args.quick, "repeat": repeat, "channels": CHANNELS, "classes": CLASSES,
               "bench": "bench-paper.yaml", "readout_included": False, "paper": PAPER, "rows": rows}
    path = write_result("segmentation_rate", figures)
    plot(rows, RESULTS / "segmentation_rate.png", str(device))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
