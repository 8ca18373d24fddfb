"""Calibration record files are range-checked on load: every field out of the range a bench can have is refused
naming the field, its bound and the fix (``fourier.pad: -256`` used to compile a garbage program at exit 0), and a
corrupt ``.npz`` beside the record is one error naming the file (it used to escape as ``zipfile.BadZipFile``)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

from osclc.calibration.record import CalibrationError, CalibrationRecord
from osclc.drivers.bench_config import BenchConfig


@pytest.fixture
def saved(tmp_path) -> Path:
    return CalibrationRecord.identity(BenchConfig()).save(tmp_path / "calib.json")


def _edit(path: Path, change: Callable[[dict[str, Any]], None]) -> Path:
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))
    return path


def _set(*keys: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        target = doc
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value

    return change


@pytest.mark.parametrize(
    ("keys", "value", "message"),
    [
        (("fourier", "pad"), -256, r"fourier\.pad = -256 is outside 1 \.\. 65536 \(input-modulator pixels\); re-run `osclc calibrate fourier`"),
        (("fourier", "pad"), 0, r"fourier\.pad = 0 is outside 1 \.\. 65536"),
        (("fourier", "pad"), 2.5, r"fourier\.pad must be an integer"),
        (("fourier", "pad"), True, r"fourier\.pad must be an integer"),
        (("dark", "exposure_s"), -1, r"dark\.exposure_s = -1 is outside 1e-06 \.\. 10 \(s\); re-run `osclc calibrate dark`"),
        (("dark", "exposure_s"), float("nan"), r"dark\.exposure_s = nan is outside"),
        (("dark", "exposure_s"), "1e-3", r"dark\.exposure_s must be a number"),
        (("dark", "noise_counts"), {"0.001": -2.0}, r"dark\.noise_counts\['0\.001'\] = -2\.0 is outside 0 \.\."),
        (("dark", "noise_counts"), {"soon": 1.0}, r"dark\.noise_counts key 'soon'"),
        (("bench", "slm_bit_depth"), 40, r"bench\.slm_bit_depth = 40 is outside 1 \.\. 16"),
        (("bench", "camera_shape"), [256, 0], r"bench\.camera_shape\[1\] = 0 is outside 1 \.\. 16384"),
        (("bench", "hash"), "abc", r"bench\.hash must be a SHA-256 in hex"),
        (("slm", "zero_order"), float("nan"), r"slm\.zero_order = nan is outside 0 \.\. 1"),
        (("fourier", "affine"), [[1e9, 0, 128], [0, 1e9, 128]], r"fourier\.affine scales by 1e\+09 \.\. 1e\+09 SLM pixels per frequency bin"),
        (("fourier", "affine"), [[1.04, 0, 900], [0, 1.04, 128]], r"fourier\.affine puts the optical axis at pixel \[900\.0, 128\.0\], off the 256x256"),
        (("fourier", "affine"), [[float("nan"), 0, 128], [0, 1, 128]], r"fourier\.affine must be a finite 2x3 matrix"),
        (("camera", "affine"), [[-1, 0, 5000], [0, -1, 160]], r"camera\.affine puts the optical axis"),
        (("stats",), {"dark": {"seconds": -3}}, r"stats\.dark\.seconds = -3 is outside"),
        (("measured",), "dark", r"measured must be a list"),
    ],
)
def test_out_of_range_fields_are_refused_naming_field_bound_and_fix(saved, keys, value, message):
    _edit(saved, _set(*keys, value=value))
    with pytest.raises(CalibrationError, match=message) as info:
        CalibrationRecord.load(saved)
    assert str(saved) in str(info.value)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("dark_frame", np.nan, r"dark\.frame holds values outside .* or NaN"),
        ("dark_frame", 1e6, r"dark\.frame holds values outside -65535 \.\. 65535 \(counts\)"),
        ("gain_frame", 1e4, r"gain\.frame holds values outside"),
        ("bad_pixels", 7, r"bad_pixels holds values outside 0 \.\. 1"),
        ("dark_per_s", np.inf, r"dark\.per_s holds values outside"),
    ],
)
def test_out_of_range_arrays_are_refused(saved, name, value, message):
    npz = saved.with_suffix(".npz")
    with np.load(npz) as data:
        arrays = {key: np.array(data[key]) for key in data.files}
    arrays[name] = arrays[name].astype(np.float64)
    arrays[name][1, 2] = value
    np.savez(npz, **arrays)
    _edit(saved, _set("arrays_sha256", value=hashlib.sha256(npz.read_bytes()).hexdigest()))
    with pytest.raises(CalibrationError, match=message):
        CalibrationRecord.load(saved)


@pytest.mark.parametrize("keep_hash", [True, False])
def test_a_truncated_npz_is_one_error_naming_the_file(saved, keep_hash):
    """With the hash in the JSON updated to the truncated file (or absent, as in older records) the archive itself is
    unreadable: that used to escape as ``zipfile.BadZipFile``."""
    npz = saved.with_suffix(".npz")
    npz.write_bytes(npz.read_bytes()[:300])
    digest = hashlib.sha256(npz.read_bytes()).hexdigest() if keep_hash else None
    _edit(saved, _set("arrays_sha256", value=digest))
    with pytest.raises(CalibrationError, match=rf"{npz}: not a readable array archive \(BadZipFile"):
        CalibrationRecord.load(saved)


def test_a_measured_record_of_a_realistic_bench_passes(tmp_path):
    """Measured values (dark level, per-pixel gain, rotated and scaled affines) are within every bound."""
    config = BenchConfig.model_validate({"camera": {"dark_level": 64.0}})
    record = CalibrationRecord.identity(config)
    record.dark_frame = np.full(config.camera.shape, 64.0) + np.random.default_rng(0).normal(0, 1, config.camera.shape)
    record.gain_frame = np.random.default_rng(1).uniform(0.9, 1.1, config.camera.shape)
    record.dark_noise_counts = {"0.001": 1.05, "0.5": 1.05}
    angle = 0.004
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    record.fourier_affine[:, :2] = 1.01 * rotation @ record.fourier_affine[:, :2]
    record.fourier_affine[:, 2] += [2.3, -1.7]
    record.stats = {"dark": {"captures": 22, "seconds": 0.87}}
    loaded = CalibrationRecord.load(record.save(tmp_path / "calib.json"))
    assert np.allclose(loaded.fourier_affine, record.fourier_affine)
