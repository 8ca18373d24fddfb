"""Workflows as plain functions that the CLI, the demo, the benchmarks and notebooks all call.

Each job takes its typed options (a frozen dataclass: what to do, units in the field docs) and a
:class:`~osclc.lab.jobs.context.JobContext` (torch device, runs folder, ``say`` for progress lines), records
its own run, and returns a typed result; none parses argv or prints.

=================  ==========================  =========================  ======================
module             function                    options                    result
=================  ==========================  =========================  ======================
``bench_check``    ``check_bench``             ``BenchCheckOptions``      ``BenchCheckResult``
``calibrate``      ``calibrate_bench``         ``CalibrateOptions``       ``CalibrateResult``
``compile``        ``compile_student``         ``CompileOptions``         ``CompileResult``
``train``          ``train``                   ``TrainOptions``           ``TrainJobResult``
``evaluate``       ``evaluate_checkpoint``     ``EvalOptions``            ``EvalResult``
``infer``          ``infer``                   ``InferOptions``           ``InferResult``
``finetune``       ``finetune_program``        ``FinetuneOptions``        ``FinetuneReport``
``segment``        ``segment``                 ``SegmentOptions``         ``SegmentResult``
``demo``           ``run_demo``                ``DemoSettings``           ``DemoResult``
=================  ==========================  =========================  ======================

Import the module you need (``from osclc.lab.jobs.compile import CompileOptions, compile_student``): this
package imports none of them itself, so that one job does not load the others' dependencies.
"""
