"""``osclc demo``: the demo job (:mod:`osclc.lab.jobs.demo`: train, calibrate, compile, run optically, fine-tune)
from the command line, printing one table (no arguments needed)."""

from __future__ import annotations

import argparse

from tqdm import tqdm

from osclc.lab.jobs.context import JobContext
from osclc.lab.jobs.demo import DemoSettings, format_table, lost_accuracy_summary, run_demo
from osclc.models.torch_device import select_device


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``demo`` command."""
    p = sub.add_parser(
        "demo",
        help="the whole job on the simulated realistic bench: teacher + KD student on digits, calibration, compile, "
        "optical inference, fine-tuning; prints accuracy and latency",
    )
    p.add_argument("--quick", action="store_true", help="a reduced demo (1 epoch each, few images) that runs in about a minute")
    p.set_defaults(func=handler)


def handler(args: argparse.Namespace) -> int:
    """Handler of ``osclc demo``."""
    settings = DemoSettings.quick() if args.quick else DemoSettings()
    result = run_demo(settings, JobContext(device=select_device(args.device), runs_dir=args.runs_dir, say=tqdm.write))
    latency = result.rows[-2]
    print()
    print(format_table(result.rows, result.stages, result.predicted_ms))
    print()
    print(lost_accuracy_summary(result))
    print(f"optical loop: p50 {latency['p50_ms']:.2f} ms, p99 {latency['p99_ms']:.2f} ms, {latency['throughput_fps']:.1f} images/s")
    print(f"demo took {result.seconds:.0f} s")
    print(f"run {result.folder}  (demo.md, latency.md, latency_hist.png, latency_breakdown.png; "
          f"inference run {result.infer_run.name}, fine-tuning run {result.finetune_run.name})")
    return 0

