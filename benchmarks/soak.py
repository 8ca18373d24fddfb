"""Soak: ``osclc infer`` run again and again as a child process, with faults injected and the child signalled or killed.

Each cycle starts ``osclc infer`` on the simulated bench (ideal optics, real clock, a 2-channel student compiled and
normalised on it, its backend stored in the program) with the laser a simulated serial OBIS served on a
pseudo-terminal by this process, so that the laser outlives the child and its state is read through the
simulator, independently of the child. A cycle is one of (seeded draw):

- ``complete``: no signal, camera faults (drops, timeouts) only;
- ``SIGINT`` / ``SIGTERM`` / ``SIGHUP`` / ``SIGKILL``: sent at a random time after emission started;
- ``interlock``: the OBIS interlock opens at a random time (emission stops; the loop must mark frames lost);
- ``interlock-sim``: the bench's own simulated laser, its interlock opening after a random number of laser calls
  (``simulation.faults.interlock_opens_after_calls``);
- ``disconnect``: the camera disconnects after a random number of calls (``faults.camera.disconnect_after_calls``).

Definitions (what ``soak.json`` reports):

- frames requested: ``--limit`` per cycle; recorded: rows of the run's ``frames`` stream (``ok`` + ``lost``);
  unfinished: requested - recorded (the child ended first);
- silently wrong: a row recorded ``ok`` whose exposure (``exposure_start_ns`` .. ``exposure_end_ns``, the bench's
  real clock = this process's ``perf_counter_ns``) lies wholly inside a time the OBIS was not emitting (from this
  process's 5 ms poll of the simulator, widened by one poll period on each side), or whose prediction differs from
  the digital student's (folded features, then the same backend) on the same image. On this ideal bench the
  optical features equal the digital ones up to float rounding; images whose digital top-2 logit margin is below
  ``MARGIN`` are excluded from the prediction check and counted (``near_ties``);
- laser-on after a kill: from the parent's ``os.kill`` to the first poll that sees emission off;
- runs readable: ``osclc runs show <id>`` exits 0 for every run folder and its ``frames`` rows all parse.

Usage: ``python benchmarks/soak.py`` (10 minutes), ``--quick`` (2 minutes), ``--minutes M``, ``--endings
SIGKILL,SIGHUP`` (the first cycles' endings, always run, then random ones until the time is up), ``--out-dir``
(default ``benchmarks/results``), ``--keep`` (keep the work folder with its runs). Exit 0 when every goal holds.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import RESULTS, load_snapshot, write_result  # noqa: E402

if TYPE_CHECKING:
    from osclc.drivers.sim.obis import SimulatedObis

ENDINGS = ("complete", "SIGINT", "SIGTERM", "SIGHUP", "SIGKILL", "interlock", "interlock-sim", "disconnect")
"""What ends a cycle (see the module docstring)."""
DEEDS = ("SIGINT", "SIGTERM", "SIGHUP", "SIGKILL", "interlock")
"""Endings done to a lit child at a random time."""
POLL_S = 0.005
"""Period of the laser-state poll (s)."""
MARGIN = 1e-3
"""Digital top-2 logit margin below which an image's prediction is not compared (a near tie)."""
LIMIT = 60
"""Images per child (the digits test split)."""
CHILD_BOUND_S = 90.0
"""A child still running this long after its start is killed (and counted as ``hung``)."""
OFF_GOAL_S = 1.0
"""The safety goal: emission off within this long after a kill."""


@dataclass
class Cycle:
    """One child: what was done to it and how it ended (times in seconds from the soak's start)."""

    index: int
    ending: str
    start_s: float
    seed: int
    faults: dict = field(default_factory=dict)
    emission_s: float | None = None
    event_s: float | None = None
    end_s: float | None = None
    laser_off_after_event_s: float | None = None
    exit_code: int | None = None
    run_status: str | None = None
    last_stderr: str = ""
    hung: bool = False
    rows: int = 0
    ok: int = 0
    lost: dict = field(default_factory=dict)
    silently_wrong_dark: int = 0
    silently_wrong_prediction: int = 0
    near_ties: int = 0
    run_readable: bool | None = None
    expected: bool | None = None


class LaserWatch:
    """Polls the simulated OBIS every ``POLL_S`` s in a thread and keeps its emission transitions (perf_counter_ns)."""

    def __init__(self, sim: SimulatedObis) -> None:
        self.sim = sim
        self.transitions: list[tuple[int, bool]] = [(time.perf_counter_ns(), sim.emitting)]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            state = self.sim.emitting
            if state != self.transitions[-1][1]:
                self.transitions.append((time.perf_counter_ns(), state))
            time.sleep(POLL_S)

    def stop(self) -> None:
        """Stop polling (the last state stands until the end)."""
        self._stop.set()
        self._thread.join()
        self.transitions.append((time.perf_counter_ns(), self.sim.emitting))

    def dark_intervals(self) -> list[tuple[int, int]]:
        """Intervals (ns) in which emission was seen off, each shrunk by one poll period at both ends."""
        slack = int(POLL_S * 1e9)
        out = []
        for (t0, on), (t1, _) in zip(self.transitions, self.transitions[1:], strict=False):
            if not on and t1 - t0 > 2 * slack:
                out.append((t0 + slack, t1 - slack))
        return out


def laser_section(port: str) -> dict:
    """The OBIS at ``port`` as a bench's laser (the default simulated laser's power, so the light is the same)."""
    return {"backend": "serial", "resource": port, "timeout_s": 0.5, "max_power_mw": 5.0, "power_mw": 1.0,
            "options": {"protocol": "obis", "expect_identity": "OBIS"}}


def build_programs(folder: Path, port: str) -> tuple[dict[str, Path], dict[int, tuple[int, float]]]:
    """Compile the 2-channel student for the ideal bench with the OBIS laser (``obis``) and with its own simulated
    laser (``sim``), normalise each on its bench, store the backend; the digital prediction and top-2 logit
    margin of each of the first ``LIMIT`` test images."""
    import torch

    from osclc.calibration.compiler import fit_normalisation
    from osclc.calibration.compiler.pipeline import compile_program
    from osclc.calibration.record import CalibrationRecord
    from osclc.drivers.bench import open_bench
    from osclc.drivers.bench_config import BenchConfig
    from osclc.lab.backend_files import save_backend
    from osclc.models.data.spec import load_dataset
    from osclc.models.folding import fold
    from osclc.models.networks.architecture import ClassificationArch, build_model

    torch.manual_seed(0)
    torch.set_num_threads(1)
    student = build_model(ClassificationArch(variant="sclc", detector="intensity", channels=[2]), 1, 8, 10).eval()
    folded = fold(student)
    data = load_dataset("digits")
    with torch.no_grad():
        digital = folded.features(data.val.x[:8]).numpy()
        logits = student(data.test.x[:LIMIT]).numpy()
    programs = {}
    for name, laser in (("obis", {"laser": laser_section(port)}), ("sim", {})):
        config = BenchConfig.model_validate({"kind": "bench", **laser})
        compiled = compile_program(folded, CalibrationRecord.identity(config), config, multiplex="time")
        with open_bench(config, emission=True) as bench:
            fit_normalisation(bench, compiled, digital, data.val.x[:8].numpy())
        programs[name] = folder / f"program-{name}"
        compiled.save(programs[name])
        save_backend(programs[name], student.backend, {"source": "student"})
    top2 = np.sort(logits, axis=1)[:, -2:]
    reference = {i: (int(np.argmax(row)), float(top2[i, 1] - top2[i, 0])) for i, row in enumerate(logits)}
    return programs, reference


def bench_yaml(path: Path, port: str, cycle: Cycle, rng: random.Random) -> Path:
    """The cycle's bench config: ideal optics, real clock, camera faults, the OBIS laser (or the simulated one)."""
    camera_faults = {"drop_probability": rng.uniform(0.0, 0.1), "timeout_probability": rng.uniform(0.0, 0.03)}
    if cycle.ending == "disconnect":
        camera_faults["disconnect_after_calls"] = rng.randint(5, 60)
    faults: dict = {"seed": cycle.seed, "camera": camera_faults}
    config: dict = {"kind": "bench", "timeout_s": 0.5, "simulation": {"clock": "real", "faults": faults}}
    if cycle.ending == "interlock-sim":
        faults["interlock_opens_after_calls"] = rng.randint(3, 30)
    else:
        config["laser"] = laser_section(port)
    cycle.faults = faults
    path.write_text(yaml.safe_dump(config))
    return path


def run_cycle(cycle: Cycle, t0: float, work: Path, sim: SimulatedObis, programs: dict[str, Path], rng: random.Random,
              env: dict[str, str], children: list[subprocess.Popen]) -> Path | None:
    """Start the child (appended to ``children`` at once, for the cleanup), wait for emission, do the cycle's deed,
    wait for the end (bounded); fills ``cycle``; returns the child's new run folder (None if it made none)."""
    runs = work / "runs"
    bench = bench_yaml(work / f"bench-{cycle.index}.yaml", sim.port, cycle, rng)
    loop = work / "loop.yaml"
    args = [sys.executable, "-m", "osclc", "--runs-dir", str(runs), "--device", "cpu", "infer", "--bench", str(bench),
            "--program", str(programs["sim" if cycle.ending == "interlock-sim" else "obis"]), "--dataset", "digits", "--limit", str(LIMIT), "--loop", str(loop)]
    before = set(runs.iterdir()) if runs.exists() else set()
    child = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    children.append(child)
    started = time.monotonic()
    delay = rng.uniform(0.2, 1.5)  # well inside the LIMIT frames, so that the deed lands mid-run
    lit, lit_at = cycle.ending == "interlock-sim", started  # interlock-sim: its laser is inside the child
    while child.poll() is None and time.monotonic() - started < CHILD_BOUND_S:
        if not lit and sim.emitting:
            lit = True
            cycle.emission_s = time.monotonic() - t0
            lit_at = time.monotonic()
        if cycle.emission_s is not None and cycle.event_s is None and cycle.ending in DEEDS and time.monotonic() - lit_at >= delay:
            event = time.monotonic()
            cycle.event_s = event - t0
            if cycle.ending == "interlock":
                sim.open_interlock()
            else:
                os.kill(child.pid, getattr(signal, cycle.ending))
            while sim.emitting and time.monotonic() - event < 30.0:
                time.sleep(POLL_S / 5)
            cycle.laser_off_after_event_s = time.monotonic() - event
        time.sleep(POLL_S)
    if child.poll() is None:
        cycle.hung = True
        child.kill()
    _, err = child.communicate(timeout=60)
    cycle.end_s = time.monotonic() - t0
    cycle.exit_code = child.returncode
    lines = err.replace("\r", "\n").strip().splitlines()
    cycle.last_stderr = lines[-1][:300] if lines else ""
    if sim.interlock_open:
        sim.close_interlock()
    new = sorted(set(runs.iterdir()) - before) if runs.exists() else []
    return new[0] if new else None


def check_run(cycle: Cycle, folder: Path | None, runs: Path, reference: dict[int, tuple[int, float]],
              dark: list[tuple[int, int]], env: dict[str, str]) -> None:
    """Read the cycle's run back (``osclc runs show`` and the rows): counts, causes and silently wrong frames."""
    from osclc.lab.runs import read_run

    if folder is None:
        cycle.run_readable = None
        return
    shown = subprocess.run([sys.executable, "-m", "osclc", "--runs-dir", str(runs), "runs", "show", folder.name],
                           capture_output=True, text=True, env=env, timeout=120)
    try:
        info = read_run(folder)
        rows = info.records("frames") if "frames" in info.streams() else []
        cycle.run_status = info.status
        cycle.run_readable = shown.returncode == 0
    except Exception as exc:  # an unreadable run is the finding, whatever the reader raised
        cycle.run_readable, cycle.last_stderr = False, f"{cycle.last_stderr} | unreadable: {exc!r}"
        return
    cycle.rows = len(rows)
    for row in rows:
        if row["status"] != "ok":
            cause = (row.get("lost") or {}).get("cause", "unknown")
            cycle.lost[cause] = cycle.lost.get(cause, 0) + 1
            continue
        cycle.ok += 1
        stamps = row.get("stamps_ns", {})
        start, end = stamps.get("exposure_start"), stamps.get("exposure_end")
        if cycle.ending != "interlock-sim" and start is not None and end is not None:
            if any(a <= start and end <= b for a, b in dark):
                cycle.silently_wrong_dark += 1
        digital, margin = reference[int(row["index"])]
        if margin < MARGIN:
            cycle.near_ties += 1
        elif int(row["prediction"]) != digital:
            cycle.silently_wrong_prediction += 1


EXPECTED = {
    "complete": ({0}, {"completed"}),
    "SIGINT": ({130}, {"aborted"}), "SIGTERM": ({130}, {"aborted"}), "SIGHUP": ({130}, {"aborted"}),
    "SIGKILL": ({-9}, {"interrupted"}),
    "interlock": ({1}, {"degraded", "failed"}), "interlock-sim": ({1}, {"degraded", "failed"}),
    "disconnect": ({1}, {"failed", "degraded"}),
}
"""Per ending: the exit codes and run statuses that are right (a cycle whose child finished before its deed may also
exit 0 / ``completed``, or 1 / ``degraded`` when drops hit the light check; see :func:`judge`)."""


def judge(cycle: Cycle) -> None:
    """Whether the child's exit code and run status fit what ended it."""
    codes, statuses = EXPECTED[cycle.ending]
    finished_first = cycle.event_s is None and cycle.ending != "disconnect"
    if finished_first or cycle.ending == "complete":
        codes, statuses = codes | {0, 1}, statuses | {"completed", "degraded"}
    if cycle.ending == "disconnect":
        codes, statuses = codes | {0}, statuses | {"completed"}  # the child may finish before the disconnect
    cycle.expected = not cycle.hung and cycle.exit_code in codes and cycle.run_status in statuses


def leftover_processes(pids: list[int]) -> list[int]:
    """Those of ``pids`` still alive."""
    alive = []
    for pid in pids:
        try:
            os.kill(pid, 0)
            alive.append(pid)
        except ProcessLookupError:
            pass
    return alive


def supervisor_pids() -> list[int]:
    """Processes whose parent is this one or whose command line names the supervisor module, started by this soak."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                env = (entry / "environ").read_bytes()
            except OSError:
                continue
            if "safety.supervisor" in cmd and SOAK_TAG.encode() in env:
                out.append(int(entry.name))
    return out


SOAK_TAG = f"OSCLC_SOAK_ID={os.getpid()}"
"""An environment entry given to every child, by which this soak finds its own processes (and only those)."""


def plot(path: Path, cycles: list[Cycle], transitions: list[tuple[int, bool]], t0_ns: int) -> None:
    """Timeline: one bar per child (colour = ending), the signal / interlock marks, and the laser's emission."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    colours = dict(zip(ENDINGS, ("tab:green", "tab:blue", "tab:purple", "tab:orange", "tab:red", "tab:brown",
                                 "tab:pink", "tab:gray"), strict=True))
    fig, (ax, axl) = plt.subplots(2, 1, figsize=(14, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    for c in cycles:
        ax.barh(c.index, (c.end_s or c.start_s) - c.start_s, left=c.start_s, color=colours[c.ending], height=0.8)
        if c.event_s is not None:
            ax.plot(c.event_s, c.index, "kx", ms=5)
    handles = [Patch(color=colour, label=name) for name, colour in colours.items()]
    handles.append(Line2D([], [], color="k", marker="x", linestyle="", label="signal / interlock opened"))
    ax.set_ylabel("child")
    ax.legend(handles=handles, loc="upper left", ncol=5, fontsize=7)
    ax.set_title("soak: children of `osclc infer`, their endings, and the OBIS laser's emission")
    times = [(t - t0_ns) / 1e9 for t, _ in transitions]
    states = [int(on) for _, on in transitions]
    axl.step(times, states, where="post", color="tab:red")
    axl.set_yticks([0, 1], ["off", "on"])
    axl.set_xlabel("time since the soak started (s)")
    axl.set_ylabel("laser")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    """Run the soak and write ``soak.json`` and ``soak.png``; exit 0 when every goal holds, else 1."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=10.0, help="total duration (minutes, default 10)")
    p.add_argument("--quick", action="store_true", help="2 minutes (a smoke run)")
    p.add_argument("--seed", type=int, default=0, help="seed of the endings, delays and fault rates")
    p.add_argument("--endings", default="", help="comma-separated endings of the first cycles, e.g. SIGKILL,SIGHUP")
    p.add_argument("--out-dir", type=Path, default=RESULTS, help="folder for soak.json and soak.png")
    p.add_argument("--keep", action="store_true", help="keep the work folder (programs, bench configs, runs) and print it")
    args = p.parse_args(argv)
    minutes = 2.0 if args.quick else args.minutes
    forced = [e for e in args.endings.split(",") if e]
    unknown = [e for e in forced if e not in ENDINGS]
    if unknown:
        p.error(f"--endings: unknown {unknown}; choose from {', '.join(ENDINGS)}")

    from osclc.drivers.sim.obis import SimulatedObis

    def interrupted(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    for signum in (signal.SIGTERM, signal.SIGHUP):  # like Ctrl-C: the cleanup below ends every child and the laser
        signal.signal(signum, interrupted)
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="osclc-soak-"))
    (work / "loop.yaml").write_text(yaml.safe_dump({"kind": "loop", "capture_timeout_s": 2.0, "shutdown_timeout_s": 2.0,
                                                    "warmup_calls": 0}))
    env = {**os.environ, "OSCLC_LOCK_DIR": str(work / "locks"), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           SOAK_TAG.split("=")[0]: SOAK_TAG.split("=")[1]}
    os.environ.update({k: env[k] for k in ("OSCLC_LOCK_DIR", SOAK_TAG.split("=")[0])})  # the build's supervisor too
    cycles: list[Cycle] = []
    children: list[subprocess.Popen] = []
    folders: list[Path | None] = []
    with SimulatedObis(max_power_mw=100.0) as sim:
        programs, reference = build_programs(work, sim.port)
        loads = [load_snapshot()]
        t0, t0_ns = time.monotonic(), time.perf_counter_ns()
        watch = LaserWatch(sim)
        try:
            while len(cycles) < len(forced) or time.monotonic() - t0 < minutes * 60.0:
                index = len(cycles)
                ending = forced[index] if index < len(forced) else rng.choice(ENDINGS)
                cycle = Cycle(index, ending, time.monotonic() - t0, seed=rng.randrange(2**31))
                cycles.append(cycle)
                folders.append(run_cycle(cycle, t0, work, sim, programs, rng, env, children))
                if index % 10 == 0:
                    loads.append(load_snapshot())
        finally:
            for child in children:
                if child.poll() is None:
                    child.kill()
                    child.wait(timeout=30)
            deadline = time.monotonic() + 30.0
            while supervisor_pids() and time.monotonic() - deadline < 0:
                time.sleep(0.05)
            watch.stop()
            laser_off_at_end = not sim.emitting
    loads.append(load_snapshot())
    dark = watch.dark_intervals()
    for cycle, folder in zip(cycles, folders, strict=True):
        check_run(cycle, folder, work / "runs", reference, dark, env)
        judge(cycle)
    left = leftover_processes([c.pid for c in children]) + supervisor_pids()
    for pid in left:  # reported, then ended: the soak never leaves a process behind
        os.kill(pid, signal.SIGKILL)
    kills = [c.laser_off_after_event_s for c in cycles if c.ending == "SIGKILL" and c.laser_off_after_event_s is not None]
    signals = {s: [c.laser_off_after_event_s for c in cycles if c.ending == s and c.laser_off_after_event_s is not None]
               for s in ("SIGINT", "SIGTERM", "SIGHUP")}
    lost: dict[str, int] = {}
    for c in cycles:
        for cause, n in c.lost.items():
            lost[cause] = lost.get(cause, 0) + n
    silently_wrong = sum(c.silently_wrong_dark + c.silently_wrong_prediction for c in cycles)
    readable = [c.run_readable for c in cycles if c.run_readable is not None]
    figures = {
        "duration_s": time.monotonic() - t0,
        "minutes_requested": minutes,
        "seed": args.seed,
        "setup": {"bench": "simulated ideal optics, clock real, camera faults per cycle; laser: simulated serial OBIS on a "
                           "pseudo-terminal hosted by the soak (outlives the child) except 'interlock-sim' cycles",
                  "program": "2-channel SCLC student (digits, 8x8), time-multiplexed, normalised on the ideal bench",
                  "images_per_child": LIMIT, "poll_s": POLL_S, "margin": MARGIN, "child_bound_s": CHILD_BOUND_S},
        "load": loads,
        "cycles": len(cycles),
        "endings": {e: sum(c.ending == e for c in cycles) for e in ENDINGS},
        "frames": {
            "requested": LIMIT * len(cycles),
            "recorded": sum(c.rows for c in cycles),
            "ok": sum(c.ok for c in cycles),
            "lost": sum(lost.values()),
            "lost_by_cause": lost,
            "unfinished": LIMIT * len(cycles) - sum(c.rows for c in cycles),
            "near_ties_not_compared": sum(c.near_ties for c in cycles),
        },
        "silently_wrong": {
            "total": silently_wrong,
            "ok_while_dark": sum(c.silently_wrong_dark for c in cycles),
            "prediction_differs_from_digital": sum(c.silently_wrong_prediction for c in cycles),
            "goal": 0,
        },
        "laser_off_after_sigkill_s": {"values": kills, "max": max(kills) if kills else None, "goal": OFF_GOAL_S,
                                      "all_within_goal": all(v <= OFF_GOAL_S for v in kills)},
        "laser_off_after_signal_s": {s: {"values": v, "max": max(v) if v else None} for s, v in signals.items()},
        "laser_off_after_interlock_s": [c.laser_off_after_event_s for c in cycles if c.ending == "interlock" and c.event_s is not None],
        "runs": {"total": len(readable), "readable": sum(readable), "cycles_without_a_run": sum(f is None for f in folders)},
        "children_as_expected": sum(bool(c.expected) for c in cycles),
        "children_hung": sum(c.hung for c in cycles),
        "laser_off_at_end": laser_off_at_end,
        "processes_left": left,
        "children": [asdict(c) for c in cycles],
    }
    figures["goals_met"] = (silently_wrong == 0 and figures["laser_off_after_sigkill_s"]["all_within_goal"]
                            and all(readable) and figures["cycles"] == figures["children_as_expected"]
                            and laser_off_at_end and not left)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    path = write_result("soak", figures, args.out_dir)
    plot(args.out_dir / "soak.png", cycles, watch.transitions, t0_ns)
    print(json.dumps({k: figures[k] for k in ("cycles", "frames", "silently_wrong", "laser_off_after_sigkill_s", "runs",
                                              "children_as_expected", "goals_met")}, indent=1))
    if args.keep:
        print(f"work folder kept: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    print(f"wrote {path}")
    return 0 if figures["goals_met"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
