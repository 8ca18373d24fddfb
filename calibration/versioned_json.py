"""Reading the versioned JSON documents of calibration (records, programs) with errors that say the fix."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def read_versioned_json(path: Path, schema: str, error: type[ValueError], what: str, fix: str) -> dict[str, Any]:
    """The JSON object at ``path`` whose ``schema`` must equal ``schema``; ``error`` names the file, ``what`` it is and ``fix``."""
    try:
        doc = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise error(f"{path}: not a readable {what} ({exc})") from exc
    if not isinstance(doc, dict) or doc.get("schema") != schema:
        found = doc.get("schema") if isinstance(doc, dict) else None
        raise error(f"{path}: schema is {found!r}, expected {schema!r}; {fix}")
    return doc
