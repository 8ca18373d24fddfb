"""The calibration record: JSON + npz round trip, refusal of another bench, identity, LUT inversion."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from osclc.calibration.lut import LutError, check_lut, inverse_table, linear_lut, phase_to_gray
from osclc.calibration.quality import Figure
from osclc.calibration.record import CalibrationError, CalibrationRecord, bench_config_hash
from osclc.drivers.bench_config import BenchConfig


def test_identity_round_trip(tmp_path):
    config = BenchConfig()
    record = CalibrationRecord.identity(config)
    record.wavefront_phase_rad[3, 4] = 0.25
    path = record.save(tmp_path / "calib.json")
    doc = json.loads(path.read_text())
    assert doc["schema"] == "osclc.calibration/1" and (tmp_path / "calib.npz").is_file()
    loaded = CalibrationRecord.load(path, bench_config=config)
    assert np.array_equal(loaded.lut_phase_rad, record.lut_phase_rad)
    assert loaded.wavefront_phase_rad[3, 4] == 0.25
    assert np.allclose(loaded.fourier_affine, record.fourier_affine)
    assert loaded.lut_phase_rad.size == 2**config.slm.bit_depth


def test_identity_nominal_affines():
    config = BenchConfig()
    record = CalibrationRecord.identity(config)
    # Independent numbers: s = lambda f1 / (P p_in p_slm); DC at the SLM centre; image inverted on the camera.
    s = 512e-9 * 0.1 / (128 * 25e-6 * 8e-6)
    assert np.allclose(record.bins_to_slm(np.array([[0, 0], [1, -2]])), [[128, 128], [128 + s, 128 - 2 * s]])
    m = 25e-6 * 0.02 / (0.1 * 5e-6)
    assert np.allclose(record.model_to_camera(np.array([[32.0, 33.0]])), [[128.0, 128.0 - m]])
    # bins of another pad scale with it
    assert np.allclose(record.bins_to_slm(np.array([2.0, 0.0]), pad=256), [128 + s, 128])
    assert np.allclose(record.slm_to_bins(record.bins_to_slm(np.array([3.0, -1.0]))), [3.0, -1.0])


def test_refuses_other_bench_and_slm_size(tmp_path):
    config = BenchConfig()
    path = CalibrationRecord.identity(config).save(tmp_path / "calib.json")
    bigger = config.model_copy(update={"slm": config.slm.model_copy(update={"shape": (512, 512)})})
    with pytest.raises(CalibrationError, match="SLM of 256x256"):
        CalibrationRecord.load(path, bench_config=bigger)
    moved = config.model_copy(update={"optics": config.optics.model_copy(update={"f1_m": 0.2})})
    with pytest.raises(CalibrationError, match="another bench"):
        CalibrationRecord.load(path, bench_config=moved)
    # timing and connection settings do not change what calibration measured
    slower = config.model_copy(update={"timeout_s": 5.0})
    assert bench_config_hash(slower) == bench_config_hash(config)


def test_rejects_bad_files(tmp_path):
    config = BenchConfig()
    path = CalibrationRecord.identity(config).save(tmp_path / "calib.json")
    doc = json.loads(path.read_text())
    doc["fourier"]["affine"] = [[1, 0], [0, 1]]
    path.write_text(json.dumps(doc))
    with pytest.raises(CalibrationError, match="fourier.affine"):
        CalibrationRecord.load(path)
    (tmp_path / "calib.npz").unlink()
    with pytest.raises(FileNotFoundError, match="npz"):
        CalibrationRecord.load(path)
    with pytest.raises(FileNotFoundError):
        CalibrationRecord.load(tmp_path / "missing.json")


def test_phase_to_gray_nearest_circular():
    rng = np.random.default_rng(0)
    bits = 8
    lut = 2.3 * np.pi * (np.arange(2**bits) / 2**bits) ** 1.4  # covers more than 2 pi, nonlinear
    wanted = rng.uniform(-10, 10, size=(50, 40))
    gray = phase_to_gray(wanted, lut)
    # independent check: brute force the circular distance to every level
    dist = np.abs(np.angle(np.exp(1j * (wanted[..., None] - lut))))
    best = dist.min(axis=-1)
    got = np.abs(np.angle(np.exp(1j * (wanted - lut[gray]))))
    step = np.max(np.diff(lut))
    assert np.all(got <= best + step / 2 + 2 * np.pi / 4096)
    assert gray.dtype == np.uint16 and gray.shape == wanted.shape


def test_lut_checks():
    with pytest.raises(LutError, match="256 gray levels"):
        check_lut(np.arange(10.0), bits=8)
    with pytest.raises(LutError, match="NaN"):
        phase_to_gray(np.array([np.nan]), linear_lut(8))
    table = inverse_table(linear_lut(4))
    assert table[0] == 0 and table.max() == 15


def test_bad_pixels_round_trip_and_gain_positive(tmp_path):
    record = CalibrationRecord.identity(BenchConfig())
    record.bad_pixels[5, 7] = True
    loaded = CalibrationRecord.load(record.save(tmp_path / "calib.json"))
    assert loaded.bad_pixels.dtype == bool and loaded.bad_pixels[5, 7] and loaded.bad_pixels.sum() == 1
    gain = np.ones(record.camera_shape)
    gain[0, 0] = 0.0
    with pytest.raises(CalibrationError, match="gain.frame must be > 0"):
        dataclasses.replace(record, gain_frame=gain)


def test_fringing_and_zero_order_round_trip_and_hash(tmp_path):
    record = CalibrationRecord.identity(BenchConfig())
    assert record.fringing_px == 0.0 and record.zero_order == 0.0
    measured = dataclasses.replace(record, fringing_px=0.47, zero_order=0.081, measured=["fringing"])
    path = measured.save(tmp_path / "calib.json")
    assert json.loads(path.read_text())["slm"]["fringing_px"] == 0.47
    loaded = CalibrationRecord.load(path, bench_config=BenchConfig())
    assert loaded.fringing_px == 0.47 and loaded.zero_order == 0.081 and loaded.measured == ["fringing"]
    # the compiled program's calibration identity changes with them
    assert loaded.content_hash != dataclasses.replace(loaded, fringing_px=0.5).content_hash
    assert loaded.content_hash != dataclasses.replace(loaded, zero_order=0.08).content_hash


def test_record_without_fringing_fields_loads_with_none(tmp_path):
    path = CalibrationRecord.identity(BenchConfig()).save(tmp_path / "calib.json")
    doc = json.loads(path.read_text())
    del doc["slm"]  # a record written before the fringing calibration existed
    path.write_text(json.dumps(doc))
    loaded = CalibrationRecord.load(path)
    assert loaded.fringing_px == 0.0 and loaded.zero_order == 0.0


@pytest.mark.parametrize("field, value, match", [
    ("fringing_px", -0.1, "slm.fringing_px"), ("fringing_px", 9.0, "slm.fringing_px"), ("fringing_px", float("nan"), "slm.fringing_px"),
    ("zero_order", 1.5, "slm.zero_order"), ("zero_order", "a lot", "slm.zero_order"),
])
def test_fringing_range_checks(field, value, match):
    with pytest.raises(CalibrationError, match=match):
        dataclasses.replace(CalibrationRecord.identity(BenchConfig()), **{field: value})


def test_quality_and_forced_round_trip_and_old_records_load_without_them(tmp_path):
    figures = [Figure("camera", "fit residual", 0.02, 0.15, "max", "px", "distortion", "check focus"),
               Figure("camera", "image centre offset / device size", 0.3, 0.2, "max", "", "camera far off axis", "centre it")]
    record = dataclasses.replace(CalibrationRecord.identity(BenchConfig()), quality=figures, forced=True)
    path = record.save(tmp_path / "calib.json")
    doc = json.loads(path.read_text())
    assert doc["forced"] is True and [f["verdict"] for f in doc["quality"]] == ["pass", "fail"]
    loaded = CalibrationRecord.load(path)
    assert loaded.quality == figures and loaded.forced
    assert loaded.content_hash != dataclasses.replace(loaded, forced=False).content_hash
    del doc["quality"], doc["forced"]  # a record written before the quality gates existed
    path.write_text(json.dumps(doc))
    old = CalibrationRecord.load(path)
    assert old.quality == [] and old.forced is False
