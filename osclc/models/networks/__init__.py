"""Networks: AlexNet-style teachers, U-Net, SCLC students (classification and U-Net), network plans and architecture configs.

``ArchConfig`` (a :class:`ClassificationArch` or a :class:`SegmentationArch`) says which network,
``build_model`` builds it. Names are imported on first use.
"""

from osclc.models.lazy_exports import lazy_exports

TYPE_CHECKING = False
if TYPE_CHECKING:
    from osclc.models.networks.architecture import (
        CLASSIFICATION_VARIANTS,
        SEGMENTATION_VARIANTS,
        ArchConfig,
        ClassificationArch,
        SegmentationArch,
        build_model,
    )
    from osclc.models.networks.classification_arch import resolve_plan
    from osclc.models.networks.frontend import MaxPoolFrontend, SpectralFrontend
    from osclc.models.networks.plan import ALEXNET, LayerPlan, NetworkPlan, default_plan
    from osclc.models.networks.sclc import SCLC
    from osclc.models.networks.sclc_unet import FoldedSCLCUNet, SCLCUNet, fold_levels
    from osclc.models.networks.teachers import AlexNetTeacher
    from osclc.models.networks.unet import UNet, UNetShapeError, default_unet_channels

__all__ = [
    "ALEXNET", "CLASSIFICATION_VARIANTS", "SCLC", "SEGMENTATION_VARIANTS", "AlexNetTeacher", "ArchConfig", "ClassificationArch",
    "FoldedSCLCUNet", "LayerPlan", "MaxPoolFrontend", "NetworkPlan", "SCLCUNet", "SegmentationArch", "SpectralFrontend", "UNet", "UNetShapeError", "build_model",
    "default_plan", "default_unet_channels", "fold_levels", "resolve_plan",
]

if not TYPE_CHECKING:  # a module __getattr__ would let type checkers accept any attribute
    __getattr__, __dir__ = lazy_exports(__name__, __file__, __all__)
