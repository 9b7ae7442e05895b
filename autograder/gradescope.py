"""The Gradescope autograder: the zip to upload, and what grades one submission inside it.

``build_zip`` writes the zip Gradescope's autograder specification asks for: ``setup.sh``
(run once when Gradescope builds the image), ``run_autograder`` (run for every submission),
and what they need: this package, the ``course`` package the notebook imports, the pinned
``requirements.txt`` and ``points.json``. The hidden checks and the reference travel only
inside it. ``run`` is what ``run_autograder`` calls: it grades the one notebook in
``/autograder/submission`` with the same :class:`~autograder.grading.Grader` as
``python -m autograder grade`` and writes ``/autograder/results/results.json``.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
import zipfile
from pathlib import Path

from autograder import reports
from autograder.checks import PARTS
from autograder.grading import Graded, Grader, Submission, iter_parts
from autograder.notebooks import COURSE_PACKAGE, STUDENT_REQUIREMENTS
from autograder.points import read_points
from autograder.sandbox import Limits, isolation

ROOT = Path("/autograder")
_REPO = Path(__file__).resolve().parent.parent
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the zip format's earliest date: the same bytes on every build
_POINTS = "points.json"
_STUDENT_ID = "submission"

SETUP_SH = """\
#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image (Ubuntu 24.04 base:
# Python 3.12). It installs bubblewrap (the grader's sandbox) and the pinned packages.
# AUTOGRADER_ROOT (default /autograder) and AUTOGRADER_PYTHON (an existing environment's
# python: then nothing is installed with apt and no venv is made) serve tests and other hosts.
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
if [ -z "${AUTOGRADER_PYTHON:-}" ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap python3 python3-venv python3-pip >/dev/null
    python3 -c 'import sys; sys.exit(sys.version_info < (3, 11) and "the grader needs Python 3.11 or newer")'
    python3 -m venv "$ROOT/venv"
fi
PYTHON="${AUTOGRADER_PYTHON:-$ROOT/venv/bin/python}"
"$PYTHON" -m pip install --quiet --disable-pip-version-check \\
    --extra-index-url https://download.pytorch.org/whl/cpu -r "$ROOT/source/requirements.txt"
"""

RUN_AUTOGRADER = """\
#!/usr/bin/env bash
# Gradescope runs this for every submission; the grading is autograder/gradescope.py's run().
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
PYTHON="${AUTOGRADER_PYTHON:-$ROOT/venv/bin/python}"
# The checks and the reference: readable by root only (a degraded sandbox runs code as nobody).
chmod 700 "$ROOT/source"
cd "$ROOT/source"
PYTHONPATH="$ROOT/source" exec "$PYTHON" -m autograder gradescope-run --root "$ROOT"
"""


def _package_files(repo: Path) -> dict[str, bytes]:
    """The zip's files other than the two scripts: name -> bytes."""
    packages = {"autograder": repo / "autograder", "course": repo / COURSE_PACKAGE}
    files = {
        f"{package}/{path.name}": path.read_bytes()
        for package, folder in packages.items()
        for path in sorted(folder.glob("*.py"))
    }
    # requirements.txt includes the students' pins by their path in this repository.
    for requirements in (Path("requirements.txt"), STUDENT_REQUIREMENTS):
        files[requirements.as_posix()] = (repo / requirements).read_bytes()
    files[_POINTS] = (json.dumps(read_points(), indent=2) + "\n").encode()
    return files


def _add(archive: zipfile.ZipFile, name: str, data: bytes, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
    info.external_attr = (0o100755 if executable else 0o100644) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, data)


def build_zip(out: Path, repo: Path = _REPO) -> list[str]:
    """Write the autograder zip to ``out``; the same inputs give the same bytes. Returns its entries."""
    scripts = {"setup.sh": SETUP_SH.encode(), "run_autograder": RUN_AUTOGRADER.encode()}
    entries = {**_package_files(repo), **scripts}
    with zipfile.ZipFile(out, "w") as archive:
        for name in sorted(entries):
            _add(archive, name, entries[name], executable=name in scripts)
    return sorted(entries)


# ---------------------------------------------------------------- inside Gradescope's container


def load_points(source: Path) -> dict[str, float]:
    """The points the zip was built with, in the order of :data:`PARTS`."""
    points = json.loads((source / _POINTS).read_text(encoding="utf-8"))
    if set(points) != set(PARTS):
        raise ValueError(f"{_POINTS} grades {sorted(points)}, but the grader checks {sorted(PARTS)}")
    return {part: float(points[part]) for part in PARTS}


def find_upload(submission: Path) -> Submission:
    """The one notebook of the upload, or a Submission whose ``problem`` tells the student what to upload."""
    notebooks = sorted(
        path
        for path in submission.rglob("*.ipynb")
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(submission).parts)
    )
    if len(notebooks) == 1:
        return Submission(_STUDENT_ID, notebooks[0])
    if not notebooks:
        uploaded = sorted(path.name for path in submission.rglob("*") if path.is_file())
        found = f"the upload holds {', '.join(uploaded[:5])}" if uploaded else "the upload is empty"
        return Submission(_STUDENT_ID, None, f"no notebook (.ipynb file) was found ({found}); upload realnvp.ipynb")
    listed = ", ".join(str(path.relative_to(submission)) for path in notebooks[:5])
    return Submission(
        _STUDENT_ID, None, f"{len(notebooks)} notebooks were uploaded ({listed}); upload only realnvp.ipynb"
    )


def results(row: Graded, seconds: float) -> dict:
    """Gradescope's results.json: one visible test per part with its hint; the grader's log stays hidden."""
    data = reports.results_json(row)
    data["execution_time"] = round(seconds, 1)
    data["stdout_visibility"] = "hidden"
    return data


def crash_results(points: dict[str, float] | None, error: BaseException) -> dict:
    """What the student sees when the grader itself failed: not a verdict, and a request to tell the staff."""
    message = (
        "The autograder itself failed, so this is not a verdict on your work. Please tell the course staff "
        f"(the error was {type(error).__name__}); they can grade it again once it is fixed."
    )
    tests = [
        {
            "name": part,
            "score": 0.0,
            "max_score": max_score,
            "status": "failed",
            "output": "Not graded: the autograder failed.",
            "visibility": "visible",
        }
        for part, max_score in (points or {}).items()
    ]
    return {"score": 0.0, "output": message, "visibility": "visible", "stdout_visibility": "hidden", "tests": tests}


def _grade(root: Path, points: dict[str, float], limits: Limits) -> Graded:
    upload = find_upload(root / "submission")
    if upload.problem:
        return Graded(upload.student_id, "invalid", upload.problem, points)
    warning = isolation()
    if warning:
        print(f"WARNING: {warning}", flush=True)
    return Grader(points, limits, workers=1).grade([upload])[0]


def log_lines(row: Graded) -> list[str]:
    """What staff search Gradescope's hidden log for: each mistake the grader named, or why nothing was graded."""
    if row.status != "ok":
        return [f"not graded: {row.status}: {row.message}"]
    return [
        f"mistake: {part}: {verdict.mistake or verdict.hint}"
        for part, _, _, verdict in iter_parts(row)
        if verdict is not None and not verdict.passed
    ]


def run(root: Path = ROOT, limits: Limits | None = None) -> dict:
    """Grade ``root/submission`` and write ``root/results/results.json``, whatever happens; returns it."""
    start = time.monotonic()
    print(f"grading {root / 'submission'} with the grader in {Path(__file__).resolve().parent}", flush=True)
    points = None
    try:
        points = load_points(root / "source")
        row = _grade(root, points, limits or Limits())
        data = results(row, time.monotonic() - start)
        print(f"graded: status {row.status}, score {row.score:g} / {row.max_score:g}", flush=True)
        print(*log_lines(row), sep="\n", flush=True)
    except Exception as error:  # whatever broke, the student gets a results.json that says so
        traceback.print_exc(file=sys.stdout)  # the log for the staff: stdout_visibility is hidden
        data = crash_results(points, error)
    (root / "results").mkdir(parents=True, exist_ok=True)
    (root / "results" / "results.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return data
