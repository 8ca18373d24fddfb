"""Subcommands of ``osclc``: each module here has ``register(subparsers)`` adding one command.

A command exists only once it works; add its module to :data:`COMMANDS` in the order ``--help`` lists them.
"""

COMMANDS = [
    "osclc.lab.commands.config_cmd",
    "osclc.lab.commands.runs_cmd",
    "osclc.lab.commands.bench_cmd",
    "osclc.lab.commands.calibrate_cmd",
    "osclc.lab.commands.compile_cmd",
    "osclc.lab.commands.train_cmd",
    "osclc.lab.commands.eval_cmd",
    "osclc.lab.commands.experiment_cmd",
    "osclc.lab.commands.segment_cmd",
    "osclc.lab.commands.infer_cmd",
    "osclc.lab.commands.latency_cmd",
    "osclc.lab.commands.finetune_cmd",
    "osclc.lab.commands.demo_cmd",
]
