"""U-Net teacher, SCLC U-Net student (readouts, folding per level), build/checkpoint and per-pixel KD training."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from osclc.models.networks.architecture import SegmentationArch, build_model
from osclc.models.training.checkpoints import load_checkpoint, save_checkpoint
from osclc.models.data.spec import load_dataset
from osclc.models.networks.sclc_unet import SCLCUNet, fold_levels, unet_pad
from osclc.models.training.config import TrainConfig
from osclc.models.training.trainer import train_model
from osclc.models.networks.unet import UNet, UNetShapeError, default_unet_channels


def test_unet_shapes_and_plan():
    torch.manual_seed(0)
    assert default_unet_channels(64) == [16, 32, 64, 128]
    assert default_unet_channels(16) == [16, 32]
    model = UNet(3, 5, [4, 8, 16])
    assert model(torch.rand(2, 3, 32, 32)).shape == (2, 5, 32, 32)
    assert [s.shape[-1] for s in model.skips(torch.rand(1, 3, 32, 32))] == [32, 16, 8]
    with pytest.raises(UNetShapeError, match="not divisible"):
        build_model(SegmentationArch(variant="unet", channels=[4, 8, 16]), 1, 30, 2)
    with pytest.raises(ValueError, match="pools"):  # a U-Net has no classification plan fields
        SegmentationArch(variant="sclc_unet", pools=[2, 2])  # type: ignore[call-arg]


def test_pad_keeps_the_image_window_on_whole_samples():
    for size, depth in ((32, 2), (64, 2), (64, 3), (96, 1)):
        pad = unet_pad(size, depth, 3)
        offset = (pad - size) // 2
        support = sum(2 * 2 * 2**level for level in range(depth + 1))
        assert offset % 2**depth == 0 and 2 * offset >= support and (pad - size) % 2 == 0


def test_level0_readout_is_the_linear_convolution_stack():
    """Independent reference: conv2d twice on the input zero-padded by the support, no crop between."""
    torch.manual_seed(1)
    model = SCLCUNet(2, 3, [3, 4], 16, kernel_size=3, detector="none").double()
    x = torch.rand(2, 2, 16, 16, dtype=torch.float64)
    first, second = model.layers[0].weight, model.layers[1].weight
    padded = F.pad(x, (4, 4, 4, 4))
    reference = F.conv2d(F.conv2d(padded, first, padding="same"), second, padding="same")[..., 4:-4, 4:-4]
    start, size = model.backend.window(0)
    readout = model.features(x)[0][..., start:start + size, start:start + size]
    torch.testing.assert_close(readout, reference, rtol=1e-9, atol=1e-9)


def test_readout_in_eval_mode_is_a_per_channel_gain_and_offset():
    torch.manual_seed(4)
    model = SCLCUNet(1, 2, [3, 4], 16)
    model(torch.rand(4, 1, 16, 16))  # one training-mode pass moves the running statistics
    model.eval()
    features = model.features(torch.rand(2, 1, 16, 16))
    for level, f in enumerate(features):
        gain, offset = model.backend.gain_offset(level)
        start, size = model.backend.window(level)
        crop = f[..., start:start + size, start:start + size]
        expected = crop * gain[None, :, None, None] + offset[None, :, None, None]
        torch.testing.assert_close(model.backend.calibrate(level, f), expected)


@pytest.mark.parametrize("detector, factor", [("intensity", 1), ("field", 2), ("none", 1)])
def test_student_levels_and_folding(detector, factor):
    torch.manual_seed(2)
    model = SCLCUNet(1, 4, [2, 3, 4], 32, detector=detector).double().eval()
    x = torch.rand(3, 1, 32, 32, dtype=torch.float64)
    features = model.features(x)
    pad = model.pad
    assert [tuple(f.shape[1:]) for f in features] == [(factor * c, pad // 2**l, pad // 2**l) for l, c in enumerate([2, 3, 4])]
    folded = fold_levels(model).eval()
    assert [tuple(level.kernel.shape) for level in folded.levels] == [(1, c, pad // 2**l, pad // 2**l) for l, c in enumerate([2, 3, 4])]
    for index, (level, field) in enumerate(zip(folded.levels, model.fields(x))):
        assert not hasattr(level, "backend")  # a level is a folded frontend + detector, nothing else
        torch.testing.assert_close(level.field(x), field, rtol=1e-8, atol=1e-10)
        unfolded = model.level_frontend(index)(x)  # the layer-by-layer frontend up to this level
        torch.testing.assert_close(level(x), model.detector(unfolded), rtol=1e-8, atol=1e-10)
    logits = model(x)
    assert logits.shape == (3, 4, 32, 32)
    torch.testing.assert_close(folded(x), logits, rtol=1e-8, atol=1e-8)


def test_checkpoint_round_trip(tmp_path):
    torch.manual_seed(3)
    arch = SegmentationArch(variant="sclc_unet", channels=[2, 4], detector="intensity")
    model = build_model(arch, 1, 16, 2).eval()
    x = torch.rand(1, 1, 16, 16)
    from osclc.models.training.checkpoints import CheckpointMeta

    meta = CheckpointMeta(arch=arch, in_channels=1, image_size=16, num_classes=2, task="segmentation", dataset="shapes")
    folder = save_checkpoint(tmp_path / "ckpt", model, meta)
    loaded, loaded_meta = load_checkpoint(folder, "cpu")
    assert isinstance(loaded, SCLCUNet) and loaded_meta.task == "segmentation"
    torch.testing.assert_close(loaded.eval()(x), model(x))


def test_teacher_then_student_with_pixel_kd_trains():
    data = load_dataset("shapes:binary,n=24,n_test=4", image_size=16)
    common = dict(dataset="shapes:binary,n=24,n_test=4", image_size=16, epochs=2, batch_size=8,
                  optimiser={"name": "adam", "lr": 3e-3, "weight_decay": 0.0})
    teacher = train_model(TrainConfig(arch={"variant": "unet", "channels": [4, 8]}, **common), data, progress=False)
    config = TrainConfig(arch={"variant": "sclc_unet", "channels": [4, 8]}, kd={"alpha": 0.5, "temperature": 2.0}, **common)
    student = train_model(config, data, teacher=teacher.model, progress=False)
    losses = [h.train_loss for h in student.history]
    assert all(torch.isfinite(torch.tensor(losses))) and losses[-1] < losses[0]
    assert student.model(data.test.x).shape == (4, 2, 16, 16)
