"""Sizes this machine cannot hold: every range in a config is what some bench or dataset needs, so an in-range
grid, pad, channel count or image size can still ask for more memory than the machine has. The allocation that
fails then (NumPy's ``MemoryError``, OpenCV's "Insufficient memory" ``cv2.error``, torch's "can't allocate
memory" / CUDA out-of-memory ``RuntimeError``) is turned into one :class:`OutOfMemory` that names it and the fix.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

_CV_NO_MEMORY = -4
"""OpenCV's ``cv::Error::StsNoMem`` code."""
_TORCH_CPU_MARK = "can't allocate memory"
"""What torch's CPU allocator says when an allocation fails (a plain RuntimeError)."""


class OutOfMemory(ValueError):
    """The sizes asked for need more memory than this machine has (bad input: the CLI exits 2)."""


def out_of_memory_detail(exc: BaseException) -> str | None:
    """What failed to allocate, when ``exc`` is an out-of-memory error of NumPy, OpenCV or torch; else None."""
    if isinstance(exc, MemoryError):
        return str(exc) or "an allocation failed"
    kind = type(exc)
    if kind.__module__ == "cv2" and kind.__name__ == "error" and getattr(exc, "code", None) == _CV_NO_MEMORY:
        return " ".join(str(exc).split())
    if isinstance(exc, RuntimeError) and (kind.__name__ == "OutOfMemoryError" or _TORCH_CPU_MARK in str(exc)):
        return " ".join(str(exc).split())[:300]
    return None


@contextlib.contextmanager
def out_of_memory_as_bad_input() -> Iterator[None]:
    """Run the block; an out-of-memory error inside it is raised again as :class:`OutOfMemory` (one line, the fix)."""
    try:
        yield
    except Exception as exc:  # noqa: BLE001 - every other exception is raised again unchanged
        detail = out_of_memory_detail(exc)
        if detail is None:
            raise
        raise OutOfMemory(
            f"not enough memory ({detail}); the sizes asked for (bench grid and camera shapes, pad, channels, image "
            "size, batch) need more than this machine holds: reduce them"
        ) from exc
