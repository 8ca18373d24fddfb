"""The calibration record: everything measured about one bench, saved as one JSON file plus a sibling ``.npz``.

Schema of ``calib.json`` (``schema: "osclc.calibration/1"``); arrays live in ``calib.npz`` beside it
(named in the JSON as ``"npz:<key>"``, loaded with ``allow_pickle=False``), small matrices inline.
All coordinates are ``(row, col)`` pairs of pixel-centre indices (row first, as numpy indexes).

- ``bench``: ``hash`` (:func:`bench_config_hash`), ``slm_shape`` [rows, cols], ``slm_bit_depth``,
  ``camera_shape``, ``input_shape``.
- ``created_utc``, ``run_id`` (the ``osclc calibrate`` run that measured it, or ``null``),
  ``measured``: the calibrations measured (the others hold nominal values from the config optics).
- ``lut.phase_rad`` (npz, float64, length ``2**slm_bit_depth``): phase added by each gray level,
  radians, relative to level 0. Its inverse (phase -> gray level) is :meth:`CalibrationRecord.phase_to_gray`.
- ``fourier.affine`` (2x3): frequency-bin coordinates ``(k_row, k_col)`` relative to DC, in bins of
  the ``fourier.pad`` x ``fourier.pad`` padded input grid (one bin = ``1 / (pad * input pitch)``),
  to SLM pixel coordinates: ``slm = A[:, :2] @ k + A[:, 2]``. For another pad P', scale k by P / P'.
- ``camera.affine`` (2x3): coordinates on the model's output grid, which is the input modulator's
  pixel grid imaged through the 4f (input pixel ``(r, c)`` -> where its image lands) to camera pixel
  coordinates, measured with no carrier on the SLM and the wavefront correction displayed.
- ``wavefront.phase_rad`` (npz, SLM shape, radians): correction to ADD to every SLM phase pattern
  before the LUT (it cancels the SLM's flatness error; piston and tilt are free).
- ``dark.frame`` (npz, camera shape, counts at ``dark.exposure_s``), ``dark.per_s`` (npz, counts per
  second of exposure), ``dark.noise_counts``: {exposure_s: read+dark noise standard deviation};
  ``gain.frame`` (npz, camera shape, mean 1, > 0): per-pixel response to a flat illumination;
  ``bad_pixels`` (npz, camera shape, 0/1): hot pixels (stuck near full scale in the dark) and dead
  pixels (no response to light); replace them by their neighbours' values before use.
- ``slm.fringing_px``: sigma (SLM pixels) of the Gaussian crosstalk kernel that blurs the displayed phase
  between neighbouring pixels (:mod:`osclc.calibration.measure.fringing`); 0 = none measured or none.
  ``slm.zero_order``: unmodulated fraction of the SLM's field, ``T = z + (1 - z) exp(i phase)``; 0 = none
  measured or none. Records written before these fields existed load with both 0.
- ``stats``: per calibration, ``captures`` and ``seconds`` it took.
- ``quality``: the quality figures every measured step returned (:class:`osclc.calibration.quality.Figure` as
  JSON: step, name, value, bound, sense, unit, cause, fix, verdict); ``forced``: true when the record keeps a
  figure that failed its gate (``osclc calibrate --force``): do not trust it. Records written before these
  fields existed load with no figures and ``forced`` false.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping, Sequence, SupportsFloat

import numpy as np

from osclc.calibration import lut as lut_mod
from osclc.calibration.field_checks import FieldChecks
from osclc.calibration.npz_arrays import load_npz_arrays
from osclc.calibration.quality import Figure
from osclc.calibration.versioned_json import read_versioned_json
from osclc.drivers.bench_config import BenchConfig
from osclc.drivers.physics.scales import camera_scale_px, fourier_scale_px
from osclc.drivers.bench_config import BIT_DEPTH_MAX, EXPOSURE_RANGE_S, PAD_MAX, SHAPE_LIMITS
from osclc.storage import content_hash, encode_json, encode_npz, recover, save_files, sha256_bytes, sha256_file

SCHEMA = "osclc.calibration/1"
CALIBRATIONS = ("dark", "fourier", "lut", "wavefront", "camera", "fringing")
FRINGING_MAX_PX = 5.0  # the largest crosstalk sigma a record accepts (SLM pixels)
_NPZ_KEYS = ("lut_phase_rad", "wavefront_phase_rad", "dark_frame", "dark_per_s", "gain_frame", "bad_pixels")
# Config keys that say how the bench is driven, not what it is: changing them keeps a calibration valid.
_VOLATILE_KEYS = frozenset({
    "clock", "faults", "retry", "timeout_s", "resource", "baudrate", "power_mw", "max_power_mw", "settle_s",
    "refresh_hz", "readout_s", "link_MBps", "exposure_s", "fft_workers", "precision",
    "program_check_min_correlation",
})


BenchConfigLike = BenchConfig | Mapping[str, object]
"""A bench config, or its document (a dict as read from the YAML)."""


class CalibrationError(ValueError):
    """A calibration record that cannot be used (bad file, other bench, wrong shape); the message says why and the fix."""


def _config_dict(bench_config: BenchConfigLike) -> dict[str, Any]:
    if isinstance(bench_config, BenchConfig):
        return bench_config.model_dump(mode="json")
    if isinstance(bench_config, Mapping):
        return json.loads(json.dumps(dict(bench_config), default=str))
    raise CalibrationError(f"bench_config must be a BenchConfig or a dict, got {type(bench_config).__name__}")


def _strip_volatile(value: object) -> object:
    if isinstance(value, dict):
        return {k: _strip_volatile(v) for k, v in sorted(value.items()) if k not in _VOLATILE_KEYS}
    if isinstance(value, list):
        return [_strip_volatile(v) for v in value]
    return value


def bench_config_hash(bench_config: BenchConfigLike) -> str:
    """SHA-256 (hex) of the bench config, ignoring how devices are reached and timed (ports, timing, faults).

    Two configs with the same hash describe the same optics and devices, so one calibration serves both.
    """
    canonical = json.dumps(_strip_volatile(_config_dict(bench_config)), sort_keys=True, separators=(",", ":"))
    return sha256_bytes(canonical.encode())


def _affine(value: object, name: str) -> np.ndarray:
    matrix = np.asarray(value, dtype=np.float64)
    if matrix.shape != (2, 3) or not np.all(np.isfinite(matrix)):
        raise CalibrationError(f"{name} must be a finite 2x3 matrix [[a, b, t_row], [c, d, t_col]], got {matrix.tolist()!r}")
    if abs(np.linalg.det(matrix[:, :2])) < 1e-12:
        raise CalibrationError(f"{name} is singular (its 2x2 part has determinant 0); re-run the calibration")
    return matrix


def _in_range(name: str, value: SupportsFloat | str, lo: float, hi: float, unit: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise CalibrationError(f"{name} must be a number ({unit}), got {value!r}; re-run `osclc calibrate fringing`") from None
    if not lo <= number <= hi:  # also refuses NaN
        raise CalibrationError(f"{name} = {value!r} is outside {lo:g} .. {hi:g} ({unit}); re-run `osclc calibrate fringing`")
    return number


def optical_centre(shape: Sequence[int]) -> np.ndarray:
    """Pixel (row, col) where the optical axis crosses a nominally centred device: ``(rows // 2, cols // 2)``,
    the DC bin of an fftshifted spectrum of that size."""
    return np.array([int(shape[0]) // 2, int(shape[1]) // 2], dtype=np.float64)


def apply_affine(affine: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Map ``points[..., 2]`` (row, col) through a 2x3 affine: ``A[:, :2] @ p + A[:, 2]``."""
    points = np.asarray(points, dtype=np.float64)
    return points @ affine[:, :2].T + affine[:, 2]


def invert_affine(affine: np.ndarray) -> np.ndarray:
    """The 2x3 affine of the inverse map."""
    inverse = np.linalg.inv(affine[:, :2])
    return np.concatenate([inverse, -(inverse @ affine[:, 2])[:, None]], axis=1)


@dataclass
class CalibrationRecord:
    """One bench's calibration (see the module docstring for the schema and the units)."""

    bench_hash: str
    slm_shape: tuple[int, int]
    slm_bit_depth: int
    camera_shape: tuple[int, int]
    input_shape: tuple[int, int]
    lut_phase_rad: np.ndarray
    fourier_affine: np.ndarray
    fourier_pad: int
    camera_affine: np.ndarray
    wavefront_phase_rad: np.ndarray
    dark_frame: np.ndarray
    dark_per_s: np.ndarray
    dark_exposure_s: float
    gain_frame: np.ndarray
    bad_pixels: np.ndarray
    fringing_px: float = 0.0
    zero_order: float = 0.0
    dark_noise_counts: dict[str, float] = field(default_factory=dict)
    measured: list[str] = field(default_factory=list)
    stats: dict[str, dict[str, float]] = field(default_factory=dict)
    fits: dict[str, Any] = field(default_factory=dict)
    created_utc: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    run_id: str | None = None
    quality: list[Figure] = field(default_factory=list)
    forced: bool = False

    def __post_init__(self) -> None:
        self.slm_shape = (int(self.slm_shape[0]), int(self.slm_shape[1]))
        self.camera_shape = (int(self.camera_shape[0]), int(self.camera_shape[1]))
        self.input_shape = (int(self.input_shape[0]), int(self.input_shape[1]))
        self.lut_phase_rad = lut_mod.check_lut(self.lut_phase_rad, self.slm_bit_depth)
        self.fourier_affine = _affine(self.fourier_affine, "fourier.affine")
        self.camera_affine = _affine(self.camera_affine, "camera.affine")
        self.wavefront_phase_rad = self._array("wavefront.phase_rad", self.wavefront_phase_rad, self.slm_shape)
        for name, shape in (("dark_frame", self.camera_shape), ("dark_per_s", self.camera_shape), ("gain_frame", self.camera_shape)):
            setattr(self, name, self._array(name.replace("_", ".", 1), getattr(self, name), shape))
        if np.any(self.gain_frame <= 0):
            raise CalibrationError("gain.frame must be > 0 everywhere (mark unusable pixels in bad_pixels); re-run `osclc calibrate dark`")
        self.bad_pixels = np.asarray(self.bad_pixels).astype(bool)
        if self.bad_pixels.shape != self.camera_shape:
            raise CalibrationError(f"bad_pixels has shape {self.bad_pixels.shape}, expected {self.camera_shape} for this bench")
        self.fringing_px = _in_range("slm.fringing_px", self.fringing_px, 0.0, FRINGING_MAX_PX, "SLM pixels")
        self.zero_order = _in_range("slm.zero_order", self.zero_order, 0.0, 1.0, "field fraction")
        unknown = sorted(set(self.measured) - set(CALIBRATIONS))
        if unknown:
            raise CalibrationError(f"measured lists unknown calibrations {unknown}; known: {', '.join(CALIBRATIONS)}")
        self._inverse: np.ndarray | None = None
        self._content_hash: str | None = None

    @staticmethod
    def _array(name: str, value: object, shape: tuple[int, int]) -> np.ndarray:
        array = np.asarray(value, dtype=np.float64)
        if array.shape != tuple(shape):
            raise CalibrationError(f"{name} has shape {array.shape}, expected {tuple(shape)} for this bench")
        if not np.all(np.isfinite(array)):
            raise CalibrationError(f"{name} contains NaN or infinity; re-run the calibration")
        return array

    @classmethod
    def identity(cls, bench_config: BenchConfigLike) -> "CalibrationRecord":
        """The "calibration skipped" record: linear LUT over 2*pi, flat wavefront, zero dark, unit gain, and
        the nominal affines of the config optics (spectrum centred on the SLM with ``s`` SLM pixels per bin,
        no rotation; the input's centre imaged, inverted with magnification ``camera_scale``, on the camera centre).
        """
        config = _config_dict(bench_config)
        optics, slm, cam, inp = config["optics"], config["slm"], config["camera"], config["input"]
        scale = fourier_scale_px(optics["wavelength_m"], optics["f1_m"], optics["pad"], inp["pitch_m"], slm["pitch_m"])
        magnification = camera_scale_px(inp["pitch_m"], optics["f1_m"], optics["f2_m"], cam["pitch_m"])
        slm_centre, cam_centre, in_centre = (optical_centre(config[k]["shape"]) for k in ("slm", "camera", "input"))
        camera_linear = -magnification * np.eye(2)
        cam_shape = tuple(cam["shape"])
        return cls(
            bench_hash=bench_config_hash(config), slm_shape=tuple(slm["shape"]), slm_bit_depth=int(slm["bit_depth"]),
            camera_shape=cam_shape, input_shape=tuple(inp["shape"]),
            lut_phase_rad=lut_mod.linear_lut(int(slm["bit_depth"])),
            fourier_affine=np.concatenate([scale * np.eye(2), slm_centre[:, None]], axis=1),
            fourier_pad=int(optics["pad"]),
            camera_affine=np.concatenate([camera_linear, (cam_centre - camera_linear @ in_centre)[:, None]], axis=1),
            wavefront_phase_rad=np.zeros(tuple(slm["shape"])), dark_frame=np.zeros(cam_shape),
            dark_per_s=np.zeros(cam_shape), dark_exposure_s=float(cam["exposure_s"]), gain_frame=np.ones(cam_shape),
            bad_pixels=np.zeros(cam_shape, bool),
        )

    # ------------------------------------------------------------------ use

    @property
    def lut_inverse(self) -> np.ndarray:
        """Inverse LUT table: gray level for phases ``phase_rad[0] + 2*pi*j/INVERSE_SAMPLES`` (computed once)."""
        if self._inverse is None:
            self._inverse = lut_mod.inverse_table(self.lut_phase_rad)
        return self._inverse

    @property
    def content_hash(self) -> str:
        """BLAKE2b-256 (hex) of the record: its JSON document and every array (the identity a compiled program keeps).

        Computed once per record object: records are not modified after they are measured or loaded (a changed
        record is a new object, e.g. from :func:`dataclasses.replace`).
        """
        if self._content_hash is None:
            self._content_hash = content_hash([
                repr(sorted(self.to_json("").items())).encode(),
                *(np.ascontiguousarray(getattr(self, name)).data.cast("B") for name in _NPZ_KEYS),
            ])
        return self._content_hash

    def phase_to_gray(self, phase: np.ndarray) -> np.ndarray:
        """Gray levels (uint16) that display the phases ``phase`` (radians, any real values; wrapped)."""
        return lut_mod.phase_to_gray(phase, self.lut_phase_rad, self.lut_inverse)

    def bins_to_slm(self, k: np.ndarray, pad: int | None = None) -> np.ndarray:
        """SLM pixel (row, col) of frequency bins ``k[..., 2]`` (relative to DC) of a ``pad`` x ``pad`` grid."""
        scale = 1.0 if pad is None else self.fourier_pad / pad
        return apply_affine(self.fourier_affine, np.asarray(k, dtype=np.float64) * scale)

    def slm_to_bins(self, slm: np.ndarray, pad: int | None = None) -> np.ndarray:
        """Frequency bins (relative to DC, of a ``pad`` grid) at SLM pixel coordinates ``slm[..., 2]``."""
        scale = 1.0 if pad is None else pad / self.fourier_pad
        return apply_affine(invert_affine(self.fourier_affine), slm) * scale

    def model_to_camera(self, rc: np.ndarray) -> np.ndarray:
        """Camera pixel (row, col) of output-grid (= input-modulator pixel) coordinates ``rc[..., 2]``."""
        return apply_affine(self.camera_affine, rc)

    def dark_at(self, exposure_s: float) -> np.ndarray:
        """Expected dark frame (counts) at ``exposure_s`` seconds: ``frame + per_s * (exposure_s - dark.exposure_s)``."""
        return self.dark_frame + self.dark_per_s * (float(exposure_s) - self.dark_exposure_s)

    def check_bench(self, bench_config: BenchConfigLike) -> None:
        """Raise :class:`CalibrationError` naming the reason when this record was not measured on ``bench_config``."""
        config = _config_dict(bench_config)
        slm = config.get("slm", {})
        shape = slm.get("shape")
        if shape is not None and tuple(shape) != self.slm_shape:
            raise CalibrationError(
                f"calibration is for an SLM of {self.slm_shape[0]}x{self.slm_shape[1]} pixels but the bench has "
                f"{shape[0]}x{shape[1]}; run `osclc calibrate all --bench <this config>`"
            )
        digest = bench_config_hash(config)
        if digest != self.bench_hash:
            raise CalibrationError(
                f"calibration was measured on another bench (config hash {self.bench_hash[:12]}, this bench "
                f"{digest[:12]}); run `osclc calibrate all --bench <this config>`"
            )

    # ------------------------------------------------------------------ files

    def to_json(self, npz_name: str) -> dict[str, Any]:
        """The JSON document (arrays referenced as ``npz:<key>`` in ``npz_name``)."""
        return {
            "schema": SCHEMA,
            "bench": {
                "hash": self.bench_hash, "slm_shape": list(self.slm_shape), "slm_bit_depth": self.slm_bit_depth,
                "camera_shape": list(self.camera_shape), "input_shape": list(self.input_shape),
            },
            "created_utc": self.created_utc,
            "run_id": self.run_id,
            "measured": list(self.measured),
            "arrays": npz_name,
            "lut": {"phase_rad": "npz:lut_phase_rad", "units": "rad per gray level, relative to level 0"},
            "fourier": {"affine": self.fourier_affine.tolist(), "pad": self.fourier_pad,
                        "maps": "(k_row, k_col) bins from DC -> SLM (row, col) pixels"},
            "camera": {"affine": self.camera_affine.tolist(),
                       "maps": "output-grid (input-modulator) (row, col) pixels -> camera (row, col) pixels"},
            "wavefront": {"phase_rad": "npz:wavefront_phase_rad", "units": "rad, added to every SLM phase"},
            "slm": {"fringing_px": self.fringing_px, "zero_order": self.zero_order,
                    "units": "crosstalk Gaussian sigma (SLM pixels); unmodulated field fraction"},
            "dark": {"frame": "npz:dark_frame", "per_s": "npz:dark_per_s", "exposure_s": self.dark_exposure_s,
                     "noise_counts": self.dark_noise_counts},
            "gain": {"frame": "npz:gain_frame"},
            "bad_pixels": "npz:bad_pixels",
            "fits": self.fits,
            "stats": self.stats,
            "quality": [figure.to_json() for figure in self.quality],
            "forced": self.forced,
        }

    def save(self, path: str | Path) -> Path:
        """Write ``path`` (JSON) and ``path`` with suffix ``.npz`` (arrays) atomically, as a pair; returns the JSON path."""
        path = Path(path)
        if path.suffix != ".json":
            raise CalibrationError(f"{path}: a calibration record is saved as a .json file (arrays go beside it as .npz)")
        path.parent.mkdir(parents=True, exist_ok=True)
        npz = path.with_suffix(".npz")
        arrays = encode_npz({
            "lut_phase_rad": self.lut_phase_rad, "wavefront_phase_rad": self.wavefront_phase_rad,
            "dark_frame": self.dark_frame, "dark_per_s": self.dark_per_s, "gain_frame": self.gain_frame,
            "bad_pixels": self.bad_pixels.astype(np.uint8),
        })
        document = self.to_json(npz.name)
        document["arrays_sha256"] = sha256_bytes(arrays)
        save_files({path: encode_json(document), npz: arrays})  # both replaced together: a kill leaves old or new
        return path

    @classmethod
    def load(cls, path: str | Path, bench_config: BenchConfigLike | None = None) -> "CalibrationRecord":
        """Read a record saved by :meth:`save`; with ``bench_config``, refuse a record from another bench or SLM size."""
        path = Path(path)
        recover(path)  # finish a save that a kill interrupted
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no calibration record; create one with `osclc calibrate all --bench CONFIG --out {path}`")
        doc = read_versioned_json(path, SCHEMA, CalibrationError, "JSON calibration record", "re-run `osclc calibrate`")
        npz = path.with_name(str(doc.get("arrays", "")))
        if not npz.is_file():
            raise FileNotFoundError(f"{npz}: the arrays of calibration {path} are missing; keep the .npz beside the .json")
        if doc.get("arrays_sha256") and sha256_file(npz) != doc["arrays_sha256"]:
            raise CalibrationError(f"{npz}: does not match the hash in {path} (arrays from another calibration?)")
        try:
            arrays = load_npz_arrays(npz, _NPZ_KEYS, CalibrationError, "re-run `osclc calibrate`")
            check_record_ranges(doc, arrays)
            bench = doc["bench"]
            slm = doc.get("slm", {})  # records written before the fringing calibration have no "slm"
            if not isinstance(slm, dict):
                raise CalibrationError(f"slm must be an object {{fringing_px, zero_order}}, got {slm!r}; re-run `osclc calibrate fringing`")
            record = cls(
                bench_hash=bench["hash"], slm_shape=tuple(bench["slm_shape"]), slm_bit_depth=int(bench["slm_bit_depth"]),
                camera_shape=tuple(bench["camera_shape"]), input_shape=tuple(bench["input_shape"]),
                lut_phase_rad=arrays["lut_phase_rad"], fourier_affine=doc["fourier"]["affine"],
                fourier_pad=int(doc["fourier"]["pad"]), camera_affine=doc["camera"]["affine"],
                wavefront_phase_rad=arrays["wavefront_phase_rad"], dark_frame=arrays["dark_frame"],
                dark_per_s=arrays["dark_per_s"], dark_exposure_s=float(doc["dark"]["exposure_s"]),
                gain_frame=arrays["gain_frame"], bad_pixels=arrays["bad_pixels"],
                fringing_px=slm.get("fringing_px", 0.0), zero_order=slm.get("zero_order", 0.0),
                dark_noise_counts=dict(doc["dark"].get("noise_counts", {})),
                measured=list(doc.get("measured", [])), stats=dict(doc.get("stats", {})), fits=dict(doc.get("fits", {})),
                created_utc=str(doc.get("created_utc")), run_id=doc.get("run_id"),
                quality=[Figure.from_json(item) for item in doc.get("quality", [])], forced=bool(doc.get("forced", False)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, CalibrationError):
                raise CalibrationError(f"{path}: {exc}") from exc
            raise CalibrationError(f"{path}: missing or malformed field ({exc!r}); re-run `osclc calibrate`") from exc
        if bench_config is not None:
            try:
                record.check_bench(bench_config)
            except CalibrationError as exc:
                raise CalibrationError(f"{path}: {exc}") from exc
        return record


# ---------------------------------------------------------------- range checks on load
# Every field of a record file is checked against the range a bench can have before the record is built, so a
# hand-edited or corrupt file is refused naming the field, the bound and the fix (never compiled into garbage).

_MAX_COUNT = 2.0**BIT_DEPTH_MAX - 1  # largest count of any camera (counts)
_MAX_GAIN = 100.0  # largest flat-field gain of one pixel relative to the mean (dimensionless)
_MAX_PHASE_RAD = 1e4  # largest |phase| of a LUT entry or wavefront correction (rad): far beyond any SLM's stroke
_CHECK = FieldChecks(CalibrationError, "re-run `osclc calibrate`")


def _step(name: str) -> str:
    return f"re-run `osclc calibrate {name}`"


def check_record_ranges(doc: Mapping[str, object], arrays: Mapping[str, np.ndarray]) -> None:
    """Raise :class:`CalibrationError` naming the field, its bound and the fix for any value of a record file
    (the JSON document ``doc`` and its ``arrays``) outside the range a bench can have."""
    bench = _CHECK.section(doc, "bench")
    _CHECK.text(bench.get("hash"), "bench.hash", r"[0-9a-f]{64}", "a SHA-256 in hex")
    shapes = {name: _CHECK.shape(bench.get(f"{name}_shape"), f"bench.{name}_shape", SHAPE_LIMITS[name])
              for name in ("slm", "camera", "input")}
    _CHECK.number(bench.get("slm_bit_depth"), "bench.slm_bit_depth", 1, BIT_DEPTH_MAX, "bits", integer=True)
    fourier = _CHECK.section(doc, "fourier")
    pad = _CHECK.number(fourier.get("pad"), "fourier.pad", 1, PAD_MAX, "input-modulator pixels", integer=True,
                        fix=_step("fourier"))
    _affine_range(fourier.get("affine"), "fourier.affine", "SLM pixels per frequency bin", 1.0 / pad, max(shapes["slm"]),
                  np.zeros(2), shapes["slm"], "fourier")
    _affine_range(_CHECK.section(doc, "camera").get("affine"), "camera.affine", "camera pixels per input pixel",
                  1.0 / max(shapes["input"]), max(shapes["camera"]), optical_centre(shapes["input"]), shapes["camera"], "camera")
    dark = _CHECK.section(doc, "dark")
    low, high = EXPOSURE_RANGE_S
    _CHECK.number(dark.get("exposure_s"), "dark.exposure_s", low, high, "s", fix=_step("dark"))
    noise = dark.get("noise_counts", {})
    if not isinstance(noise, dict):
        _CHECK.fail(f"dark.noise_counts must be an object {{exposure_s: counts}}, got {noise!r}", _step("dark"))
    for exposure, counts in noise.items():
        try:
            seconds = float(exposure)
        except ValueError:
            seconds = float("nan")
        _CHECK.number(seconds, f"dark.noise_counts key {exposure!r}", low, high, "s", fix=_step("dark"))
        _CHECK.number(counts, f"dark.noise_counts[{exposure!r}]", 0.0, _MAX_COUNT, "counts", fix=_step("dark"))
    slm = doc.get("slm", {})
    if isinstance(slm, dict):
        _CHECK.number(slm.get("fringing_px", 0.0), "slm.fringing_px", 0.0, FRINGING_MAX_PX, "SLM pixels", fix=_step("fringing"))
        _CHECK.number(slm.get("zero_order", 0.0), "slm.zero_order", 0.0, 1.0, "field fraction", fix=_step("fringing"))
    _CHECK.array(arrays["lut_phase_rad"], "lut.phase_rad", -_MAX_PHASE_RAD, _MAX_PHASE_RAD, "rad", _step("lut"))
    _CHECK.array(arrays["wavefront_phase_rad"], "wavefront.phase_rad", -_MAX_PHASE_RAD, _MAX_PHASE_RAD, "rad", _step("wavefront"))
    _CHECK.array(arrays["dark_frame"], "dark.frame", -_MAX_COUNT, _MAX_COUNT, "counts", _step("dark"))
    _CHECK.array(arrays["dark_per_s"], "dark.per_s", -_MAX_COUNT / low, _MAX_COUNT / low, "counts/s", _step("dark"))
    _CHECK.array(arrays["gain_frame"], "gain.frame", np.nextafter(0.0, 1.0), _MAX_GAIN, "relative response", _step("dark"))
    _CHECK.array(arrays["bad_pixels"], "bad_pixels", 0, 1, "0 = good, 1 = bad", _step("dark"))
    if arrays["bad_pixels"].size and not np.all(np.isin(arrays["bad_pixels"], (0, 1))):
        _CHECK.fail("bad_pixels holds values other than 0 and 1", _step("dark"))
    _metadata(doc)


def _affine_range(value: object, field: str, unit: str, lo: float, hi: float, origin: np.ndarray, target: tuple[int, int],
                  step: str) -> None:
    """A finite 2x3 map whose scales (singular values of the 2x2 part, ``unit``) lie within ``lo .. hi`` and that puts
    ``origin`` (the optical axis) on the ``target`` device."""
    try:
        matrix = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        matrix = np.full(0, np.nan)
    if matrix.shape != (2, 3) or not np.all(np.isfinite(matrix)):
        _CHECK.fail(f"{field} must be a finite 2x3 matrix [[a, b, t_row], [c, d, t_col]], got {value!r}", _step(step))
    scales = np.linalg.svd(matrix[:, :2], compute_uv=False)
    if scales.min() < lo or scales.max() > hi:
        _CHECK.fail(f"{field} scales by {scales.min():.4g} .. {scales.max():.4g} {unit}, outside {lo:.4g} .. {hi:.4g} "
                    "(a bench whose optics fit its devices)", _step(step))
    axis = apply_affine(matrix, origin)
    if not np.all((axis >= -0.5) & (axis <= np.asarray(target) - 0.5)):
        _CHECK.fail(f"{field} puts the optical axis at pixel {axis.round(2).tolist()}, off the {target[0]}x{target[1]} device",
                    _step(step))


def _metadata(doc: Mapping[str, object]) -> None:
    """``measured`` (names), ``stats`` (counts and seconds >= 0), ``fits`` (an object), ``created_utc``, ``run_id``."""
    measured = doc.get("measured", [])
    if not (isinstance(measured, list) and all(isinstance(name, str) for name in measured)):
        _CHECK.fail(f"measured must be a list of calibration names, got {measured!r}")
    stats = doc.get("stats", {})
    if not isinstance(stats, dict):
        _CHECK.fail(f"stats must be an object {{calibration: {{captures, seconds}}}}, got {stats!r}")
    for name, figures in stats.items():
        if not isinstance(figures, dict):
            _CHECK.fail(f"stats.{name} must be an object {{captures, seconds}}, got {figures!r}")
        for key, value in figures.items():
            _CHECK.number(value, f"stats.{name}.{key}", 0.0, 1e9, "count or seconds")
    if not isinstance(doc.get("fits", {}), dict):
        _CHECK.fail(f"fits must be an object, got {doc.get('fits')!r}")
    _CHECK.text(doc.get("created_utc", ""), "created_utc")
    if doc.get("run_id") is not None:
        _CHECK.text(doc.get("run_id"), "run_id", what="a run id or null")
