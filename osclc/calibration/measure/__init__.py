"""Measuring the bench: dark and gain, LUT, far-field map, wavefront, fringing, camera registration, Fourier affine."""
