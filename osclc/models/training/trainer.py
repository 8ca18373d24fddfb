"""The training loop: a teacher on the labels, or a student with KD from a frozen teacher.

- Determinism and exact resume: the initial weights come from ``config.seed``; at the start of
  every epoch the shuffling order is drawn from a generator seeded with (seed, epoch) and the
  global torch RNG is re-seeded with (seed, epoch, rank). An epoch therefore depends only on the
  weights and optimiser state at its start, which every checkpoint stores exactly (safetensors),
  so ``2 epochs`` and ``1 epoch + resume + 1 epoch`` give bit-identical weights on the CPU.
- Multi-process (torchrun, DDP): every process takes every ``world_size``-th index of the same
  permutation (the tail that does not divide evenly is dropped), with ``batch_size / world_size``
  images per step, so one step averages the gradient over the same ``batch_size`` images as a
  single process would. Only rank 0 writes checkpoints and calls ``on_epoch``.
- KD (paper eq. 8, :func:`osclc.models.training.kd.kd_loss`): the teacher is put in eval mode with
  ``requires_grad`` off and run under ``no_grad``; only the student's parameters are optimised.
- Accuracy counts argmax hits over every target element (images, or pixels for segmentation).
  Segmentation targets (per-pixel, ``[N, H, W]``) equal to
  :data:`~osclc.models.training.evaluation.SEGMENTATION_IGNORE_INDEX` (255, VOC's borders) are left out of
  the losses (cross-entropy and KD) and of the accuracies.
"""

from __future__ import annotations

import math
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from pydantic import TypeAdapter, ValidationError
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from osclc.models.data.arrays import ArraySplit, DatasetSplits
from osclc.models.data.augment import random_shift
from osclc.models.networks.architecture import ArchConfig, build_model
from osclc.models.training.checkpoints import (
    CheckpointError,
    CheckpointMeta,
    ResumeState,
    check_compatible,
    checkpoint_folder,
    load_checkpoint,
    load_resume_state,
    read_meta,
    save_checkpoint,
    unwrap,
)
from osclc.models.training.config import OptimiserConfig, TrainConfig
from osclc.models.training.distributed import ProcessInfo, process_info, sum_over_processes
from osclc.models.training.evaluation import SEGMENTATION_IGNORE_INDEX, counted
from osclc.models.training.kd import kd_loss
from osclc.storage import save_folder

LAST = "last"
BEST = "best"
_ARCH: TypeAdapter[ArchConfig] = TypeAdapter(ArchConfig)
RESUME_MAY_DIFFER = ("epochs", "teacher")
"""Config fields that may change when resuming (more epochs; the teacher's path, whose hash must match)."""


@dataclass(frozen=True)
class EpochResult:
    """Figures of one finished epoch (losses in nats per target element, accuracies as fractions)."""

    epoch: int
    train_loss: float
    train_accuracy: float
    val_loss: float | None
    val_accuracy: float | None
    lr: float
    seconds: float

    def as_row(self) -> dict[str, Any]:
        """The epoch as a plain dict (a run record row)."""
        return asdict(self)


@dataclass
class TrainResult:
    """A finished training: the model (unwrapped, eval mode), its metadata, history and checkpoints."""

    model: nn.Module
    meta: CheckpointMeta
    history: list[EpochResult] = field(default_factory=list)
    last: Path | None = None
    best: Path | None = None


def build_optimizer(parameters: Iterable[nn.Parameter], config: OptimiserConfig) -> torch.optim.Optimizer:
    """SGD with momentum (the paper's) or Adam, with L2 weight decay, at the initial learning rate."""
    params = [p for p in parameters if p.requires_grad]
    if config.name == "sgd":
        return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)
    return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)


def learning_rate(config: OptimiserConfig, epoch: int, epochs: int) -> float:
    """Learning rate of 0-based ``epoch`` of ``epochs``: constant, or cosine from ``lr`` towards 0."""
    if config.schedule == "constant":
        return config.lr
    return config.lr * 0.5 * (1.0 + math.cos(math.pi * epoch / epochs))


def epoch_seed(seed: int, epoch: int, rank: int = 0) -> int:
    """Seed of the randomness of 0-based ``epoch`` on process ``rank`` (shuffling uses rank 0's)."""
    return (seed * 1_000_003 + epoch) * 1_009 + rank


def _shard(n: int, seed: int, epoch: int, info: ProcessInfo) -> torch.Tensor:
    generator = torch.Generator().manual_seed(epoch_seed(seed, epoch))
    order = torch.randperm(n, generator=generator)
    usable = (n // info.world_size) * info.world_size
    return order[info.rank : usable : info.world_size]


@torch.no_grad()
def evaluate_loss_accuracy(
    model: nn.Module, split: ArraySplit, device: torch.device, batch_size: int = 256
) -> tuple[float | None, float | None]:
    """Mean cross-entropy and accuracy of ``model`` on ``split`` (summed over processes); None when empty."""
    info = process_info()
    was_training = model.training
    model.eval()
    totals = [0.0, 0.0, 0.0]  # loss sum, correct, count
    index = torch.arange(info.rank, len(split), info.world_size)
    for start in range(0, len(index), batch_size):
        x, y = split.batch(index[start : start + batch_size])
        x, y = x.to(device), y.to(device)
        logits = model(x)
        keep = counted(y)
        totals[0] += float(F.cross_entropy(logits, y, reduction="sum", ignore_index=_ignore_index(y)))
        totals[1] += float(((logits.argmax(dim=1) == y) & keep).sum())
        totals[2] += int(keep.sum())
    model.train(was_training)
    loss, correct, count = sum_over_processes(totals, device)
    if count == 0:
        return None, None
    return loss / count, correct / count


def _ignore_index(y: torch.Tensor) -> int:
    """``ignore_index`` for ``F.cross_entropy``: 255 for per-pixel targets, PyTorch's unused -100 otherwise."""
    return SEGMENTATION_IGNORE_INDEX if y.dim() > 1 else -100


def _hard_label_loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over the counted targets (0 with a gradient when a batch has none)."""
    if y.dim() == 1:
        return F.cross_entropy(logits, y)
    total = F.cross_entropy(logits, y, reduction="sum", ignore_index=SEGMENTATION_IGNORE_INDEX)
    return total / counted(y).sum().clamp(min=1)


def _saved_train_config(meta: CheckpointMeta) -> dict[str, Any]:
    """The training config saved with ``meta``, its architecture as today's schema dumps it.

    Checkpoints from before the classification / segmentation split hold a U-Net's
    architecture in the flat form (with the classification-only fields); an architecture that
    does not validate stays as saved, so it differs from any config.
    """
    saved = dict(meta.train_config or {})
    if "arch" in saved:
        try:
            saved["arch"] = _ARCH.validate_python(saved["arch"]).model_dump(mode="json")
        except ValidationError:
            pass
    return saved


def _check_resume_config(meta: CheckpointMeta, config: TrainConfig, source: str) -> None:
    saved = _saved_train_config(meta)
    ours = config.model_dump(mode="json")
    differ = [k for k in ours if k not in RESUME_MAY_DIFFER and saved.get(k) != ours[k]]
    if differ:
        details = ", ".join(f"{k}: checkpoint {saved.get(k)!r} vs config {ours[k]!r}" for k in differ)
        raise CheckpointError(f"{source}: cannot resume with a different training config ({details})")
    if config.epochs < meta.epoch:
        raise CheckpointError(f"{source}: already trained {meta.epoch} epochs, more than the config's epochs={config.epochs}")


def _check_resume_teacher(meta: CheckpointMeta, teacher_identity: dict[str, str] | None, source: str) -> None:
    """A KD run resumes only with the teacher it started with (same SHA-256), a plain run without one."""
    saved = (meta.teacher or {}).get("sha256")
    given = (teacher_identity or {}).get("sha256")
    if saved != given:
        raise CheckpointError(
            f"{source}: was trained with teacher {saved or 'none'} but is resumed with teacher {given or 'none'} "
            "(SHA-256 of the teacher checkpoint); resume with the same teacher"
        )


def _freeze(teacher: nn.Module, device: torch.device) -> nn.Module:
    teacher = unwrap(teacher).to(device)
    teacher.eval()
    for parameter in teacher.parameters():
        parameter.requires_grad_(False)
    return teacher


def train_model(
    config: TrainConfig,
    data: DatasetSplits,
    *,
    teacher: nn.Module | None = None,
    teacher_identity: dict[str, str] | None = None,
    device: torch.device | str = "cpu",
    checkpoint_dir: str | Path | None = None,
    resume: str | Path | None = None,
    on_epoch: Callable[[EpochResult], None] | None = None,
    progress: bool = True,
) -> TrainResult:
    """Train ``config.arch`` on ``data`` for ``config.epochs`` epochs; KD from ``teacher`` when given.

    ``checkpoint_dir``: ``last`` (weights + optimiser, for ``resume``) is written there after every
    epoch and ``best`` (highest validation accuracy) when it improves. ``resume``: a ``last``
    checkpoint of the same config to continue from. ``teacher_identity`` (path, sha256) is
    recorded in the checkpoints' metadata. ``on_epoch`` is called on rank 0 after each epoch.
    """
    device = torch.device(device)
    info = process_info()
    if config.batch_size % info.world_size:
        raise ValueError(
            f"batch_size={config.batch_size}: must be divisible by the {info.world_size} processes (it is the global batch)"
        )
    if config.augment_shift and data.task != "classification":
        raise ValueError(
            f"augment_shift={config.augment_shift}: shifts images without their {data.task} targets; set it to 0 for {data.spec}"
        )
    torch.manual_seed(config.seed)
    model = build_model(config.arch, data.channels, data.image_size, data.num_classes).to(device)
    meta = CheckpointMeta(
        arch=config.arch, in_channels=data.channels, image_size=data.image_size, num_classes=data.num_classes,
        task=data.task, dataset=data.spec, class_names=list(data.class_names),
        train_config=config.model_dump(mode="json"), teacher=teacher_identity,
    )
    optimizer = build_optimizer(model.parameters(), config.optimiser)
    history: list[EpochResult] = []
    best: dict[str, Any] = {}
    start_epoch = 0
    if resume is not None:
        folder = checkpoint_folder(resume)
        saved = read_meta(folder)
        check_compatible(saved, str(folder), config.arch, data.image_size, data.channels, data.num_classes)
        _check_resume_config(saved, config, str(folder))
        _check_resume_teacher(saved, teacher_identity, str(folder))
        loaded, _ = load_checkpoint(folder, device)
        model.load_state_dict(loaded.state_dict())
        state = load_resume_state(folder)
        optimizer.load_state_dict(state.optimizer)
        history = [EpochResult(**row) for row in state.history]
        best, start_epoch = dict(state.best), state.epoch
        meta = meta.model_copy(update={"epoch": saved.epoch, "metrics": saved.metrics})
    teacher_model = _freeze(teacher, device) if teacher is not None else None
    wrapped: nn.Module = model
    if info.world_size > 1:
        wrapped = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir is not None else None
    last_path = checkpoint_dir / LAST if checkpoint_dir else None
    best_path = checkpoint_dir / BEST if checkpoint_dir and best else None
    if best_path is not None and resume is not None and info.is_main and not best_path.exists():
        earlier = checkpoint_folder(resume).parent / BEST  # the resumed run's best so far
        if earlier.is_dir():
            with save_folder(best_path) as work:  # a kill mid-copy leaves no partial best
                shutil.copytree(earlier, work, dirs_exist_ok=True)
        else:
            best_path = None
    local_batch = config.batch_size // info.world_size
    for epoch in range(start_epoch, config.epochs):
        started = time.perf_counter()
        lr = learning_rate(config.optimiser, epoch, config.epochs)
        for group in optimizer.param_groups:
            group["lr"] = lr
        torch.manual_seed(epoch_seed(config.seed, epoch, info.rank))
        order = _shard(len(data.train), config.seed, epoch, info)
        wrapped.train()
        totals = torch.zeros(3, dtype=torch.float64, device=device)  # loss sum, correct, count (no per-step sync)
        steps = range(0, len(order), local_batch)
        bar = tqdm(steps, desc=f"epoch {epoch + 1}/{config.epochs}", leave=False, disable=not (progress and info.is_main))
        for step, start in enumerate(bar):
            x, y = data.train.batch(order[start : start + local_batch])
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            x = random_shift(x, config.augment_shift)  # training batches only (0 = unchanged)
            logits = wrapped(x)
            if teacher_model is None:
                loss = _hard_label_loss(logits, y)
            else:
                with torch.no_grad():
                    teacher_logits = teacher_model(x)
                loss = kd_loss(logits, teacher_logits, y, config.kd.alpha, config.kd.temperature, config.kd.t_squared,
                               ignore_index=SEGMENTATION_IGNORE_INDEX if y.dim() > 1 else None)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            with torch.no_grad():
                keep = counted(y)
                kept = keep.sum()
                totals[0] += loss.detach().double() * kept
                totals[1] += ((logits.argmax(dim=1) == y) & keep).sum()
                totals[2] += kept
            if not bar.disable and step % 10 == 0:
                bar.set_postfix(loss=f"{float(loss.detach()):.4f}")
        loss_sum, correct, count = sum_over_processes(totals.tolist(), device)
        val_loss, val_accuracy = evaluate_loss_accuracy(model, data.val, device, config.eval_batch_size)
        result = EpochResult(
            epoch=epoch + 1, train_loss=loss_sum / max(count, 1), train_accuracy=correct / max(count, 1),
            val_loss=val_loss, val_accuracy=val_accuracy, lr=lr, seconds=time.perf_counter() - started,
        )
        history.append(result)
        metrics = {k: v for k, v in result.as_row().items() if k in ("train_loss", "train_accuracy", "val_loss", "val_accuracy")}
        meta = meta.model_copy(update={"epoch": epoch + 1, "metrics": metrics})
        improved = val_accuracy is not None and val_accuracy > best.get("val_accuracy", -1.0)
        if improved:
            best = {"epoch": epoch + 1, "val_accuracy": val_accuracy}
        if info.is_main and checkpoint_dir is not None:
            resume_state = ResumeState(epoch + 1, optimizer.state_dict(), [h.as_row() for h in history], best)
            save_checkpoint(checkpoint_dir / LAST, model, meta, resume_state)
            if improved:
                best_path = save_checkpoint(checkpoint_dir / BEST, model, meta)
        if info.is_main and on_epoch is not None:
            on_epoch(result)
    optimizer.zero_grad(set_to_none=True)  # no stale gradients on the returned model
    model.eval()
    return TrainResult(model=model, meta=meta, history=history, last=last_path, best=best_path)
