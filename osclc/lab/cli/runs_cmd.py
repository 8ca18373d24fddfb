"""``osclc runs list | show ID | compare ID ID``: read run records back."""

from __future__ import annotations

import argparse
import json
from typing import Any

from osclc.lab.runs import RunInfo, RunRecordError, find_run, list_runs, read_run


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``runs`` command and its ``list`` / ``show`` / ``compare`` subcommands."""
    parser = sub.add_parser("runs", help="list, show and compare run records")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    actions.add_parser("list", help="every run with its command and status").set_defaults(func=_list)
    show = actions.add_parser("show", help="one run's manifest, metrics and record counts")
    show.add_argument("run_id", help="run id, unique prefix of one, or run folder")
    show.set_defaults(func=_show)
    compare = actions.add_parser("compare", help="two runs' metrics and configs side by side")
    compare.add_argument("run_a")
    compare.add_argument("run_b")
    compare.set_defaults(func=_compare)


def _list(args: argparse.Namespace) -> int:
    runs = list_runs(args.runs_dir)
    if not runs:
        print("no runs yet")
        return 0
    print(f"{'run id':<48} {'command':<12} {'status':<12} started (UTC)")
    for item in runs:
        if isinstance(item, RunRecordError):
            print(f"{'?':<48} {'?':<12} {'unreadable':<12} {item}")
            continue
        started = str(item.manifest.get("started_utc", ""))[:19]
        print(f"{item.run_id:<48} {str(item.manifest.get('command')):<12} {item.status:<12} {started}")
    return 0


def _show(args: argparse.Namespace) -> int:
    """Print what can be read of one run; a corrupt records or metrics file ends it with one line (exit 2)."""
    info = read_run(find_run(args.run_id, args.runs_dir))
    manifest = info.manifest
    print(f"run      {info.run_id}")
    print(f"folder   {info.folder}")
    print(f"command  {' '.join(map(str, manifest.get('argv', [])))}")
    print(f"status   {info.status}" + (f"  ({manifest['error']})" if manifest.get("error") else ""))
    print(f"started  {manifest.get('started_utc')}  ended {manifest.get('ended_utc')}")
    git = manifest.get("git") or {}
    print(f"git      {git.get('commit')}{' (dirty)' if git.get('dirty') else ''}")
    print(f"host     {manifest.get('host')}  python {manifest.get('python')}  device {manifest.get('device')}")
    for role, entry in (manifest.get("inputs") or {}).items():
        print(f"input    {role}: {entry.get('path')} sha256 {str(entry.get('sha256'))[:16]}")
    problems: list[RunRecordError] = []
    try:
        for stream, count in info.streams().items():
            print(f"records  {stream}: {count}")
    except RunRecordError as exc:
        problems.append(exc)
        print("records  (unreadable)")
    try:
        metrics = info.metrics()
    except RunRecordError as exc:
        problems.append(exc)
        metrics = {}
        print("metrics  (unreadable)")
    if metrics:
        print("metrics")
        for key, value in metrics.items():
            print(f"  {key}: {json.dumps(value)}")
    files = sorted(p.name for p in info.folder.iterdir() if p.suffix in (".png", ".md"))
    if files:
        print("files    " + ", ".join(files))
    if problems:
        raise RunRecordError("; ".join(map(str, problems)))
    return 0


def _flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(data, dict):
        out: dict[str, Any] = {}
        for key, value in data.items():
            out.update(_flatten(value, f"{prefix}{key}."))
        return out
    return {prefix.rstrip("."): data}


def _compare(args: argparse.Namespace) -> int:
    a: RunInfo = read_run(find_run(args.run_a, args.runs_dir))
    b: RunInfo = read_run(find_run(args.run_b, args.runs_dir))
    print(f"{'':<40} {a.run_id[:32]:<34} {b.run_id[:32]:<34}")
    for title, left, right in (
        ("metrics", _flatten(a.metrics()), _flatten(b.metrics())),
        ("config (differences)", _flatten(a.manifest.get("config") or {}), _flatten(b.manifest.get("config") or {})),
    ):
        keys = sorted(set(left) | set(right))
        if title.startswith("config"):
            keys = [k for k in keys if left.get(k) != right.get(k)]
        print(title)
        if not keys:
            print("  (none)")
        for key in keys:
            print(f"  {key:<38} {json.dumps(left.get(key, '-')):<34} {json.dumps(right.get(key, '-')):<34}")
    return 0
