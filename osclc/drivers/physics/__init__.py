"""Device physics shared by calibration and the simulator (no simulator state): Zernike basis, SLM response, crosstalk
kernels of any shape, timing."""
