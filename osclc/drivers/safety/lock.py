"""One bench, one owner: an exclusive lock per device, keyed on what the device is, not on the config's name.

A device's key names the hardware (:func:`device_keys`): the laser's VISA resource or serial port, the
slmsuite class and its identifying options (display number, serial number), or ``simulated:<kind>`` for a
simulated device (one simulated bench per lock folder, as there is one real bench per table). Two configs
that name the same laser under different bench names therefore exclude each other.

Each key is a file in the lock folder (``$OSCLC_LOCK_DIR``, else ``$XDG_RUNTIME_DIR/osclc-locks``, else
``<temp>/osclc-locks-<uid>``) locked with ``flock``; the holder writes its pid, command line, host and start
time into it. The kernel drops the lock when the holder dies however it dies, so the lock of a dead
process is simply taken over (the file then says whose it was). Lock files are never deleted (deleting one
could let two processes lock two different files of the same name). The descriptors are close-on-exec:
a program the bench owner starts does not inherit the lock; a child it forks without exec does, and holds
it until that child exits.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import socket
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from osclc.drivers.backends import DEVICE_KINDS
from osclc.drivers.bench_config import BenchConfig
from osclc.drivers.errors import DeviceError

LOCK_DIR_ENV = "OSCLC_LOCK_DIR"


class BenchBusy(DeviceError):
    """A device of the bench is held by another live process; the message names its pid and command,
    ``holder`` is what the lock file records (``pid``, ``command``, ``host``, ``since``)."""

    def __init__(self, message: str, holder: dict[str, object]) -> None:
        super().__init__(message)
        self.holder = holder


def lock_dir() -> Path:
    """The lock folder: ``$OSCLC_LOCK_DIR``, else ``$XDG_RUNTIME_DIR/osclc-locks``, else ``<temp>/osclc-locks-<uid>``."""
    if os.environ.get(LOCK_DIR_ENV):
        return Path(os.environ[LOCK_DIR_ENV])
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and Path(runtime).is_dir():
        return Path(runtime) / "osclc-locks"
    return Path(tempfile.gettempdir()) / f"osclc-locks-{os.getuid()}"


def _serial_port(resource: str) -> str:
    """A serial port by the device file it resolves to (``/dev/serial/by-id/...`` and ``/dev/ttyUSB0`` alike)."""
    return os.path.realpath(resource) if resource.startswith("/") else resource


def device_keys(config: BenchConfig) -> dict[str, str]:
    """Device kind -> the key naming the hardware it drives (see the module docstring)."""
    keys = {}
    for kind in DEVICE_KINDS:
        section = getattr(config, kind)
        options = dict(section.options)
        if section.backend == "simulated":
            keys[kind] = f"simulated:{kind}"
        elif kind == "laser" and section.backend == "serial":
            keys[kind] = "simulated:serial-obis" if options.get("simulator") else f"serial:{_serial_port(section.resource)}"
        elif kind == "laser" and section.backend == "visa":
            library = str(options.get("visa_library", ""))
            state = options.get("sim_state")
            keys[kind] = f"visa:{section.resource}" + (f"@{library}" if library.endswith("@sim") else "") + (
                f"#{os.path.abspath(str(state))}" if state else "")
        else:
            cls = options.pop("slmsuite_class", "")
            keys[kind] = f"{section.backend}:{cls}:{json.dumps(options, sort_keys=True)}"
    return keys


def _file_for(folder: Path, key: str) -> Path:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", key)[:60]
    return folder / f"{slug}-{hashlib.sha256(key.encode()).hexdigest()[:16]}.lock"


def _read_holder(fd: int) -> dict[str, object]:
    try:
        data = os.pread(fd, 65536, 0)
        holder = json.loads(data.decode("utf-8")) if data.strip() else {}
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return holder if isinstance(holder, dict) else {}


class BenchLock:
    """Exclusive locks on ``keys`` (device kind -> key) in ``folder``; ``owner`` is the command line recorded.

    :meth:`acquire` waits up to ``wait_s`` (s) for keys held by others, then raises :class:`BenchBusy`.
    """

    def __init__(self, keys: dict[str, str], folder: Path | None = None, owner: str | None = None) -> None:
        self.keys = dict(keys)
        self.folder = Path(folder) if folder is not None else lock_dir()
        self.owner = owner if owner is not None else " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]) if sys.argv else "python"
        self._fds: dict[str, int] = {}

    def acquire(self, wait_s: float = 0.0) -> BenchLock:
        """Lock every key (in sorted order, so two benches sharing devices cannot deadlock); returns self."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise DeviceError(f"bench lock: cannot create the lock folder {self.folder}: {exc}; set ${LOCK_DIR_ENV} "
                              "to a writable folder") from None
        try:
            for key in sorted(set(self.keys.values())):
                if key not in self._fds:
                    self._fds[key] = self._lock_one(key, wait_s)
        except BaseException:
            self.release()
            raise
        return self

    def _lock_one(self, key: str, wait_s: float) -> int:
        path = _file_for(self.folder, key)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() < deadline:
                    time.sleep(0.02)
                    continue
                holder = _read_holder(fd)
                os.close(fd)
                kinds = ", ".join(kind for kind, k in self.keys.items() if k == key)
                raise BenchBusy(
                    f"bench device {key!r} ({kinds}) is in use by pid {holder.get('pid', '?')} "
                    f"({holder.get('command', 'unknown command')}) on {holder.get('host', 'this host')} since "
                    f"{holder.get('since', '?')}; wait for it to finish or stop that process (lock file {path})", holder) from None
        previous = _read_holder(fd)  # the last holder: gone, since its lock was free
        record = {"pid": os.getpid(), "command": self.owner, "host": socket.gethostname(), "key": key,
                  "since": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        if previous.get("pid") is not None and previous.get("pid") != os.getpid():
            record["previous"] = {k: previous.get(k) for k in ("pid", "command", "since")}
        data = json.dumps(record).encode("utf-8")
        os.ftruncate(fd, 0)
        os.pwrite(fd, data, 0)
        return fd

    def release(self) -> None:
        """Unlock every key held (idempotent)."""
        for fd in self._fds.values():
            try:
                fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)
        self._fds.clear()

    @property
    def held(self) -> bool:
        """True while every key is locked by this object."""
        return bool(self._fds) and len(self._fds) == len(set(self.keys.values()))

    def __enter__(self) -> BenchLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
