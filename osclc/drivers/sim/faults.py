"""Fault injection for the simulated devices: timeouts, error replies, dropped frames, disconnects."""

from __future__ import annotations

import zlib

import numpy as np

from osclc.drivers.bench_config import DeviceFaults
from osclc.drivers.clock import Clock
from osclc.drivers.errors import DeviceDisconnected, DeviceProtocolError, DeviceTimeout, FrameDropped


class FaultInjector:
    """Draws the configured faults of one simulated device; :meth:`check` is called at the start of each hook.

    Draws are reproducible: the generator is seeded by the faults seed and the device name.
    """

    def __init__(self, label: str, faults: DeviceFaults, seed: int, clock: Clock) -> None:
        self.label = label
        self.faults = faults
        self.clock = clock
        self.rng = np.random.default_rng([seed, zlib.crc32(label.encode())])
        self.calls = 0
        self.disconnected = False
        self.injected: list[str] = []

    def check(self, action: str, timeout_s: float, frame: bool = False) -> None:
        """Raise the injected fault of this call (if any); a timeout first waits ``timeout_s`` on the clock."""
        device = self.label.split("'")[1] if "'" in self.label else self.label
        if self.disconnected:
            raise DeviceDisconnected(f"{self.label}: not connected (disconnected earlier); cannot {action}", device)
        self.calls += 1
        limit = self.faults.disconnect_after_calls
        if limit is not None and self.calls > limit:
            self.disconnected = True
            self.injected.append("disconnect")
            raise DeviceDisconnected(f"{self.label}: disconnected during '{action}' (injected after {limit} calls)", device)
        draw = float(self.rng.random())
        p_timeout, p_error = self.faults.timeout_probability, self.faults.error_probability
        p_drop = self.faults.drop_probability if frame else 0.0
        if draw < p_timeout:
            self.injected.append("timeout")
            self.clock.sleep(timeout_s)
            raise DeviceTimeout(f"{self.label}: no reply within {timeout_s:g} s to '{action}' (injected timeout)", device)
        if draw < p_timeout + p_error:
            self.injected.append("error")
            raise DeviceProtocolError(f"{self.label}: garbled reply to '{action}' (injected error reply)", device)
        if draw < p_timeout + p_error + p_drop:
            self.injected.append("drop")
            raise FrameDropped(f"{self.label}: frame lost on the link during '{action}' (injected drop)", device)
