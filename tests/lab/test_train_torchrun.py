"""``osclc train`` under ``torchrun --nproc_per_node 2`` (DDP, gloo, 2 CPU processes) on digits, 1 epoch.

Two processes with half the global batch each take the same optimiser steps as one process with
the whole batch, so the weights must agree with a single-process run up to float rounding.
"""

from __future__ import annotations

import os
import subprocess
import sys

import torch
import yaml

from osclc.lab.runs import read_run
from osclc.models.training.checkpoints import load_checkpoint
from osclc.models.data.spec import load_dataset
from osclc.models.training.config import TrainConfig
from osclc.models.training.trainer import train_model


def test_torchrun_two_processes_match_one(tmp_path):
    data = {"kind": "train", "dataset": "digits", "epochs": 1, "batch_size": 64, "seed": 3,
            "arch": {"variant": "teacher"}, "optimiser": {"name": "adam", "lr": 0.01}}
    config_path = tmp_path / "t.yaml"
    config_path.write_text(yaml.safe_dump(data))
    runs = tmp_path / "runs"
    env = dict(os.environ, OMP_NUM_THREADS="1", OSCLC_RUNS_DIR=str(runs))
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
        "-m", "osclc", "--device", "cpu", "train", "teacher", "--config", str(config_path), "--no-progress",
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    (run,) = sorted(runs.iterdir())  # only rank 0 writes a run
    info = read_run(run)
    assert info.status == "completed" and len(info.records("epochs")) == 1
    two, _ = load_checkpoint(run / "checkpoints" / "last")

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        one = train_model(TrainConfig.model_validate(data), load_dataset("digits"), progress=False).model
    finally:
        torch.set_num_threads(threads)
    reference = one.state_dict()
    for key, value in two.state_dict().items():
        assert torch.allclose(value, reference[key], rtol=1e-4, atol=1e-5), key
    assert info.metrics()["test_accuracy"] > 0.5
