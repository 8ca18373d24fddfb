"""The README stays true: its two commands, CI running command 2, the CLI table and the config reference."""

from __future__ import annotations

import re
from pathlib import Path

from osclc.lab.cli.main import build_parser
from osclc.lab.config.files import README_END, README_START, reference_markdown

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text(encoding="utf-8")


def _commands() -> list[str]:
    return re.findall(r"```bash\n(.+?)\n```", README)[:2]


def test_readme_opens_with_two_one_line_commands():
    demo, tests = _commands()
    assert demo.endswith("osclc demo") and "torch==2.13.0" in demo
    assert "pytest" in tests and "torch==2.13.0" in tests
    for line in (demo, tests):
        assert "\n" not in line and line.startswith("python3 -m venv .venv")
        assert line.index("torch==2.13.0") < line.index("-e ")  # the pinned CPU torch comes first


def test_ci_runs_command_two_verbatim():
    ci = (REPO / ".ci" / "run").read_text()
    assert _commands()[1] in ci.splitlines()


def test_every_command_is_in_the_cli_table():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    for name in sub.choices:
        assert f"`osclc {name}" in README, f"README's CLI table lacks `osclc {name}`"


def test_config_reference_is_generated_from_the_schemas():
    section = README.split(README_START, 1)[1].split(README_END, 1)[0]
    assert section.strip() == reference_markdown().strip(), "run: osclc config reference --write README.md"
