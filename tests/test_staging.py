"""All-or-nothing writes: a run killed at any point leaves the previous results or the new ones, whole."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from autograder.staging import JOURNAL, Staging, interrupts_held, recover
from tests.conftest import ROOT

OLD = {"grades.csv": "old grades\n", "feedback/ada.html": "old page\n", "copies/ada/nb.ipynb": "old copy\n"}


@pytest.fixture
def out(tmp_path: Path) -> Path:
    for name, text in OLD.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


def contents(folder: Path) -> dict[str, str]:
    """Every file but the lock, by relative path: staged leftovers would show here."""
    return {
        str(p.relative_to(folder)): p.read_text()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != f"{JOURNAL}.lock"
    }


NEW = {"grades.csv": "new grades\n", "feedback/ada.html": "new page\n", "copies/ada/nb.ipynb": "new copy\n"}


def run_killed(out: Path, kill_at: str) -> None:
    """A run in its own process that stages the new results and is SIGKILLed at ``kill_at``."""
    script = textwrap.dedent(
        f"""
        import os, signal
        from pathlib import Path
        from autograder import staging

        out = Path({str(out)!r})
        run = staging.Staging(out)
        run.write_text(out / "grades.csv", "new grades\\n")
        run.write_text(out / "feedback" / "ada.html", "new page\\n")
        (run.folder(out / "copies" / "ada") / "nb.ipynb").write_text("new copy\\n")
        if {kill_at!r} == "staged":
            os.kill(os.getpid(), signal.SIGKILL)
        replace = os.replace
        def replace_then_die(*args):
            replace(*args)
            os.kill(os.getpid(), signal.SIGKILL)
        os.replace = replace_then_die  # killed after the first file is renamed into place
        run.commit()
        """
    )
    killed = subprocess.run([sys.executable, "-c", script], cwd=ROOT, timeout=60)
    assert killed.returncode == -9


def test_committed_files_replace_the_old_ones_and_nothing_else_is_left(out: Path):
    run = Staging(out)
    run.write_text(out / "grades.csv", NEW["grades.csv"])
    run.write_text(out / "feedback" / "ada.html", NEW["feedback/ada.html"])
    run.copy_file(out / "grades.csv", out / "feedback" / "bob.html")  # the old grades: staged, not yet replaced
    (run.folder(out / "copies" / "ada") / "nb.ipynb").write_text(NEW["copies/ada/nb.ipynb"])
    assert {name: contents(out)[name] for name in OLD} == OLD  # nothing replaced before the commit
    run.commit()
    run.discard()
    assert contents(out) == {**NEW, "feedback/bob.html": "old grades\n"}


def test_a_discarded_run_leaves_the_previous_results_as_they_were(out: Path):
    run = Staging(out)
    run.write_text(out / "grades.csv", "new\n")
    run.folder(out / "copies" / "bob")
    run.discard()
    assert contents(out) == OLD


def test_a_run_killed_before_its_commit_is_undone_by_the_next(out: Path):
    run_killed(out, "staged")
    assert any(".staged-" in name for name in contents(out))  # what the killed run left
    assert {name: contents(out)[name] for name in OLD} == OLD
    assert "removed the unfinished files" in recover(out)
    assert contents(out) == OLD


def test_a_run_killed_while_renaming_into_place_is_finished_by_the_next(out: Path):
    run_killed(out, "renaming")
    assert contents(out)["grades.csv"] == NEW["grades.csv"]
    assert contents(out)["feedback/ada.html"] == OLD["feedback/ada.html"]  # not yet renamed when it died
    assert "finished writing the results of an interrupted run" in recover(out)
    assert contents(out) == NEW


def test_a_new_run_puts_an_interrupted_one_right_first(out: Path):
    run_killed(out, "staged")
    run = Staging(out)
    run.write_text(out / "grades.csv", "third\n")
    run.commit()
    assert contents(out) == {**OLD, "grades.csv": "third\n"}


def test_a_ctrl_c_during_the_commit_waits_for_it_and_is_then_spent(out: Path, capsys):
    run = Staging(out)
    run.write_text(out / "grades.csv", NEW["grades.csv"])
    with interrupts_held():
        os.kill(os.getpid(), signal.SIGINT)  # held: no KeyboardInterrupt in the middle of the commit
        run.commit()
    assert contents(out)["grades.csv"] == NEW["grades.csv"]
    assert "they were written whole" in capsys.readouterr().err
