import json

import pytest

from autograder.extract import CodeCell, InvalidSubmission, module_source, read_cells, submission_module

LAYER = "import torch\nclass CouplingLayer:\n    pass\n"
TEST = CodeCell("layer = CouplingLayer()\nassert layer is not None", test=True)  # an nbgrader test cell


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
        (b"[" * 100_000, "nested too deeply"),
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
    assert read_cells(path) == [CodeCell("import torch\nx = 1\n")]


def code_cell(source: str, nbgrader: object = None, metadata: object = None) -> dict:
    cell = {"cell_type": "code", "source": source, "metadata": metadata if metadata is not None else {}}
    if nbgrader is not None:
        cell["metadata"]["nbgrader"] = nbgrader
    return cell


def test_the_reader_marks_nbgraders_test_cells_and_nothing_else(tmp_path):
    cells = [
        code_cell("answer", {"grade": False, "solution": True}),
        code_cell("autograded answer", {"grade": True, "solution": True}),
        code_cell("test", {"grade": True, "solution": False, "points": 4}),
        code_cell("test without solution key", {"grade": True}),
        code_cell("locked", {"grade": False, "locked": True}),
        code_cell("plain"),
        {"cell_type": "markdown", "source": "a graded markdown cell", "metadata": {"nbgrader": {"grade": True}}},
    ]
    path = tmp_path / "student.ipynb"
    path.write_text(json.dumps({"cells": cells}))
    assert [cell.test for cell in read_cells(path)] == [False, False, True, True, False, False]


@pytest.mark.parametrize(
    "cell",
    [
        code_cell("x", metadata="not a dict"),
        code_cell("x", metadata=[1, 2]),
        code_cell("x", nbgrader="grade"),
        code_cell("x", nbgrader=[True]),
        code_cell("x", nbgrader=None),
        code_cell("x", {"grade": None}),
        {"cell_type": "code", "source": ["x", 1, None]},
    ],
)
def test_malformed_metadata_marks_no_test_cell_and_never_fails(tmp_path, cell):
    path = tmp_path / "student.ipynb"
    path.write_text(json.dumps({"cells": [cell, code_cell(LAYER)]}))
    assert [cell.test for cell in read_cells(path)] == [False, False]
    assert "class CouplingLayer" in submission_module(path).source


def test_code_after_the_last_test_cell_does_not_count():
    cells = [
        LAYER + "    version = 'answer'",
        TEST,
        CodeCell("assert True", test=True),
        "class CouplingLayer:\n    version = 'experiment'",
        "import math\nCouplingLayer.forward = math.exp",
    ]
    source = module_source(cells).source
    assert "version = 'answer'" in source
    assert "experiment" not in source and "math" not in source and "assert" not in source


def test_the_code_as_it_stands_at_the_last_test_cell_counts_with_that_cells_own_statements():
    cells = [
        "class CouplingLayer:\n    def f(self):\n        return SCALE",
        TEST,
        CodeCell("SCALE = 2", test=True),
        "SCALE = 3",
    ]
    assert run(cells)["CouplingLayer"]().f() == 2


def test_a_notebook_without_test_cells_counts_whole():
    cells = [LAYER + "    version = 'answer'", "class CouplingLayer:\n    version = 'later'"]
    assert run(cells)["CouplingLayer"].version == "later"


def test_test_cells_above_the_class_make_the_whole_notebook_count():
    # the test cells moved to the top (tests/corpus.py: tampered_reordered): no CouplingLayer up to the last one
    cells = [TEST, CodeCell("assert CouplingLayer", test=True), LAYER + "    version = 'answer'"]
    assert run(cells)["CouplingLayer"].version == "answer"


def test_a_test_cell_copied_to_the_end_moves_the_cut_to_the_end():
    cells = [LAYER + "    version = 'answer'", TEST, "class CouplingLayer:\n    version = 'later'", TEST]
    assert run(cells)["CouplingLayer"].version == "later"


def test_a_name_defined_only_after_the_last_test_cell_is_explained():
    cells = [
        "class CouplingLayer:\n    def f(self):\n        return SCALE + OFFSET",
        TEST,
        "SCALE = 2",
        "OFFSET = 1\nprint 'py2'",
    ]
    module = module_source(cells)
    assert "SCALE = 2" not in module.source and "OFFSET = 1" not in module.source
    assert module.missing["SCALE"].startswith("it is defined only in code cell 3 (the one that starts `SCALE = 2`)")
    assert "below the last test cell" in module.missing["SCALE"]
    assert "code cell 4" in module.missing["OFFSET"] and "below the last test cell" in module.missing["OFFSET"]


def test_the_cut_reads_the_metadata_of_a_submitted_file(tmp_path):
    cells = [
        code_cell(LAYER + "    version = 'answer'", {"grade": False, "solution": True}),
        code_cell("layer = CouplingLayer()", {"grade": True, "solution": False}),
        code_cell("class CouplingLayer:\n    version = 'experiment'"),
    ]
    path = tmp_path / "student.ipynb"
    path.write_text(json.dumps({"cells": cells}))
    source = submission_module(path).source
    assert "answer" in source and "experiment" not in source


# --- names set through a function's global statement --------------------------------------------

SETUP = "import math\n\ndef setup():\n    global SCALE_FN\n    SCALE_FN = math.exp"
USES_SCALE_FN = "class CouplingLayer:\n    def forward(self, x):\n        return SCALE_FN(x)"


@pytest.mark.parametrize("call", ["setup()", "result = setup()", "for _ in range(1):\n    setup()", "print(setup())"])
def test_a_top_level_call_binds_what_the_function_sets_through_global(call):
    cells = [SETUP, call, USES_SCALE_FN, "train()  # left out"]
    module = module_source(cells)
    assert "def setup():" in module.source and call in module.source and "train" not in module.source
    assert "SCALE_FN" not in module.missing
    assert run(cells)["CouplingLayer"]().forward(0.0) == 1.0


def test_a_global_set_through_a_helper_the_called_function_calls_counts():
    cells = [
        "import math",
        "def use_exp():\n    global SCALE_FN\n    SCALE_FN = math.exp",
        "def setup():\n    configure()",
        "def configure():\n    use_exp()",
        "setup()",
        USES_SCALE_FN,
    ]
    module = module_source(cells)
    assert all(f"def {name}():" in module.source for name in ("use_exp", "setup", "configure"))
    assert run(cells)["CouplingLayer"]().forward(0.0) == 1.0


def test_a_name_imported_through_global_counts():
    cells = ["def setup():\n    global np\n    import math as np", "setup()", "class CouplingLayer:\n    e = np.e"]
    assert run(cells)["CouplingLayer"].e > 2.7


def test_a_call_binds_without_replacing_and_a_later_assignment_replaces_it():
    setup = "def setup():\n    global SCALE\n    if FLAG:\n        SCALE = 2"
    uses = "class CouplingLayer:\n    def f(self):\n        return SCALE"
    kept = module_source(["SCALE = 1", "FLAG = False", setup, "setup()", uses]).source
    assert "SCALE = 1" in kept and "FLAG = False" in kept and "setup()" in kept
    replaced = module_source(["SCALE = 1", setup, "setup()", "SCALE = 3", uses]).source
    assert "setup" not in replaced and "SCALE = 1" not in replaced and "SCALE = 3" in replaced


def test_a_global_set_by_a_function_never_called_at_the_top_level_is_explained():
    cells = [SETUP, USES_SCALE_FN, "def unused():\n    setup()"]
    module = module_source(cells)
    assert "SCALE_FN" in module.missing and "def setup" not in module.source
    assert module.missing["SCALE_FN"].startswith("it is set only by a global statement in setup(), in code cell 1")
    assert "no top-level statement of your notebook calls setup()" in module.missing["SCALE_FN"]


def test_a_call_after_the_graded_code_needs_the_name_is_explained():
    cells = [SETUP, "class CouplingLayer:\n    scale_fn = SCALE_FN", "setup()"]
    assert (
        "uses it before code cell 3 (the one that starts `setup()`) defines it"
        in module_source(cells).missing["SCALE_FN"]
    )


def test_a_call_only_after_the_last_test_cell_does_not_count():
    module = module_source([SETUP, USES_SCALE_FN, TEST, "setup()"])
    assert "setup()\n" not in module.source
    assert "code cell 4 (the one that starts `setup()`), below the last test cell" in module.missing["SCALE_FN"]


def test_names_made_by_exec_or_globals_are_still_reported():
    cells = ["globals()['SCALE_FN'] = abs\nexec('OTHER = 1')", USES_SCALE_FN]
    assert "exec or globals()" in module_source(cells).missing["SCALE_FN"]


def test_a_cell_nested_too_deeply_to_parse_is_skipped_and_named():
    deep = "y = " + "-" * 100_000 + "1"
    assert "CouplingLayer" in module_source([deep, LAYER]).source
    with pytest.raises(InvalidSubmission, match=r"code cell 1 .* is nested too deeply to read"):
        module_source([deep])
