"""``osclc compile CHECKPOINT --calib calib.json --bench CONFIG --out program/``: the compile job
(:mod:`osclc.lab.jobs.compile`) from the command line."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from osclc.calibration.compiler import ENCODING_CHOICES, MULTIPLEX
from osclc.lab.config.files import load_config
from osclc.lab.jobs.compile import CompileOptions, compile_student
from osclc.lab.jobs.context import JobContext


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``compile`` command."""
    parser = sub.add_parser("compile", help="compile a trained SCLC student into SLM patterns and a camera readout for a calibrated bench")
    parser.add_argument("checkpoint", help="student checkpoint folder (osclc train)")
    parser.add_argument("--calib", required=True, help="calibration record of this bench (.json, osclc calibrate)")
    parser.add_argument("--bench", required=True, help="bench config (YAML, kind: bench)")
    parser.add_argument("--out", required=True, help="program folder to write (new or empty)")
    parser.add_argument("--multiplex", choices=MULTIPLEX, default="auto", help="output channels in time (one mask each) or space (one mask); auto: the faster that fits")
    parser.add_argument("--encoding", choices=ENCODING_CHOICES, default="auto", help="complex -> phase encoding (auto: phase for a phase-only student, else double_phase)")
    parser.add_argument("--dataset", default=None, help="dataset spec for the normalisation images (default: the checkpoint's)")
    parser.add_argument("--normalise-images", type=int, default=16, help="validation images used to fit the feature gain/offset (>= 2)")
    parser.add_argument("--check-images", type=int, default=8, help="further validation images on which captured and digital features are compared")
    parser.add_argument("--force", action="store_true", help="keep a program that fails the bench check (program marked forced: true)")
    parser.set_defaults(func=_compile)


def _compile(args: argparse.Namespace) -> int:
    options = CompileOptions(
        checkpoint=Path(args.checkpoint), calibration=Path(args.calib), bench=load_config(args.bench, kind="bench"),
        out=Path(args.out), multiplex=args.multiplex, encoding=args.encoding, dataset=args.dataset,
        normalise_images=args.normalise_images, check_images=args.check_images, bench_file=Path(args.bench), force=args.force,
    )
    result = compile_student(options, JobContext(runs_dir=args.runs_dir))
    program, correlation = result.program, result.check_correlation
    rates = ", ".join(f"{mode} {rate:.3g} Hz" if rate is not None else f"{mode} does not fit" for mode, rate in program.frame_rate_hz.items())
    print(f"program: {result.program_dir} ({program.multiplex} multiplexing, {program.patterns.shape[0]} mask(s), {program.encoding} encoding; "
          f"predicted frame rate {rates}; compiled in {result.compile_s:.2f} s)")
    if program.captures > len(program.patterns):
        print(f"camera noise: {program.captures} captures per image (frames averaged per mask: {program.frames.tolist()})")
    print(f"camera vs digital features on {program.info['check']['images']} check images: correlation min {min(correlation):.4f}, "
          f"mean {np.mean(correlation):.4f}")
    if program.info["forced"]:
        print(f"FORCED: the program failed the bench check (threshold {program.info['check_threshold']:.4g}) and is "
              "marked forced: true; expect wrong features")
    print(f"run: {result.folder}")
    return 0
