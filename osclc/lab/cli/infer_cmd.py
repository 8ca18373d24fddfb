"""``osclc infer --bench CONFIG --program DIR --dataset SPEC [--limit N]``: the infer job (:mod:`osclc.lab.jobs.infer`,
pipelined optical inference recorded in a run) from the command line."""

from __future__ import annotations

import argparse
from pathlib import Path

from osclc.lab.config.files import load_config
from osclc.lab.jobs.context import JobContext
from osclc.lab.jobs.infer import InferOptions, infer
from osclc.lab.loop.config import LoopConfig
from osclc.models.torch_device import select_device


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``infer`` command."""
    p = sub.add_parser(
        "infer",
        help="run a compiled optical program on a bench over a dataset: per-frame records, accuracy, latency report",
    )
    p.add_argument("--bench", required=True, help="bench config YAML (kind: bench)")
    p.add_argument("--program", required=True, help="optical program folder (osclc compile)")
    p.add_argument("--dataset", required=True, help="dataset spec, e.g. digits")
    p.add_argument("--limit", type=int, default=None, help="only the first N images of the split")
    p.add_argument("--split", default="test", choices=("train", "val", "test"), help="dataset split (default test)")
    p.add_argument("--loop", default=None, help="loop config YAML (kind: loop); default: the built-in defaults")
    p.add_argument("--student", default=None, help="student checkpoint: its backend when the program stores none; timed as a baseline")
    p.add_argument("--teacher", default=None, help="teacher checkpoint, timed as a digital baseline")
    p.add_argument("--seed", type=int, default=0, help="dataset split seed (default 0, as in training)")
    p.set_defaults(func=handler)


def handler(args: argparse.Namespace) -> int:
    """Handler of ``osclc infer``."""
    options = InferOptions(
        bench=load_config(args.bench, kind="bench"), program=Path(args.program), dataset=args.dataset,
        loop=load_config(args.loop, kind="loop") if args.loop else LoopConfig(), limit=args.limit, split=args.split,
        seed=args.seed, student=_path(args.student), teacher=_path(args.teacher),
    )
    device = select_device(args.device)
    result = infer(options, JobContext(device=device, runs_dir=args.runs_dir))
    m = result.metrics
    acc = m["accuracy"]
    lat = m["latency"]
    print(
        f"accuracy {100 * acc['accuracy']:.2f} % [{100 * acc['low']:.2f}, {100 * acc['high']:.2f}] over {acc['n']} images "
        f"({m['lost_frames']} lost) on {device}"
    )
    e2e = lat["end_to_end"]
    fps = lat.get("throughput_fps")
    print(
        f"latency p50 {e2e['p50_ms']:.3f} ms, p99 {e2e['p99_ms']:.3f} ms (predicted {result.budget.latency_s * 1e3:.3f} ms); "
        + (f"throughput {fps:.1f} frames/s (predicted {result.budget.throughput_fps:.1f})" if fps else "")
    )
    print(f"run {result.folder}  (report: latency.md, latency_hist.png, latency_breakdown.png)")
    return 0


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None
