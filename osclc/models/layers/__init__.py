"""Layers of the spectral student: spectral convolution and pooling on one padded grid, detector, frontends, electronic backend."""
