"""The bench config (kind ``bench``): which backend drives each device, its settings, the optics, and
for the simulated bench the hidden imperfections, noise, timing, clock and injected faults.

Every number has a unit and a range in its description (``osclc config show bench`` prints them).
The defaults are the ``ideal`` simulated bench: every imperfection off, no noise, no quantisation,
virtual clock. ``configs/bench-sim-realistic.yaml`` sets realistic LCoS / CMOS values.

Sampling of the simulation (see :mod:`osclc.drivers.sim.optics`): the 4f is computed on the SLM's
pixel grid, one DFT bin per SLM pixel, so the input plane is sampled at
``d = wavelength_m * f1_m / (slm rows * slm.pitch_m)`` (per axis) and the output plane at ``d * f2_m / f1_m``.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from osclc.drivers.physics.scales import camera_scale_px, fourier_scale_px
from osclc.drivers.errors import InvalidSetting

Shape = tuple[int, int]
SHAPE_LIMITS: dict[str, int] = {"input": 8192, "slm": 8192, "camera": 16384}
"""Largest size (pixels, per axis) of each device's shape."""
EXPOSURE_RANGE_S: tuple[float, float] = (1e-6, 10.0)
"""Camera exposures a bench config accepts (s)."""
BIT_DEPTH_MAX = 16
"""Most bits per pixel of any device (so counts and gray levels are below 2**16)."""
PAD_MAX = 65536
"""Largest zero-padded DFT grid P (input-modulator pixels per axis)."""



CLASS_OPTION = "slmsuite_class"
"""The options key of an slmsuite device section that names the slmsuite class to open."""


SLMSUITE_PREFIX = "slmsuite."
"""Every class a bench may name lives under this package: nothing else is ever imported from a config."""


def check_slmsuite_class_path(field: str, dotted: object) -> tuple[str, str]:
    """``(module, class name)`` of the dotted path ``dotted`` when it names something inside slmsuite;
    InvalidSetting naming ``field`` otherwise. Only the text is checked: nothing is imported."""
    example = "e.g. slmsuite.hardware.slms.simulated.SimulatedSLM"
    if not isinstance(dotted, str) or not dotted.startswith(SLMSUITE_PREFIX):
        raise InvalidSetting(f"{field}: give the dotted path of a class inside the slmsuite package ({example}), got {dotted!r}")
    parts = dotted.split(".")
    if len(parts) < 3 or not all(part.isidentifier() for part in parts):
        raise InvalidSetting(f"{field}: {dotted!r} is not a dotted path module.Class of slmsuite ({example})")
    return ".".join(parts[:-1]), parts[-1]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


BackendOptions = dict[str, str | int | float | bool]


class OpticsConfig(_Section):
    """The 4f geometry."""

    wavelength_m: float = Field(512e-9, ge=2e-7, le=2e-6, description="laser wavelength (m), 2e-7 .. 2e-6")
    f1_m: float = Field(0.1, ge=1e-3, le=10.0, description="focal length of lens 1, input -> SLM (m), 1e-3 .. 10")
    f2_m: float = Field(0.02, ge=1e-3, le=10.0, description="focal length of lens 2, SLM -> camera (m), 1e-3 .. 10; "
                        "the image is inverted and magnified by f2/f1")
    pad: int = Field(128, ge=1, le=PAD_MAX, description="P: size (input-modulator pixels, per axis) of the zero-padded DFT "
                     "grid whose bins are the frequency coordinates of calibration records; one bin is "
                     "wavelength*f1/(P*input pitch) m on the SLM, i.e. s = wavelength*f1/(P*p_in*p_slm) SLM pixels, 1 .. 65536")


class LaserConfig(_Section):
    """The laser source."""

    backend: Literal["simulated", "visa", "serial"] = Field("simulated", description="driver: simulated | visa (SCPI over pyvisa) | serial (OBIS over pyserial)")
    max_power_mw: float = Field(5.0, gt=0.0, le=10000.0, description="highest power the software may ever set (mW), (0, 10000]")
    power_mw: float = Field(1.0, ge=0.0, le=10000.0, description="power set when the bench opens (mW), 0 .. max_power_mw")
    resource: str = Field("", description="VISA resource string (e.g. 'ASRL1::INSTR', 'TCPIP::host::INSTR') or serial port / "
                          "pyserial URL (e.g. '/dev/ttyUSB0', 'loop://'); unused by the simulated laser")
    baudrate: int = Field(115200, ge=300, le=4000000, description="serial baud rate (bit/s), 300 .. 4e6; serial backend only")
    timeout_s: float = Field(1.0, gt=0.0, le=60.0, description="timeout of one query to the laser (s), (0, 60]")
    options: BackendOptions = Field(default_factory=dict, description="backend-specific settings (documented by each backend)")

    @model_validator(mode="after")
    def _power_below_max(self) -> "LaserConfig":
        if self.power_mw > self.max_power_mw:
            raise ValueError(f"power_mw {self.power_mw} mW is above max_power_mw {self.max_power_mw} mW; lower power_mw")
        return self


class InputTimingConfig(_Section):
    """How the input modulator is clocked: video-fed (an LCoS) or a DMD's pattern modes, and its trigger."""

    mode: Literal["video", "binary", "bitplanes"] = Field("video", description="video: a new image shows after settle_s; "
                                                          "binary: 1-bit DMD patterns at binary_rate_hz (needs bit_depth 1); "
                                                          "bitplanes: bit_depth-bit DMD patterns, each its bit planes, at bitplane_rate_hz")
    binary_rate_hz: float = Field(0.0, ge=0.0, le=1e5, description="1-bit pattern rate of the DMD (Hz; 0 = none), 0 .. 1e5")
    bitplane_rate_hz: float = Field(0.0, ge=0.0, le=1e5, description="rate of bit_depth-bit patterns shown as bit planes (Hz; 0 = none), 0 .. 1e5")
    trigger: Literal["software", "sequence"] = Field("software", description="software: each image is sent and shown on its own; "
                                                      "sequence: patterns pre-loaded on the device and stepped by trigger")

    @model_validator(mode="after")
    def _rate_of_mode(self) -> "InputTimingConfig":
        rate = {"video": None, "binary": "binary_rate_hz", "bitplanes": "bitplane_rate_hz"}[self.mode]
        if rate is not None and getattr(self, rate) <= 0:
            raise ValueError(f"input.timing.mode {self.mode} needs {rate} > 0 (the DMD's pattern rate from its data sheet)")
        return self

    def pattern_rate_hz(self) -> float:
        """Patterns per second in the chosen mode (Hz); 0 for a video-fed modulator."""
        return {"video": 0.0, "binary": self.binary_rate_hz, "bitplanes": self.bitplane_rate_hz}[self.mode]


class CameraTimingConfig(_Section):
    """How the camera is triggered and how its readout scales with the region of interest."""

    roi_readout: Literal["fixed", "rows"] = Field("fixed", description="fixed: readout_s whatever the ROI; rows: readout_s is "
                                                  "the full sensor's and a ROI of r rows reads in r/rows of it (global-shutter CMOS)")
    trigger: Literal["software", "slm", "input"] = Field("software", description="software: the host starts each exposure; "
                                                          "slm / input: that device's sync output starts it when its new pattern has settled")


class InputConfig(_Section):
    """The input modulator that shows the image."""

    backend: Literal["simulated", "slmsuite"] = Field("simulated", description="driver: simulated | slmsuite (an amplitude SLM or DMD through slmsuite)")
    shape: Shape = Field((64, 64), description="pixels (rows, cols), each 1 .. 8192")
    pitch_m: float = Field(25e-6, ge=1e-7, le=1e-3, description="pixel pitch p_in (m), 1e-7 .. 1e-3")
    encoding: Literal["amplitude", "intensity"] = Field("amplitude", description="what the device modulates linearly: "
                                                        "amplitude, or intensity (then the driver sends amplitude**2)")
    bit_depth: int = Field(8, ge=1, le=BIT_DEPTH_MAX, description="bits per pixel value, 1 .. 16")
    settle_s: float = Field(0.0, ge=0.0, le=10.0, description="time from sending an image until it is shown (s), 0 .. 10")
    timing: InputTimingConfig = Field(default_factory=InputTimingConfig, description="pattern modes and trigger (default: video-fed, software)")
    options: BackendOptions = Field(default_factory=dict, description="backend-specific settings (documented by each backend)")

    @model_validator(mode="after")
    def _binary_is_one_bit(self) -> "InputConfig":
        if self.timing.mode == "binary" and self.bit_depth != 1:
            raise ValueError(f"input.timing.mode binary shows 1-bit patterns: set input.bit_depth to 1 (it is {self.bit_depth}) "
                             "or use mode bitplanes")
        return self


class SLMConfig(_Section):
    """The phase-only SLM in the Fourier plane."""

    backend: Literal["simulated", "slmsuite"] = Field("simulated", description="driver: simulated | slmsuite (any SLM slmsuite supports)")
    shape: Shape = Field((256, 256), description="pixels (rows, cols), each 1 .. 8192")
    pitch_m: float = Field(8e-6, ge=1e-7, le=1e-3, description="pixel pitch p_slm (m), 1e-7 .. 1e-3")
    bit_depth: int = Field(8, ge=1, le=BIT_DEPTH_MAX, description="bits per gray level, 1 .. 16")
    settle_s: float = Field(0.0, ge=0.0, le=10.0, description="liquid-crystal settle time after a new pattern (s), 0 .. 10")
    refresh_hz: float = Field(60.0, gt=0.0, le=1e5, description="video frame rate of the SLM (Hz), (0, 1e5]")
    options: BackendOptions = Field(default_factory=dict, description="backend-specific settings (documented by each backend)")


class CameraConfig(_Section):
    """The camera at the output plane (the sensor-physics fields are used by the simulated camera)."""

    backend: Literal["simulated", "slmsuite"] = Field("simulated", description="driver: simulated | slmsuite (any camera slmsuite supports, incl. OpenCV webcams)")
    shape: Shape = Field((256, 256), description="sensor pixels (rows, cols), each 1 .. 16384")
    pitch_m: float = Field(5e-6, ge=1e-7, le=1e-3, description="pixel pitch (m), 1e-7 .. 1e-3")
    bit_depth: int = Field(12, ge=1, le=BIT_DEPTH_MAX, description="bits per pixel, 1 .. 16")
    exposure_s: float = Field(1e-3, ge=EXPOSURE_RANGE_S[0], le=EXPOSURE_RANGE_S[1], description="exposure time (s), 1e-6 .. 10")
    gain: float = Field(1.0, ge=0.0, le=1000.0, description="gain (simulated: digital counts per electron), 0 .. 1000")
    readout_s: float = Field(0.0, ge=0.0, le=10.0, description="sensor readout time after the exposure (s), 0 .. 10")
    link_MBps: float = Field(0.0, ge=0.0, le=1e5, description="camera link bandwidth (MB/s, 1e6 bytes/s); a frame takes "
                             "bytes/bandwidth to arrive; 0 = instantaneous, 0 .. 1e5")
    timing: CameraTimingConfig = Field(default_factory=CameraTimingConfig, description="trigger and ROI readout (default: software, fixed)")
    dark_level: float = Field(0.0, ge=0.0, le=65535.0, description="dark offset added to every pixel (counts), 0 .. 65535")
    read_noise_e: float = Field(0.0, ge=0.0, le=1000.0, description="read noise (electrons rms), 0 .. 1000")
    full_well_e: float = Field(20000.0, gt=0.0, le=1e7, description="full-well capacity (electrons), (0, 1e7]")
    quantum_efficiency: float = Field(1.0, ge=0.0, le=1.0, description="photons -> electrons (fraction), 0 .. 1")
    dark_current_e_per_s: float = Field(0.0, ge=0.0, le=1e5, description="dark current: mean thermal electrons per pixel and "
                                        "second of exposure (shot noise like light; e-/s), 0 .. 1e5")
    options: BackendOptions = Field(default_factory=dict, description="backend-specific settings (documented by each backend)")


class ImperfectionsConfig(_Section):
    """Hidden truth of the simulated bench (calibration must find it; it never reads it). Defaults: all off."""

    lut_gamma: float = Field(1.0, ge=0.2, le=5.0, description="gray -> phase curve exponent: phi(g) = phase_range_rad * (g / 2**bits)**lut_gamma; 1 = linear, 0.2 .. 5")
    phase_range_rad: float = Field(2 * math.pi, ge=0.1, le=20.0, description="phase range of the gray levels (rad), 0.1 .. 20; 2*pi with gamma 1 is the ideal LUT")
    zernike_rad: dict[int, float] = Field(default_factory=dict, description="cover-glass wavefront error: Noll index (1 .. 36) -> "
                                          "coefficient (rad, RMS-normalised Zernike over the circle through the SLM corners)")
    fringing_px: float = Field(0.0, ge=0.0, le=5.0, description="fringing: RMS width (Gaussian sigma) of the blur of the phase between neighbouring SLM pixels, shape crosstalk_shape (pixels), 0 .. 5")
    zero_order: float = Field(0.0, ge=0.0, le=1.0, description="unmodulated fraction of the field amplitude: t = z + (1 - z) exp(i phi), 0 .. 1")
    fourier_offset_px: tuple[float, float] = Field((0.0, 0.0), description="offset of the optical axis (spectrum DC) from the SLM centre (SLM pixels, rows, cols), each -1e4 .. 1e4")
    fourier_rotation_rad: float = Field(0.0, ge=-math.pi, le=math.pi, description="rotation of the spectrum on the SLM (rad), -pi .. pi")
    fourier_scale: float = Field(1.0, ge=0.5, le=2.0, description="actual / nominal spectrum scale on the SLM (focal-length error), 0.5 .. 2")
    camera_offset_px: tuple[float, float] = Field((0.0, 0.0), description="offset of the optical axis on the camera from the sensor centre (camera pixels, rows, cols), each -1e4 .. 1e4")
    camera_rotation_rad: float = Field(0.0, ge=-math.pi, le=math.pi, description="rotation of the image on the camera (rad), -pi .. pi")
    camera_magnification: float = Field(1.0, ge=0.5, le=2.0, description="actual / nominal magnification on the camera, 0.5 .. 2")
    dead_pixel_fraction: float = Field(0.0, ge=0.0, le=0.1, description="fraction of camera pixels that read 0 light, 0 .. 0.1")
    hot_pixel_fraction: float = Field(0.0, ge=0.0, le=0.1, description="fraction of camera pixels stuck at full scale, 0 .. 0.1")
    seed: int = Field(1234, ge=0, le=2**32 - 1, description="seed of the dead/hot pixel positions and the PRNU / DSNU patterns, 0 .. 2**32-1")
    # effects the calibration does not model (osclc.drivers.sim: panel, sensor, light, input_response); all off by default
    crosstalk_shape: Literal["gaussian", "exponential", "asymmetric"] = Field(
        "gaussian", description="shape of the fringing kernel, fringing_px being its RMS width (pixels): gaussian, exponential "
        "(exp(-abs(x)/b), heavier tails) or asymmetric (exp(-x/b+), exp(x/b-): reaches further one way); osclc.drivers.physics.crosstalk")
    crosstalk_asymmetry: float = Field(0.0, ge=-0.9, le=0.9, description="asymmetric kernel only: a = (b+ - b-) / (b+ + b-), "
                                       "> 0 reaches further towards higher pixel indices (fraction), -0.9 .. 0.9")
    pixel_fill_factor: float = Field(1.0, ge=0.25, le=1.0, description="reflecting area fraction of an SLM pixel (square "
                                     "aperture, dead space absorbs): the image field is multiplied by F sinc(sqrt(F) x) sinc(sqrt(F) y), "
                                     "x, y in output windows from the axis (the far-field envelope); 1 = no dead space, 0.25 .. 1")
    lut_gamma_variation: float = Field(0.0, ge=0.0, le=0.5, description="LUT non-uniformity: lut_gamma varies across the panel "
                                       "as lut_gamma (1 + v * map), map a smooth tilt + bowl with peak abs(map) = 1 (fraction), 0 .. 0.5")
    phase_range_variation: float = Field(0.0, ge=0.0, le=0.5, description="LUT non-uniformity: phase_range_rad varies across "
                                         "the panel as phase_range_rad (1 + v * map), same map (cell-gap variation; fraction), 0 .. 0.5")
    flicker_rad: float = Field(0.0, ge=0.0, le=1.0, description="SLM phase flicker: peak phase ripple at the refresh rate "
                               "(slm.refresh_hz) at full-scale phase, proportional to the phase, random phase per frame, averaged "
                               "over the exposure (rad), 0 .. 1")
    prnu: float = Field(0.0, ge=0.0, le=0.2, description="camera photo-response non-uniformity: RMS spread of the per-pixel gain "
                        "(fixed pattern; fraction), 0 .. 0.2")
    dsnu_e: float = Field(0.0, ge=0.0, le=1000.0, description="camera dark-signal non-uniformity: RMS spread of the per-pixel "
                          "offset (fixed pattern; electrons), 0 .. 1000")
    stray_light: float = Field(0.0, ge=0.0, le=1.0, description="stray light on the camera, scaling with the laser power: "
                               "fraction of the irradiance a fully lit input gives in its image (fraction), 0 .. 1")
    stray_light_tilt: float = Field(0.0, ge=0.0, le=1.0, description="stray light's relative change across the sensor "
                                    "columns: level (1 + tilt (2 col / (cols - 1) - 1)) (fraction), 0 .. 1")
    laser_drift_per_s: float = Field(0.0, ge=-0.01, le=0.01, description="laser power drift: relative change of the emitted power "
                                     "per second of the bench clock since the bench opened, P = P_set (1 + r t) (1/s; 1 %/min = 1.67e-4), "
                                     "-0.01 .. 0.01")
    input_extinction: float = Field(0.0, ge=0.0, le=0.5, description="input modulator finite contrast: intensity a dark pixel "
                                    "transmits / full-scale intensity, i.e. 1 / contrast ratio (0.002 for 500:1; fraction), 0 .. 0.5")
    input_gamma: float = Field(1.0, ge=0.2, le=5.0, description="input modulator non-linearity: the modulated quantity "
                               "(amplitude or intensity, input.encoding) is value**input_gamma; 1 = linear, 0.2 .. 5")

    @field_validator("zernike_rad")
    @classmethod
    def _noll_range(cls, value: dict[int, float]) -> dict[int, float]:
        for index, coeff in value.items():
            if not 1 <= index <= 36:
                raise ValueError(f"Noll index {index} outside 1 .. 36")
            if not (math.isfinite(coeff) and abs(coeff) <= 100.0):
                raise ValueError(f"coefficient {coeff} of Noll index {index} must be finite and within +-100 rad")
        return value

    @model_validator(mode="after")
    def _asymmetry_needs_its_shape(self) -> "ImperfectionsConfig":
        if self.crosstalk_asymmetry != 0.0 and self.crosstalk_shape != "asymmetric":
            raise ValueError(f"crosstalk_asymmetry {self.crosstalk_asymmetry} acts only with crosstalk_shape: asymmetric "
                             f"(it is {self.crosstalk_shape}); set crosstalk_shape: asymmetric or crosstalk_asymmetry: 0")
        return self

    @field_validator("fourier_offset_px", "camera_offset_px")
    @classmethod
    def _offset_range(cls, value: tuple[float, float]) -> tuple[float, float]:
        if not all(math.isfinite(v) and abs(v) <= 1e4 for v in value):
            raise ValueError(f"offsets must be finite and within +-1e4 pixels, got {value}")
        return value


class DeviceFaults(_Section):
    """Faults injected into one simulated device (each call draws independently)."""

    timeout_probability: float = Field(0.0, ge=0.0, le=1.0, description="probability that a call never completes (DeviceTimeout), 0 .. 1")
    error_probability: float = Field(0.0, ge=0.0, le=1.0, description="probability of a garbled / error reply (DeviceProtocolError), 0 .. 1")
    drop_probability: float = Field(0.0, ge=0.0, le=1.0, description="camera only: probability that a frame is lost (FrameDropped), 0 .. 1")
    disconnect_after_calls: int | None = Field(None, ge=0, le=10**9, description="the device disconnects after this many calls (null = never), 0 .. 1e9")


class FaultsConfig(_Section):
    """Fault injection of the simulated devices (all off by default)."""

    seed: int = Field(0, ge=0, le=2**32 - 1, description="seed of the fault draws, 0 .. 2**32-1")
    slm: DeviceFaults = Field(default_factory=DeviceFaults, description="faults of the simulated SLM")
    input: DeviceFaults = Field(default_factory=DeviceFaults, description="faults of the simulated input modulator")
    camera: DeviceFaults = Field(default_factory=DeviceFaults, description="faults of the simulated camera")
    laser: DeviceFaults = Field(default_factory=DeviceFaults, description="faults of the simulated laser")
    interlock_open: bool = Field(False, description="the simulated laser's interlock is open from the start")
    interlock_opens_after_calls: int | None = Field(None, ge=0, le=10**9, description="the interlock opens after this many laser calls (emission drops), null = never")


class SimulationConfig(_Section):
    """The simulated bench: hidden imperfections, detector noise, numerics, clock and faults."""

    clock: Literal["real", "virtual"] = Field("virtual", description="real: waits settle/exposure/readout times (loop measurements); virtual: only advances a counter (fast tests)")
    noise: bool = Field(False, description="shot noise and read noise on the simulated camera")
    quantize: bool = Field(False, description="integer counts clipped at full well and 2**bit_depth-1 (else float32 counts, linear and unclipped)")
    seed: int = Field(0, ge=0, le=2**32 - 1, description="seed of the camera noise, 0 .. 2**32-1")
    precision: Literal["single", "double"] = Field("single", description="floating precision of the optical model")
    fft_workers: int = Field(-1, ge=-1, le=256, description="threads of scipy.fft (-1 = all cores), -1 .. 256")
    pixel_integration: bool = Field(False, description="camera pixels integrate the intensity over their area (exact, on a "
                                    "2x finer grid; ~8x an FFT of the SLM grid per frame) instead of sampling it at their centres")
    throughput: float = Field(1e-5, ge=0.0, le=1.0, description="optical power transmission from laser to camera (ND filters, losses; fraction), 0 .. 1")
    imperfections: ImperfectionsConfig = Field(default_factory=ImperfectionsConfig, description="hidden truth (all off = ideal)")
    faults: FaultsConfig = Field(default_factory=FaultsConfig, description="fault injection (all off by default)")


class RetryConfig(_Section):
    """Retry of transient device faults (timeouts, error replies, dropped frames); never disconnects or interlocks."""

    attempts: int = Field(0, ge=0, le=10, description="extra tries after a transient fault, 0 .. 10")
    backoff_s: float = Field(0.0, ge=0.0, le=10.0, description="wait before each retry (s), 0 .. 10")


class BenchConfig(BaseModel):
    """A 4f bench: laser, input modulator, Fourier-plane SLM, camera, optics, and the simulation settings."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["bench"] = "bench"
    name: str = Field("sim-ideal", description="name of the bench (appears in runs and calibration records)")
    optics: OpticsConfig = Field(default_factory=OpticsConfig, description="4f geometry")
    laser: LaserConfig = Field(default_factory=LaserConfig, description="laser source")
    input: InputConfig = Field(default_factory=InputConfig, description="input modulator")
    slm: SLMConfig = Field(default_factory=SLMConfig, description="Fourier-plane phase SLM")
    camera: CameraConfig = Field(default_factory=CameraConfig, description="output camera")
    retry: RetryConfig = Field(default_factory=RetryConfig, description="retry policy of every device")
    timeout_s: float = Field(2.0, gt=0.0, le=600.0, description="default timeout of a blocking device call such as a capture (s), (0, 600]")
    program_check_min_correlation: float = Field(0.98, ge=0.0, le=1.0, description="least correlation (Pearson, camera vs "
                                                 "digital features, per output channel) a compiled program must reach on the "
                                                 "check images, else 'osclc compile' fails (fraction), 0 .. 1")
    simulation: SimulationConfig = Field(default_factory=SimulationConfig, description="simulated-bench settings (used by simulated devices only)")

    @model_validator(mode="after")
    def _shapes(self) -> "BenchConfig":
        for section, limit in SHAPE_LIMITS.items():
            shape = getattr(self, section).shape
            if not all(1 <= v <= limit for v in shape):
                raise ValueError(f"{section}.shape {shape}: each size must be in 1 .. {limit} pixels")
        return self

    @model_validator(mode="after")
    def _slmsuite_classes(self) -> "BenchConfig":
        """A named slmsuite class must lie inside slmsuite (the text is checked; nothing is imported here)."""
        for section in ("input", "slm", "camera"):
            options = getattr(self, section).options
            if getattr(self, section).backend == "slmsuite" and CLASS_OPTION in options:
                check_slmsuite_class_path(f"{section}.options.{CLASS_OPTION}", options[CLASS_OPTION])
        return self

    def fourier_scale(self) -> float:
        """s: SLM pixels per DFT bin of the P-padded input grid, ``wavelength*f1 / (P * p_in * p_slm)`` (:func:`fourier_scale_px`)."""
        return fourier_scale_px(self.optics.wavelength_m, self.optics.f1_m, self.optics.pad, self.input.pitch_m, self.slm.pitch_m)

    def camera_scale(self) -> float:
        """Camera pixels per input-modulator pixel in the nominal image: ``p_in * f2 / (f1 * p_cam)`` (:func:`camera_scale_px`)."""
        return camera_scale_px(self.input.pitch_m, self.optics.f1_m, self.optics.f2_m, self.camera.pitch_m)

    def is_simulated(self) -> bool:
        """True when every device uses the simulated backend."""
        return all(s.backend == "simulated" for s in (self.laser, self.input, self.slm, self.camera))


def ideal(config: BenchConfig) -> BenchConfig:
    """``config`` with every imperfection, noise, quantisation and fault off (same devices and geometry)."""
    simulation = config.simulation.model_copy(update={
        "noise": False, "quantize": False,
        "imperfections": ImperfectionsConfig(), "faults": FaultsConfig(),
    })
    return config.model_copy(update={"simulation": simulation})
