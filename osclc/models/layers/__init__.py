"""Layers of the spectral student: spectral convolution and pooling on one padded grid, detector, electronic backend.

Names are imported on first use (``import osclc.models.layers`` alone does not import torch).
"""

from osclc.models.lazy_exports import lazy_exports

TYPE_CHECKING = False
if TYPE_CHECKING:
    from osclc.models.layers.backend import Backend, BackendKind
    from osclc.models.layers.detector import Detector, DetectorMode, detector_channels
    from osclc.models.layers.module_types import module_as
    from osclc.models.layers.spectral_band import SpectralBand
    from osclc.models.layers.spectral_conv import KernelKind, SpectralConv2d
    from osclc.models.layers.spectral_grid import (
        crop_centre,
        smooth_size,
        to_field,
        to_spectrum,
    )
    from osclc.models.layers.spectral_pool import NyquistMode, SpectralPool2d

__all__ = [
    "Backend", "BackendKind", "Detector", "DetectorMode", "KernelKind", "NyquistMode", "SpectralBand",
    "SpectralConv2d", "SpectralPool2d", "crop_centre", "detector_channels", "module_as", "smooth_size", "to_field", "to_spectrum",
]

if not TYPE_CHECKING:  # a module __getattr__ would let type checkers accept any attribute
    __getattr__, __dir__ = lazy_exports(__name__, __file__, __all__)
