"""Plots a person looks at: calibration curves and training curves, written as PNGs into a run folder."""
