"""``nbgrader export`` of a gradebook, read back: what nbgrader's own tools see of our grades."""

from __future__ import annotations

import csv
import subprocess
from pathlib import Path


def nbgrader_export(db_url: str, workdir: Path) -> list[dict[str, str]]:
    """The rows of ``nbgrader export`` from the gradebook at ``db_url`` (run in ``workdir``)."""
    export = workdir / "export.csv"
    run = subprocess.run(
        ["nbgrader", "export", f"--CourseDirectory.db_url={db_url}", f"--ExportPlugin.to={export}"],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert run.returncode == 0, run.stderr
    with export.open() as handle:
        return list(csv.DictReader(handle))
