"""The seed homework's training recipe against the course's: every seed, two CPU float paths, two scorers.

Both recipes train the notebook's own model (its cells are loaded from the source
notebook), each run in a process of its own, alternating between the recipes so a slow
spell of the machine hits both: seeds 0-7 on this CPU's own kernels, then seed 42 on
torch's plain kernels (``ATEN_CPU_CAPABILITY=default``, as on a CPU without AVX). Each
model is scored on fresh data by ``course.evaluation`` and by an independent scorer
(``benchmarks/curve_scores.py``: the exact curve, NumPy, autograd's Jacobian), and each
score is held to the course's targets (``course.evaluation.TARGETS``). Then the whole
solution notebook runs top to bottom in a new kernel, as a student runs it, and its time
is compared with half the seed recipe's training time.

    .venv/bin/python benchmarks/training_recipe.py [--seeds 8] [--plain-kernel-seeds 42] [--notebook-runs 2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

os.environ["TQDM_DISABLE"] = "1"  # before anything imports tqdm: no progress bars in training runs

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder.notebooks import SOLUTION, SOURCE, course_env, read_notebook, run_cells  # noqa: E402
from course.evaluation import TARGETS  # noqa: E402

RECIPES = ("seed", "course")
# The source notebook's cells that define the data, the model and train_realnvp, in order.
MODEL_CELLS = ("imports", "swiss-roll", "st-net", "coupling_forward", "realnvp", "train")
NATIVE_KERNELS = "native"  # torch's choice for this CPU
PLAIN_KERNELS = "default"  # torch's ATEN_CPU_CAPABILITY without vector instructions


@dataclass(frozen=True)
class Scores:
    nll: float
    energy_distance: float
    precision: float
    coverage: float


@dataclass(frozen=True)
class Run:
    recipe: str
    seed: int
    kernels: str
    seconds: float
    course: Scores  # course.evaluation
    independent: Scores  # benchmarks/curve_scores.py

    def misses(self) -> list[str]:
        return [f"{name}: {miss}" for name, scores in self.scorers() for miss in TARGETS.misses(scores)]

    def scorers(self) -> list[tuple[str, Scores]]:
        return [("course", self.course), ("independent", self.independent)]


def train_and_score(recipe_name: str, seed: int) -> dict:
    """One training run in this process: seconds and both scorers' scores, as JSON-ready numbers."""
    import torch

    from benchmarks import curve_scores
    from course.evaluation import evaluate
    from course.recipes import COURSE_RECIPE, SEED_RECIPE

    namespace = run_cells(ROOT / SOURCE, MODEL_CELLS)
    recipe = {"seed": SEED_RECIPE, "course": COURSE_RECIPE}[recipe_name]
    torch.manual_seed(seed)
    started = time.perf_counter()
    model, _, _ = namespace["train_realnvp"](recipe)
    seconds = time.perf_counter() - started
    ours = evaluate(model, namespace["generate_swiss_roll"])
    theirs = curve_scores.score(model)
    return {
        "seconds": seconds,
        "course": {name: getattr(ours, name) for name in Scores.__dataclass_fields__},
        "independent": asdict(theirs),
    }


def run_in_child(recipe: str, seed: int, kernels: str) -> Run:
    env = dict(os.environ)
    env.pop("ATEN_CPU_CAPABILITY", None)
    if kernels == PLAIN_KERNELS:
        env["ATEN_CPU_CAPABILITY"] = PLAIN_KERNELS
    command = [sys.executable, __file__, "--child", recipe, str(seed)]
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"training {recipe} from seed {seed} failed:\n{result.stderr}")
    found = json.loads(result.stdout.splitlines()[-1])
    return Run(recipe, seed, kernels, found["seconds"], Scores(**found["course"]), Scores(**found["independent"]))


def time_notebook() -> float:
    """Seconds to run the solution notebook in a new kernel, kernel start included, progress bar drawn."""
    from nbclient import NotebookClient

    nb = read_notebook(ROOT / SOLUTION)
    env = course_env()
    env.pop("TQDM_DISABLE", None)  # any value disables tqdm
    env.pop("ATEN_CPU_CAPABILITY", None)
    started = time.perf_counter()
    NotebookClient(nb, timeout=3600, kernel_name="python3").execute(env=env)
    return time.perf_counter() - started


def print_header() -> None:
    header = f"{'recipe':<8}{'seed':>5} {'kernels':<8}{'train s':>8}  {'scorer':<12}"
    print(f"{header}{'NLL':>7}{'energy':>9}{'precision':>10}{'coverage':>9}  targets", flush=True)


def print_run(run: Run) -> None:
    for name, s in run.scorers():
        misses = TARGETS.misses(s)
        start = f"{run.recipe:<8}{run.seed:>5} {run.kernels:<8}{run.seconds:>8.1f}" if name == "course" else ""
        print(
            f"{start:<30}  {name:<12}{s.nll:>7.2f}{s.energy_distance:>9.4f}{s.precision:>10.3f}{s.coverage:>9.3f}"
            f"  {'missed: ' + '; '.join(misses) if misses else 'met'}",
            flush=True,
        )


def worst(runs: list[Run]) -> Scores:
    """The worst of each score over every run and both scorers."""
    every = [scores for run in runs for _, scores in run.scorers()]
    return Scores(
        nll=max(s.nll for s in every),
        energy_distance=max(s.energy_distance for s in every),
        precision=min(s.precision for s in every),
        coverage=min(s.coverage for s in every),
    )


def report(runs: list[Run], notebook_seconds: list[float]) -> None:
    print(f"\ntargets, for every run and both scorers: {TARGETS}")
    for recipe in RECIPES:
        mine = [run for run in runs if run.recipe == recipe]
        w = worst(mine)
        failed = [run for run in mine if run.misses()]
        print(
            f"  {recipe:<7} worst NLL {w.nll:.2f}, energy {w.energy_distance:.4f}, precision {w.precision:.3f},"
            f" coverage {w.coverage:.3f}: {len(mine) - len(failed)} of {len(mine)} runs meet every target"
        )
    seed_s, course_s = (
        statistics.median(run.seconds for run in runs if run.recipe == recipe and run.kernels == NATIVE_KERNELS)
        for recipe in RECIPES
    )
    ratio = seed_s / course_s
    print(f"\ntraining, median over this CPU's runs: seed {seed_s:.1f} s, course {course_s:.1f} s ({ratio:.2f}x)")
    if notebook_seconds:
        whole = statistics.median(notebook_seconds)
        listed = ", ".join(f"{s:.1f}" for s in notebook_seconds)
        verdict = "met" if whole <= seed_s / 2 else "MISSED"
        print(
            f"whole notebook {whole:.1f} s (runs: {listed}) against half the seed recipe's training,"
            f" {seed_s / 2:.1f} s: {verdict} (the seed recipe's training is {seed_s / whole:.2f}x the notebook)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=8, help="seeds 0..N-1 on this CPU's own kernels (default 8)")
    parser.add_argument(
        "--plain-kernel-seeds", type=int, nargs="*", default=[42], help="seeds on ATEN_CPU_CAPABILITY=default"
    )
    parser.add_argument("--notebook-runs", type=int, default=2, help="whole-notebook runs (default 2; 0: none)")
    parser.add_argument("--child", nargs=2, metavar=("RECIPE", "SEED"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(train_and_score(args.child[0], int(args.child[1]))))
        return

    import torch

    print(f"torch {torch.__version__}, {os.cpu_count()} CPU cores, default threads {torch.get_num_threads()}\n")
    plan = [(seed, NATIVE_KERNELS) for seed in range(args.seeds)]
    plan += [(seed, PLAIN_KERNELS) for seed in args.plain_kernel_seeds]
    print_header()
    runs = []
    for seed, kernels in plan:  # the recipes alternate, so a slow spell of the machine hits both
        for recipe in RECIPES:
            runs.append(run_in_child(recipe, seed, kernels))
            print_run(runs[-1])
    notebook_seconds = [time_notebook() for _ in range(args.notebook_runs)]
    report(runs, notebook_seconds)


if __name__ == "__main__":
    main()
