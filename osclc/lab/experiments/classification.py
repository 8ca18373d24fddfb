"""``osclc experiment classification``: the paper's Tables II and III on one dataset, over several seeds.

Variants (all trained on the same split; test accuracy per seed):

- ``teacher``: the AlexNet-style ReLU CNN; ``sq_teacher``: the same with square activations;
- ``sclc`` / ``sclc_kd``: the linear student (detector ``none``, the paper's SCLC), without / with KD;
- ``sq_kd``: the SQ network trained with KD from the ReLU teacher (paper's "SQ-Nonlinear + KD");
- ``detector_sclc`` / ``detector_sclc_kd``: the student with the camera's square law
  (detector ``intensity``, what a bench realises), without / with KD;
- ``sclc_maxpool``: Table III's ablation, max-pool instead of spectral pool (no KD);
- ``backend_only``: Table III's ablation, no frontend (the backend on the detected input).

Teachers (and the SQ rows) use the teacher config's optimiser, students the student config's
(default: the bundled digits configs; for another ``--dataset`` their layer plan is replaced by
the default plan for its input size).
KD uses the teacher of the same seed. The KD weight alpha and temperature T of each KD variant
are chosen on the **validation** split with the first seed (grid ``--alphas`` x
``--temperatures``), then used for every seed; the test split is only used for the table.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any, Literal, overload

import torch
from torch import nn

from osclc.lab.experiments.common import Variant, load_role_configs, parse_floats, select_variants, training_progress, variant_config
from osclc.lab.experiments.results import VariantResult
from osclc.lab.runs import Run
from osclc.models.data.arrays import DatasetSplits
from osclc.models.data.spec import load_dataset
from osclc.models.training.config import KDConfig, TrainConfig
from osclc.models.training.evaluation import evaluate_classifier
from osclc.models.training.trainer import train_model

HELP = "the paper's Tables II and III (teacher, SQ, SCLC, KD, detector, ablations) over seeds"
DEFAULT_DATASET = "digits"
METRIC = "accuracy"
PLAN_FIELDS = ("channels", "kernel_size", "strides", "pools", "head_hidden")
"""ArchConfig fields of the layer plan (reset to the default plan for datasets other than the bundled configs')."""


VARIANTS: tuple[Variant, ...] = (
    Variant("teacher", "ReLU CNN (AlexNet-style)", {"variant": "teacher"}, "teacher"),
    Variant("sq_teacher", "square-activation CNN (SQ)", {"variant": "sq_teacher"}, "teacher"),
    Variant("sclc", "SCLC, linear (detector none)", {"variant": "sclc", "detector": "none"}, "student"),
    Variant("sclc_kd", "SCLC + KD", {"variant": "sclc", "detector": "none"}, "student", kd=True),
    Variant("sq_kd", "SQ + KD", {"variant": "sq_teacher"}, "teacher", kd=True),
    Variant("detector_sclc", "SCLC + intensity detector (bench)", {"variant": "sclc", "detector": "intensity"}, "student"),
    Variant("detector_sclc_kd", "SCLC + intensity detector + KD", {"variant": "sclc", "detector": "intensity"}, "student", kd=True),
    Variant("sclc_maxpool", "ablation: max-pool instead of spectral pool", {"variant": "sclc_maxpool", "detector": "none"}, "student"),
    Variant("backend_only", "ablation: backend only (no frontend)", {"variant": "backend_only", "detector": "none"}, "student"),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the classification experiment (besides the shared --dataset/--seeds/--epochs)."""
    parser.add_argument("--teacher-config", help="train config of the teachers and SQ rows (default: bundled train-teacher-digits.yaml)")
    parser.add_argument("--student-config", help="train config of the students (default: bundled train-student-digits.yaml)")
    parser.add_argument("--image-size", type=int, help="square input size (pixels; default: the configs')")
    parser.add_argument("--alphas", type=parse_floats, default=[0.1, 0.5], help="KD alpha grid searched on validation (default 0.1,0.5)")
    parser.add_argument("--temperatures", type=parse_floats, default=[2.0, 6.0], help="KD temperature grid (default 2,6)")
    parser.add_argument("--variants", help="comma-separated subset of: " + ", ".join(v.name for v in VARIANTS))


class _Trainer:
    """Trains variants on one dataset and records a row per training in the run."""

    def __init__(self, configs: dict[str, TrainConfig], data: DatasetSplits, device: torch.device, run: Run,
                 progress: Callable[[str], None]) -> None:
        self.configs, self.data, self.device, self.run, self.progress = configs, data, device, run, progress

    @overload
    def train(self, variant: Variant, seed: int, teacher: nn.Module | None, kd: KDConfig | None,
              selection: Literal[False] = False) -> tuple[nn.Module, float | None, float]: ...
    @overload
    def train(self, variant: Variant, seed: int, teacher: nn.Module | None, kd: KDConfig | None,
              selection: Literal[True]) -> tuple[nn.Module, float | None, None]: ...

    def train(self, variant: Variant, seed: int, teacher: nn.Module | None, kd: KDConfig | None,
              selection: bool = False) -> tuple[nn.Module, float | None, float | None]:
        """Train one variant; returns (model, validation accuracy, test accuracy) and logs a row.

        ``selection``: a KD-setting trial, judged on validation only (the test split is not touched,
        the row goes to the ``kd_selection`` stream).
        """
        config = variant_config(self.configs, variant, seed, kd)
        started = time.perf_counter()
        result = train_model(config, self.data, teacher=teacher if variant.kd else None, device=self.device, progress=False)
        val = result.history[-1].val_accuracy if result.history else None
        row: dict[str, Any] = {
            "variant": variant.name, "seed": seed, "val_accuracy": val, "epochs": config.epochs,
            "alpha": kd.alpha if kd else None, "temperature": kd.temperature if kd else None,
        }
        test = None
        if not selection:
            accuracy = evaluate_classifier(result.model, self.data.test, self.data.num_classes, self.device,
                                           config.eval_batch_size).accuracy
            test = accuracy.value
            row.update(test_accuracy=test, test_low=accuracy.low, test_high=accuracy.high, n_test=accuracy.total)
        row["seconds"] = time.perf_counter() - started
        self.run.append("kd_selection" if selection else "trainings", [row])
        shown = f", test {100 * test:.2f} %" if test is not None else " (selection)"
        self.progress(f"{variant.name} seed {seed}" + (f" alpha {kd.alpha} T {kd.temperature}" if kd else "")
                      + f": val {'-' if val is None else f'{100 * val:.2f} %'}{shown}")
        return result.model, val, test


def run(args: argparse.Namespace, run: Run, seeds: list[int], device: torch.device) -> tuple[list[VariantResult], dict[str, Any]]:
    """Train every selected variant for every seed; returns the results and the chosen KD settings."""
    configs = load_role_configs(args, "train-{role}-digits.yaml", PLAN_FIELDS)
    variants = select_variants(VARIANTS, args.variants)
    teacher_config = configs["teacher"]
    data = load_dataset(teacher_config.dataset, teacher_config.image_size, teacher_config.channels,
                        teacher_config.split_seed, teacher_config.val_fraction)
    if data.task != "classification":
        raise ValueError(f"--dataset {data.spec}: is a {data.task} dataset; use 'osclc experiment {data.task}'")
    if len(data.val) == 0 and any(v.kd for v in variants):
        raise ValueError("val_fraction is 0: KD settings are chosen on the validation split; give the configs val_fraction > 0")
    print(f"experiment on {data.summary()}, seeds {seeds}", flush=True)
    grid = [KDConfig(alpha=a, temperature=t, t_squared=configs["student"].kd.t_squared)
            for a in args.alphas for t in args.temperatures]
    n_kd = sum(v.kd for v in variants)
    total = len(variants) * len(seeds) + n_kd * len(grid)
    with training_progress(total, args.no_progress) as progress:
        trainer = _Trainer(configs, data, device, run, progress)
        results = {v.name: VariantResult(v.name, v.description) for v in variants}
        teachers: dict[int, nn.Module] = {}
        chosen: dict[str, dict[str, float]] = {}
        for seed in seeds:
            for variant in (v for v in variants if not v.kd):
                model, _, test = trainer.train(variant, seed, None, None)
                results[variant.name].add(seed, test, len(data.test))
                if variant.name == "teacher":
                    teachers[seed] = model
        for variant in (v for v in variants if v.kd):
            scores = []
            for kd in grid:
                _, val, _ = trainer.train(variant, seeds[0], teachers[seeds[0]], kd, selection=True)
                scores.append((val if val is not None else -1.0, kd))
            best = max(scores, key=lambda item: item[0])[1]  # first of the best on ties
            chosen[variant.name] = {"alpha": best.alpha, "temperature": best.temperature, "t_squared": best.t_squared}
            results[variant.name].settings = dict(chosen[variant.name])
            for seed in seeds:
                _, _, test = trainer.train(variant, seed, teachers[seed], best)
                results[variant.name].add(seed, test, len(data.test))
    ordered = [results[v.name] for v in variants]
    extra = {
        "dataset": data.spec, "n_train": len(data.train), "n_val": len(data.val), "n_test": len(data.test),
        "kd_selected_on_validation": chosen, "kd_grid": {"alpha": args.alphas, "temperature": args.temperatures},
        "epochs": {role: c.epochs for role, c in configs.items()},
    }
    return ordered, extra
