"""The optical program: readout against closed forms, input placement, the saved folder and its refusals."""

from __future__ import annotations

import hashlib
import json

import cv2
import numpy as np
import pytest

from osclc.calibration.compiler.camera_sampling import bicubic_taps
from osclc.calibration.program import OpticalProgram, ProgramError

CAMERA = (40, 50)


def _program(points: np.ndarray, **updates) -> OpticalProgram:
    """A 2-channel time-multiplexed program reading ``points`` [2, 4, 2] (camera coordinates) on a 2x2 grid."""
    index, weight = bicubic_taps(points, CAMERA)
    fields = dict(
        multiplex="time", encoding="double_phase", detector="intensity",
        patterns=np.arange(2 * 6 * 8, dtype=np.uint8).reshape(2, 6, 8), pattern_channels=[[0], [1]], slm_bit_depth=8,
        input_shape=(12, 12), input_size=3, input_corner=np.array([[2, 4]]), input_scale=2, out_size=(2, 2),
        camera_shape=CAMERA, sample_index=index, sample_weight=weight, dark=np.full(CAMERA, 10.0),
        dark_per_s=np.full(CAMERA, 1000.0), gain=np.full(CAMERA, 2.0), feature_gain=np.array([1.0, 3.0]),
        feature_offset=np.array([0.0, -1.0]), exposure_s=1e-3, model_hash="m" * 64, calibration_hash="c" * 64,
        bench_hash="b" * 64, frame_rate_hz={"time": 10.0, "space": None},
    )
    fields.update(updates)
    return OpticalProgram(**fields)


def _points() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.uniform([3, 3], [CAMERA[0] - 4, CAMERA[1] - 4], size=(2, 4, 2))


def test_readout_reproduces_a_quadratic_image_at_the_points() -> None:
    """Keys cubic interpolation is exact for quadratics: features = (q(point) - dark)/gain * g + o."""
    points = _points()
    program = _program(points)
    rows, cols = np.mgrid[0 : CAMERA[0], 0 : CAMERA[1]].astype(float)

    def quadratic(r, c):
        return 100 + 3 * r - 2 * c + 0.05 * r * r + 0.02 * r * c

    frames = np.stack([quadratic(rows, cols), 2 * quadratic(rows, cols)])
    features = program.readout(frames)
    for channel, scale in ((0, 1.0), (1, 2.0)):
        expected = (scale * quadratic(points[channel, :, 0], points[channel, :, 1]) - 10.0) / 2.0
        expected = expected * program.feature_gain[channel] + program.feature_offset[channel]
        np.testing.assert_allclose(features[channel].reshape(-1), expected, rtol=1e-9)
    raw = program.readout(frames, normalise=False)
    np.testing.assert_allclose(raw[1].reshape(-1), (features[1].reshape(-1) + 1.0) / 3.0, rtol=1e-9)


def test_exposure_change_moves_the_dark_frame() -> None:
    program = _program(_points())
    program.set_exposure(3e-3)
    for pattern in range(2):
        np.testing.assert_allclose(program.dark_frame(pattern), 10.0 + 1000.0 * 2e-3)
    program.set_exposure([2e-3, 5e-3])
    np.testing.assert_array_equal(program.exposure_s, [2e-3, 5e-3])
    np.testing.assert_allclose(program.dark_frame(0), 11.0)
    np.testing.assert_allclose(program.dark_frame(1), 14.0)
    np.testing.assert_array_equal(program.dark, np.full(CAMERA, 10.0))  # the stored reference is not rewritten


def test_each_pattern_is_read_with_the_dark_at_its_own_exposure() -> None:
    """Frames = dark(e_p) + p-th signal: the raw features are (signal - 0) / gain, whatever each e_p is."""
    points = _points()
    program = _program(points, exposure_s=[0.5e-3, 4e-3], dark_exposure_s=1e-3)
    rows, cols = np.mgrid[0 : CAMERA[0], 0 : CAMERA[1]].astype(float)
    signal = 5 + 0.3 * rows + 0.1 * cols  # linear: exact under cubic interpolation
    frames = np.stack([10.0 + 1000.0 * (e - 1e-3) + (p + 1) * signal for p, e in enumerate([0.5e-3, 4e-3])])
    raw = program.readout(frames, normalise=False)
    for channel in range(2):
        expected = (channel + 1) * (5 + 0.3 * points[channel, :, 0] + 0.1 * points[channel, :, 1]) / 2.0
        np.testing.assert_allclose(raw[channel].reshape(-1), expected, rtol=1e-9)
    np.testing.assert_allclose(program.tap_dark(1), 10.0 + 1000.0 * 3e-3)


@pytest.mark.parametrize(
    "exposure,match",
    [([1e-3], "one exposure"), ([1e-3, -1e-3], "positive"), ([1e-3, np.nan], "positive"), (0.0, "positive"), ("fast", "seconds")],
)
def test_bad_exposures_are_refused(exposure, match: str) -> None:
    program = _program(_points())
    with pytest.raises(ProgramError, match=match):
        program.set_exposure(exposure)
    np.testing.assert_array_equal(program.exposure_s, [1e-3, 1e-3])
    with pytest.raises(ProgramError, match=match):
        _program(_points(), exposure_s=exposure, dark_exposure_s=1e-3)


def test_unequal_exposures_need_the_dark_reference() -> None:
    with pytest.raises(ProgramError, match="dark_exposure_s"):
        _program(_points(), exposure_s=[1e-3, 2e-3])
    assert _program(_points(), exposure_s=2e-3).dark_exposure_s == 2e-3  # one exposure: the dark is at it


def test_input_canvas_places_each_pixel_as_a_block() -> None:
    program = _program(_points())
    image = np.arange(9, dtype=np.float32).reshape(3, 3) / 10
    canvas = program.input_canvas(image)
    expected = np.zeros((12, 12), np.float32)
    expected[2:8, 4:10] = np.kron(image, np.ones((2, 2), np.float32))
    np.testing.assert_array_equal(canvas, expected)
    with pytest.raises(ProgramError, match="shape"):
        program.input_canvas(np.zeros((4, 4)))
    with pytest.raises(ProgramError, match=r"\[0, 1\]"):
        program.input_canvas(np.full((3, 3), 1.5))


def test_save_and_load_round_trip(tmp_path) -> None:
    program = _program(_points(), exposure_s=[0.7e-3, 6e-3], dark_exposure_s=1e-3, frames=[1, 4])
    folder = program.save(tmp_path / "program")
    loaded = OpticalProgram.load(folder, bench_hash="b" * 64)
    for name in ("patterns", "sample_index", "sample_weight", "dark", "dark_per_s", "gain", "feature_gain", "feature_offset",
                 "input_corner", "exposure_s", "frames"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(program, name))
    assert loaded.pattern_channels == [[0], [1]] and loaded.input_scale == 2 and loaded.dark_exposure_s == 1e-3
    frames = np.random.default_rng(2).uniform(0, 100, (2, *CAMERA))
    np.testing.assert_array_equal(loaded.readout(frames), program.readout(frames))
    doc = json.loads((folder / "program.json").read_text())
    assert doc["schema"] == "osclc.program/4" and doc["model_hash"] == "m" * 64 and doc["calibration_hash"] == "c" * 64
    assert doc["exposure_s"] == [0.7e-3, 6e-3] and doc["readout"]["dark_exposure_s"] == 1e-3 and doc["frames"] == [1, 4]
    assert loaded.captures == 5
    png = cv2.imread(str(folder / "pattern_001.png"), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(png, program.patterns[1])


def test_a_version_1_folder_loads_with_its_one_exposure_and_dark(tmp_path) -> None:
    """An ``osclc.program/1`` folder, written here in that format: scalar exposure, dark frame at that exposure."""
    reference = _program(_points())
    folder = tmp_path / "old"
    folder.mkdir()
    arrays = {name: np.asarray(getattr(reference, name)) for name in (
        "patterns", "input_corner", "dark_per_s", "gain", "feature_gain", "feature_offset")}
    arrays.update(sample_index=reference.sample_index[0], sample_weight=reference.sample_weight[0])  # no image axis
    arrays["dark"] = np.full(CAMERA, 12.0)  # the dark at the program's exposure, 3 ms (10 counts at 1 ms + 1000/s)
    np.savez_compressed(folder / "arrays.npz", **arrays)
    document = {
        "schema": "osclc.program/1", "multiplex": "time", "encoding": "double_phase", "detector": "intensity",
        "pattern_channels": [[0], [1]], "slm": {"bit_depth": 8, "shape": [6, 8], "patterns": 2},
        "input": {"shape": [12, 12], "image_size": 3, "channels": 1, "corner": "npz:input_corner", "scale": 2},
        "readout": {"out_size": [2, 2], "camera_shape": list(CAMERA), "sample_index": "npz:sample_index",
                    "sample_weight": "npz:sample_weight", "dark": "npz:dark", "dark_per_s": "npz:dark_per_s", "gain": "npz:gain",
                    "feature_gain": "npz:feature_gain", "feature_offset": "npz:feature_offset"},
        "exposure_s": 3e-3, "frame_rate_hz": {"time": 10.0, "space": None},
        "model_hash": "m" * 64, "calibration_hash": "c" * 64, "bench_hash": "b" * 64, "info": {},
        "arrays": "arrays.npz", "arrays_sha256": hashlib.sha256((folder / "arrays.npz").read_bytes()).hexdigest(),
    }
    (folder / "program.json").write_text(json.dumps(document))
    loaded = OpticalProgram.load(folder)
    np.testing.assert_array_equal(loaded.exposure_s, [3e-3, 3e-3])
    np.testing.assert_array_equal(loaded.frames, [1, 1])
    assert loaded.dark_exposure_s == 3e-3
    np.testing.assert_allclose(loaded.dark_frame(1), 12.0)
    loaded.set_exposure([1e-3, 5e-3])
    np.testing.assert_allclose(loaded.dark_frame(0), 10.0)
    np.testing.assert_allclose(loaded.dark_frame(1), 14.0)
    resaved = OpticalProgram.load(loaded.save(tmp_path / "new"))
    assert json.loads((tmp_path / "new" / "program.json").read_text())["schema"] == "osclc.program/4"
    np.testing.assert_allclose(resaved.dark_frame(1), 14.0)
    document["schema"] = "osclc.program/0"
    (folder / "program.json").write_text(json.dumps(document))
    with pytest.raises(ProgramError, match="osclc.program/4"):
        OpticalProgram.load(folder)


def test_a_version_2_folder_loads_with_one_frame_per_pattern(tmp_path) -> None:
    """An ``osclc.program/2`` folder (per-pattern exposures, no ``frames``): every pattern is read from one frame."""
    folder = _program(_points(), exposure_s=[1e-3, 2e-3], dark_exposure_s=1e-3).save(tmp_path / "v2")
    document = json.loads((folder / "program.json").read_text())
    document["schema"] = "osclc.program/2"
    del document["frames"]
    (folder / "program.json").write_text(json.dumps(document))
    loaded = OpticalProgram.load(folder)
    np.testing.assert_array_equal(loaded.frames, [1, 1])
    np.testing.assert_array_equal(loaded.exposure_s, [1e-3, 2e-3])


def test_a_version_3_folder_loads_as_one_image_per_frame(tmp_path) -> None:
    """An ``osclc.program/3`` folder (no ``tile_shift``, readout tables without the image axis) reads as before."""
    reference = _program(_points(), frames=[1, 3])
    folder = reference.save(tmp_path / "v3")
    with np.load(folder / "arrays.npz") as data:
        arrays = {name: data[name] for name in data.files if name != "tile_shift"}
    arrays.update(sample_index=arrays["sample_index"][0], sample_weight=arrays["sample_weight"][0])
    np.savez_compressed(folder / "arrays.npz", **arrays)
    document = json.loads((folder / "program.json").read_text())
    document["schema"] = "osclc.program/3"
    for name in ("images_per_frame", "tile_shift"):
        del document["input"][name]
    document["arrays_sha256"] = hashlib.sha256((folder / "arrays.npz").read_bytes()).hexdigest()
    (folder / "program.json").write_text(json.dumps(document))
    loaded = OpticalProgram.load(folder)
    assert loaded.images_per_frame == 1 and loaded.sample_index.shape == (1, 2, 4, 16)
    np.testing.assert_array_equal(loaded.frames, [1, 3])
    frames = np.random.default_rng(1).uniform(0, 100, (2, *CAMERA))
    np.testing.assert_array_equal(loaded.readout(frames), reference.readout(frames))


def _batched(shift: tuple[int, int] = (0, 6)) -> tuple[OpticalProgram, np.ndarray]:
    """A 2-image program: image 1's windows are image 0's moved by 3 camera pixels along the rows; and its points."""
    points = _points()
    both = np.stack([points, points + np.array([3.0, 0.0])])
    index, weight = zip(*(bicubic_taps(p, CAMERA) for p in both))
    program = _program(points, sample_index=np.stack(index), sample_weight=np.stack(weight),
                       input_corner=np.array([[2, 0]]), tile_shift=np.array([[0, 0], list(shift)]))
    return program, both


def test_each_batched_image_is_read_from_its_own_windows() -> None:
    program, both = _batched()
    assert program.images_per_frame == 2
    # a linear ramp: bicubic interpolation reads it exactly, so each image's features are its own points' values
    rows, cols = np.meshgrid(np.arange(CAMERA[0]), np.arange(CAMERA[1]), indexing="ij")
    frame = 10.0 + 2.0 * (5.0 * rows + 0.5 * cols)  # dark 10, gain 2 -> corrected value 5 r + 0.5 c
    features = program.readout(np.stack([frame, frame]), image=None)
    assert features.shape == (2, 2, 2, 2)
    for i in range(2):
        expected = (5.0 * both[i, ..., 0] + 0.5 * both[i, ..., 1]) * program.feature_gain[:, None] + program.feature_offset[:, None]
        np.testing.assert_allclose(features[i].reshape(2, 4), expected, rtol=1e-9, atol=1e-9)
        np.testing.assert_array_equal(program.readout(np.stack([frame, frame]), image=i), features[i])
    np.testing.assert_allclose(features[1] - features[0], np.broadcast_to(15.0 * program.feature_gain[:, None, None], (2, 2, 2)))


def test_batch_canvas_places_each_image_on_its_tile(tmp_path) -> None:
    program, _ = _batched()
    images = np.random.default_rng(2).uniform(0, 1, (2, 1, 3, 3)).astype(np.float32)
    canvas = program.batch_canvas(images)
    for i, col in enumerate((0, 6)):
        np.testing.assert_array_equal(canvas[2:8, col : col + 6], np.kron(images[i, 0], np.ones((2, 2), np.float32)))
    assert canvas.sum() == pytest.approx(4 * images.sum())
    np.testing.assert_array_equal(program.batch_canvas(images[:1]), program.input_canvas(images[0]))
    with pytest.raises(ProgramError, match="images per frame"):
        program.batch_canvas(np.zeros((3, 1, 3, 3)))
    folder = program.save(tmp_path / "batched")
    loaded = OpticalProgram.load(folder)
    assert loaded.images_per_frame == 2
    np.testing.assert_array_equal(loaded.tile_shift, program.tile_shift)
    np.testing.assert_array_equal(loaded.sample_index, program.sample_index)
    document = json.loads((folder / "program.json").read_text())
    document["input"]["images_per_frame"] = 3
    (folder / "program.json").write_text(json.dumps(document))
    with pytest.raises(ProgramError, match="images_per_frame is 3"):
        OpticalProgram.load(folder)


@pytest.mark.parametrize("shift, match", [((0, 7), "outside"), ((0, 5), "overlap"), ((1, 0), "image 0 at")])
def test_bad_tile_shifts_are_refused(shift: tuple[int, int], match: str) -> None:
    program, _ = _batched()
    with pytest.raises(ProgramError, match=match):
        if match == "image 0 at":
            _program(_points(), sample_index=program.sample_index, sample_weight=program.sample_weight,
                     input_corner=np.array([[2, 0]]), tile_shift=np.array([list(shift), [0, 6]]))
        else:
            _batched(shift)


def test_load_refuses_tampering_and_another_bench(tmp_path) -> None:
    folder = _program(_points()).save(tmp_path / "program")
    with pytest.raises(ProgramError, match="another bench"):
        OpticalProgram.load(folder, bench_hash="x" * 64)
    with open(folder / "arrays.npz", "ab") as handle:
        handle.write(b"junk")
    with pytest.raises(ProgramError, match="hash"):
        OpticalProgram.load(folder)
    with pytest.raises(FileNotFoundError):
        OpticalProgram.load(tmp_path / "nothing")


@pytest.mark.parametrize(
    "updates,match",
    [
        ({"sample_weight": np.full((2, 4, 16), np.nan)}, "NaN"),
        ({"patterns": np.full((2, 6, 8), 300, np.int64)}, "gray levels"),
        ({"pattern_channels": [[0], [0]]}, "once"),
        ({"dark": np.zeros((3, 3))}, "shape"),
        ({"input_corner": np.array([[8, 8]])}, "outside"),
        ({"frames": [1, 0]}, "frames must be whole numbers 1 .. 64"),
        ({"frames": [1, 2.5]}, "frames must be whole numbers"),
        ({"frames": [1, 2, 3]}, "one frame count per pattern"),
    ],
)
def test_invalid_programs_are_refused(updates: dict, match: str) -> None:
    with pytest.raises(ProgramError, match=match):
        _program(_points(), **updates)


def test_set_frames_takes_one_count_or_one_per_pattern() -> None:
    program = _program(_points())
    program.set_frames(3)
    np.testing.assert_array_equal(program.frames, [3, 3])
    program.set_frames([2, 5])
    assert program.captures == 7
    with pytest.raises(ProgramError, match="frames"):
        program.set_frames(65)


def test_readout_refuses_wrong_frames() -> None:
    program = _program(_points())
    with pytest.raises(ProgramError, match="frames"):
        program.readout(np.zeros((3, *CAMERA)))
    with pytest.raises(ProgramError, match="shape"):
        program.readout(np.zeros((2, 10, 10)))
