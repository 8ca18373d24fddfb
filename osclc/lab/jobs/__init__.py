"""Workflows as plain functions (calibrate, compile, train, infer, finetune, segment, demo): the CLI, the demo, benchmarks and notebooks all call these."""
