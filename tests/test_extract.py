import json

import pytest

from autograder.extract import InvalidSubmission, module_source, read_cells, submission_module

LAYER = "import torch\nclass CouplingLayer:\n    pass\n"


def test_definitions_are_kept_and_everything_else_is_left_out():
    cells = [
        "%matplotlib inline\nimport torch\nSCALE: float = 2.0\nname = 'ok'\nGRADING = bool(os.environ.get('X'))",
        "STEPS = 20 if GRADING else 10_000\nSHAPE = (2, -3)",
        "torch.manual_seed(0)\nmodel, losses, device = train_realnvp()\nplt.show()",
        "@staticmethod\ndef helper(x):\n    return x\n",
        "class CouplingLayer:\n    pass\nfor i in range(10**9):\n    pass",
        "!pip install something",
    ]
    source = module_source(cells)
    assert "import torch" in source and "SCALE: float = 2.0" in source and "name = 'ok'" in source
    assert "SHAPE = (2, -3)" in source
    assert "@staticmethod\ndef helper" in source and "class CouplingLayer" in source
    for left_out in ("train_realnvp", "manual_seed", "plt.show", "range(10**9)", "pip", "matplotlib", "GRADING"):
        assert left_out not in source


def test_a_later_definition_wins_as_when_the_notebook_runs_in_order():
    source = module_source(["class CouplingLayer:\n    version = 1", "class CouplingLayer:\n    version = 2"])
    namespace: dict = {}
    exec(source, namespace)
    assert namespace["CouplingLayer"].version == 2


def test_a_cell_with_a_syntax_error_is_skipped_and_named_when_nothing_is_left():
    assert "CouplingLayer" in module_source(["def broken(:\n    pass", LAYER])
    with pytest.raises(InvalidSubmission, match="code cell 1 has a syntax error"):
        module_source(["class CouplingLayer(:\n    pass"])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b"   \n", "the file is empty"),
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "no list of cells"),
        (b'{"cells": 3}', "no list of cells"),
        (b"\xff\xfe\x00", "could not be read"),
        (
            json.dumps({"cells": [{"cell_type": "markdown", "source": "class CouplingLayer: pass"}]}).encode(),
            "no class",
        ),
    ],
)
def test_unreadable_files_are_invalid_with_a_sentence(tmp_path, content, message):
    path = tmp_path / "student.ipynb"
    path.write_bytes(content)
    with pytest.raises(InvalidSubmission, match=message):
        submission_module(path)


def test_cell_sources_may_be_lists_of_lines(tmp_path):
    path = tmp_path / "student.ipynb"
    path.write_text(json.dumps({"cells": [{"cell_type": "code", "source": ["import torch\n", "x = 1\n"]}]}))
    assert read_cells(path) == ["import torch\nx = 1\n"]


def test_a_cell_nested_too_deeply_to_parse_is_skipped_and_named():
    deep = "y = " + "-" * 100_000 + "1"
    assert "CouplingLayer" in module_source([deep, LAYER])
    with pytest.raises(InvalidSubmission, match="code cell 1 is nested too deeply to read"):
        module_source([deep])
