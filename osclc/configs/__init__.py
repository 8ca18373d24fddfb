"""Bench, training and loop configs shipped with the package (YAML files beside this module)."""

from importlib import resources
from pathlib import Path


def bundled(name: str) -> Path:
    """Path of a bundled config file, e.g. ``bundled("bench-sim-realistic.yaml")``.

    Raises FileNotFoundError naming the bundled files when ``name`` is not one of them.
    """
    root = resources.files(__name__)
    path = root / name
    if not path.is_file():
        names = sorted(p.name for p in root.iterdir() if p.name.endswith(".yaml"))
        raise FileNotFoundError(f"no bundled config {name!r}; bundled configs: {', '.join(names) or 'none'}")
    return Path(str(path))
