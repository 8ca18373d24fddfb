"""Pieces every ``osclc experiment <task>`` shares: variants, the teacher/student configs, option parsing.

A task module lists its :class:`Variant` rows, loads its two base configs with
:func:`load_role_configs` (the teacher's and the students'), derives each training's config with
:func:`variant_config`, and picks the rows asked for with :func:`select_variants`.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from tqdm import tqdm

from osclc.configs import bundled
from osclc.lab.config.files import load_config
from osclc.models.training.config import KDConfig, TrainConfig

ROLES = ("teacher", "student")
DATA_FIELDS = ("dataset", "image_size", "channels", "split_seed", "val_fraction")
"""TrainConfig fields that fix the data; every training of an experiment takes them from the teacher config."""


@dataclass(frozen=True)
class Variant:
    """One row of a table: its name, what it is, the architecture changes, its base config and KD."""

    name: str
    description: str
    arch: dict[str, Any]
    base: str  # "teacher" or "student": whose config (optimiser, epochs, plan) it trains with
    kd: bool = False


def parse_floats(text: str) -> list[float]:
    """argparse type: ``"0.1,0.5"`` -> ``[0.1, 0.5]``."""
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: give comma-separated numbers, e.g. 0.1,0.5") from exc
    if not values:
        raise argparse.ArgumentTypeError("give at least one value")
    return values


def load_role_configs(args: argparse.Namespace, bundled_name: str, plan_fields: Sequence[str] = ()) -> dict[str, TrainConfig]:
    """The teacher and student configs of an experiment, with the command's overrides applied.

    Each comes from ``args.<role>_config`` or the bundled ``bundled_name.format(role=role)``;
    ``args.dataset`` / ``args.image_size`` / ``args.epochs`` override both; the data fields of the
    students follow the teacher config. ``plan_fields`` (ArchConfig fields) of a bundled config
    are reset to the default plan when ``--dataset`` differs from the bundled config's dataset.
    """
    configs: dict[str, TrainConfig] = {}
    for role in ROLES:
        given = getattr(args, f"{role}_config", None)
        config = load_config(given or bundled(bundled_name.format(role=role)), kind="train")
        if plan_fields and not given and args.dataset and args.dataset != config.dataset:
            config = config.model_copy(update={"arch": config.arch.model_copy(update=dict.fromkeys(plan_fields))})
        configs[role] = config
    shared: dict[str, Any] = {"teacher": None}
    if args.dataset:
        shared["dataset"] = args.dataset
    if getattr(args, "image_size", None):
        shared["image_size"] = args.image_size
    if args.epochs:
        shared["epochs"] = args.epochs
    teacher = configs["teacher"]
    data = {k: getattr(teacher, k) for k in DATA_FIELDS} | {k: v for k, v in shared.items() if k in DATA_FIELDS}
    return {role: TrainConfig.model_validate(c.model_dump() | shared | data) for role, c in configs.items()}


def variant_config(configs: dict[str, TrainConfig], variant: Variant, seed: int, kd: KDConfig | None = None) -> TrainConfig:
    """The config one training of ``variant`` uses: its base config, its arch changes, the seed, the KD setting."""
    base = configs[variant.base]
    updates: dict[str, Any] = {"arch": base.arch.model_dump() | variant.arch, "seed": seed}
    if kd is not None:
        updates["kd"] = kd.model_dump()
    return TrainConfig.model_validate(base.model_dump() | updates)


def select_variants(variants: Sequence[Variant], names: str | None) -> list[Variant]:
    """The variants named in ``names`` (comma-separated; all when empty), in table order, plus the teacher if KD needs it."""
    known = {v.name: v for v in variants}
    wanted = [n.strip() for n in (names or ",".join(known)).split(",") if n.strip()]
    unknown = [n for n in wanted if n not in known]
    if unknown:
        raise ValueError(f"--variants: unknown {unknown}; known: {', '.join(known)}")
    if any(known[n].kd for n in wanted) and "teacher" not in wanted:
        wanted.insert(0, "teacher")  # KD needs the teacher of each seed
    return [known[n] for n in known if n in wanted]


@contextlib.contextmanager
def training_progress(total: int, disable: bool) -> Iterator[Callable[[str], None]]:
    """A "trainings" progress bar of ``total`` steps, closed on exit; yields the callback each finished training
    calls with its summary line (the bar advances and the line is printed above it)."""
    bar = tqdm(total=total, desc="trainings", disable=disable)

    def progress(line: str) -> None:
        bar.update(1)
        tqdm.write(line)

    try:
        yield progress
    finally:
        bar.close()
