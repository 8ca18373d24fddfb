"""The pipelined loop shows one image per frame: a program that tiles several is refused before the bench is used."""

from __future__ import annotations

import numpy as np
import pytest

from osclc.calibration.compiler import compile_program
from osclc.calibration.record import CalibrationRecord
from osclc.drivers.bench import open_bench
from osclc.lab.loop.config import LoopConfig
from osclc.lab.loop.runner import run_loop
from tests.calibration.test_compiler import _compact_kernel, _config, _Folded


def test_loop_refuses_a_batched_program_naming_the_fix() -> None:
    config = _config()
    program = compile_program(_Folded(_compact_kernel(3, c_in=1, c_out=2)), CalibrationRecord.identity(config), config,
                              multiplex="time", images_per_frame=2)
    with open_bench(config) as bench:
        with pytest.raises(ValueError, match="images_per_frame=1"):
            run_loop(bench, program, np.zeros((2, 1, 8, 8), np.float32), None, LoopConfig(), progress=None)
        assert not bench.laser.status().emission  # refused before prepare switched emission on
