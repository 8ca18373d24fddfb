"""Subcommands of ``osclc``: each module here has ``register(subparsers)`` adding one command.

A command exists only once it works; add its module to :data:`COMMANDS` in the order ``--help`` lists them.
"""

COMMANDS = [
    "osclc.lab.commands.config_cmd",
    "osclc.lab.commands.runs_cmd",
]
