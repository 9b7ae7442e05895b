"""nbgrader's gradebook on SQLite and on a real PostgreSQL server: concurrent writers, regrades, bad URLs."""

from __future__ import annotations

import csv
import datetime
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from nbgrader.api import Gradebook
from sqlalchemy import create_engine, text

from autograder import cli, gradebook
from autograder.course_root import load_course
from tests.nbgrader_export import nbgrader_export
from tests.postgresql import _free_port

ROOT = Path(__file__).resolve().parent.parent
PARTS = ("forward_y", "log_det_J", "round_trip")
POINTS = {"forward_y": 4.0, "log_det_J": 4.0, "round_trip": 2.0}
WRITERS = 3
PER_WRITER = 24
OVERLAP_STEP = 8  # writer k writes students k*8 ... k*8+23: each student by up to three writers at once
EXAMPLES = ROOT / "examples" / "submitted"
_GRADES = """
SELECT sa.student_id, bc.name, g.auto_score, g.manual_score
FROM grade g
JOIN submitted_notebook sn ON g.notebook_id = sn.id
JOIN submitted_assignment sa ON sn.assignment_id = sa.id
JOIN base_cell bc ON g.cell_id = bc.id
"""


@dataclass(frozen=True)
class _Row:
    """What the gradebook reads of a graded row; light, so the writer processes start without torch."""

    student_id: str
    passed: frozenset[str]
    timestamp: None = None  # flat submissions: no submission time

    def part_score(self, part: str) -> float:
        return POINTS[part] if part in self.passed else 0.0


def _row(student_id: str, passed: set[str]) -> _Row:
    return _Row(student_id, frozenset(passed))


def _writer_pattern(writer: int) -> set[str]:
    """Which parts writer ``writer`` passes: a different pattern per writer, so the winner is visible."""
    return {part for bit, part in enumerate(PARTS) if (writer + 1) >> bit & 1}


def _writer_students(writer: int) -> list[str]:
    return [f"s{index:03d}" for index in range(writer * OVERLAP_STEP, writer * OVERLAP_STEP + PER_WRITER)]


def writer_main(db_url: str, writer: str) -> None:
    """A child process: imports done, says ready, waits for the word, then writes its batch."""
    rows = [_row(student, _writer_pattern(int(writer))) for student in _writer_students(int(writer))]
    print("ready", flush=True)
    sys.stdin.readline()
    gradebook.record(rows, POINTS, db_url)


def _scores(db_url: str) -> dict[str, dict[str, tuple[float, float | None]]]:
    """student -> part -> (auto_score, manual_score), read with plain SQL."""
    engine = create_engine(gradebook.parse_url(db_url))
    found: dict[str, dict[str, tuple[float, float | None]]] = {}
    with engine.connect() as connection:
        for student, part, auto, manual in connection.execute(text(_GRADES)):
            assert part not in found.setdefault(student, {}), f"two grades for {student}'s {part}"
            found[student][part] = (auto, manual)
    engine.dispose()
    return found


def _count(db_url: str, table: str) -> int:
    engine = create_engine(gradebook.parse_url(db_url))
    with engine.connect() as connection:
        count = connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
    engine.dispose()
    return count


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'gradebook.db'}"
    return request.getfixturevalue("postgresql_database")()


def test_writers_at_once_lose_and_duplicate_no_row(db_url):
    command = [sys.executable, "-c", "import sys; from tests.test_gradebook import writer_main as w; w(*sys.argv[1:])"]
    children = [
        subprocess.Popen([*command, db_url, str(k)], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for k in range(WRITERS)
    ]
    for child in children:
        assert child.stdout.readline().strip() == "ready"
    for child in children:  # they all start writing together
        child.stdin.write("go\n")
        child.stdin.flush()
    for child in children:
        child.stdin.close()
        assert child.wait(timeout=300) == 0
    scores = _scores(db_url)
    students = {student for k in range(WRITERS) for student in _writer_students(k)}
    assert set(scores) == students
    assert _count(db_url, "submitted_assignment") == len(students)
    assert _count(db_url, "grade") == len(students) * len(PARTS)
    for student, parts in scores.items():
        passed = {part for part, (auto, _) in parts.items() if auto > 0}
        writers = [k for k in range(WRITERS) if student in _writer_students(k)]
        assert any(passed == _writer_pattern(k) for k in writers), (student, passed)  # one writer's row, whole


def test_a_regrade_replaces_that_students_grades_only(db_url):
    gradebook.record([_row("ada", set(PARTS)), _row("bob", set(PARTS))], POINTS, db_url)
    ada_log_det = _GRADES.replace("sa.student_id, bc.name, g.auto_score, g.manual_score", "g.id")
    ada_log_det += "WHERE sa.student_id = 'ada' AND bc.name = 'log_det_J'"
    engine = create_engine(gradebook.parse_url(db_url))
    with engine.begin() as connection:  # a TA's manual score on ada's log_det_J, in formgrader
        connection.execute(text(f"UPDATE grade SET manual_score = 1 WHERE id IN ({ada_log_det})"))
    engine.dispose()
    assert _scores(db_url)["ada"]["log_det_J"] == (4.0, 1.0)
    gradebook.record([_row("ada", set())], POINTS, db_url)
    scores = _scores(db_url)
    assert scores["ada"] == {part: (0.0, None) for part in PARTS}
    assert scores["bob"] == {part: (POINTS[part], None) for part in PARTS}
    assert _count(db_url, "submitted_assignment") == 2


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("not a url", "is not a database URL"),
        ("postgresql://grader:s3cret-pw@127.0.0.1:{port}/gradebook", "grader:***@127.0.0.1"),
        ("sqlite:////nonexistent-folder/gradebook.db", "cannot open the gradebook"),
    ],
)
def test_a_bad_db_stops_the_run_before_grading(tmp_path, capsys, value, says):
    value = value.format(port=_free_port())
    out = tmp_path / "out"
    assert cli.main(["grade", str(EXAMPLES), "--out", str(out), "--db", value]) == 2  # python -m autograder's exit code
    printed = capsys.readouterr()
    assert says in printed.err
    assert "s3cret-pw" not in printed.err + printed.out
    assert "Traceback" not in printed.err and len(printed.err.strip().splitlines()) == 1, printed.err
    assert not (out / "grades.csv").exists()


def _grade_side_by_side(tmp_path: Path, db_url: str) -> list[dict]:
    """The example batch in two halves, graded by two grader processes at once into ``db_url``."""
    students = sorted(path.name for path in EXAMPLES.iterdir())
    processes = []
    for half, names in enumerate([students[::2], students[1::2]]):
        for name in names:
            shutil.copytree(EXAMPLES / name, tmp_path / f"part{half}" / name)
        command = [sys.executable, "-m", "autograder", "grade", str(tmp_path / f"part{half}")]
        command += ["--out", str(tmp_path / f"out{half}"), "--workers", "1", "--db", db_url]
        processes.append(subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    for process in processes:
        _, stderr = process.communicate(timeout=600)
        assert process.returncode == 0, stderr
    rows = []
    for half, names in enumerate([students[::2], students[1::2]]):
        with (tmp_path / f"out{half}" / "grades.csv").open() as handle:
            table = list(csv.DictReader(handle))  # the class so far: the other half too, if it finished first
        assert {row["student_id"] for row in table} >= set(names)
        rows += [row for row in table if row["student_id"] in names]
    return rows


def test_two_graders_into_postgresql_match_nbgrader_export(tmp_path, postgresql_database):
    db_url = postgresql_database()
    rows = _grade_side_by_side(tmp_path, db_url)
    nbgrader_url = gradebook.parse_url(db_url).render_as_string(hide_password=False)  # postgresql+psycopg://
    exported = sorted(
        (r["student_id"], float(r["score"]), float(r["max_score"])) for r in nbgrader_export(nbgrader_url, tmp_path)
    )
    graded = sorted((r["student_id"], float(r["score"]), float(r["max_score"])) for r in rows)
    assert len(graded) == len(list(EXAMPLES.iterdir()))
    assert exported == graded


@dataclass(frozen=True)
class _TimedRow(_Row):
    timestamp: datetime.datetime | None = None


def test_submission_times_and_late_penalties_reach_nbgrader_export(db_url, tmp_path):
    (tmp_path / "nbgrader_config.py").write_text('c = get_config()\nc.LateSubmissionPlugin.penalty_method = "zero"\n')
    course = load_course(tmp_path)
    due = datetime.datetime(2026, 12, 1, 17, 0)
    gradebook.record([], POINTS, db_url, course)  # the assignment exists; the instructor sets its due date
    with Gradebook(gradebook.parse_url(db_url).render_as_string(hide_password=False), course.course_id) as book:
        book.update_or_create_assignment("realnvp", duedate=due)
    on_time, late = due - datetime.timedelta(minutes=5), due + datetime.timedelta(hours=2)
    rows = [_TimedRow("ada", frozenset(PARTS), on_time), _TimedRow("bob", frozenset({"forward_y"}), late)]

    penalties = gradebook.record(rows, POINTS, db_url, course)
    gradebook.record([_row("bob", {"forward_y"})], POINTS, db_url, course)  # a regrade without a time keeps it

    assert penalties == {"ada": None, "bob": 4.0}
    url = gradebook.parse_url(db_url).render_as_string(hide_password=False)
    exported = {row["student_id"]: row for row in nbgrader_export(url, tmp_path)}
    assert (exported["ada"]["timestamp"], exported["ada"]["late_submission_penalty"]) == (str(on_time), "0.0")
    assert (exported["bob"]["timestamp"], exported["bob"]["raw_score"]) == (str(late), "4.0")
    assert (exported["bob"]["late_submission_penalty"], exported["bob"]["score"]) == ("4.0", "0.0")
