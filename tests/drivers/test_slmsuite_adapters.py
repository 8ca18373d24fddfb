"""The slmsuite adapters driven by slmsuite's own SimulatedSLM / SimulatedCamera, directly and from a bench config."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("slmsuite")

from slmsuite.hardware.cameras.simulated import SimulatedCamera  # noqa: E402
from slmsuite.hardware.slms.simulated import SimulatedSLM  # noqa: E402

from osclc.drivers.bench import open_bench  # noqa: E402
from osclc.drivers.errors import DeviceError, DeviceTimeout, InvalidSetting  # noqa: E402
from osclc.drivers.retry import RetryPolicy  # noqa: E402
from osclc.drivers.vendors.slmsuite_camera import SlmsuiteCamera  # noqa: E402
from osclc.drivers.vendors.slmsuite_common import import_slmsuite_class  # noqa: E402
from osclc.drivers.vendors.slmsuite_slm import SlmsuiteInputModulator, SlmsuiteSLM  # noqa: E402

N = 128
SIM_SLM = "slmsuite.hardware.slms.simulated.SimulatedSLM"
SIM_CAMERA = "slmsuite.hardware.cameras.simulated.SimulatedCamera"


@pytest.fixture
def devices():
    slm = SimulatedSLM((N, N), pitch_um=(8, 8))
    camera = SimulatedCamera(slm, resolution=(N, N), pitch_um=(5, 5))
    return slm, camera


def grating(period: int) -> np.ndarray:
    """A blazed grating along columns: gray ramps 0 .. 255 every ``period`` pixels."""
    return np.tile(((np.arange(N) % period) * 256 // period).astype(np.uint8), (N, 1))


def test_slm_adapter_sends_gray_levels_unchanged_and_refuses_bad_patterns(devices):
    device, _ = devices
    slm = SlmsuiteSLM(device, "sim", settle_s=0.0)
    assert (slm.shape, slm.bit_depth, slm.pitch_m) == ((N, N), 8, pytest.approx(8e-6))
    pattern = grating(8)
    slm.display(pattern)
    np.testing.assert_array_equal(device.display, pattern)
    for bad in (pattern[:, :-1], pattern.astype(np.float32), pattern.astype(np.int32) + 300):
        with pytest.raises(InvalidSetting, match="SLM 'sim'"):
            slm.display(bad)
    np.testing.assert_array_equal(device.display, pattern)  # nothing reached the device
    slm.close()
    assert not device.display.any()  # closed blank


class BrokenSLM(SimulatedSLM):
    """slmsuite SimulatedSLM whose hardware writes fail (a vendor SDK error) once ``broken`` is set."""

    broken = False

    def _set_phase_hw(self, display):
        if self.broken:
            raise OSError("SDK: device not responding")
        return super()._set_phase_hw(display)


def test_slm_hardware_failure_names_the_slm():
    device = BrokenSLM((N, N), pitch_um=(8, 8))
    device.broken = True
    slm = SlmsuiteSLM(device, "sim")
    with pytest.raises(DeviceError, match="SLM 'sim': slmsuite failed to display a pattern: OSError: SDK: device not responding"):
        slm.display(grating(8))
    assert slm.displays == 0


def test_input_adapter_maps_amplitude_or_intensity_to_gray(devices):
    device, _ = devices
    values = np.linspace(0, 1, N * N, dtype=np.float32).reshape(N, N)
    amplitude = SlmsuiteInputModulator(device, "in", encoding="amplitude")
    amplitude.show(values)
    np.testing.assert_array_equal(device.display, np.rint(values * 255).astype(np.uint8))
    intensity = SlmsuiteInputModulator(device, "in", encoding="intensity")
    intensity.show(values)
    np.testing.assert_array_equal(device.display, np.rint(values.astype(np.float64) ** 2 * 255).astype(np.uint8))
    with pytest.raises(InvalidSetting, match="outside"):
        intensity.show(values * 2)
    intensity.blank()
    assert not device.display.any()


def test_camera_sees_the_grating_order_where_fourier_optics_puts_it(devices):
    slm_device, camera_device = devices
    slm = SlmsuiteSLM(slm_device, "sim")
    camera = SlmsuiteCamera(camera_device, "cam", pitch_m=5e-6, exposure_s=1e-3, gain=1.0)
    peaks = {}
    for period in (None, 8, 16):
        slm.display(np.zeros((N, N), np.uint8) if period is None else grating(period))
        frame = camera.capture(timeout_s=1.0)
        assert frame.image.shape == (N, N) and frame.t_exposure_end_ns - frame.t_exposure_start_ns == 1_000_000
        peaks[period] = np.unravel_index(np.argmax(frame.image), frame.image.shape)
    # a period-T grating deflects the light by N/T DFT bins (one bin per camera pixel here)
    for period in (8, 16):
        assert peaks[period][0] == peaks[None][0]
        assert abs(int(peaks[period][1]) - int(peaks[None][1])) == N // period
    camera.close()


def test_camera_exposure_gain_and_roi_go_through_slmsuite(devices):
    _, device = devices
    camera = SlmsuiteCamera(device, "cam", pitch_m=5e-6, exposure_s=1e-3, gain=1.0)
    assert device.exposure_s == pytest.approx(1e-3)
    dim = float(camera.capture().image.max())
    camera.exposure_s = 4e-3
    assert device.exposure_s == pytest.approx(4e-3)
    assert float(camera.capture().image.max()) == pytest.approx(4 * dim, abs=2)  # linear in exposure (8-bit counts)
    camera.gain = 0.5
    assert device.gain == 0.5
    full = camera.capture().image
    camera.set_roi((10, 20, 40, 30))
    assert device.shape == (40, 30)
    np.testing.assert_array_equal(camera.capture().image, full[10:50, 20:50])
    with pytest.raises(InvalidSetting, match="camera 'cam'"):
        camera.set_roi((100, 100, 40, 40))
    camera.close()


class FlakyCamera(SimulatedCamera):
    """slmsuite SimulatedCamera whose next ``failures`` captures raise ``error``."""

    failures = 0
    error: Exception = TimeoutError("frame did not arrive")

    def _get_image_hw(self, timeout_s=0, quantize=True):
        if self.failures:
            self.failures -= 1
            raise self.error
        return super()._get_image_hw(timeout_s, quantize)


def test_camera_faults_name_the_camera_and_timeouts_are_retried(devices):
    slm_device, _ = devices
    device = FlakyCamera(slm_device, resolution=(N, N), pitch_um=(5, 5))
    device.capture_attempts = 1
    camera = SlmsuiteCamera(device, "cam", pitch_m=5e-6, exposure_s=1e-3, gain=1.0, retry=RetryPolicy(attempts=1))
    device.failures = 1
    assert camera.capture().image.shape == (N, N)
    assert camera.retries == 1
    device.failures = 2
    with pytest.raises(DeviceTimeout, match="camera 'cam': timed out trying to capture a frame"):
        camera.capture()
    device.failures, device.error = 1, RuntimeError("USB transfer failed")
    with pytest.raises(DeviceError, match="camera 'cam': slmsuite failed to capture a frame: RuntimeError: USB transfer failed"):
        camera.capture()
    camera.close()


def slmsuite_bench(**overrides) -> dict:
    config = {
        "name": "slmsuite-sim",
        "input": {"backend": "slmsuite", "shape": [N, N], "pitch_m": 8e-6, "options": {"slmsuite_class": SIM_SLM}},
        "slm": {"backend": "slmsuite", "shape": [N, N], "pitch_m": 8e-6, "options": {"slmsuite_class": SIM_SLM}},
        "camera": {"backend": "slmsuite", "shape": [N, N], "pitch_m": 5e-6, "bit_depth": 8,
                   "options": {"slmsuite_class": SIM_CAMERA}},
    }
    for section, values in overrides.items():
        config[section] = {**config[section], **values}
    return config


def test_bench_config_opens_slmsuite_devices_and_leaves_them_safe():
    with pytest.raises(RuntimeError, match="user code failed"):
        with open_bench(slmsuite_bench()) as bench:
            assert isinstance(bench.slm, SlmsuiteSLM) and isinstance(bench.camera, SlmsuiteCamera)
            assert bench.camera.device._slm is bench.slm.device  # the camera renders the bench's SLM
            bench.slm.display(grating(8))
            assert bench.camera.capture().image.max() > 0
            raise RuntimeError("user code failed")
    assert bench.slm.closed and bench.camera.closed and not bench.camera.acquiring
    assert not bench.slm.device.display.any() and not bench.input.device.display.any()


def test_bench_config_errors_name_the_field():
    with pytest.raises(InvalidSetting, match=r"slm\.bit_depth: the bench config says 10 but the device reports 8"):
        with open_bench(slmsuite_bench(slm={"bit_depth": 10})):
            pass
    with pytest.raises(InvalidSetting, match=r"slm\.options\.slmsuite_class: missing"):
        with open_bench(slmsuite_bench(slm={"options": {}})):
            pass
    with pytest.raises(InvalidSetting, match=r"camera\.options\.slmsuite_class: .*not a Camera subclass"):
        with open_bench(slmsuite_bench(camera={"options": {"slmsuite_class": SIM_SLM}})):
            pass
    with pytest.raises(InvalidSetting, match=r"input\.options: SimulatedSLM\(.*no_such_option.*\) was refused"):
        with open_bench(slmsuite_bench(input={"options": {"slmsuite_class": SIM_SLM, "no_such_option": 1}})):
            pass


def test_webcam_class_is_accepted_and_a_missing_webcam_names_the_device():
    from slmsuite.hardware.cameras.camera import Camera

    webcam = import_slmsuite_class("camera", "slmsuite.hardware.cameras.webcam.Webcam", Camera)
    assert webcam.__name__ == "Webcam"
    config = slmsuite_bench(camera={"options": {"slmsuite_class": "slmsuite.hardware.cameras.webcam.Webcam",
                                                "identifier": "/nonexistent/video.avi"}})
    with pytest.raises(DeviceError, match="camera: could not open slmsuite Webcam"):
        with open_bench(config):
            pass


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_example_real_bench_config_is_valid_for_its_backends():
    import yaml
    from slmsuite.hardware.cameras.camera import Camera
    from slmsuite.hardware.slms.slm import SLM

    from osclc.configs import bundled
    from osclc.drivers.bench_config import BenchConfig
    from osclc.drivers.vendors.laser_backends import SerialOptions, parse_options

    config = BenchConfig.model_validate(yaml.safe_load(bundled("bench-real-example.yaml").read_text()))
    assert not config.is_simulated()
    assert parse_options(SerialOptions, config.laser.options, "serial").protocol == "obis"
    for section, base in (("input", SLM), ("slm", SLM), ("camera", Camera)):
        options = getattr(config, section).options
        import_slmsuite_class(section, options["slmsuite_class"], base)
