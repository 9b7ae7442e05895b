import json

import pytest

from autograder.checks import PARTS
from autograder.points import SOURCE_NOTEBOOK, read_points


def test_points_come_from_the_source_notebooks_grade_cells():
    points = read_points()
    assert list(points) == list(PARTS)
    notebook = json.loads(SOURCE_NOTEBOOK.read_text())
    cells = [
        cell["metadata"]["nbgrader"] for cell in notebook["cells"] if cell["metadata"].get("nbgrader", {}).get("grade")
    ]
    assert points == {cell["grade_id"]: float(cell["points"]) for cell in cells}


def test_a_source_whose_grade_cells_differ_from_the_checked_parts_is_refused(tmp_path):
    notebook = json.loads(SOURCE_NOTEBOOK.read_text())
    for cell in notebook["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == "round_trip":
            cell["metadata"]["nbgrader"]["grade_id"] = "renamed"
    path = tmp_path / "realnvp.ipynb"
    path.write_text(json.dumps(notebook))
    with pytest.raises(ValueError, match="renamed"):
        read_points(path)
