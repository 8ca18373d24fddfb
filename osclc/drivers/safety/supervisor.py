"""The laser's safety supervisor: a watchdog process that switches emission off when the bench's owner dies.

A bench whose laser outlives the process (``Laser.outlives_process``: a real instrument, or a simulator
served by another process) starts one with :meth:`Supervisor.start` before emission can be switched on.
The watchdog is ``python -m osclc.drivers.safety.supervisor FD SPEC``: it holds the read end ``FD`` of a
pipe whose only write end the owner holds, and the laser section of the bench config (``SPEC``, JSON).
It runs in its own session (a Ctrl-C or a hang-up sent to the terminal's process group does not reach
it), ignores SIGINT and SIGHUP, and writes what it does (and any error of its own) to
``laser-supervisor.log`` in the lock folder, never to the owner's terminal or pipes, which it must not
hold open after the owner has exited.

Parent death is detected two ways: end of file on the pipe (the kernel closes the owner's write end when
it dies, however it dies: SIGKILL, a crash, an out-of-memory kill) and, as a backup for a write end
inherited by a forked child, the watchdog's parent pid changing. SIGTERM to the watchdog counts as the
same. It then takes the laser's bench lock (so it never touches a laser a new owner holds; a lock still
held through a descriptor the dead owner's forked child inherited is not a new owner), opens its own
connection through the laser's real backend (the unchanged driver and protocol: VISA or serial), switches
emission off, confirms it by the status query, and exits. When the owner leaves the bench safe it writes
``stop`` on the pipe and the watchdog exits without touching the laser.
"""

from __future__ import annotations

import itertools
import json
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from importlib import import_module
from pathlib import Path

from osclc.drivers.backends import BACKEND_MODULES, BenchShared, create_device
from osclc.drivers.bench_config import BenchConfig, LaserConfig
from osclc.drivers.errors import DeviceError
from osclc.drivers.safety.lock import BenchBusy, BenchLock

ARMED = b"armed\n"
STOP = b"stop\n"
POLL_S = 0.05
"""How often (s) the watchdog checks its parent pid besides waiting on the pipe."""
START_TIMEOUT_S = 60.0
"""Longest wait (s) for the watchdog to import the laser driver and report itself armed."""
LOCK_WAIT_S = 2.0
"""Longest wait (s) of the watchdog for the laser's lock once its owner is gone (the owner may still be releasing it)."""
LOG_NAME = "laser-supervisor.log"
"""The watchdogs' log, in the lock folder."""
RETRY_FOR_S = 10.0
"""How long (s) the watchdog keeps trying to switch emission off (a fault on one try does not leave the laser on)."""
RETRY_EVERY_S = 0.2
"""Wait (s) between two tries of the watchdog."""


class Supervisor:
    """Owner's handle on a running watchdog (``process``) and the pipe's write end (``pipe_fd``)."""

    def __init__(self, process: subprocess.Popen, pipe_fd: int) -> None:
        self.process = process
        self.pipe_fd: int | None = pipe_fd

    @property
    def pid(self) -> int:
        """The watchdog's process id."""
        return self.process.pid

    @classmethod
    def start(cls, laser: LaserConfig, lock_key: str, lock_folder: Path, retry_attempts: int = 0) -> Supervisor:
        """Start and arm a watchdog for ``laser`` (its bench lock ``lock_key`` in ``lock_folder``); DeviceError if it cannot."""
        spec = json.dumps({"laser": laser.model_dump(mode="json"), "lock_key": lock_key, "lock_folder": str(lock_folder),
                           "parent": os.getpid(), "retry_attempts": retry_attempts})
        read_fd, write_fd = os.pipe()
        package_root = str(Path(__file__).resolve().parents[3])  # the watchdog runs the same osclc as its owner
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH")) if p)}
        try:
            with open(Path(lock_folder) / LOG_NAME, "ab") as log:
                process = subprocess.Popen(
                    [sys.executable, "-m", "osclc.drivers.safety.supervisor", str(read_fd), spec],
                    pass_fds=(read_fd,), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log,
                    start_new_session=True, env=env)
        except OSError as exc:
            os.close(write_fd)
            raise DeviceError(f"laser safety supervisor: cannot start it ({exc}); the bench is not opened") from None
        finally:
            os.close(read_fd)
        supervisor = cls(process, write_fd)
        assert process.stdout is not None  # stdout=PIPE
        ready, _, _ = select.select([process.stdout], [], [], START_TIMEOUT_S)
        line = process.stdout.readline() if ready else b""
        if line != ARMED:
            supervisor.stop()
            raise DeviceError(f"laser safety supervisor: not armed within {START_TIMEOUT_S:g} s (said {line!r}, exit code "
                              f"{process.poll()}); the bench is not opened: see {Path(lock_folder) / LOG_NAME}")
        return supervisor

    def stop(self) -> None:
        """The laser is off and released: the watchdog exits without touching it (waits for it, at most 10 s)."""
        self._close_pipe(STOP)
        try:
            self.process.wait(timeout=10.0)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()

    def hand_over(self) -> None:
        """The owner could not confirm the laser off: the watchdog takes over now (switches it off, then exits)."""
        self._close_pipe(b"")
        if self.process.stdout is not None:
            self.process.stdout.close()

    def _close_pipe(self, message: bytes) -> None:
        if self.pipe_fd is None:
            return
        try:
            if message:
                os.write(self.pipe_fd, message)
        except OSError:
            pass  # the watchdog is gone already
        finally:
            os.close(self.pipe_fd)
            self.pipe_fd = None


# ---------------------------------------------------------------------- the watchdog process


def _log(message: str) -> None:
    """One line in the watchdogs' log (the watchdog's stderr; best effort: the laser matters more than the log)."""
    try:
        print(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} osclc laser supervisor (pid {os.getpid()}): {message}",
              file=sys.stderr, flush=True)
    except OSError:
        pass


def _wait_for_parent(fd: int, parent: int, terminated: list[int]) -> bool:
    """Block until the owner says stop (False) or is gone (True)."""
    received = b""
    while not terminated:
        try:
            ready, _, _ = select.select([fd], [], [], POLL_S)
        except InterruptedError:
            continue
        if ready:
            chunk = os.read(fd, 64)
            if not chunk:
                return True
            received += chunk
            if STOP.strip() in received:
                return False
        if os.getppid() != parent:
            return True
    return True


def _switch_off(spec: dict[str, object]) -> bool:
    """Take the laser's lock, open it through its backend, switch emission off and confirm; True when confirmed."""
    config = BenchConfig.model_validate({"laser": spec["laser"], "retry": {"attempts": spec["retry_attempts"]}})
    lock = BenchLock({"laser": str(spec["lock_key"])}, Path(str(spec["lock_folder"])), owner="osclc laser supervisor")
    try:
        lock.acquire(wait_s=LOCK_WAIT_S)
    except BenchBusy as exc:
        if exc.holder.get("pid") != spec["parent"]:
            _log(f"the laser has a new owner, left to it: {exc}")
            return False
        _log(f"the lock is still held through a descriptor inherited from owner pid {spec['parent']} (a forked child): "
             "switching the laser off regardless")
    deadline = time.monotonic() + RETRY_FOR_S
    try:
        for attempt in itertools.count(1):
            laser = None
            try:
                laser = create_device("laser", BenchShared.from_config(config))  # opening switches emission off
                laser.set_emission(False)
                if not laser.status().emission:
                    _log(f"owner pid {spec['parent']} gone or unable to; laser {laser.name!r} switched off (confirmed by its status)")
                    return True
            except Exception as exc:  # noqa: BLE001 - every failure is retried, then reported
                _log(f"try {attempt} to switch the laser off failed: {type(exc).__name__}: {exc}")
            finally:
                if laser is not None:
                    try:
                        laser.close()
                    except Exception as exc:  # noqa: BLE001
                        _log(f"closing the laser failed: {type(exc).__name__}: {exc}")
            if time.monotonic() > deadline:
                _log(f"COULD NOT SWITCH THE LASER OFF in {RETRY_FOR_S:g} s: switch it off at the laser")
                return False
            time.sleep(RETRY_EVERY_S)
        raise AssertionError("unreachable")  # pragma: no cover
    finally:
        lock.release()


def main(argv: Sequence[str]) -> int:
    """The watchdog: ``argv`` = [pipe read fd, JSON spec]; exit 0 after a stop or a confirmed switch-off, else 1."""
    fd, spec = int(argv[0]), json.loads(argv[1])
    terminated: list[int] = []
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda signum, frame: terminated.append(signum))
    for module in BACKEND_MODULES.get(spec["laser"]["backend"], []):  # imported now: the reaction needs no imports
        import_module(module)
    os.write(sys.stdout.fileno(), ARMED)
    if not _wait_for_parent(fd, int(spec["parent"]), terminated):
        return 0
    return 0 if _switch_off(spec) else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
