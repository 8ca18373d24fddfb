"""The simulated 4f bench: one exact optical model shared by the simulated SLM, input modulator and camera (``optics``,
``lens``; the SLM panel, camera sensor, input response, pixel-area integration and stray light / laser drift in their
own modules, including the effects the calibration does not model), random benches over a real bench's range
(``random_bench``), simulated lasers speaking their real protocols (pyvisa-sim YAML, serial), and fault injection."""
