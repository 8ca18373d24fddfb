"""The registry of config kinds: the top-level ``kind`` of a YAML file -> its pydantic schema.

Each schema lives in the package that owns it (the bench in ``drivers``, training in ``models``,
the loop in ``lab``); this table is the one place the command line looks them up.
"""

from __future__ import annotations

from pydantic import BaseModel

KINDS: dict[str, type[BaseModel]] = {}

from osclc.lab.loop.config import LoopConfig  # noqa: E402

KINDS["loop"] = LoopConfig
from osclc.models.training.config import TrainConfig  # noqa: E402

KINDS["train"] = TrainConfig
from osclc.drivers.bench_config import BenchConfig  # noqa: E402

KINDS["bench"] = BenchConfig
