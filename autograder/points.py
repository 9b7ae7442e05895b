"""The table of points, read from the source notebook's nbgrader grade cells."""

from __future__ import annotations

import json
from pathlib import Path

from autograder.checks import PARTS
from autograder.notebooks import SOURCE

SOURCE_NOTEBOOK = Path(__file__).resolve().parent.parent / SOURCE


def read_points(source: Path = SOURCE_NOTEBOOK) -> dict[str, float]:
    """Points per graded part, in the order of :data:`checks.PARTS`.

    Raises ``ValueError`` when the source's grade cells and the parts the
    grader checks disagree, since scores would then mean different things.
    """
    notebook = json.loads(source.read_text(encoding="utf-8"))
    points = {}
    for cell in notebook["cells"]:
        nbgrader = cell.get("metadata", {}).get("nbgrader", {})
        if nbgrader.get("grade"):
            points[nbgrader["grade_id"]] = float(nbgrader["points"])
    if set(points) != set(PARTS):
        raise ValueError(f"{source} grades {sorted(points)}, but the grader checks {sorted(PARTS)}")
    return {part: points[part] for part in PARTS}
