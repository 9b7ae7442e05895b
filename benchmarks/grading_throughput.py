"""Stock ``nbgrader autograde`` against ``python -m autograder grade``, side by side in one run.

Both grade the same honest submissions (copies of the example submissions, so
correct answers and each common mistake); the script prints both wall times,
the ratio, the peak memory of a sandbox worker, and whether every per-part
score agrees.

    .venv/bin/python benchmarks/grading_throughput.py [--copies 3] [--workers 2]
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from nbgrader.api import Gradebook

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder.checks import PARTS  # noqa: E402
from autograder.notebooks import ASSIGNMENT, SUBMITTED, copy_course, course_env, run_nbgrader  # noqa: E402


def make_submissions(course: Path, copies: int) -> list[str]:
    students = []
    for example in sorted((ROOT / SUBMITTED).iterdir()):
        for copy in range(copies):
            student = f"{example.name}_{copy}"
            shutil.copytree(example, course / "submitted" / student)
            students.append(student)
    return students


def stock_scores(course: Path) -> dict[str, tuple[float, ...]]:
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        return {
            student.id: tuple(gradebook.find_grade(part, ASSIGNMENT, ASSIGNMENT, student.id).score for part in PARTS)
            for student in gradebook.students
        }


def our_scores(out: Path) -> dict[str, tuple[float, ...]]:
    with (out / "grades.csv").open() as handle:
        return {row["student_id"]: tuple(float(row[part]) for part in PARTS) for row in csv.DictReader(handle)}


class PeakWorkerMemory(threading.Thread):
    """Samples the peak resident memory (VmHWM) of sandbox workers and their per-submission forks."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak_kb = 0
        self.running = True

    def run(self) -> None:
        while self.running:
            for status in Path("/proc").glob("[0-9]*/status"):
                try:
                    cmdline = (status.parent / "cmdline").read_bytes()
                    if b"zygote" not in cmdline or b"bwrap" in cmdline:
                        continue
                    for line in status.read_text().splitlines():
                        if line.startswith("VmHWM:"):
                            self.peak_kb = max(self.peak_kb, int(line.split()[1]))
                except OSError:
                    continue
            time.sleep(0.02)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", type=int, default=3, help="copies of each example submission")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        course = copy_course(ROOT, Path(tmp) / "course")
        run_nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
        students = make_submissions(course, args.copies)
        print(f"{len(students)} submissions, {os.cpu_count()} cores")

        start = time.perf_counter()
        run_nbgrader(course, "autograde", ASSIGNMENT, "--force")
        stock_seconds = time.perf_counter() - start

        memory = PeakWorkerMemory()
        memory.start()
        out = Path(tmp) / "graded"
        command = [sys.executable, "-m", "autograder", "grade", str(course / "submitted"), "--out", str(out)]
        command += ["--db", f"sqlite:///{Path(tmp) / 'ours.db'}"]  # the course's gradebook holds stock's grades
        start = time.perf_counter()
        subprocess.run([*command, "--workers", str(args.workers)], check=True, capture_output=True, env=course_env())
        ours_seconds = time.perf_counter() - start
        memory.running = False
        memory.join()

        stock, ours = stock_scores(course), our_scores(out)
        disagreements = sorted(student for student in students if stock.get(student) != ours.get(student))

    print(f"stock nbgrader autograde: {stock_seconds:7.1f} s  ({stock_seconds / len(students):.2f} s per submission)")
    per_submission = ours_seconds / len(students)
    print(f"autograder, {args.workers} workers:   {ours_seconds:7.1f} s  ({per_submission:.2f} s per submission)")
    print(f"throughput ratio:         {stock_seconds / ours_seconds:7.1f}x")
    print(f"peak memory of a worker:  {memory.peak_kb / 1024:7.0f} MB (VmHWM, sandboxed zygote or one of its forks)")
    if disagreements:
        print(f"verdicts DIFFER for {len(disagreements)}: {', '.join(disagreements)}")
        sys.exit(1)
    print(f"verdicts: all {len(students)} x {len(PARTS)} part scores agree")


if __name__ == "__main__":
    main()
