"""Bench measurements (dark, Fourier geometry, LUT, wavefront, camera registration) and the compiler."""
