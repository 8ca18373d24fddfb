"""Plots a person looks at, written as PNGs into a run folder: bench test frame, calibration curves, compiled
masks and captured vs predicted features, training curves, confusion matrices, backend fine-tuning (one matplotlib
setup for all: :mod:`osclc.lab.plots.figure`)."""
