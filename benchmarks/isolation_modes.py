"""The public corpus graded in each isolation mode, side by side in one run.

    .venv/bin/python benchmarks/isolation_modes.py [--rounds 2]

Modes: bubblewrap; degraded with Landlock (the grader under Docker's namespace rules, tests/docker_like.py);
degraded without Landlock (its calls refused too). Each round grades the whole corpus once per mode, the modes
alternating, from one Python every user may run (submissions run as nobody in degraded mode when this is root),
with two workers and the tests' 6 s limit. Prints each mode's wall time, its ratio to bubblewrap's in the same
round, and the entries whose verdict differs from bubblewrap's.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder.checks import PARTS  # noqa: E402
from tests import docker_like  # noqa: E402
from tests.corpus import grade_corpus  # noqa: E402
from tests.shared_python import grader_env, shared_folder, shared_venv  # noqa: E402

MODES = {
    "bubblewrap": (),
    "degraded, Landlock": docker_like.wrapper(),
    "degraded, no Landlock": docker_like.wrapper(landlock=False),
}


def verdicts(rows: dict[str, dict[str, str]]) -> dict[str, tuple[str, tuple[str, ...]]]:
    return {name: (row["status"], tuple(p for p in PARTS if float(row[p]) > 0)) for name, row in rows.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    rounds = parser.parse_args().rounds
    folder = shared_folder("realnvp-bench-")
    try:
        python = shared_venv(folder / "venv")
        env = grader_env(python)
        seconds: dict[str, list[float]] = {mode: [] for mode in MODES}
        differ: dict[str, set[str]] = {mode: set() for mode in MODES}
        for round_number in range(rounds):
            seen = {}
            for mode, wrapper in MODES.items():
                work = folder / f"{round_number}-{len(seen)}"
                work.mkdir(mode=0o755)
                start = time.monotonic()
                _, rows = grade_corpus(work, None, ROOT, wrapper, python=[str(python)], env=env, cwd=ROOT)
                seconds[mode].append(time.monotonic() - start)
                seen[mode] = verdicts(rows)
                differ[mode] |= {name for name, verdict in seen[mode].items() if verdict != seen["bubblewrap"][name]}
        print(f"{len(seen['bubblewrap'])} submissions, {rounds} rounds, 2 workers, 6 s limit")
        for mode in MODES:
            ratios = [mine / base for mine, base in zip(seconds[mode], seconds["bubblewrap"], strict=True)]
            times = ", ".join(f"{s:.1f}" for s in seconds[mode])
            print(f"{mode:>22}: {times} s wall; x{statistics.mean(ratios):.2f} of bubblewrap's", end="")
            print(f"; verdicts unlike bubblewrap's: {', '.join(sorted(differ[mode])) or 'none'}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
