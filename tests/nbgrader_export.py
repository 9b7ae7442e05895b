"""``nbgrader export`` of a gradebook, read back: what nbgrader's own tools see of our grades."""

from __future__ import annotations

import csv
import subprocess
from pathlib import Path


def nbgrader_export(db_url: str | None, workdir: Path) -> list[dict[str, str]]:
    """The rows of ``nbgrader export`` run in ``workdir``, from the gradebook at ``db_url``; with None, from the
    gradebook of the course whose root ``workdir`` is, as its nbgrader_config.py says (no flags)."""
    export = workdir / "export.csv"
    where = [] if db_url is None else [f"--CourseDirectory.db_url={db_url}"]
    run = subprocess.run(
        ["nbgrader", "export", *where, f"--ExportPlugin.to={export}"],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert run.returncode == 0, run.stderr
    with export.open() as handle:
        return list(csv.DictReader(handle))
