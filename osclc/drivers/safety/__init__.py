"""Hardware safety of a bench: interrupting signals, the safe-state report, the bench lock and the laser supervisor.

- :mod:`~osclc.drivers.safety.signals`: SIGINT, SIGTERM, SIGHUP and SIGQUIT become one interrupt, deferred during cleanup;
- :mod:`~osclc.drivers.safety.safe_state`: what each device's cleanup gave (ok / failed with the error), for the CLI and runs;
- :mod:`~osclc.drivers.safety.lock`: one process owns a bench's devices at a time;
- :mod:`~osclc.drivers.safety.supervisor`: a watchdog process that switches the laser off when its owner dies.
"""
