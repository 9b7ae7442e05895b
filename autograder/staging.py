"""All-or-nothing writes: a run's files appear together, or not at all.

Each file (or folder) a run writes is first written beside its target, under a hidden name in
the same folder, so that renaming it over the target is one atomic step on the same filesystem:
a reader sees the old file or the new one, never part of one. A journal in the run's output
folder lists every staged path. Once the gradebook has committed, the journal is marked
committed, then each staged path is renamed into place.

An interrupted run is put right by the next run with the same output folder (:func:`recover`):
before the mark, the staged paths are deleted and the previous results stay as they were; after
it, the renames are finished. A full disk fails while staging, before anything is replaced.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import shutil
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO

JOURNAL = ".grading-journal"
HELD_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_COMMITTED = {"committed": True}


def _hidden(target: Path, kind: str, run: str) -> Path:
    return target.with_name(f".{target.name}.{kind}-{run}")


class Staging:
    """The files of one run, staged beside their targets until :meth:`commit` renames them into place."""

    def __init__(self, out: Path) -> None:
        out.mkdir(parents=True, exist_ok=True)
        self._lock = _lock(out)  # held until the run is committed or discarded: one writer per folder
        _recover(out)
        self.journal = out / JOURNAL
        self.run = secrets.token_hex(6)
        self._lines = self.journal.open("x", encoding="utf-8")

    def _append(self, entry: dict) -> None:
        self._lines.write(json.dumps(entry) + "\n")
        self._lines.flush()

    def _stage(self, target: Path, kind: str) -> Path:
        target.parent.mkdir(parents=True, exist_ok=True)
        staged = _hidden(target, "staged", self.run)
        self._append({"kind": kind, "staged": str(staged), "target": str(target)})  # listed before it exists
        return staged

    def write_text(self, target: Path, text: str) -> None:
        self._stage(target, "file").write_text(text, encoding="utf-8")

    def copy_file(self, source: Path, target: Path) -> None:
        shutil.copyfile(source, self._stage(target, "file"))

    def folder(self, target: Path) -> Path:
        """An empty folder to fill, which replaces ``target`` (a folder) whole at the commit."""
        staged = self._stage(target, "folder")
        staged.mkdir()
        return staged

    def commit(self) -> None:
        """Make the staged files the results: mark the journal committed, then rename each into place."""
        os.sync()  # the staged files reach the disk before the mark says they are the results
        self._append(_COMMITTED)
        os.fsync(self._lines.fileno())
        self._lines.close()
        _finish(self.journal)

    def discard(self) -> None:
        """Delete what was staged, unless the run committed: then finish it. Safe to call at any point."""
        if self._lock.closed:
            return
        self._lines.close()
        try:
            _recover(self.journal.parent)
        finally:
            self._lock.close()


def _moves(journal: Path) -> tuple[list[dict[str, str]], bool]:
    moves, committed = [], False
    for line in journal.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:  # the line being written when the run was killed: nothing was staged for it
            break
        if entry == _COMMITTED:
            committed = True
        else:
            moves.append(entry)
    return moves, committed


def _finish(journal: Path) -> None:
    """Rename every staged path into place; safe to repeat after an interruption."""
    moves, _ = _moves(journal)
    for move in moves:
        staged, target = Path(move["staged"]), Path(move["target"])
        if move["kind"] == "file":
            if staged.exists():
                os.replace(staged, target)
            continue
        old = staged.with_name(staged.name.replace(".staged-", ".old-"))
        if staged.exists():
            if target.exists():
                os.rename(target, old)
            os.rename(staged, target)
        shutil.rmtree(old, ignore_errors=True)
    journal.unlink()


def _discard(journal: Path) -> None:
    moves, _ = _moves(journal)
    for move in moves:
        staged = Path(move["staged"])
        if staged.is_dir() and not staged.is_symlink():
            shutil.rmtree(staged, ignore_errors=True)
        else:
            staged.unlink(missing_ok=True)
    journal.unlink()


def _lock(out: Path) -> IO[str]:
    """An exclusive lock on ``out``'s results; waits while another run writes there."""
    handle = (out / f"{JOURNAL}.lock").open("a", encoding="utf-8")
    fcntl.flock(handle, fcntl.LOCK_EX)
    return handle


def _recover(out: Path) -> str:
    journal = out / JOURNAL
    if not journal.is_file():
        return ""
    _, committed = _moves(journal)
    if committed:
        _finish(journal)
        return f"finished writing the results of an interrupted run into {out}"
    _discard(journal)
    return f"removed the unfinished files of an interrupted run in {out}; its previous results are unchanged"


def recover(out: Path) -> str:
    """Put right a run into ``out`` that was interrupted: finish it if it had committed, else undo it.
    Returns what was done, in words ("" when there was nothing to do)."""
    if not out.is_dir():
        return ""
    with _lock(out):
        return _recover(out)


@contextlib.contextmanager
def interrupts_held() -> Iterator[None]:
    """Ctrl-C and SIGTERM wait until the block is done, so the commit is not cut in half. A Ctrl-C that came
    meanwhile is then spent, with a word that the results are whole; a SIGTERM ends the process after the block."""
    if threading.current_thread() is not threading.main_thread():  # only the main thread handles signals
        yield
        return
    came: list[int] = []
    previous = {number: signal.signal(number, lambda n, _: came.append(n)) for number in HELD_SIGNALS}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        if signal.SIGINT in came:
            print("Ctrl-C came while the results were being written: they were written whole.", file=sys.stderr)
        if signal.SIGTERM in came:
            signal.raise_signal(signal.SIGTERM)
