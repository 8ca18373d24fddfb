"""``osclc segment --bench CONFIG --calibration CAL --student CKPT``: the segment job (:mod:`osclc.lab.jobs.segment`)
from the command line.

Compiles each level of the trained student (one program per level), fits each level's readout on
validation images, runs the test images through the loop level by level, finishes them with the
electronic backend and compares with the digital folded student (pixel accuracy, mean IoU, Dice,
agreement), with each level's per-stage latency. Writes ``optical_segmentation.json`` in the run.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from osclc.calibration.compiler import MULTIPLEX
from osclc.calibration.encoding import ENCODINGS
from osclc.lab.config.files import load_config
from osclc.lab.jobs.context import JobContext
from osclc.lab.jobs.segment import DEFAULT_ENCODING, SegmentOptions, segment
from osclc.lab.loop.config import LoopConfig
from osclc.models.torch_device import select_device
from osclc.models.training.segmentation_metrics import format_scores


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``segment`` command."""
    p = sub.add_parser("segment", help="run a trained SCLC U-Net's frontend on a bench (one program per level) and score it")
    p.add_argument("--bench", required=True, help="bench config YAML (kind: bench), e.g. configs/bench-sim-realistic.yaml")
    p.add_argument("--calibration", required=True, help="calibration record of that bench (osclc calibrate all)")
    p.add_argument("--student", required=True, help="SCLC U-Net checkpoint (detector intensity)")
    p.add_argument("--dataset", help="dataset spec (default: the one the student was trained on)")
    p.add_argument("--limit", type=int, default=32, help="test images to run (default 32)")
    p.add_argument("--loop", help="loop config YAML (kind: loop); default: the built-in defaults")
    p.add_argument("--multiplex", choices=MULTIPLEX, default="auto", help="channel multiplexing of every level (default auto)")
    p.add_argument("--encoding", choices=ENCODINGS, default=DEFAULT_ENCODING, help=f"complex-mask encoding (default {DEFAULT_ENCODING})")
    p.add_argument("--exposure-s", type=_seconds,
                   help="camera exposure of each level's program (s), comma-separated, one per level; implies no auto-exposure")
    p.add_argument("--block", type=int, help="double-phase checkerboard square (SLM pixels; default: the compiler's); "
                   "1 leaves room for the P-wide windows of full-resolution levels")
    p.add_argument("--fixed-exposure", action="store_true",
                   help="no auto-exposure: keep --exposure-s, or the bench config's exposure, for every level")
    p.set_defaults(func=handler)


def _seconds(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: give exposures in seconds, comma-separated, e.g. 0.003,0.006,0.01") from exc
    if not values or any(v <= 0 for v in values):
        raise argparse.ArgumentTypeError(f"{text!r}: exposures must be > 0 s")
    return values


def handler(args: argparse.Namespace) -> int:
    """Handler of ``osclc segment``."""
    options = SegmentOptions(
        bench=load_config(args.bench, kind="bench"), calibration=Path(args.calibration), student=Path(args.student),
        dataset=args.dataset, limit=args.limit, loop=load_config(args.loop, kind="loop") if args.loop else LoopConfig(),
        multiplex=args.multiplex, encoding=args.encoding, block=args.block, fixed_exposure=args.fixed_exposure,
        exposures_s=tuple(args.exposure_s) if args.exposure_s else None,
    )
    done = segment(options, JobContext(device=select_device(args.device), runs_dir=args.runs_dir))
    result = done.segmentation
    print(f"optical: {format_scores(result.optical)}")
    print(f"digital: {format_scores(result.digital)}")
    print(f"pixel agreement {100 * result.agreement:.2f} % over {result.frames} images ({result.lost} lost)")
    for level in result.levels:
        e2e = level["latency"].get("end_to_end", {})
        print(f"level {level['level']}: {level['out_channels']} channels, {level['masks']} mask(s) ({level['multiplex']}), "
              f"latency p50 {e2e.get('p50_ms', float('nan')):.2f} ms")
    print(f"backend p50 {result.backend_ms_p50:.2f} ms per image; run {done.folder}")
    return 0
