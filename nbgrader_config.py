"""nbgrader's configuration for the RealNVP course; the directory of this file is the course root.

Run nbgrader with the course's venv first on PATH: it calls alembic, and starts
the notebook's ``python3`` kernel, through PATH.
"""

import os

from nbgrader.preprocessors import ClearMarkScheme, ClearOutput, IncludeHeaderFooter, LockCells

c = get_config()  # noqa: F821 (traitlets defines it when it loads this file)

c.CourseDirectory.course_id = "realnvp-course"
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.solution_directory = "solutions"

# What a student sees in place of the one solution region (CouplingLayer.forward).
c.ClearSolutions.code_stub = {
    "python": (
        "# YOUR CODE HERE: compute y and log_det_J\n"
        'raise NotImplementedError("TODO: compute y and log_det_J in CouplingLayer.forward (section 1.5)")'
    )
}

# Seconds per cell. Under nbgrader (NBGRADER_EXECUTION set) the notebook trains for
# 20 steps, so its slowest cell, a hidden test, takes a few seconds.
c.Execute.timeout = 120

# The solution notebook is committed without outputs: nbgrader's default would also
# execute it (the course's full training run). notebooks/realnvp_training.ipynb is
# the executed copy, made by autograder.notebooks.
c.GenerateSolution.preprocessors = [IncludeHeaderFooter, LockCells, ClearOutput, ClearMarkScheme]
