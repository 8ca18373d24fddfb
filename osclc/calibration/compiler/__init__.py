"""The compiler: a folded student and a calibration record in, an optical program (SLM patterns, readout tables) out."""
