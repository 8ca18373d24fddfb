"""Reading the versioned JSON documents of calibration (records, programs) with errors that say the fix."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def read_versioned_json(path: Path, schema: str | tuple[str, ...], error: type[ValueError], what: str, fix: str) -> dict[str, Any]:
    """The JSON object at ``path`` whose ``schema`` is ``schema`` (or one of them: the current one first, then older
    ones the reader still understands); ``error`` names the file, ``what`` it is and ``fix``."""
    accepted = (schema,) if isinstance(schema, str) else tuple(schema)
    try:
        doc = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise error(f"{path}: not a readable {what} ({exc})") from exc
    if not isinstance(doc, dict) or doc.get("schema") not in accepted:
        found = doc.get("schema") if isinstance(doc, dict) else None
        older = f" (or the older {', '.join(map(repr, accepted[1:]))})" if len(accepted) > 1 else ""
        raise error(f"{path}: schema is {found!r}, expected {accepted[0]!r}{older}; {fix}")
    return doc
