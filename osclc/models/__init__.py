"""Learnable parts with no knowledge of hardware: layers, teachers, SCLC students, KD, folding, data."""
