"""Segmentation data: generated shapes (exact geometry, determinism), Carvana and VOC folders (tiny fakes)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from osclc.lab.cli.main import main
from osclc.models.data.arrays import DatasetError
from osclc.models.data.shapes import SHAPE_KINDS, ShapesSpecError, _inside, generate_shapes, parse_shapes_options
from osclc.models.data.spec import load_dataset
from osclc.models.training.evaluation import evaluate_classifier
from osclc.models.training.config import TrainConfig
from osclc.models.training.trainer import train_model
from osclc.models.data.segmentation_files import SegmentationDataError


# ------------------------------------------------------------------ shapes


@pytest.mark.parametrize(
    "kind, area_over_r2",
    [
        ("disc", np.pi),
        ("square", 1.7**2),  # side 1.7 r
        ("triangle", 3 * np.sqrt(3) * 0.6**2),  # equilateral, inradius 0.6 r: area 3 sqrt(3) rho^2
        ("cross", 2 * 2 * (2 / 3) - (2 / 3) ** 2),  # two 2r x 2r/3 bars minus their overlap
    ],
)
def test_shape_areas_match_closed_forms(kind, area_over_r2):
    size, r = 200, 40.0
    coords = np.arange(size, dtype=np.float32) + 0.5
    yy, xx = coords[None, :, None], coords[None, None, :]
    params = [np.full((1, 1, 1), v) for v in (SHAPE_KINDS.index(kind), 100.0, 100.0, r, 0.3)]
    inside = _inside(*params, yy, xx)
    assert inside.sum() == pytest.approx(area_over_r2 * r * r, rel=0.02)


def test_shapes_are_deterministic_and_seeded():
    x1, y1 = generate_shapes(20, 32, seed=5)
    x2, y2 = generate_shapes(20, 32, seed=5)
    x3, _ = generate_shapes(20, 32, seed=6)
    assert np.array_equal(x1, x2) and np.array_equal(y1, y2)
    assert not np.array_equal(x1, x3)
    assert x1.dtype == np.float32 and y1.dtype == np.int64
    assert x1.min() >= 0 and x1.max() <= 1
    assert set(np.unique(y1)) <= set(range(1 + len(SHAPE_KINDS)))


def test_binary_mask_is_the_multi_mask_thresholded():
    _, multi = generate_shapes(16, 32, labels="multi", seed=3)
    _, binary = generate_shapes(16, 32, labels="binary", seed=3)
    assert np.array_equal(binary, (multi > 0).astype(np.int64))
    assert 0.02 < binary.mean() < 0.8  # shapes cover part of each image


def test_mask_marks_the_painted_pixels_without_noise():
    x, y = generate_shapes(8, 48, labels="binary", seed=1, noise=0.0, max_shapes=1)
    for image, mask in zip(x[:, 0], y):
        # painted pixels are base +- contrast (>= 0.25 away from the background mean) plus texture:
        # their mean differs from the background's
        assert abs(image[mask == 1].mean() - image[mask == 0].mean()) > 0.05


def test_shapes_spec_and_errors():
    data = load_dataset("shapes:n=30,n_test=6", image_size=32, channels=3)
    assert data.task == "segmentation" and data.num_classes == 2
    assert tuple(data.train.images.shape[1:]) == (3, 32, 32)
    assert tuple(data.test.targets.shape) == (6, 32, 32)
    assert len(data.train) + len(data.val) == 30
    assert load_dataset("shapes:multi,n=10,n_test=2", 16).class_names == ("background", *SHAPE_KINDS)
    for bad, match in (("n=abc", "not an integer"), ("colour", "not binary"), ("n=1", "outside"),
                       ("depth=3", "unknown"), ("noise=2", "outside")):
        with pytest.raises(ShapesSpecError, match=match):
            parse_shapes_options(bad)


# ------------------------------------------------------------------ folder requests (Carvana and VOC)


@pytest.mark.parametrize("scheme", ["carvana", "voc"])
def test_folder_loaders_refuse_bad_requests(tmp_path, scheme, capsys):
    with pytest.raises(DatasetError, match=f"{scheme}: needs a folder, e.g. '{scheme}:/data/"):
        load_dataset(scheme)
    missing = tmp_path / "none"
    with pytest.raises(DatasetError, match=f"{scheme}:{missing}: no such folder; give"):
        load_dataset(f"{scheme}:{missing}", image_size=16)
    with pytest.raises(DatasetError, match="channels=2"):
        load_dataset(f"{scheme}:{tmp_path}", image_size=16, channels=2)
    command = ["experiment", "segmentation", "--dataset", f"{scheme}:{missing}", "--seeds", "1", "--no-progress"]
    assert main(command) == 2
    assert "no such folder" in capsys.readouterr().err


# ------------------------------------------------------------------ Carvana


def _carvana(root, n=4, size=(20, 30)):
    (root / "train").mkdir(parents=True)
    (root / "train_masks").mkdir()
    for i in range(n):
        rgb = np.full((*size, 3), 20 * i, dtype=np.uint8)
        Image.fromarray(rgb).save(root / "train" / f"car{i}.png")
        mask = np.zeros(size, dtype=np.uint8)
        mask[:, : size[1] // 2] = 255  # left half is the car
        Image.fromarray(mask).save(root / "train_masks" / f"car{i}_mask.gif")
    return root


def test_carvana_loads_pairs(tmp_path):
    root = _carvana(tmp_path / "cars", n=10)
    data = load_dataset(f"carvana:{root}", image_size=16, seed=1)
    assert data.task == "segmentation" and data.num_classes == 2 and data.channels == 3
    assert len(data.train) + len(data.val) + len(data.test) == 10 and len(data.test) == 1
    masks = data.train.targets
    assert tuple(masks.shape[1:]) == (16, 16)
    assert bool((masks[:, :, :8] == 1).all()) and bool((masks[:, :, 8:] == 0).all())


@pytest.mark.parametrize("damage, match", [
    ("missing", "no mask car1_mask"),
    ("size", "car1_mask.gif: mask is 10 x 10 pixels but its image is 20 x 30"),
    ("values", "car1_mask.gif: mask values .* are not binary"),
    ("orphan", "ghost_mask.gif: mask without an image"),
    ("unreadable", "car1_mask.gif: cannot read"),
])
def test_carvana_bad_masks_name_the_file(tmp_path, damage, match):
    root = _carvana(tmp_path / "cars")
    mask = root / "train_masks" / "car1_mask.gif"
    if damage == "missing":
        mask.unlink()
    elif damage == "size":
        Image.fromarray(np.zeros((10, 10), dtype=np.uint8)).save(mask)
    elif damage == "values":
        Image.fromarray(np.arange(600, dtype=np.uint8).reshape(20, 30) % 7).save(mask)
    elif damage == "orphan":
        Image.fromarray(np.zeros((20, 30), dtype=np.uint8)).save(root / "train_masks" / "ghost_mask.gif")
    else:
        mask.write_bytes(b"not a gif")
    with pytest.raises(SegmentationDataError, match=match):
        load_dataset(f"carvana:{root}", image_size=16)


def test_carvana_needs_its_folders(tmp_path):
    with pytest.raises(SegmentationDataError, match="train_masks"):
        load_dataset(f"carvana:{tmp_path}", image_size=16)


# ------------------------------------------------------------------ VOC


def _voc(root, train=("a", "b", "c"), val=("d", "e")):
    voc = root / "VOCdevkit" / "VOC2012"
    for sub in ("JPEGImages", "SegmentationClass", "ImageSets/Segmentation"):
        (voc / sub).mkdir(parents=True)
    palette = [v for i in range(256) for v in (i, 255 - i, (7 * i) % 256)]
    for k, name in enumerate((*train, *val)):
        Image.fromarray(np.full((12, 16, 3), 20 * k, dtype=np.uint8)).save(voc / "JPEGImages" / f"{name}.jpg")
        labels = np.zeros((12, 16), dtype=np.uint8)
        labels[:, 8:] = 1 + k  # right half: class 1 + k
        labels[:, 7] = 255  # object border: ignore
        mask = Image.fromarray(labels, mode="P")
        mask.putpalette(palette)
        mask.save(voc / "SegmentationClass" / f"{name}.png")
    (voc / "ImageSets/Segmentation/train.txt").write_text("\n".join(train) + "\n")
    (voc / "ImageSets/Segmentation/val.txt").write_text("\n".join(val) + "\n")
    return voc


def test_voc_loads_palette_indices_and_ignore(tmp_path):
    _voc(tmp_path)
    data = load_dataset(f"voc:{tmp_path}", image_size=16, val_fraction=0.34)
    assert data.num_classes == 21 and data.class_names[15] == "person"
    assert len(data.test) == 2 and len(data.train) + len(data.val) == 3
    test = data.test.targets
    assert bool((test[:, :, 7] == 255).all())
    assert bool((test[0, :, 8:] == 4).all()) and bool((test[1, :, 8:] == 5).all())  # d, e are items 3, 4
    assert bool((test[:, :, :7] == 0).all())


def test_voc_trains_and_evaluates_with_ignored_pixels(tmp_path):
    # one epoch of a teacher, then of a KD student, on VOC masks whose border column is 255:
    # a loss over the ignore value would raise (label outside 0..20) or be NaN.
    _voc(tmp_path, train=("a", "b", "c", "f"), val=("d", "e"))
    data = load_dataset(f"voc:{tmp_path}", image_size=16, channels=1, val_fraction=0.25)
    assert bool((data.train.targets == 255).any())
    common = dict(dataset=f"voc:{tmp_path}", image_size=16, channels=1, epochs=1, batch_size=2, val_fraction=0.25,
                  optimiser={"name": "adam", "lr": 3e-3, "weight_decay": 0.0})
    teacher = train_model(TrainConfig(arch={"variant": "unet", "channels": [2, 4]}, **common), data, progress=False)
    student = train_model(TrainConfig(arch={"variant": "sclc_unet", "channels": [2, 4]}, kd={"alpha": 0.5}, **common),
                          data, teacher=teacher.model, progress=False)
    for result in (teacher, student):
        row = result.history[0]
        assert all(np.isfinite([row.train_loss, row.val_loss])) and 0 <= row.val_accuracy <= 1
    evaluation = evaluate_classifier(student.model, data.test, data.num_classes)
    counted = int((data.test.targets != 255).sum())
    assert evaluation.accuracy.total == counted < data.test.targets.numel()
    assert int(evaluation.confusion.sum()) == counted


@pytest.mark.parametrize("damage, error, match", [
    ("class", SegmentationDataError, r"b\.png: mask values \[30\]"),
    ("rgb", SegmentationDataError, r"b\.png: mask mode RGB"),
    ("jpeg", FileNotFoundError, r"b\.jpg: listed id 'b'"),
])
def test_voc_bad_masks_name_the_file(tmp_path, damage, error, match):
    voc = _voc(tmp_path)
    mask = voc / "SegmentationClass" / "b.png"
    if damage == "class":
        Image.fromarray(np.full((12, 16), 30, dtype=np.uint8), mode="L").save(mask)
    elif damage == "rgb":
        Image.fromarray(np.zeros((12, 16, 3), dtype=np.uint8)).save(mask)
    else:
        (voc / "JPEGImages" / "b.jpg").unlink()
    with pytest.raises(error, match=match):
        load_dataset(f"voc:{voc}", image_size=16)
