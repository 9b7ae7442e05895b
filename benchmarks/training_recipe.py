"""The seed homework's training recipe against the course's, side by side in one run.

Both recipes train the notebook's own model (its cells are loaded from the source
notebook) from the same seeds, alternating, and are scored by ``course.evaluation``
on fresh data. Then the whole solution notebook runs top to bottom in a new kernel,
as a student runs it. The script prints one row per run, the medians, the ratios and
whether each target of issue 4 is met.

    .venv/bin/python benchmarks/training_recipe.py [--seeds 5] [--notebook-runs 2]
                                                   [--course-steps 1500 6000] [--no-notebook]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

os.environ["TQDM_DISABLE"] = "1"  # before tqdm is imported: no progress bars in the table

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder.notebooks import SOLUTION, SOURCE, course_env, read_notebook, run_cells  # noqa: E402
from course.evaluation import Evaluation, evaluate  # noqa: E402
from course.recipes import COURSE_RECIPE, SEED_RECIPE, Recipe  # noqa: E402

# The source notebook's cells that define the data, the model and train_realnvp, in order.
MODEL_CELLS = ("imports", "swiss-roll", "st-net", "coupling_forward", "realnvp", "train")


@dataclass(frozen=True)
class Run:
    recipe: str
    seed: int
    seconds: float
    steps: int
    scores: Evaluation


def train_and_score(namespace: dict, name: str, recipe: Recipe, seed: int) -> Run:
    torch.manual_seed(seed)
    started = time.perf_counter()
    model, _, _ = namespace["train_realnvp"](recipe)
    seconds = time.perf_counter() - started
    scores = evaluate(model, namespace["generate_swiss_roll"])
    return Run(name, seed, seconds, recipe.n_steps, scores)


def time_notebook() -> float:
    """Seconds to run the solution notebook in a new kernel, kernel start included."""
    from nbclient import NotebookClient

    nb = read_notebook(ROOT / SOLUTION)
    env = course_env()
    env.pop("TQDM_DISABLE")  # the notebook draws its progress bar, as for a student (any value disables tqdm)
    started = time.perf_counter()
    NotebookClient(nb, timeout=3600, kernel_name="python3").execute(env=env)
    return time.perf_counter() - started


def print_table(runs: list[Run]) -> None:
    print(
        f"{'recipe':<14}{'seed':>5}{'train s':>9}{'steps/s':>9}{'NLL':>8}{'energy':>9}{'floor':>8}"
        f"{'precision':>10}{'coverage':>9}"
    )
    for run in runs:
        s = run.scores
        print(
            f"{run.recipe:<14}{run.seed:>5}{run.seconds:>9.1f}{run.steps / run.seconds:>9.0f}{s.nll:>8.2f}"
            f"{s.energy_distance:>9.4f}{s.energy_floor:>8.4f}{s.precision:>10.2f}{s.coverage:>9.2f}"
        )


def medians(runs: list[Run]) -> tuple[float, float, float]:
    return (
        statistics.median(run.seconds for run in runs),
        statistics.median(run.scores.nll for run in runs),
        statistics.median(run.scores.energy_distance for run in runs),
    )


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def report(by_recipe: dict[str, list[Run]], notebook_seconds: list[float]) -> None:
    print("\nmedians:")
    for name, runs in by_recipe.items():
        seconds, nll, energy = medians(runs)
        print(f"  {name:<14} train {seconds:6.1f} s   NLL {nll:6.3f}   energy distance {energy:.4f}")
    seed_seconds, seed_nll, seed_energy = medians(by_recipe["seed"])
    course = by_recipe["course"]
    seconds, nll, energy = medians(course)
    worst_nll = max(run.scores.nll for run in course)
    worst_energy = max(run.scores.energy_distance for run in course)
    print(f"\ncourse recipe trains {seed_seconds / seconds:.1f}x faster than the seed recipe (medians)")
    print("targets:")
    if notebook_seconds:
        whole = statistics.median(notebook_seconds)
        runs = ", ".join(f"{s:.1f}" for s in notebook_seconds)
        print(
            f"  whole notebook {whole:.1f} s (runs: {runs}) <= seed training / 3 = {seed_seconds / 3:.1f} s:"
            f" {verdict(whole <= seed_seconds / 3)} ({seed_seconds / whole:.1f}x)"
        )
    print(f"  median NLL {nll:.3f} <= -1.0: {verdict(nll <= -1.0)}")
    print(f"  median energy distance {energy:.4f} <= 0.015: {verdict(energy <= 0.015)}")
    print(f"  worst NLL {worst_nll:.3f} <= seed recipe's median {seed_nll:.3f}: {verdict(worst_nll <= seed_nll)}")
    print(
        f"  worst energy distance {worst_energy:.4f} <= seed recipe's median {seed_energy:.4f}:"
        f" {verdict(worst_energy <= seed_energy)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=5, help="training seeds per recipe (default 5)")
    parser.add_argument("--notebook-runs", type=int, default=2, help="whole-notebook runs (default 2)")
    parser.add_argument("--no-notebook", action="store_true", help="skip the notebook runs (no Jupyter here)")
    parser.add_argument("--course-steps", type=int, nargs="*", default=[], help="also the course recipe at N steps")
    args = parser.parse_args()

    namespace = run_cells(ROOT / SOURCE, MODEL_CELLS)
    device = "cuda" if torch.cuda.is_available() else f"cpu, {os.cpu_count()} cores, {torch.get_num_threads()} threads"
    print(f"torch {torch.__version__} on {device}\n")
    recipes = {"seed": SEED_RECIPE, "course": COURSE_RECIPE}
    recipes |= {f"course {steps}": COURSE_RECIPE.with_steps(steps) for steps in args.course_steps}
    by_recipe: dict[str, list[Run]] = {name: [] for name in recipes}
    for seed in range(args.seeds):  # alternating, so a slow spell of the machine hits both recipes
        for name, recipe in recipes.items():
            by_recipe[name].append(train_and_score(namespace, name, recipe, seed))
    print_table([run for runs in by_recipe.values() for run in runs])
    notebook_seconds = [] if args.no_notebook else [time_notebook() for _ in range(args.notebook_runs)]
    report(by_recipe, notebook_seconds)


if __name__ == "__main__":
    main()
