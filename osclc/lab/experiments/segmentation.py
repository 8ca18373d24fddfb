"""``osclc experiment segmentation``: the paper's Table IV on one dataset, over several seeds.

Variants (all trained on the same split; test pixel accuracy, mean IoU and Dice per seed, and
frames/s of one image at a time on this device):

- ``teacher``: the U-Net (ReLU, max-pool), labels only;
- ``sclc`` / ``sclc_kd``: the SCLC U-Net with a purely linear readout (detector ``none``, the
  paper's SCLC), without / with pixel-level KD from the teacher of the same seed;
- ``detector_sclc`` / ``detector_sclc_kd``: the same student read out by a camera (detector
  ``intensity``, what a bench realises), without / with KD: the bench's model;
- ``field_sclc_kd``: idealised coherent readout (detector ``field``: Re and Im) with KD.

Frames/s: the first-seed models, timed side by side after all training (so that every variant sees
the same machine load); students folded (one operator per level,
:func:`~osclc.models.networks.sclc_unet.fold_levels`): the digital deployment; the layer-by-layer rate too.
KD weight alpha and temperature T: the student config's, or with several ``--alphas`` /
``--temperatures`` the pair with the best **validation** mean IoU on the first seed (the test
split is only used for the table). ``predictions.png`` shows test images, their masks and each
variant's prediction (first seed) side by side; ``checkpoints/<variant>`` holds each variant's
first-seed model (e.g. for ``osclc segment``).
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from osclc.configs import bundled  # noqa: E402
from osclc.lab.config.files import load_config  # noqa: E402
from osclc.lab.experiments.common import Variant, parse_floats, select_variants, training_progress  # noqa: E402
from osclc.lab.experiments.results import VariantResult  # noqa: E402
from osclc.lab.loop.device_timing import repeat_timing  # noqa: E402
from osclc.lab.runs import Run  # noqa: E402
from osclc.models.data.arrays import ArraySplit, DatasetSplits  # noqa: E402
from osclc.models.data.spec import load_dataset  # noqa: E402
from osclc.models.networks.sclc_unet import SCLCUNet, fold_levels  # noqa: E402
from osclc.models.training.checkpoints import save_checkpoint  # noqa: E402
from osclc.models.training.config import KDConfig, TrainConfig  # noqa: E402
from osclc.models.training.evaluation import mean_interval  # noqa: E402
from osclc.models.training.segmentation_metrics import ConfusionMatrix  # noqa: E402
from osclc.models.training.trainer import train_model  # noqa: E402
from osclc.storage import save_figure, save_text  # noqa: E402

HELP = "the paper's Table IV (U-Net teacher, SCLC U-Net, KD, detector variants) over seeds"
DEFAULT_DATASET = "shapes"
METRIC = "mean_iou"
FIGURES = ("pixel_accuracy", "mean_iou", "dice")
TIMING_REPEAT = 20

VARIANTS: tuple[Variant, ...] = (
    Variant("teacher", "U-Net (ReLU, max-pool)", {"variant": "unet"}, "teacher"),
    Variant("sclc", "SCLC U-Net, linear readout (detector none)", {"variant": "sclc_unet", "detector": "none"}, "student"),
    Variant("sclc_kd", "SCLC U-Net + KD", {"variant": "sclc_unet", "detector": "none"}, "student", kd=True),
    Variant("detector_sclc", "SCLC U-Net + intensity detector (bench)", {"variant": "sclc_unet", "detector": "intensity"}, "student"),
    Variant("detector_sclc_kd", "SCLC U-Net + intensity detector + KD", {"variant": "sclc_unet", "detector": "intensity"}, "student", kd=True),
    Variant("field_sclc_kd", "SCLC U-Net + field readout (Re, Im) + KD", {"variant": "sclc_unet", "detector": "field"}, "student", kd=True),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the segmentation experiment (besides the shared --dataset/--seeds/--epochs)."""
    parser.add_argument("--teacher-config", help="train config of the teacher (default: bundled train-teacher-shapes.yaml)")
    parser.add_argument("--student-config", help="train config of the students (default: bundled train-student-shapes.yaml)")
    parser.add_argument("--image-size", type=int, help="square input size (pixels; default: the configs')")
    parser.add_argument("--alphas", type=parse_floats, help="KD alpha grid searched on validation (default: the student config's)")
    parser.add_argument("--temperatures", type=parse_floats, help="KD temperature grid (default: the student config's)")
    parser.add_argument("--variants", help="comma-separated subset of: " + ", ".join(v.name for v in VARIANTS))
    parser.add_argument("--examples", type=int, default=4, help="test images shown in predictions.png (default 4)")


def _configs(args: argparse.Namespace) -> dict[str, TrainConfig]:
    configs: dict[str, TrainConfig] = {}
    for role in ("teacher", "student"):
        config = load_config(getattr(args, f"{role}_config") or bundled(f"train-{role}-shapes.yaml"), kind="train")
        configs[role] = config
    shared: dict[str, Any] = {"teacher": None, "dataset": args.dataset}
    if args.image_size:
        shared["image_size"] = args.image_size
    if args.epochs:
        shared["epochs"] = args.epochs
    data_fields = ("image_size", "channels", "split_seed", "val_fraction")
    data_settings = {k: getattr(configs["teacher"], k) for k in data_fields} | {k: v for k, v in shared.items() if k in data_fields}
    return {role: TrainConfig.model_validate(c.model_dump() | shared | data_settings) for role, c in configs.items()}


@torch.no_grad()
def evaluate_segmentation(model: nn.Module, split: ArraySplit, num_classes: int, device: torch.device,
                          batch_size: int = 64) -> dict[str, float]:
    """Pixel accuracy, mean IoU and Dice of ``model`` on ``split`` (255 = ignore), model in eval mode."""
    model.eval()
    matrix = ConfusionMatrix(num_classes)
    for start in range(0, len(split), batch_size):
        x, y = split.batch(torch.arange(start, min(start + batch_size, len(split))))
        matrix.update(model(x.to(device)).cpu(), y)
    return matrix.summary()


@torch.no_grad()
def frames_per_second(model: nn.Module, channels: int, image_size: int, device: torch.device,
                      repeat: int = TIMING_REPEAT) -> float:
    """Images per second of ``model`` on one ``[1, channels, S, S]`` image at a time (median of ``repeat``)."""
    model.eval()
    x = torch.rand(1, channels, image_size, image_size, device=device)
    times = sorted(repeat_timing(lambda: model(x), device, repeat))
    return 1000.0 / times[len(times) // 2]


def deployable(model: nn.Module) -> nn.Module:
    """The form a trained model runs in: students folded (one operator per level), teachers as they are."""
    return fold_levels(model) if isinstance(model, SCLCUNet) else model


class _Trainer:
    """Trains variants on one dataset, scores and times them, and records a row per training."""

    def __init__(self, configs: dict[str, TrainConfig], data: DatasetSplits, device: torch.device, run: Run,
                 progress: Callable[[str], None]) -> None:
        self.configs, self.data, self.device, self.run, self.progress = configs, data, device, run, progress

    def config(self, variant: Variant, seed: int, kd: KDConfig | None) -> TrainConfig:
        base = self.configs[variant.base]
        updates: dict[str, Any] = {"arch": base.arch.model_dump() | variant.arch, "seed": seed}
        if kd is not None:
            updates["kd"] = kd.model_dump()
        return TrainConfig.model_validate(base.model_dump() | updates)

    def train(self, variant: Variant, seed: int, teacher: nn.Module | None, kd: KDConfig | None,
              stream: str, split: str = "test", keep: bool = False) -> tuple[nn.Module, dict[str, float]]:
        """Train one variant; returns (model, scores on ``split``) and logs a row.

        ``keep``: save the trained model as ``checkpoints/<variant>`` in the run (for ``osclc segment``).
        """
        config = self.config(variant, seed, kd)
        started = time.perf_counter()
        result = train_model(config, self.data, teacher=teacher if variant.kd else None, device=self.device, progress=False)
        seconds = time.perf_counter() - started
        if keep:
            save_checkpoint(self.run.path("checkpoints") / variant.name, result.model, result.meta)
        scores = evaluate_segmentation(result.model, getattr(self.data, split), self.data.num_classes, self.device)
        row = {"variant": variant.name, "seed": seed, "split": split, "epochs": config.epochs, "seconds": seconds,
               "alpha": kd.alpha if kd else None, "temperature": kd.temperature if kd else None, **scores}
        self.run.append(stream, [row])
        self.progress(f"{variant.name} seed {seed}" + (f" alpha {kd.alpha} T {kd.temperature}" if kd else "")
                      + f" ({split}): pixel acc {100 * scores['pixel_accuracy']:.2f} %, mIoU {100 * scores['mean_iou']:.2f} %, "
                      + f"Dice {100 * scores['dice']:.2f} % ({seconds:.0f} s)")
        return result.model, scores


def run(args: argparse.Namespace, run: Run, seeds: list[int], device: torch.device) -> tuple[list[VariantResult], dict[str, Any]]:
    """Train every selected variant for every seed; returns the mean-IoU results and the other figures."""
    if args.examples < 0:
        raise ValueError(f"--examples {args.examples}: must be >= 0")
    configs = _configs(args)
    variants = select_variants(VARIANTS, args.variants)
    base = configs["teacher"]
    data = load_dataset(base.dataset, base.image_size, base.channels, base.split_seed, base.val_fraction)
    if data.task != "segmentation":
        raise ValueError(f"--dataset {data.spec}: is a {data.task} dataset; use 'osclc experiment {data.task}'")
    student_kd = configs["student"].kd
    grid = [KDConfig(alpha=a, temperature=t, t_squared=student_kd.t_squared)
            for a in (args.alphas or [student_kd.alpha]) for t in (args.temperatures or [student_kd.temperature])]
    if len(grid) > 1 and len(data.val) == 0 and any(v.kd for v in variants):
        raise ValueError("val_fraction is 0: KD settings are chosen on the validation split; give the configs val_fraction > 0")
    print(f"experiment on {data.summary()}, seeds {seeds}", flush=True)
    n_kd = sum(v.kd for v in variants)
    total = len(variants) * len(seeds) + (n_kd * len(grid) if len(grid) > 1 else 0)
    with training_progress(total, args.no_progress) as progress:
        trainer = _Trainer(configs, data, device, run, progress)
        results = {v.name: VariantResult(v.name, v.description) for v in variants}
        figures: dict[str, dict[str, list[float]]] = {v.name: {} for v in variants}
        teachers: dict[int, nn.Module] = {}
        examples: dict[str, nn.Module] = {}

        def record(variant: Variant, seed: int, model: nn.Module, scores: dict[str, float]) -> None:
            results[variant.name].add(seed, scores[METRIC], len(data.test))
            for key, value in scores.items():
                figures[variant.name].setdefault(key, []).append(value)
            if seed == seeds[0]:
                examples[variant.name] = model

        for seed in seeds:
            for variant in (v for v in variants if not v.kd):
                model, scores = trainer.train(variant, seed, None, None, "trainings", keep=seed == seeds[0])
                record(variant, seed, model, scores)
                if variant.name == "teacher":
                    teachers[seed] = model
        for variant in (v for v in variants if v.kd):
            best = grid[0]
            if len(grid) > 1:
                trials = [(trainer.train(variant, seeds[0], teachers[seeds[0]], kd, "kd_selection", "val")[1][METRIC], kd)
                          for kd in grid]
                best = max(trials, key=lambda item: item[0])[1]  # first of the best on ties
            results[variant.name].settings = {"alpha": best.alpha, "temperature": best.temperature, "t_squared": best.t_squared}
            for seed in seeds:
                model, scores = trainer.train(variant, seed, teachers[seed], best, "trainings", keep=seed == seeds[0])
                record(variant, seed, model, scores)
    if args.examples:
        plot_predictions(examples, data, min(args.examples, len(data.test)), run.path("predictions.png"), device)
    ordered = [results[v.name] for v in variants]
    extra = {
        "dataset": data.spec, "task": "segmentation", "image_size": data.image_size, "num_classes": data.num_classes,
        "class_names": list(data.class_names), "device": str(device),
        "figures": {name: {key: _summary(values) for key, values in per.items()} for name, per in figures.items()},
        "rates": measure_rates(examples, data.channels, data.image_size, device),
    }
    run.set_metrics(rates=extra["rates"])
    return ordered, extra


def measure_rates(models: dict[str, nn.Module], channels: int, image_size: int, device: torch.device,
                  rounds: int = 3) -> dict[str, dict[str, float]]:
    """Frames/s of every model side by side (after all training, interleaved ``rounds`` times, best round kept):
    ``frames_per_s`` in the deployed form (students folded), ``frames_per_s_layer_by_layer`` for students."""
    forms = {(name, "frames_per_s"): deployable(model) for name, model in models.items()}
    forms |= {(name, "frames_per_s_layer_by_layer"): model for name, model in models.items() if isinstance(model, SCLCUNet)}
    rates: dict[str, dict[str, float]] = {name: {} for name in models}
    for _ in range(rounds):
        for (name, key), model in forms.items():
            rate = frames_per_second(model, channels, image_size, device)
            rates[name][key] = max(rates[name].get(key, 0.0), rate)
    return rates


def _summary(values: list[float]) -> dict[str, Any]:
    stats = mean_interval(values)
    half = None if math.isnan(stats.half_width) else stats.half_width
    return {"mean": stats.mean, "half_width": half, "per_seed": list(values)}


@torch.no_grad()
def plot_predictions(models: dict[str, nn.Module], data: DatasetSplits, count: int, path: Any, device: torch.device) -> None:
    """Rows of test images: input, ground truth, then each model's predicted labels."""
    x, y = data.test.batch(torch.arange(count))
    columns = ["input", "ground truth", *models]
    fig, axes = plt.subplots(count, len(columns), figsize=(1.8 * len(columns), 1.8 * count + 0.3), squeeze=False, dpi=110)
    predictions = {name: model.eval()(x.to(device)).argmax(dim=1).cpu() for name, model in models.items()}
    shown = {"input": None, "ground truth": y, **predictions}
    for row in range(count):
        for col, name in enumerate(columns):
            ax = axes[row][col]
            if name == "input":
                image = x[row].permute(1, 2, 0).numpy()
                ax.imshow(image[..., 0] if image.shape[2] == 1 else image, cmap="gray", vmin=0, vmax=1)
            else:
                labels = shown[name][row].clone()
                labels[labels == 255] = 0
                ax.imshow(labels.numpy(), cmap="tab20", vmin=0, vmax=max(19, data.num_classes - 1), interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title(name, fontsize=8)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)


def write_tables(run: Run, results: list[VariantResult], extra: dict[str, Any], title: str, note: str) -> str:
    """Rewrite results.md as the Table IV analogue (pixel accuracy, mean IoU, Dice, frames/s); returns it."""
    lines = [f"### {title}", "", note, "",
             "| variant | model | pixel accuracy (%) | mean IoU (%) | Dice (%) | frames/s (folded) | seeds | n_test |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for result in results:
        per = extra["figures"][result.name]
        cells = [_cell(per[key], 100.0, 2) for key in FIGURES]
        rate = extra["rates"].get(result.name, {}).get("frames_per_s")
        lines.append(f"| `{result.name}` | {result.description} | {' | '.join(cells)} | "
                     f"{f'{rate:.0f}' if rate else '-'} | {len(result.seeds)} | {result.n_test} |")
    settings = [f"`{r.name}`: alpha {r.settings['alpha']}, T {r.settings['temperature']}" for r in results if r.settings]
    if settings:
        lines += ["", "KD settings: " + "; ".join(settings) + "."]
    lines += ["", f"Frames/s: one image at a time on {extra['device']} ({extra['image_size']} x {extra['image_size']} input), "
              "first-seed models timed side by side after training (median of repeated calls, best of 3 interleaved rounds); "
              "students folded (one operator per level). Example predictions: predictions.png."]
    table = "\n".join(lines) + "\n"
    save_text(run.path("results.md"), table)
    return table


def _cell(summary: dict[str, Any], scale: float, digits: int) -> str:
    mean, half = scale * summary["mean"], summary["half_width"]
    return f"{mean:.{digits}f} ± {scale * half:.{digits}f}" if half is not None else f"{mean:.{digits}f}"
