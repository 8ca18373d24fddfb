"""Quality gates: every calibration step (and the compiled program's check) judges its own result.

A step returns :class:`Figure` s (a measured value, the bound it must respect, and what it means
when it does not). :func:`judge` sorts them into pass / marginal / fail and raises
:class:`QualityError` on the first failing step unless the run was forced; the figures go into
the calibration record (``quality``) and the run, and :func:`summary_table` prints them.

A figure is ``fail`` when it is on the wrong side of ``bound``, ``marginal`` when it is within
``margin`` (a fraction of the bound's distance from the ideal value ``ideal``) of the bound, and
``pass`` otherwise. ``cause`` and ``fix`` are written for a person at the bench ("no light on the
camera: laser off or shutter closed?"), not for a programmer.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Iterable, Literal, Mapping, Sequence

Sense = Literal["max", "min"]
Verdict = Literal["pass", "marginal", "fail"]

MARGIN = 0.25
"""Default marginal band: the last quarter of the way from the ideal value to the bound."""


@dataclass(frozen=True)
class Figure:
    """One quality figure of one step.

    ``sense`` ``"max"``: the value must be at most ``bound`` (a residual, an error); ``"min"``: at
    least ``bound`` (a signal-to-noise ratio, a count of usable spots). ``ideal`` is the best
    possible value (0 for a residual), used only to place the marginal band. ``unit`` is printed
    after the numbers ("px", "rad", "", "counts").
    """

    step: str
    name: str
    value: float
    bound: float
    sense: Sense
    unit: str
    cause: str
    fix: str
    ideal: float = 0.0
    margin: float = MARGIN

    @property
    def verdict(self) -> Verdict:
        """``fail`` on the wrong side of the bound (NaN always fails), ``marginal`` close to it, else ``pass``."""
        if not math.isfinite(self.value):
            return "fail"
        if (self.value > self.bound) if self.sense == "max" else (self.value < self.bound):
            return "fail"
        edge = self.bound - self.margin * (self.bound - self.ideal)
        if (self.value > edge) if self.sense == "max" else (self.value < edge):
            return "marginal"
        return "pass"

    def describe(self) -> str:
        """One line: step, figure, value against the bound, and (unless it passed) the cause and fix."""
        relation = "<=" if self.sense == "max" else ">="
        unit = f" {self.unit}" if self.unit else ""
        line = f"{self.step}: {self.name} = {self.value:.4g}{unit} (bound {relation} {self.bound:.4g}{unit}) {self.verdict}"
        return line if self.verdict == "pass" else f"{line}: {self.cause}; {self.fix}"

    def to_json(self) -> dict[str, object]:
        """The figure and its verdict as JSON-ready values (non-finite values become strings)."""
        data: dict[str, object] = asdict(self)
        data["verdict"] = self.verdict
        if not math.isfinite(self.value):
            data["value"] = str(self.value)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> "Figure":
        """Inverse of :meth:`to_json` (the verdict is recomputed, not trusted)."""
        fields = {k: data[k] for k in ("step", "name", "bound", "sense", "unit", "cause", "fix", "ideal", "margin") if k in data}
        return cls(value=float(str(data["value"])), **fields)  # type: ignore[arg-type]


class QualityError(RuntimeError):
    """A step (or the program check) failed its gate; the message names the step, figure, bound, cause and fix.

    A ``RuntimeError``: the input was valid, the bench measured out of bounds (exit 1, not 2). ``figures``: every
    figure measured up to the failure (the failing ones included), for the summary table; by default ``failed``.
    """

    def __init__(self, failed: Sequence[Figure], figures: Sequence[Figure] = ()):
        self.failed = list(failed)
        self.figures = list(figures) or list(failed)
        lines = "\n  ".join(f.describe() for f in self.failed)
        super().__init__(
            f"calibration step '{self.failed[0].step}' failed its quality gate:\n  {lines}\n"
            "(--force keeps going and marks the result as forced)"
        )


def judge(figures: Iterable[Figure], force: bool = False) -> list[Figure]:
    """Return ``figures`` as a list; raise :class:`QualityError` naming every failing one unless ``force``."""
    figures = list(figures)
    failed = [f for f in figures if f.verdict == "fail"]
    if failed and not force:
        raise QualityError(failed)
    return figures


def summary_table(figures: Sequence[Figure]) -> str:
    """A plain-text table (step, figure, value, bound, verdict) for the terminal and the run folder."""
    rows = [("step", "figure", "value", "bound", "verdict")]
    for f in figures:
        unit = f" {f.unit}" if f.unit else ""
        rows.append((f.step, f.name, f"{f.value:.4g}{unit}", f"{'<=' if f.sense == 'max' else '>='} {f.bound:.4g}{unit}", f.verdict))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows)
