"""``osclc latency RUN``: per-stage and end-to-end latency of an inference run, beside its budget and the digital baselines."""

from __future__ import annotations

import argparse

from osclc.lab.latency.report import write_latency_report
from osclc.lab.loop.frame_record import SEGMENT_NAMES
from osclc.lab.runs import find_run
from osclc.models.torch_device import select_device


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``latency`` command."""
    p = sub.add_parser(
        "latency",
        help="latency report of an inference run: p50/p95/p99 per stage, throughput, budget, digital baselines",
    )
    p.add_argument("run", help="run id (or unique prefix, or folder) of an `osclc infer` run (osclc demo prints the id of its own)")
    p.add_argument("--teacher", default=None, help="teacher checkpoint folder (default: the run's 'teacher' input)")
    p.add_argument("--student", default=None, help="student checkpoint folder (default: the run's 'student' input)")
    p.add_argument("--repeat", type=int, default=50, help="timed calls per digital baseline (default 50)")
    p.set_defaults(func=handler)


def handler(args: argparse.Namespace) -> int:
    folder = find_run(args.run, args.runs_dir)
    result = write_latency_report(folder, select_device(args.device), args.teacher, args.student, args.repeat)
    report = result["report"]
    print(f"{'stage':<28} {'p50 ms':>9} {'p95 ms':>9} {'p99 ms':>9} {'mean ms':>9}")
    for key, stats in report["segments"].items():
        print(f"{SEGMENT_NAMES.get(key, key):<28} {stats['p50_ms']:9.3f} {stats['p95_ms']:9.3f} {stats['p99_ms']:9.3f} {stats['mean_ms']:9.3f}")
    e2e = report["end_to_end"]
    print(f"{'end to end':<28} {e2e['p50_ms']:9.3f} {e2e['p95_ms']:9.3f} {e2e['p99_ms']:9.3f} {e2e['mean_ms']:9.3f}")
    if report.get("throughput_fps"):
        print(f"throughput {report['throughput_fps']:.1f} frames/s; {report['lost_frames']} lost of {report['total_frames']}")
    for name, b in result["baselines"].items():
        print(f"digital {name:<20} p50 {b['batch1']['p50_ms']:.3f} ms  p99 {b['batch1']['p99_ms']:.3f} ms  {b['throughput_fps']:.0f} img/s")
    print(f"report {folder / 'latency.md'}")
    return 0
