"""Hardware-in-the-loop fine-tuning: retrain the electronic backend on the features the camera really gives.

:func:`finetune_program` captures the train / val / test splits through the bench with the
pipelined loop and retrains the backend with :func:`finetune_backend`; the optical frontend stays
as compiled. Two steps, both on the training split's captured features:

1. per-channel gain/offset: the least-squares line from each camera channel to the digital
   student's features of the same images (closed form), folded into the backend's ``gain`` and
   ``offset`` so the backend starts from what it was trained on;
2. the whole backend (gain, offset, head) trained with cross-entropy on the captured features
   (Adam, full batches), keeping the epoch with the best accuracy on the captured validation split.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from osclc.calibration.program import OpticalProgram
from osclc.calibration.record import bench_config_hash
from osclc.drivers.bench import open_bench
from osclc.drivers.bench_config import BenchConfig
from osclc.lab.backend_files import save_backend
from osclc.lab.jobs.context import DEFAULT_CONTEXT, JobContext
from osclc.lab.jobs.infer import resolve_backend
from osclc.lab.loop.config import LoopConfig
from osclc.lab.loop.runner import run_loop
from osclc.lab.plots.training import plot_finetune_history
from osclc.lab.runs import Run
from osclc.models.data.spec import load_dataset
from osclc.models.folding import fold
from osclc.models.layers.backend import Backend
from osclc.models.training.checkpoints import load_checkpoint


def fit_channel_affine(camera: np.ndarray, digital: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per channel ``c`` the ``(a_c, b_c)`` minimising ``sum (a_c * camera + b_c - digital)^2`` over images and pixels.

    ``camera`` and ``digital`` are ``[N, C, h, w]``; a channel whose camera values are constant gets
    ``a = 0`` and ``b = mean(digital)``.
    """
    if camera.shape != digital.shape or camera.ndim != 4:
        raise ValueError(f"camera features {camera.shape} and digital features {digital.shape} must both be [N, C, h, w]")
    cam = camera.transpose(1, 0, 2, 3).reshape(camera.shape[1], -1).astype(np.float64)
    dig = digital.transpose(1, 0, 2, 3).reshape(digital.shape[1], -1).astype(np.float64)
    cam_mean, dig_mean = cam.mean(axis=1), dig.mean(axis=1)
    cov = ((cam - cam_mean[:, None]) * (dig - dig_mean[:, None])).mean(axis=1)
    var = ((cam - cam_mean[:, None]) ** 2).mean(axis=1)
    gain = np.where(var > 0, cov / np.where(var > 0, var, 1.0), 0.0)
    return gain, dig_mean - gain * cam_mean


@dataclass
class FinetuneResult:
    """The retrained backend, validation accuracy before/after (on captured features) and the epoch history."""

    backend: Backend
    val_accuracy_before: float
    val_accuracy_after: float
    best_epoch: int
    history: list[dict[str, float]] = field(default_factory=list)


@torch.no_grad()
def _accuracy(backend: nn.Module, features: torch.Tensor, labels: torch.Tensor) -> float:
    return float((backend(features).argmax(dim=1) == labels).float().mean())


def finetune_backend(
    backend: Backend,
    train_features: np.ndarray,
    train_labels: np.ndarray,
    val_features: np.ndarray,
    val_labels: np.ndarray,
    digital_train_features: np.ndarray | None = None,
    epochs: int = 100,
    lr: float = 1e-2,
    seed: int = 0,
    device: torch.device | None = None,
) -> FinetuneResult:
    """A copy of ``backend`` (with ``gain``, ``offset`` per channel and a head) retrained on camera features.

    Frames lost in the capture (rows containing NaN) are left out. ``digital_train_features`` (the
    student's digital detector output for the same training images) enables step 1 of the module doc.
    """
    if epochs < 0 or lr <= 0:
        raise ValueError(f"fine-tuning needs epochs >= 0 and lr > 0, got epochs={epochs}, lr={lr}")
    device = device or torch.device("cpu")
    torch.manual_seed(seed)
    tuned = copy.deepcopy(backend).to(device).float().train()
    keep = ~np.isnan(train_features).reshape(len(train_features), -1).any(axis=1)
    keep_val = ~np.isnan(val_features).reshape(len(val_features), -1).any(axis=1)
    if keep.sum() == 0 or keep_val.sum() == 0:
        raise ValueError("fine-tuning: every captured training or validation frame was lost; check the bench")
    x = torch.as_tensor(train_features[keep], dtype=torch.float32, device=device)
    y = torch.as_tensor(train_labels[keep], dtype=torch.long, device=device)
    xv = torch.as_tensor(val_features[keep_val], dtype=torch.float32, device=device)
    yv = torch.as_tensor(val_labels[keep_val], dtype=torch.long, device=device)
    before = _accuracy(tuned.eval(), xv, yv)
    if digital_train_features is not None:
        a, b = fit_channel_affine(train_features[keep], digital_train_features[keep])
        with torch.no_grad():
            g0, o0 = tuned.gain.detach().clone(), tuned.offset.detach().clone()
            tuned.gain.copy_(g0 * torch.as_tensor(a, dtype=g0.dtype, device=device))
            tuned.offset.copy_(g0 * torch.as_tensor(b, dtype=g0.dtype, device=device) + o0)
    optimiser = torch.optim.Adam(tuned.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    best_state, best_acc, best_epoch = copy.deepcopy(tuned.state_dict()), _accuracy(tuned.eval(), xv, yv), 0
    history = [{"epoch": 0, "loss": float("nan"), "val_accuracy": best_acc}]
    for epoch in range(1, epochs + 1):
        tuned.train()
        optimiser.zero_grad()
        loss = loss_fn(tuned(x), y)
        loss.backward()
        optimiser.step()
        acc = _accuracy(tuned.eval(), xv, yv)
        history.append({"epoch": epoch, "loss": float(loss.detach()), "val_accuracy": acc})
        if acc > best_acc:
            best_state, best_acc, best_epoch = copy.deepcopy(tuned.state_dict()), acc, epoch
    tuned.load_state_dict(best_state)
    return FinetuneResult(tuned.eval(), before, best_acc, best_epoch, history)


@dataclass
class FinetuneReport:
    """Test accuracy of the student digitally, optically before and after fine-tuning, and where it went."""

    folder: Path
    digital: float | None
    before: float
    after: float
    recovered: float | None
    result: FinetuneResult
    backend_path: Path


def _predict(backend: nn.Module, features: np.ndarray, device: torch.device) -> np.ndarray:
    """Class per frame (-1 where the frame was lost: NaN features)."""
    lost = np.isnan(features).reshape(len(features), -1).any(axis=1)
    out = np.full(len(features), -1, dtype=np.int64)
    if (~lost).any():
        with torch.no_grad():
            x = torch.as_tensor(features[~lost], dtype=torch.float32, device=device)
            out[~lost] = backend.to(device).eval()(x).argmax(dim=1).cpu().numpy()
    return out


@dataclass(frozen=True)
class FinetuneOptions:
    """What to fine-tune on which bench.

    - ``bench``: the bench config the program was compiled for;
    - ``program``: the optical program folder; the retrained backend is saved into it;
    - ``dataset``: dataset spec, e.g. ``digits``; ``seed``: its split seed and the training seed;
    - ``loop``: the loop settings of the captures;
    - ``student``: student checkpoint: the starting backend when the program stores none, the digital
      accuracy, and the per-channel gain/offset fit;
    - ``epochs``: full-batch epochs of backend training (>= 0); ``lr``: Adam learning rate (> 0);
    - ``limit``: at most ``limit`` images of the train and val splits (the test split is whole).
    """

    bench: BenchConfig
    program: Path
    dataset: str
    loop: LoopConfig = field(default_factory=LoopConfig)
    student: Path | None = None
    epochs: int = 100
    lr: float = 1e-2
    seed: int = 0
    limit: int | None = None

    def __post_init__(self) -> None:
        if self.epochs < 0 or self.lr <= 0:
            raise ValueError(f"fine-tuning needs epochs >= 0 and lr > 0, got epochs={self.epochs}, lr={self.lr}")
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"--limit {self.limit}: give at least 1 image")


def finetune_program(
    options: FinetuneOptions, context: JobContext = DEFAULT_CONTEXT, test_features: np.ndarray | None = None,
) -> FinetuneReport:
    """Capture the train / val / test features of ``options.dataset`` through the bench, retrain the backend, save it.

    The frontend (the program) is unchanged; the backend stored in ``options.program`` (or the
    ``student``'s) is retrained on the captured training features and the result is written back
    into the program folder (``backend.safetensors`` / ``backend.json``). Test accuracy before and after
    is measured on the same captured test features; with ``student`` also the digital student's.
    ``test_features`` ``[n, C_out, h, w]``: features of the first ``n`` test images already captured
    through this program (e.g. by an ``osclc infer`` run, NaN for lost frames); the before/after
    comparison then uses exactly those frames and the test split is not captured again.
    """
    device, program_dir, student = context.device, options.program, options.student
    program = OpticalProgram.load(program_dir, bench_hash=bench_config_hash(options.bench))
    backend, backend_source = resolve_backend(program_dir, student, device)
    data = load_dataset(options.dataset, image_size=program.input_size, channels=program.in_channels, seed=options.seed)
    splits = {name: getattr(data, name) for name in ("train", "val", "test")}
    n_test = len(splits["test"]) if test_features is None else len(test_features)
    caps = {"train": options.limit, "val": options.limit, "test": n_test}
    arrays = {name: (s.x.numpy()[: caps[name]], s.y.numpy()[: caps[name]]) for name, s in splits.items()}
    expected = (len(arrays["test"][1]), program.out_channels, *program.out_size)
    if test_features is not None and tuple(test_features.shape) != expected:
        raise ValueError(f"test_features {tuple(test_features.shape)}: expected {expected} (first test images x program features)")
    inputs: dict[str, str | Path] = {"program": program_dir}
    if student:
        inputs["student"] = student
    config = {"bench": options.bench.model_dump(mode="json"), "loop": options.loop.model_dump(mode="json"),
              "dataset": options.dataset, "epochs": options.epochs, "lr": options.lr, "seed": options.seed, "limit": options.limit}
    with Run.create("finetune", config=config, inputs=inputs, device=str(device), root=context.runs_dir, argv=context.argv_list) as run:
        features = {} if test_features is None else {"test": np.asarray(test_features, dtype=np.float32)}
        with open_bench(options.bench, emission=True) as bench:
            for name, (x, y) in arrays.items():
                if name in features:
                    continue
                outcome = run_loop(bench, program, x, y, options.loop, run=run, stream=f"capture_{name}", keep_features=True,
                                   progress=f"capturing {name}" if context.progress else None)
                if outcome.features is None:
                    raise RuntimeError(f"capture_{name}: the loop returned no features although they were asked for")
                features[name] = outcome.features
        digital_train, digital_acc = None, None
        if student:
            model, _ = load_checkpoint(student, device=device)
            folded = fold(model).to(device).eval()
            with torch.no_grad():
                digital_train = folded.features(torch.as_tensor(arrays["train"][0], device=device)).cpu().numpy()
                test_pred = model(torch.as_tensor(arrays["test"][0], device=device)).argmax(dim=1).cpu().numpy()
            digital_acc = float(np.mean(test_pred == arrays["test"][1]))
        result = finetune_backend(
            backend, features["train"], arrays["train"][1], features["val"], arrays["val"][1],
            digital_train_features=digital_train, epochs=options.epochs, lr=options.lr, seed=options.seed, device=device,
        )
        y_test = arrays["test"][1]
        before = float(np.mean(_predict(backend, features["test"], device) == y_test))
        after = float(np.mean(_predict(result.backend, features["test"], device) == y_test))
        lost = None if digital_acc is None else digital_acc - before
        recovered = None if lost is None or lost <= 0 else (after - before) / lost
        run.append("finetune_epochs", result.history)
        summary = {
            "test_accuracy_digital": digital_acc, "test_accuracy_before": before, "test_accuracy_after": after,
            "recovered_fraction": recovered, "val_accuracy_before": result.val_accuracy_before,
            "val_accuracy_after": result.val_accuracy_after, "best_epoch": result.best_epoch,
            "backend_before": backend_source, "test_images": int(len(y_test)),
            "lost_frames": {name: int(np.isnan(f).reshape(len(f), -1).any(axis=1).sum()) for name, f in features.items()},
        }
        run.set_metrics(**summary)
        path = save_backend(program_dir, result.backend, {"source": "finetune", "run": run.run_id, **summary})
        plot_finetune_history(result.history, run.path("finetune.png"))
    return FinetuneReport(run.folder, digital_acc, before, after, recovered, result, path)
