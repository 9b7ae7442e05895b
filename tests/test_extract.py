import json

import pytest

from autograder.extract import InvalidSubmission, module_source, read_cells, submission_module

LAYER = "import torch\nclass CouplingLayer:\n    pass\n"


def run(cells: list[str]) -> dict:
    """The namespace the grader's module leaves, as the probe sees it."""
    namespace: dict = {}
    exec(module_source(cells).source, namespace)
    return namespace


def test_an_alias_defined_above_the_class_is_kept():
    namespace = run(
        ["import math\nEXP = math.exp", "class CouplingLayer:\n    def forward(self, x):\n        return EXP(x)"]
    )
    assert namespace["CouplingLayer"]().forward(0.0) == 1.0


def test_a_computed_constant_and_what_it_is_computed_from_are_kept():
    source = module_source(
        ["import math\nimport os", "LOG_2PI = math.log(2 * math.pi)", "class CouplingLayer:\n    c = LOG_2PI / 2"]
    ).source
    assert "import math" in source and "LOG_2PI = math.log(2 * math.pi)" in source
    assert "import os" not in source


def test_a_helper_used_only_through_another_helper_is_kept_even_when_defined_after_the_class():
    cells = [
        "class CouplingLayer:\n    def forward(self, x):\n        return outer(x)",
        "def outer(x):\n    return inner(x) + 1",
        "def inner(x):\n    return x * FACTOR",
        "FACTOR = 3",
    ]
    assert run(cells)["CouplingLayer"]().forward(2) == 7


def test_a_helper_object_and_its_class_are_kept():
    cells = [
        "class Affine:\n    def apply(self, x):\n        return 2 * x",
        "AFFINE = Affine()",
        "class CouplingLayer:\n    def forward(self, x):\n        return AFFINE.apply(x)",
    ]
    assert run(cells)["CouplingLayer"]().forward(4) == 8


def test_training_plots_scratch_and_test_cells_are_left_out():
    cells = [
        "%matplotlib inline\nimport torch\nimport matplotlib.pyplot as plt\ntorch.manual_seed(0)",
        "class CouplingLayer:\n    zero = torch.zeros(1)",
        "layer = CouplingLayer()\nassert layer is not None",
        "def train_realnvp():\n    while True:\n        pass",
        "model, losses, device = train_realnvp()\nplt.plot(losses)\nplt.show()",
        "!pip install something",
        "undefined_name_in_a_scratch_cell",
    ]
    source = module_source(cells).source
    assert source == "import torch\n\nclass CouplingLayer:\n    zero = torch.zeros(1)\n"


def test_a_hang_in_an_unrelated_top_level_statement_is_left_out():
    source = module_source(["import time\nwhile True:\n    time.sleep(1)\nx = 1; time.sleep(10**6)", LAYER]).source
    assert "sleep" not in source and "while" not in source


def test_a_statement_the_class_needs_is_kept_even_when_it_is_slow():
    # It runs in the sandbox under the time limit (tests/corpus.py: hang_in_needed_constant).
    cells = ["import time\nSCALE = time.sleep(10**6)", "class CouplingLayer:\n    scale = SCALE"]
    assert "SCALE = time.sleep(10**6)" in module_source(cells).source


def test_a_later_definition_wins_and_what_it_replaces_is_left_out():
    cells = [
        "device = train_for_an_hour()",
        'device = "cpu"',
        "class CouplingLayer:\n    version = 1",
        "class CouplingLayer:\n    where = device",
    ]
    source = module_source(cells).source
    assert "train_for_an_hour" not in source and "version = 1" not in source
    assert run(cells)["CouplingLayer"].where == "cpu"


def test_a_conditional_definition_keeps_the_one_before_it():
    cells = ["SCALE = 1", "if False:\n    SCALE = 2", "class CouplingLayer:\n    scale = SCALE"]
    assert run(cells)["CouplingLayer"].scale == 1


def test_a_method_attached_after_the_class_is_kept():
    cells = [
        "class CouplingLayer:\n    pass",
        "def forward(self, x):\n    return x + OFFSET",
        "OFFSET = 5",
        "CouplingLayer.forward = forward",
    ]
    assert run(cells)["CouplingLayer"]().forward(1) == 6


def test_a_submodule_import_is_kept_beside_the_plain_import():
    source = module_source(["import os.path", "import os", "class CouplingLayer:\n    sep = os.path.sep"]).source
    assert "import os.path" in source and "import os\n" in source


def test_a_star_import_is_kept():
    assert run(["from math import *", "class CouplingLayer:\n    e = exp(0)"])["CouplingLayer"].e == 1.0


def test_the_body_of_a_time_cell_is_read_and_other_cell_magics_are_named():
    module = module_source(["%%time\nK = 2", "%%bash\nQ=3", "class CouplingLayer:\n    k = K\n    q = Q"])
    assert "K = 2" in module.source and "Q" in module.missing
    assert "code cell 2 (the one that starts `%%bash`), which is a %%bash cell" in module.missing["Q"]


def test_a_name_defined_only_in_a_cell_with_a_syntax_error_is_explained():
    module = module_source(["EXP = math.exp\nprint 'x'", "class CouplingLayer:\n    def f(self):\n        return EXP"])
    explained = module.explain("NameError: name 'EXP' is not defined (in f, line 3)")
    assert explained.startswith("NameError: name 'EXP' is not defined (in f, code cell 2, line 3). The grader could")
    assert "only in code cell 1 (the one that starts `EXP = math.exp`), which has a syntax error" in explained


def test_a_name_used_before_its_cell_is_explained():
    module = module_source(["class CouplingLayer:\n    k = K", "K = 1"])
    assert module.missing["K"].startswith("code cell 1 (the one that starts `class CouplingLayer:`) uses it before")


def test_a_name_from_a_shell_escape_is_explained():
    module = module_source(["files = !ls", "class CouplingLayer:\n    def f(self):\n        return files"])
    assert "get_ipython" in module.missing and "shell commands" in module.missing["get_ipython"]


def test_errors_name_the_line_of_the_students_cell_not_of_the_graded_module():
    cells = [
        "import math\nprint('left out')\nSCALE = 2",
        "\n\n%%time\n\n@staticmethod\ndef helper(x):\n    return x / 0",
        "x = 1\nclass CouplingLayer:\n    def forward(self, x):\n        return helper(x) * SCALE",
    ]
    module = module_source(cells)
    lines = module.source.splitlines()
    assert module.cell_line(lines.index("SCALE = 2") + 1) == (1, 3)
    assert module.cell_line(lines.index("    return x / 0") + 1) == (2, 7)
    assert module.cell_line(lines.index("        return helper(x) * SCALE") + 1) == (3, 4)
    where = lines.index("    return x / 0") + 1
    error = f"ZeroDivisionError: division by zero (in helper, line {where})"
    assert module.explain(error) == "ZeroDivisionError: division by zero (in helper, code cell 2, line 7)"


def test_only_name_errors_for_missing_names_are_explained():
    module = module_source(["class CouplingLayer:\n    def f(self):\n        return GONE"])
    assert module.explain("ValueError: bad") == "ValueError: bad"
    assert module.explain("NameError: name 'other' is not defined") == "NameError: name 'other' is not defined"
    assert "no top-level statement" in module.explain("NameError: name 'GONE' is not defined")
    assert "len" not in module.missing and "super" not in module.missing


def test_a_cell_with_a_syntax_error_is_skipped_and_named_when_nothing_is_left():
    assert "CouplingLayer" in module_source(["def broken(:\n    pass", LAYER]).source
    with pytest.raises(InvalidSubmission, match=r"code cell 1 .* has a syntax error"):
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
    assert "CouplingLayer" in module_source([deep, LAYER]).source
    with pytest.raises(InvalidSubmission, match=r"code cell 1 .* is nested too deeply to read"):
        module_source([deep])
