"""The optical program: what the compiler produces and the loop executes.

An :class:`OpticalProgram` holds

- ``patterns`` [n_patterns, slm rows, slm cols]: SLM gray levels (already through the inverse LUT,
  wavefront corrected), and ``pattern_channels[p]``: the output channels pattern ``p`` carries
  (``time``: one channel each, capture ``p`` gives channel ``p``; ``space``: one pattern, all channels);
- the input placement: each input channel's N x N image at ``input_corner[c]`` on a canvas of
  ``input_shape`` (the input modulator), every image pixel shown as an ``input_scale`` square block,
  zeros elsewhere;
- optical batching: ``images_per_frame`` input images shown in one frame, image ``i`` at ``tile_shift[i]``
  (modulator pixels, [images, 2], image 0 at (0, 0)) from the placement above, with guard bands so that the
  linear convolutions of neighbouring images never meet on the camera;
- the readout: for image ``i``, output channel ``o`` and model grid point ``(m, n)``, the camera pixels and weights
  (``sample_index``, ``sample_weight`` [images, c_out, h*w, 16]: bicubic interpolation at the point
  ``camera.affine`` gives for it; each image is read from its own camera windows), the dark frame at the reference exposure ``dark_exposure_s`` and its
  growth per second of exposure, the flat-field gain (``dark``, ``dark_per_s``, ``gain``: camera shape,
  counts), then a per-channel gain/offset (``feature_gain``, ``feature_offset``) that puts the camera's
  counts on the scale of the folded student's detector outputs;
- the camera exposure of each pattern, ``exposure_s`` [n_patterns] (s): with time multiplexing each
  channel's capture gets its own exposure, so weak channels use the camera's range as well as strong
  ones. Pattern ``p`` is read with the dark ``dark + dark_per_s * (exposure_s[p] - dark_exposure_s)``
  (computed at the readout taps only: no frame per pattern is stored);
- the number of camera frames averaged per pattern, ``frames`` [n_patterns] (>= 1): a pattern whose
  channels are still shot-noise limited at a safe exposure is captured several times and read from the
  mean frame (the readout formula is unchanged: the mean of frames has the same dark and gain);
- the predicted frame rates of both multiplexings, and the identities of the model, calibration and
  bench it came from.

Folder format (``save(dir)``): ``program.json`` (schema ``osclc.program/4``: every scalar and small
table, the names of the arrays, and the SHA-256 of ``arrays.npz``), ``arrays.npz`` (the arrays,
loaded with ``allow_pickle=False``) and ``pattern_NNN.png`` (the same patterns as 8/16-bit PNGs for
people and other tools; the npz is what :meth:`OpticalProgram.load` reads).

Format change from ``osclc.program/1``: ``exposure_s`` was one number (every pattern's exposure) and
``dark`` was the dark frame at that exposure; ``/2`` stores ``exposure_s`` as a list (one per pattern)
and ``readout.dark_exposure_s``, the exposure ``dark`` was taken at. :meth:`OpticalProgram.load` still
reads ``/1`` folders (their exposure for every pattern, ``dark_exposure_s`` = that exposure);
:meth:`OpticalProgram.save` writes ``/4``; ``/3`` added ``frames`` (frames averaged per pattern; ``/1`` and ``/2``
folders load with one frame per pattern); ``/4`` adds ``input.images_per_frame``, the ``tile_shift`` array and a
leading image axis on ``sample_index`` / ``sample_weight``; older folders load as one image per frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import cv2
import numpy as np

from osclc.calibration.npz_arrays import load_npz_arrays
from osclc.calibration.program_checks import (
    SCHEMA,
    SCHEMA_V1,
    SCHEMA_V2,
    SCHEMA_V3,
    ProgramError,
    all_finite,
    check_exposures,
    check_program_array_kinds,
    check_program_ranges,
    frame_counts,
    lowest,
    per_pattern_exposures,
)
from osclc.calibration.versioned_json import read_versioned_json
from osclc.storage import encode_npz, recover, save_bytes, save_folder, save_json, sha256_bytes, sha256_file

TAPS = 16
_ARRAYS = (
    "patterns", "input_corner", "sample_index", "sample_weight", "dark", "dark_per_s", "gain", "feature_gain", "feature_offset",
    "tile_shift",
)


@dataclass
class OpticalProgram:
    """A compiled optical program (see the module docstring for every field and unit)."""

    multiplex: str
    encoding: str
    detector: str
    patterns: np.ndarray
    pattern_channels: list[list[int]]
    slm_bit_depth: int
    input_shape: tuple[int, int]
    input_size: int
    input_corner: np.ndarray
    input_scale: int
    out_size: tuple[int, int]
    camera_shape: tuple[int, int]
    sample_index: np.ndarray
    sample_weight: np.ndarray
    dark: np.ndarray
    dark_per_s: np.ndarray
    gain: np.ndarray
    feature_gain: np.ndarray
    feature_offset: np.ndarray
    exposure_s: np.ndarray
    model_hash: str
    calibration_hash: str
    bench_hash: str
    frame_rate_hz: dict[str, float | None] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    dark_exposure_s: float | None = None
    frames: np.ndarray | None = None
    tile_shift: np.ndarray | None = None

    def __post_init__(self) -> None:
        """Normalise the fields and validate. ``exposure_s`` may be one number (every pattern) or one per pattern;
        ``dark_exposure_s`` (s, the exposure ``dark`` holds) may be left None when every pattern has the same
        exposure: ``dark`` is then the dark at that exposure (what the compiler gives). ``frames`` (camera frames
        averaged per pattern) defaults to one per pattern. ``sample_index`` / ``sample_weight`` may be given without the
image axis ([c_out, h*w, 16]: one image per frame); ``tile_shift`` defaults to one image at (0, 0)."""
        self.input_shape = (int(self.input_shape[0]), int(self.input_shape[1]))
        self.out_size = (int(self.out_size[0]), int(self.out_size[1]))
        self.camera_shape = (int(self.camera_shape[0]), int(self.camera_shape[1]))
        self.pattern_channels = [[int(c) for c in chans] for chans in self.pattern_channels]
        self.patterns = np.asarray(self.patterns)
        self.sample_index, self.sample_weight = np.asarray(self.sample_index), np.asarray(self.sample_weight)
        if self.sample_index.ndim == 3:
            self.sample_index, self.sample_weight = self.sample_index[None], self.sample_weight[None]
        self.tile_shift = np.zeros((1, 2), np.int64) if self.tile_shift is None else np.asarray(self.tile_shift)
        self.exposure_s = per_pattern_exposures(self.exposure_s, self.patterns.shape[0] if self.patterns.ndim == 3 else 0)
        if self.dark_exposure_s is None:
            if self.exposure_s.size and all_finite(self.exposure_s) and np.ptp(self.exposure_s) != 0:
                raise ProgramError(
                    f"exposure_s differs between patterns ({self.exposure_s.tolist()} s) but dark_exposure_s (the exposure "
                    "the dark frame was taken at) is not given; pass it"
                )
            self.dark_exposure_s = float(self.exposure_s[0]) if self.exposure_s.size else 0.0
        self.dark_exposure_s = float(self.dark_exposure_s)
        patterns = self.patterns.shape[0] if self.patterns.ndim == 3 else 0
        self.frames = frame_counts(np.ones(patterns, np.int64) if self.frames is None else self.frames, patterns)
        self.validate()
        self._selected: tuple[np.ndarray, np.ndarray] | None = None

    # ------------------------------------------------------------------ checks

    @property
    def out_channels(self) -> int:
        """Number of output channels C_out."""
        return int(self.sample_index.shape[1])

    @property
    def images_per_frame(self) -> int:
        """Input images shown (and read out) per frame."""
        return int(self.tile_shift.shape[0])

    @property
    def in_channels(self) -> int:
        """Number of input channels C_in."""
        return int(self.input_corner.shape[0])

    def validate(self) -> None:
        """Raise :class:`ProgramError` naming the field for NaN, wrong shapes or out-of-range values."""
        if self.multiplex not in ("time", "space"):
            raise ProgramError(f"multiplex is {self.multiplex!r}; expected 'time' or 'space'")
        if self.patterns.ndim != 3 or not np.issubdtype(self.patterns.dtype, np.integer):
            raise ProgramError(f"patterns must be integer gray levels [n, rows, cols], got {self.patterns.dtype} {self.patterns.shape}")
        if self.patterns.size and (lowest(self.patterns) < 0 or self.patterns.max() >= 2**self.slm_bit_depth):
            raise ProgramError(f"patterns hold gray levels outside 0 .. {2**self.slm_bit_depth - 1} (SLM bit depth {self.slm_bit_depth})")
        if len(self.pattern_channels) != self.patterns.shape[0]:
            raise ProgramError(f"pattern_channels lists {len(self.pattern_channels)} patterns but there are {self.patterns.shape[0]}")
        if self.tile_shift.ndim != 2 or self.tile_shift.shape[1:] != (2,) or self.tile_shift.shape[0] < 1:
            raise ProgramError(f"tile_shift must be [images_per_frame, 2] modulator pixels, got {self.tile_shift.shape}")
        if not np.issubdtype(self.tile_shift.dtype, np.integer) or np.any(self.tile_shift[0] != 0):
            raise ProgramError(f"tile_shift must be whole modulator pixels with image 0 at (0, 0), got {self.tile_shift.tolist()}")
        images = self.images_per_frame
        c_out = self.sample_index.shape[1] if self.sample_index.ndim == 4 else -1
        listed = sorted(c for chans in self.pattern_channels for c in chans)
        if listed != list(range(c_out)):
            raise ProgramError(f"pattern_channels {self.pattern_channels} must name each output channel 0 .. {c_out - 1} once")
        points = self.out_size[0] * self.out_size[1]
        if self.sample_index.shape != (images, c_out, points, TAPS) or self.sample_weight.shape != self.sample_index.shape:
            raise ProgramError(
                f"sample_index/sample_weight shapes {self.sample_index.shape}/{self.sample_weight.shape} do not match "
                f"[images_per_frame {images}, c_out, {points}, {TAPS}] for out_size {self.out_size}"
            )
        pixels = self.camera_shape[0] * self.camera_shape[1]
        if self.sample_index.size and (self.sample_index.min() < 0 or self.sample_index.max() >= pixels):
            raise ProgramError(f"sample_index points outside the {self.camera_shape} camera")
        for name in ("dark", "dark_per_s", "gain"):
            if getattr(self, name).shape != self.camera_shape:
                raise ProgramError(f"{name} has shape {getattr(self, name).shape}, expected the camera shape {self.camera_shape}")
        if self.gain.size and self.gain.min() <= 0:
            raise ProgramError("gain (flat field) must be > 0 everywhere; re-run `osclc calibrate dark`")
        for name in ("feature_gain", "feature_offset"):
            if getattr(self, name).shape != (c_out,):
                raise ProgramError(f"{name} has shape {getattr(self, name).shape}, expected ({c_out},)")
        if self.input_corner.shape != (self.input_corner.shape[0], 2) or self.input_corner.shape[0] < 1:
            raise ProgramError(f"input_corner must be [c_in, 2], got {self.input_corner.shape}")
        if int(self.input_scale) < 1:
            raise ProgramError(f"input_scale must be an integer >= 1 (modulator pixels per image pixel), got {self.input_scale}")
        n = self.input_size * int(self.input_scale)
        corners = (self.input_corner[None] + self.tile_shift[:, None]).reshape(-1, 2)
        if corners.min() < 0 or np.any(corners + n > np.array(self.input_shape)):
            raise ProgramError(f"input_corner {self.input_corner.tolist()} with tile_shift {self.tile_shift.tolist()} puts a "
                               f"{n}x{n} image outside the {self.input_shape} modulator")
        gaps = np.abs(corners[:, None] - corners[None]).max(axis=-1) + n * np.eye(len(corners), dtype=np.int64)
        if gaps.min() < n:
            raise ProgramError(f"tile_shift {self.tile_shift.tolist()} makes images overlap on the modulator (each {n}x{n} "
                               "modulator pixels); recompile the program")
        for name in ("sample_weight", "dark", "dark_per_s", "gain", "feature_gain", "feature_offset"):
            if not all_finite(getattr(self, name)):
                raise ProgramError(f"{name} contains NaN or infinity; recompile the program")
        check_exposures(self.exposure_s, self.patterns.shape[0])
        frame_counts(self.frames, self.patterns.shape[0])
        if not (np.isfinite(self.dark_exposure_s) and self.dark_exposure_s >= 0):
            raise ProgramError(f"dark_exposure_s must be a finite number of seconds >= 0, got {self.dark_exposure_s}")

    def set_exposure(self, exposure_s: float | Sequence[float] | np.ndarray) -> None:
        """Use the camera at ``exposure_s`` seconds: one value for every pattern or one per pattern.

        The dark each pattern is read with follows its exposure (``dark_per_s``); ``dark`` itself is not rewritten.
        """
        exposures = per_pattern_exposures(exposure_s, self.patterns.shape[0])
        check_exposures(exposures, self.patterns.shape[0])
        self.exposure_s = exposures
        self._selected = None

    def set_frames(self, frames: int | Sequence[int] | np.ndarray) -> None:
        """Average ``frames`` camera frames per pattern: one count for every pattern or one per pattern (1 .. MAX_FRAMES)."""
        patterns = self.patterns.shape[0]
        values = np.asarray(frames)
        self.frames = frame_counts(np.full(patterns, values) if values.ndim == 0 else values, patterns)

    @property
    def captures(self) -> int:
        """Camera frames taken for one image (the sum of ``frames``)."""
        return int(np.sum(self.frames))

    def dark_frame(self, pattern: int) -> np.ndarray:
        """The expected dark frame (counts, camera shape) at pattern ``pattern``'s exposure."""
        return self.dark + self.dark_per_s * (float(self.exposure_s[pattern]) - self.dark_exposure_s)

    def tap_dark(self, pattern: int) -> np.ndarray:
        """The dark (counts) at image 0's readout taps of pattern ``pattern``'s channels, at its exposure:
        [len(pattern_channels[pattern]), h*w, 16]."""
        return self._corrections()[0][0, self.pattern_channels[pattern]]

    def used_taps(self, pattern: int, image: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Camera pixels (flat indices) of the readout taps in use (nonzero weight) of pattern ``pattern``'s channels,
        of image ``image`` (None: every image of the frame), and the dark (counts) there at the pattern's exposure."""
        tiles = slice(None) if image is None else slice(image, image + 1)
        channels = self.pattern_channels[pattern]
        used = self.sample_weight[tiles][:, channels] != 0
        return self.sample_index[tiles][:, channels][used], self._corrections()[0][tiles][:, channels][used]

    def check_bench(self, bench_hash: str) -> None:
        """Raise :class:`ProgramError` when the program was compiled for another bench (config hash)."""
        if bench_hash != self.bench_hash:
            raise ProgramError(
                f"program was compiled for another bench (config hash {self.bench_hash[:12]}, this bench {bench_hash[:12]}); "
                "recompile it with `osclc compile ... --bench <this config>`"
            )

    # ------------------------------------------------------------------ use

    def input_canvas(self, image: np.ndarray) -> np.ndarray:
        """The input-modulator amplitude (float32, ``input_shape``) showing ``image`` [C_in, N, N] (or [N, N]) as image 0."""
        image = np.asarray(image, dtype=np.float32)
        return self.batch_canvas(image[None, None] if image.ndim == 2 else image[None])

    def batch_canvas(self, images: np.ndarray) -> np.ndarray:
        """The input-modulator amplitude (float32, ``input_shape``) showing ``images`` [B, C_in, N, N] on tiles 0 .. B-1
        (1 <= B <= ``images_per_frame``; the other tiles stay dark)."""
        images = np.asarray(images, dtype=np.float32)
        n = self.input_size
        if images.ndim != 4 or images.shape[1:] != (self.in_channels, n, n) or not 1 <= images.shape[0] <= self.images_per_frame:
            raise ProgramError(f"images shape {images.shape} does not match the program's input [1 .. {self.images_per_frame} "
                               f"images per frame, {self.in_channels}, {n}, {n}]")
        if not np.all(np.isfinite(images)) or images.min() < 0 or images.max() > 1:
            raise ProgramError("image amplitudes must be finite and in [0, 1]")
        canvas = np.zeros(self.input_shape, np.float32)
        u = int(self.input_scale)
        for image, shift in zip(images, self.tile_shift.astype(int)):
            for c, (row, col) in enumerate(self.input_corner.astype(int) + shift):
                canvas[row : row + n * u, col : col + n * u] = np.repeat(np.repeat(image[c], u, axis=0), u, axis=1)
        return canvas

    def _corrections(self) -> tuple[np.ndarray, np.ndarray]:
        """(dark, gain) at every readout tap [images, c_out, h*w, 16], each channel's dark at its pattern's exposure."""
        if self._selected is None:
            channel_exposure = np.empty(self.out_channels)
            for p, channels in enumerate(self.pattern_channels):
                channel_exposure[channels] = self.exposure_s[p]
            index = self.sample_index
            change = (channel_exposure - self.dark_exposure_s)[None, :, None, None]
            dark = self.dark.reshape(-1)[index] + self.dark_per_s.reshape(-1)[index] * change
            self._selected = (dark, self.gain.reshape(-1)[index])
        return self._selected

    def readout_channels(self, pattern: int, frame: np.ndarray, image: int | None = 0) -> np.ndarray:
        """Features [len(pattern_channels[pattern]), h, w] of the channels that ``frame`` (capture of pattern ``pattern``)
        carries, read from image ``image``'s windows; ``image=None``: every image, [images_per_frame, channels, h, w]."""
        frame = np.asarray(frame)
        if frame.shape != self.camera_shape:
            raise ProgramError(f"frame shape {frame.shape} does not match the program's camera {self.camera_shape}")
        tiles = slice(None) if image is None else slice(image, image + 1)
        channels = self.pattern_channels[pattern]
        dark, gain = (table[tiles][:, channels] for table in self._corrections())
        values = frame.reshape(-1)[self.sample_index[tiles][:, channels]].astype(np.float64)
        raw = np.sum((values - dark) / gain * self.sample_weight[tiles][:, channels], axis=-1)
        features = raw * self.feature_gain[channels, None] + self.feature_offset[channels, None]
        features = features.reshape(-1, len(channels), *self.out_size)
        return features if image is None else features[0]

    def readout(self, frames: np.ndarray, normalise: bool = True, image: int | None = 0) -> np.ndarray:
        """Features [C_out, h, w] on the model grid of image ``image`` from the capture(s) of every pattern
        (``image=None``: every image of the frame, [images_per_frame, C_out, h, w]).

        ``frames``: one camera image (one pattern) or [n_patterns, rows, cols], capture ``p`` (the mean of
        ``self.frames[p]`` frames) taken with ``patterns[p]`` displayed. ``normalise=False`` skips the per-channel gain/offset (raw corrected counts).
        """
        frames = np.asarray(frames)
        if frames.ndim == 2:
            frames = frames[None]
        if frames.shape[0] != self.patterns.shape[0]:
            raise ProgramError(f"got {frames.shape[0]} frames for a program of {self.patterns.shape[0]} patterns (one capture per pattern)")
        out = np.empty((self.images_per_frame if image is None else 1, self.out_channels, *self.out_size))
        for p, frame in enumerate(frames):
            out[:, self.pattern_channels[p]] = self.readout_channels(p, frame, image).reshape(len(out), -1, *self.out_size)
        if not normalise:
            chans = np.arange(self.out_channels)
            out = (out - self.feature_offset[chans, None, None]) / self.feature_gain[chans, None, None]
        return out if image is None else out[0]

    # ------------------------------------------------------------------ files

    def to_json(self) -> dict[str, Any]:
        """The JSON document of :meth:`save` (arrays referenced by name in ``arrays.npz``)."""
        return {
            "schema": SCHEMA,
            "multiplex": self.multiplex,
            "encoding": self.encoding,
            "detector": self.detector,
            "pattern_channels": self.pattern_channels,
            "slm": {"bit_depth": self.slm_bit_depth, "shape": list(self.patterns.shape[1:]), "patterns": int(self.patterns.shape[0])},
            "input": {"shape": list(self.input_shape), "image_size": self.input_size, "channels": self.in_channels,
                      "corner": "npz:input_corner", "scale": int(self.input_scale),
                      "images_per_frame": self.images_per_frame, "tile_shift": "npz:tile_shift",
                      "placement": "channel c of image i shown with each pixel as a scale x scale block from "
                                   "corner[c] + tile_shift[i]"},
            "readout": {"out_size": list(self.out_size), "camera_shape": list(self.camera_shape),
                        "sample_index": "npz:sample_index", "sample_weight": "npz:sample_weight",
                        "dark": "npz:dark", "dark_exposure_s": self.dark_exposure_s, "dark_per_s": "npz:dark_per_s",
                        "gain": "npz:gain", "feature_gain": "npz:feature_gain", "feature_offset": "npz:feature_offset",
                        "features": "per image i: sum(weight[i] * (frame[index[i]] - dark[index] - dark_per_s[index] * (exposure_s[pattern] "
                                    "- dark_exposure_s)) / gain[index]) * feature_gain + feature_offset"},
            "exposure_s": self.exposure_s.tolist(),
            "frames": self.frames.tolist(),
            "frame_rate_hz": self.frame_rate_hz,
            "model_hash": self.model_hash,
            "calibration_hash": self.calibration_hash,
            "bench_hash": self.bench_hash,
            "info": self.info,
        }

    def save(self, folder: str | Path, also: Callable[[Path], object] | None = None) -> Path:
        """Write the program folder (``program.json``, ``arrays.npz``, ``pattern_NNN.png``) as a whole; returns it.

        ``also(work)`` writes further files into it first (the electronic backend); a kill leaves the old folder or the new one.
        """
        folder = Path(folder)
        if folder.exists() and not folder.is_dir():
            raise ProgramError(f"{folder}: exists and is not a folder; give a folder path for the program")
        self.validate()
        arrays = encode_npz({name: np.asarray(getattr(self, name)) for name in _ARRAYS}, compressed=True)
        document = self.to_json()
        document["arrays"] = "arrays.npz"
        document["arrays_sha256"] = sha256_bytes(arrays)
        png_dtype = np.uint8 if self.slm_bit_depth <= 8 else np.uint16
        with save_folder(folder) as work:
            save_bytes(work / "arrays.npz", arrays)
            for p, pattern in enumerate(self.patterns):
                cv2.imwrite(str(work / f"pattern_{p:03d}.png"), pattern.astype(png_dtype))
            save_json(work / "program.json", document)
            if also is not None:
                also(work)
        return folder

    @classmethod
    def load(cls, folder: str | Path, bench_hash: str | None = None) -> "OpticalProgram":
        """Read a folder written by :meth:`save`; with ``bench_hash``, refuse a program compiled for another bench."""
        folder = Path(folder)
        recover(folder)  # put the folder back if a kill interrupted its swap
        path = folder / "program.json"
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no optical program here; create one with `osclc compile CHECKPOINT --out {folder}`")
        doc = read_versioned_json(path, (SCHEMA, SCHEMA_V3, SCHEMA_V2, SCHEMA_V1), ProgramError, "program JSON", "recompile with `osclc compile`")
        npz = folder / str(doc.get("arrays", "arrays.npz"))
        if not npz.is_file():
            raise FileNotFoundError(f"{npz}: the arrays of program {folder} are missing; recompile with `osclc compile`")
        if sha256_file(npz) != doc.get("arrays_sha256"):
            raise ProgramError(f"{npz}: does not match the hash in {path} (edited, or from another program); recompile")
        try:
            check_program_ranges(doc)
            names = _ARRAYS if doc["schema"] == SCHEMA else _ARRAYS[:-1]  # tile_shift is new in /4
            arrays = load_npz_arrays(npz, names, ProgramError, "recompile with `osclc compile`")
            check_program_array_kinds(arrays)
            program = cls(
                multiplex=doc["multiplex"], encoding=doc["encoding"], detector=doc["detector"],
                patterns=arrays["patterns"], pattern_channels=doc["pattern_channels"],
                slm_bit_depth=int(doc["slm"]["bit_depth"]), input_shape=tuple(doc["input"]["shape"]),
                input_size=int(doc["input"]["image_size"]), input_corner=arrays["input_corner"],
                input_scale=int(doc["input"]["scale"]),
                out_size=tuple(doc["readout"]["out_size"]), camera_shape=tuple(doc["readout"]["camera_shape"]),
                sample_index=arrays["sample_index"], sample_weight=arrays["sample_weight"],
                dark=arrays["dark"], dark_per_s=arrays["dark_per_s"], gain=arrays["gain"], feature_gain=arrays["feature_gain"],
                feature_offset=arrays["feature_offset"], exposure_s=doc["exposure_s"],
                dark_exposure_s=_dark_exposure(doc), frames=doc["frames"] if doc["schema"] in (SCHEMA, SCHEMA_V3) else None,
                tile_shift=arrays.get("tile_shift"),
                model_hash=doc["model_hash"], calibration_hash=doc["calibration_hash"], bench_hash=doc["bench_hash"],
                frame_rate_hz=dict(doc.get("frame_rate_hz", {})), info=dict(doc.get("info", {})),
            )
            if doc["schema"] == SCHEMA and int(doc["input"]["images_per_frame"]) != program.images_per_frame:
                raise ProgramError(f"input.images_per_frame is {doc['input']['images_per_frame']} but tile_shift places "
                                   f"{program.images_per_frame} images; recompile with `osclc compile`")
        except ProgramError as exc:
            raise ProgramError(f"{path}: {exc}") from exc
        except (KeyError, TypeError, ValueError) as exc:
            raise ProgramError(f"{path}: missing or malformed field ({exc!r}); recompile with `osclc compile`") from exc
        if bench_hash is not None:
            program.check_bench(bench_hash)
        return program


def _dark_exposure(doc: dict[str, Any]) -> float:
    """The exposure (s) the stored dark frame holds: ``readout.dark_exposure_s`` (``/2``), the one exposure (``/1``)."""
    if doc["schema"] == SCHEMA_V1:
        return float(doc["exposure_s"])
    return float(doc["readout"]["dark_exposure_s"])

