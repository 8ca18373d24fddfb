"""Subcommands of ``osclc``: each module here has ``register(subparsers)`` adding one command.

A command exists only once it works; add its module to :data:`COMMANDS` in the order ``--help`` lists them.
"""

COMMANDS = [
    "osclc.lab.cli.config_cmd",
    "osclc.lab.cli.runs_cmd",
    "osclc.lab.cli.bench_cmd",
    "osclc.lab.cli.calibrate_cmd",
    "osclc.lab.cli.compile_cmd",
    "osclc.lab.cli.train_cmd",
    "osclc.lab.cli.eval_cmd",
    "osclc.lab.cli.experiment_cmd",
    "osclc.lab.cli.segment_cmd",
    "osclc.lab.cli.infer_cmd",
    "osclc.lab.cli.latency_cmd",
    "osclc.lab.cli.finetune_cmd",
    "osclc.lab.cli.demo_cmd",
]
