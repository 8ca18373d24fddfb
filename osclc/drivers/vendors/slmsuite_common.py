"""What the slmsuite adapters share: building an slmsuite device from a bench-config section, and
turning slmsuite / vendor-SDK exceptions into errors that name our device.

A section selects the class with ``options.slmsuite_class`` (dotted path, e.g.
``slmsuite.hardware.slms.screenmirrored.ScreenMirrored`` or
``slmsuite.hardware.cameras.webcam.Webcam``); every other key of ``options`` is passed to its
constructor as a keyword argument. Constructor parameters that the config already states are filled
in when the class declares them and ``options`` does not set them: ``resolution`` (width, height from
``shape``), ``pitch_um`` (from ``pitch_m``), ``bitdepth`` (from ``bit_depth``), ``wav_um`` (from
``optics.wavelength_m``), and for cameras ``slm`` (the bench's slmsuite SLM, which slmsuite's
``SimulatedCamera`` renders from).
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from osclc.drivers.bench_config import CLASS_OPTION, check_slmsuite_class_path
from osclc.drivers.errors import DeviceError, DeviceTimeout, InvalidSetting

T = TypeVar("T")

def import_slmsuite_class(section: str, dotted: object, base: type) -> type:
    """The class at dotted path ``dotted``, which must be inside slmsuite (checked before anything is imported) and
    subclass ``base``; InvalidSetting naming ``section`` otherwise."""
    field = f"{section}.options.{CLASS_OPTION}"
    module_name, class_name = check_slmsuite_class_path(field, dotted)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise InvalidSetting(f"{field}: cannot import module {module_name!r}: {exc}") from None
    cls = getattr(module, class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise InvalidSetting(f"{field}: {dotted!r} is not a {base.__name__} subclass of slmsuite")
    return cls


def build_slmsuite_device(section: str, options: Mapping[str, Any], base: type, fills: Mapping[str, Any]) -> Any:
    """Instantiate the class named by ``options`` with the other options as keyword arguments.

    ``fills`` are the config-derived keyword arguments (see the module doc), passed only when the
    class's own ``__init__`` declares them and ``options`` does not set them. Errors name ``section``.
    """
    if CLASS_OPTION not in options:
        raise InvalidSetting(f"{section}.options.{CLASS_OPTION}: missing; name the slmsuite class to open, e.g. "
                             f"{section}.options.{CLASS_OPTION}: slmsuite.hardware.slms.screenmirrored.ScreenMirrored")
    cls = import_slmsuite_class(section, options[CLASS_OPTION], base)
    kwargs = {key: value for key, value in options.items() if key != CLASS_OPTION}
    declared = inspect.signature(cls).parameters  # the constructor's, without self
    kwargs.update({key: value for key, value in fills.items() if key in declared and key not in kwargs})
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise InvalidSetting(f"{section}.options: {cls.__name__}({', '.join(sorted(kwargs))}) was refused: {exc}; "
                             f"its parameters are {', '.join(declared)}") from None
    except Exception as exc:  # noqa: BLE001 - a vendor SDK may raise anything; name the device and the cause
        raise DeviceError(f"{section}: could not open slmsuite {cls.__name__}: {type(exc).__name__}: {exc}") from None


def slmsuite_call(label: str, name: str, action: str, fn: Callable[[], T]) -> T:
    """Run one slmsuite call; TimeoutError becomes DeviceTimeout, any other failure DeviceError, naming ``label``."""
    try:
        return fn()
    except DeviceError:
        raise
    except TimeoutError as exc:
        raise DeviceTimeout(f"{label}: timed out trying to {action}: {exc}", name) from exc
    except Exception as exc:  # noqa: BLE001 - a vendor SDK may raise anything; name the device and the cause
        raise DeviceError(f"{label}: slmsuite failed to {action}: {type(exc).__name__}: {exc}", name) from exc


def check_geometry(section: str, shape: tuple[int, int], bit_depth: int, pitch_m: float,
                   device_shape: tuple[int, int], device_bit_depth: int, device_pitch_m: float | None) -> None:
    """InvalidSetting naming ``section.<field>`` when the configured shape, bit depth or pitch (m, within 1 %)
    differs from what the device reports (``device_pitch_m`` None: the device does not know its pitch)."""
    checks: list[tuple[str, object, object, bool]] = [
        ("shape", tuple(shape), tuple(device_shape), tuple(shape) == tuple(device_shape)),
        ("bit_depth", int(bit_depth), int(device_bit_depth), int(bit_depth) == int(device_bit_depth)),
        ("pitch_m", pitch_m, device_pitch_m, device_pitch_m is None or abs(device_pitch_m - pitch_m) <= 0.01 * pitch_m)]
    for field, value, other, agrees in checks:
        if agrees:
            continue
        raise InvalidSetting(f"{section}.{field}: the bench config says {value!r} but the device reports {other!r}; "
                             f"set {section}.{field} to what the device reports (or {section}.options to match the config)")
