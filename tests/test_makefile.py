"""The Makefile's housekeeping never costs a class its results, and git never sees them."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.conftest import ROOT

CLASS_RESULTS = ("gradebook.db", "submitted/ada/realnvp/realnvp.ipynb", "autograded/ada/realnvp/realnvp.ipynb",
                 "feedback/ada/realnvp/realnvp.html", "graded/grades.csv", "graded/records/ada.json")  # fmt: skip
BUILT = ("demo/grades.csv", "demo/gradebook.db", ".pytest_cache/v", "autograder/__pycache__/cli.cpython-311.pyc")


def test_make_clean_removes_the_demo_and_the_build_and_keeps_every_class_result(tmp_path: Path):
    shutil.copy2(ROOT / "Makefile", tmp_path / "Makefile")
    for name in (*CLASS_RESULTS, *BUILT):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(name)
    subprocess.run(["make", "clean"], cwd=tmp_path, check=True, capture_output=True, timeout=60)
    assert all((tmp_path / name).read_text() == name for name in CLASS_RESULTS)
    assert not any((tmp_path / name).exists() for name in BUILT)


def test_make_demo_grades_into_its_own_folder_and_gradebook():
    commands = subprocess.run(["make", "-n", "demo"], cwd=ROOT, capture_output=True, text=True, timeout=60).stdout
    (grade,) = [line for line in commands.splitlines() if " grade " in line]
    assert grade.endswith("grade examples/submitted --out demo --db sqlite:///demo/gradebook.db")


def test_git_ignores_the_class_results_the_demo_and_nbgrader_exports_grades_csv():
    paths = [*CLASS_RESULTS, "demo/grades.csv", "grades.csv", "gradebook.db.lock", "graded/.grading-journal"]
    ignored = subprocess.run(["git", "check-ignore", *paths], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert sorted(ignored.stdout.split()) == sorted(paths)
