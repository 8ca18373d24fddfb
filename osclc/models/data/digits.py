"""``digits``: scikit-learn's bundled 8 x 8 handwritten digits (1797 images, 10 classes), the default dataset.

The images ship inside scikit-learn, so nothing is downloaded. Pixel values 0..16 become
amplitudes value / 16 in [0, 1]. The split is fixed by the seed (default 0): 20 % of the images
(stratified by class) are the test split, and ``val_fraction`` of the rest is validation.
"""

from __future__ import annotations

import numpy as np

from osclc.models.data.arrays import DatasetError, DatasetRequest, DatasetSplits, check_channels, make_splits, prepare_images

TEST_FRACTION = 0.2
"""Share of the 1797 digits held out as the test split (360 images)."""


def load_digits(request: DatasetRequest) -> DatasetSplits:
    """The digits dataset as amplitude images ``[N, C, S, S]`` (native 1 x 8 x 8)."""
    if request.argument:
        raise DatasetError(f"digits: takes no argument, got 'digits:{request.argument}'; use the spec 'digits'")
    check_channels(request.channels, "digits")
    from sklearn.datasets import load_digits as sklearn_digits  # imported here: sklearn takes ~1 s to import

    bunch = sklearn_digits()
    amplitude = (np.asarray(bunch.images, dtype=np.float32) / 16.0)[:, :, :, None]
    images = prepare_images(amplitude, request.image_size, request.channels, "digits")
    targets = np.asarray(bunch.target, dtype=np.int64)
    names = tuple(str(n) for n in bunch.target_names)
    return make_splits(request, "digits", (images, targets), None, 10, names, test_fraction=TEST_FRACTION)
