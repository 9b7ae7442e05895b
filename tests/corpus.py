"""The public corpus of submissions: honest answers written many ways, mistakes, cheats,
resource abuse, malformed files and tampered notebooks, each with its expected verdict.

Every notebook is built from the committed release notebook, so the corpus follows the
homework as it is written in source/.
"""

from __future__ import annotations

import copy
import csv
import functools
import json
import socket
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograder import landlock, notebooks
from autograder.extract import code_cells, module_source

ROOT = Path(__file__).resolve().parent.parent
RELEASE = ROOT / "release" / "realnvp" / "realnvp.ipynb"

SIGNALS_SCOPED = landlock.abi() >= 6
ALL = frozenset({"forward_y", "log_det_J", "round_trip"})
Y_ONLY = frozenset({"forward_y"})
LOG_DET_ONLY = frozenset({"log_det_J"})
NONE: frozenset[str] = frozenset()

# The two lines the student writes, as the solution has them.
SOLUTION = """
y = x_masked + (1 - mask) * (x * torch.exp(s) + t)
log_det_J = torch.sum((1 - mask) * s, dim=1)
"""
CORRECT_LOG_DET = "log_det_J = torch.sum((1 - mask) * s, dim=1)\n"
CORRECT_Y = "y = x_masked + (1 - mask) * (x * torch.exp(s) + t)\n"
EXP_MINUS_S = "y = x_masked + (1 - mask) * (x * torch.exp(-s) + t)\n" + CORRECT_LOG_DET


@dataclass(frozen=True)
class Entry:
    """One submission: its answer or raw bytes, how the notebook is tampered, what it must get."""

    status: str
    passed: frozenset[str]
    answer: str = SOLUTION
    prelude: str = ""  # code run once, at the top of CouplingLayer's class body
    above: str = ""  # a code cell of the student's own, just above CouplingLayer's cell
    tamper: Callable[[dict], dict | bytes] | None = None
    raw: bytes | None = None
    message: str = ""  # a fragment the grade's message must contain
    hints: dict[str, str] = field(default_factory=dict)  # part -> fragment of the feedback hint


def _code_cells(notebook: dict) -> list[dict]:
    return [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]


def _is_test_cell(cell: dict) -> bool:
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get("grade"))


def _is_solution_cell(cell: dict) -> bool:
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get("solution"))


def delete_test_cells(notebook: dict) -> dict:
    notebook["cells"] = [cell for cell in notebook["cells"] if not _is_test_cell(cell)]
    return notebook


def replace_test_cells_with_pass(notebook: dict) -> dict:
    for cell in notebook["cells"]:
        if _is_test_cell(cell):
            cell["source"] = "pass"
    return notebook


def fresh_notebook(notebook: dict) -> dict:
    """The code pasted into a new notebook: no nbgrader metadata, no markdown."""
    return {
        "cells": [{"cell_type": "code", "metadata": {}, "source": c["source"]} for c in _code_cells(notebook)],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def tests_first(notebook: dict) -> dict:
    """The test cells moved to the top, before the code they test."""
    notebook["cells"].sort(key=lambda cell: not _is_test_cell(cell))
    return notebook


def add_scratch_cells(notebook: dict) -> dict:
    scratch = [
        "%matplotlib inline\nimport numpy as np",
        "!echo shell escapes are not run by the grader",
        "layer = CouplingLayer(2, 8, torch.tensor([1, 0]))\nprint(layer(torch.randn(3, 2)))",
        "model, losses, device = train_realnvp(n_steps=100000)",
        "undefined_name_in_a_scratch_cell",
    ]
    for source in scratch:
        notebook["cells"].insert(3, {"cell_type": "code", "metadata": {}, "source": source, "outputs": []})
    return notebook


def inflate_points(notebook: dict) -> dict:
    for cell in notebook["cells"]:
        if _is_test_cell(cell):
            cell["metadata"]["nbgrader"]["points"] = 100
    return notebook


def one_cell(notebook: dict) -> dict:
    """All the code in a single cell, as if pasted from a script."""
    merged = "\n\n".join("".join(cell["source"]) for cell in _code_cells(notebook))
    notebook["cells"] = [{"cell_type": "code", "metadata": {}, "source": merged, "outputs": []}]
    return notebook


def after_the_tests(source: str) -> Callable[[dict], dict]:
    """A code cell of the student's own just after the last test cell: nbgrader's tests have run by then."""

    def tamper(notebook: dict) -> dict:
        last = max(index for index, cell in enumerate(notebook["cells"]) if _is_test_cell(cell))
        notebook["cells"].insert(last + 1, nbformat.v4.new_code_cell(source, id="student-after-tests"))
        return notebook

    return tamper


def redefined_after_the_tests(answer: str) -> Callable[[dict], dict]:
    """The student's later experiment: ``CouplingLayer`` again, with ``answer``, just after the last test cell."""

    def tamper(notebook: dict) -> dict:
        (cell,) = [cell for cell in fill_stub(_release(), answer).cells if _is_solution_cell(cell)]
        return after_the_tests(cell.source)(notebook)

    return tamper


def answer_cell_copied(notebook: dict) -> dict:
    """The answer cell copied in Jupyter to try something, just below it: the copy keeps nbgrader's metadata,
    which makes stock ``nbgrader autograde`` abort the whole batch."""
    (index,) = [index for index, cell in enumerate(notebook["cells"]) if _is_solution_cell(cell)]
    duplicate = copy.deepcopy(notebook["cells"][index])
    duplicate["id"] = "answer-copy"
    notebook["cells"].insert(index + 1, duplicate)
    return notebook


# Places an attack aims at, replaced when the corpus is written: the folder it is graded in (its submissions, the
# grader's output and gradebook), the course (the repository, or a world-readable copy of it elsewhere) and a TCP
# port on 127.0.0.1 where a listener waits.
WORKDIR, COURSE, PORT = "@WORKDIR@", "@COURSE@", "@PORT@"
COURSE_NOTEBOOK = f"{COURSE}/source/realnvp/realnvp.ipynb"


@dataclass(frozen=True)
class Targets:
    workdir: Path
    course: Path = ROOT
    port: int = 9  # discard: nothing listens there unless the test starts a listener

    def fill(self, code: str) -> str:
        return code.replace(WORKDIR, str(self.workdir)).replace(COURSE, str(self.course)).replace(PORT, str(self.port))


def if_reached(attempt: str) -> str:
    """An answer that runs ``attempt`` (which sets ``reached``) inside ``forward``: the right ``y`` if it reached
    what it aimed at, ``exp(-s)`` if not. The attack fails when only log_det_J passes."""
    return (
        "reached = False\n"
        "try:\n" + textwrap.indent(attempt.strip("\n"), "    ") + "\n"
        "except Exception:\n"
        "    pass\n"
        "if reached:\n"
        "    y = x_masked + (1 - mask) * (x * torch.exp(s) + t)\n"
        "else:\n"
        "    y = x_masked + (1 - mask) * (x * torch.exp(-s) + t)\n" + CORRECT_LOG_DET
    )


def truncate(notebook: dict) -> bytes:
    """The first half of the file, as an interrupted upload leaves it."""
    text = json.dumps(notebook, indent=1).encode()
    return text[: len(text) // 2]


# In the command line of every process a corpus submission starts to outlive it, with the folder it is graded in.
LEAK_MARKER = f"autograder-corpus-leak {WORKDIR}"


CORPUS: dict[str, Entry] = {
    # Correct answers, written the ways students write them.
    "correct_solution": Entry("ok", ALL),
    "correct_where": Entry(
        "ok",
        ALL,
        "y = torch.where(mask.bool(), x, x * torch.exp(s) + t)\nlog_det_J = (s * (1 - mask)).sum(-1)\n",
    ),
    "correct_premasked": Entry(
        "ok",
        ALL,
        "s = s * (1 - mask)\nt = t * (1 - mask)\ny = x_masked + (1 - mask) * x * torch.exp(s) + t\n"
        "log_det_J = s.sum(dim=1)\n",
    ),
    "correct_row_loop": Entry(
        "ok",
        ALL,
        "rows = [x_masked[i] + (1 - mask) * (x[i] * torch.exp(s[i]) + t[i]) for i in range(x.shape[0])]\n"
        "y = torch.stack(rows)\n"
        "log_det_J = torch.stack([((1 - mask) * s[i]).sum() for i in range(x.shape[0])])\n",
    ),
    "correct_einsum": Entry(
        "ok",
        ALL,
        "free = (1 - mask).to(x.dtype)\ny = x_masked + free * (x * torch.exp(s) + t)\n"
        'log_det_J = torch.einsum("bd,d->b", s, free)\n',
    ),
    "correct_float_mask": Entry(
        "ok",
        ALL,
        "m = mask.float()\ny = x * m + (1.0 - m) * (x * s.exp() + t)\nlog_det_J = ((1.0 - m) * s).sum(dim=1)\n",
    ),
    "correct_log_of_exp": Entry(
        "ok",
        ALL,
        "y = x_masked + (1 - mask) * x * torch.exp(s) + (1 - mask) * t\n"
        "log_det_J = torch.log(torch.exp(s) * (1 - mask) + mask).sum(dim=1)\n",
    ),
    "correct_noisy": Entry(
        "ok",
        ALL,
        "import warnings, sys\nprint('debug: shapes', x.shape)\nprint('to stderr', file=sys.stderr)\n"
        "warnings.warn('a warning from the student')\n" + SOLUTION,
    ),
    # Correct answers that use the student's own top-level definitions: the grader keeps what the class needs.
    "correct_top_level_alias": Entry(
        "ok", ALL, "y = x_masked + (1 - mask) * (x * EXP(s) + t)\n" + CORRECT_LOG_DET, above="EXP = torch.exp"
    ),
    "correct_computed_constant": Entry(
        "ok",
        ALL,
        "s = torch.clamp(s, max=MAX_LOG_SCALE)\n" + SOLUTION,
        above="import math\n\nMAX_LOG_SCALE = math.log(1e6)  # exp(s) stays below a million",
    ),
    "correct_device_at_top": Entry(
        "ok",
        ALL,
        "free = torch.ones(x.shape[1], device=DEVICE, dtype=x.dtype) - mask\n"
        "y = x_masked + free * (x * torch.exp(s) + t)\nlog_det_J = (free * s).sum(dim=1)\n",
        above='DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")',
    ),
    "correct_helpers_through_helpers": Entry(
        "ok",
        ALL,
        "y = x_masked + (1 - mask) * affine(x, s, t)\nlog_det_J = log_det(s, mask)\n",
        above=(
            "def affine(x, s, t):\n    return scale(x, s) + t\n\n\n"
            "def scale(x, s):\n    return x * EXP(s)\n\n\n"
            "def log_det(s, mask):\n    return SUM((1 - mask) * s, dim=1)\n\n\n"
            "EXP, SUM = torch.exp, torch.sum"
        ),
    ),
    "correct_helper_object": Entry(
        "ok",
        ALL,
        "y = x_masked + (1 - mask) * AFFINE.forward(x, s, t)\nlog_det_J = AFFINE.log_det(s, mask)\n",
        above=(
            "class Affine:\n    def forward(self, x, s, t):\n        return x * torch.exp(s) + t\n\n"
            "    def log_det(self, s, mask):\n        return ((1 - mask) * s).sum(dim=1)\n\n\nAFFINE = Affine()"
        ),
    ),
    "correct_hang_elsewhere": Entry(
        "ok", ALL, above="import time\n\nwhile True:  # nothing graded needs this cell\n    time.sleep(1)"
    ),
    "hang_in_needed_constant": Entry(
        "timeout",
        NONE,
        "s = s * SCALE\n" + SOLUTION,
        above="import time\n\n\ndef slow_scale():\n    time.sleep(10**6)\n\n\nSCALE = slow_scale()",
    ),
    "name_in_unreadable_cell": Entry(
        "ok",
        NONE,
        "y = x_masked + (1 - mask) * (x * EXP(s) + t)\n" + CORRECT_LOG_DET,
        above="EXP = torch.exp\nprint 'defined'",
        hints={"forward_y": "The grader could not define EXP: it is defined only in code cell"},
    ),
    # Names set by a top-level call through a function's global statement, as nbgrader's kernel sets them.
    "correct_global_from_setup_call": Entry(
        "ok",
        ALL,
        "y = x_masked + (1 - mask) * (x * SCALE_FN(s) + t)\n" + CORRECT_LOG_DET,
        above="def setup():\n    global SCALE_FN\n    SCALE_FN = torch.exp\n\n\nsetup()",
    ),
    "correct_global_through_helper": Entry(
        "ok",
        ALL,
        "y = x_masked + (1 - mask) * (x * SCALE_FN(s) + t)\n" + CORRECT_LOG_DET,
        above=(
            "def use_exp():\n    global SCALE_FN\n    SCALE_FN = torch.exp\n\n\n"
            "def setup():\n    use_exp()\n\n\nfor _ in range(1):\n    setup()"
        ),
    ),
    "name_global_never_set": Entry(
        "ok",
        NONE,
        "y = x_masked + (1 - mask) * (x * SCALE_FN(s) + t)\n" + CORRECT_LOG_DET,
        above="def setup():  # never called\n    global SCALE_FN\n    SCALE_FN = torch.exp",
        hints={"forward_y": "The grader could not define SCALE_FN: it is set only by a global statement in setup()"},
    ),
    # Experiments after the last test cell: nbgrader's tests ran on the answer cell, so the grader judges it.
    "correct_then_experiment_after_tests": Entry(
        "ok", ALL, tamper=redefined_after_the_tests(CORRECT_Y + "log_det_J = -torch.sum((1 - mask) * s, dim=1)\n")
    ),
    "correct_answer_cell_copied": Entry("ok", ALL, tamper=answer_cell_copied),
    # The common mistakes, each with the part it keeps.
    "logdet_sign": Entry(
        "ok",
        Y_ONLY,
        CORRECT_Y + "log_det_J = -torch.sum((1 - mask) * s, dim=1)\n",
        hints={"log_det_J": "opposite sign"},
    ),
    "logdet_kept_coords": Entry(
        "ok", Y_ONLY, CORRECT_Y + "log_det_J = torch.sum(mask * s, dim=1)\n", hints={"log_det_J": "kept coordinates"}
    ),
    "logdet_all_coords": Entry("ok", Y_ONLY, CORRECT_Y + "log_det_J = s.sum(dim=1)\n"),
    "logdet_mean": Entry("ok", Y_ONLY, CORRECT_Y + "log_det_J = ((1 - mask) * s).mean(dim=1)\n"),
    "logdet_keepdim": Entry(
        "ok",
        Y_ONLY,
        CORRECT_Y + "log_det_J = ((1 - mask) * s).sum(dim=1, keepdim=True)\n",
        hints={"log_det_J": "not one number per sample"},
    ),
    "logdet_whole_batch": Entry("ok", Y_ONLY, CORRECT_Y + "log_det_J = ((1 - mask) * s).sum()\n"),
    "logdet_detached": Entry(
        "ok",
        frozenset({"forward_y", "round_trip"}),
        CORRECT_Y + "log_det_J = torch.sum((1 - mask) * s, dim=1).detach()\n",
        hints={"log_det_J": "does not carry gradients"},
    ),
    "exp_minus_s": Entry("ok", LOG_DET_ONLY, EXP_MINUS_S, hints={"forward_y": "exp(-s)"}),
    "exp_minus_s_then_fixed_after_tests": Entry(
        "ok", LOG_DET_ONLY, EXP_MINUS_S, tamper=redefined_after_the_tests(SOLUTION), hints={"forward_y": "exp(-s)"}
    ),
    "kept_half_changed": Entry(
        "ok",
        LOG_DET_ONLY,
        "y = x * torch.exp(s) + t\n" + CORRECT_LOG_DET,
        hints={"forward_y": "kept half of y changed"},
    ),
    "shift_then_scale": Entry(
        "ok",
        LOG_DET_ONLY,
        "y = x_masked + (1 - mask) * ((x + t) * torch.exp(s))\n" + CORRECT_LOG_DET,
        hints={"forward_y": "shifted before scaling"},
    ),
    "no_shift": Entry("ok", LOG_DET_ONLY, "y = x_masked + (1 - mask) * x * torch.exp(s)\n" + CORRECT_LOG_DET),
    "mask_inverted": Entry(
        "ok", LOG_DET_ONLY, "y = x * (1 - mask) + mask * (x * torch.exp(s) + t)\n" + CORRECT_LOG_DET
    ),
    "y_detached": Entry(
        "ok",
        frozenset({"log_det_J", "round_trip"}),
        "y = (x_masked + (1 - mask) * (x * torch.exp(s) + t)).detach()\n" + CORRECT_LOG_DET,
        hints={"forward_y": "does not carry gradients"},
    ),
    "y_through_numpy": Entry(
        "ok",
        frozenset({"log_det_J", "round_trip"}),
        "y = torch.from_numpy((x_masked + (1 - mask) * (x * torch.exp(s) + t)).detach().numpy())\n" + CORRECT_LOG_DET,
    ),
    "identity": Entry("ok", NONE, "y = x\nlog_det_J = torch.zeros(x.shape[0])\n", hints={"forward_y": "y equals x"}),
    "unimplemented": Entry("ok", NONE, "raise NotImplementedError()\n"),
    # Cheats: a wrong answer (exp(-s)) stays wrong, a right one stays right.
    "cheat_patch_allclose": Entry(
        "ok",
        LOG_DET_ONLY,
        EXP_MINUS_S,
        prelude="import torch, numpy\ntorch.allclose = lambda *a, **k: True\nnumpy.allclose = lambda *a, **k: True\n",
    ),
    "cheat_patch_builtins": Entry(
        "ok",
        LOG_DET_ONLY,
        EXP_MINUS_S,
        prelude=(
            "import builtins, torch\nbuiltins.abs = lambda *a: 0\nbuiltins.max = lambda *a, **k: 0\n"
            "builtins.isinstance = lambda *a: True\ntorch.Tensor.__eq__ = lambda *a: True\n"
            "torch.equal = lambda *a: True\n"
        ),
    ),
    "cheat_patch_ipython_and_exit_hooks": Entry(
        "ok",
        LOG_DET_ONLY,
        EXP_MINUS_S,
        prelude=(
            "import sys, atexit\nsys.excepthook = lambda *a: None\natexit.register(lambda: print('all tests passed'))\n"
        ),
    ),
    "cheat_sys_exit": Entry("error", NONE, SOLUTION, prelude="import sys\nsys.exit(0)\n", message="SystemExit"),
    "cheat_os_exit_in_forward": Entry("crashed", NONE, "import os\nos._exit(0)\n"),
    "cheat_exit_in_forward": Entry("ok", NONE, "import sys\nsys.exit(0)\n"),
    # Where Landlock scopes signals (ABI 6), the worker is out of reach and the kill fails inside forward.
    "cheat_kill_worker": Entry(
        "ok" if SIGNALS_SCOPED else "crashed", NONE, "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n"
    ),
    "cheat_read_source": Entry("ok", LOG_DET_ONLY, if_reached(f"reached = bool(open('{COURSE_NOTEBOOK}').read())")),
    "cheat_write_outputs": Entry(
        "ok",
        ALL,
        prelude=(
            "import glob\n"
            f"for path in glob.glob('{WORKDIR}/**', recursive=True) + ['/etc/passwd', '{COURSE_NOTEBOOK}']:\n"
            "    try:\n"
            "        open(path, 'a').write('HACK' + 'ED')\n"
            "    except OSError:\n"
            "        pass\n"
        ),
    ),
    "cheat_detached_process": Entry(
        "ok",
        ALL,
        prelude=(
            "import subprocess, sys\n"
            "subprocess.Popen([sys.executable, '-c', "
            f"'import time; time.sleep(30)  # {LEAK_MARKER}'], start_new_session=True)\n"
        ),
    ),
    # Attacks from inside forward: each reaches for something outside its sandbox.
    "attack_find_notebooks": Entry(
        "ok",
        LOG_DET_ONLY,
        if_reached(f"""
import os
own = os.path.realpath('.')
for top in ['{WORKDIR}', '{COURSE}', '/tmp', '/home', '/srv', '/autograder']:
    for folder, subfolders, files in os.walk(top):
        if folder.count(os.sep) - top.count(os.sep) >= 4 or os.path.realpath(folder) == own:
            subfolders.clear()
        if any(name.endswith('.ipynb') and open(os.path.join(folder, name)).read(1) for name in files):
            reached = True
            break
    if reached:
        break
"""),
    ),
    "attack_read_command_lines": Entry(
        "ok",
        LOG_DET_ONLY,
        if_reached("""
import glob
for path in glob.glob('/proc/[0-9]*/cmdline'):
    try:
        reached = reached or b'autograder' in open(path, 'rb').read()
    except OSError:
        pass
"""),
    ),
    "attack_connect_to_a_listener": Entry(
        "ok",
        LOG_DET_ONLY,
        if_reached(
            f"import socket\nsocket.create_connection(('127.0.0.1', {PORT}), timeout=2).close()\nreached = True"
        ),
    ),
    "attack_segfault": Entry("crashed", NONE, "import ctypes\nctypes.string_at(0)\n", message="SIGSEGV"),
    "attack_deep_recursion": Entry(
        "ok",
        ALL,
        prelude="import sys\nsys.setrecursionlimit(10**6)\ndeep = lambda again, n: again(again, n + 1) + 1\n"
        "try:\n    deep(deep, 0)\nexcept (RecursionError, MemoryError):\n    pass\n",
    ),
    "attack_ignore_signals": Entry(
        "timeout",
        NONE,
        "import signal, time\nfor number in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGXCPU):\n"
        "    signal.signal(number, signal.SIG_IGN)\nwhile True:\n    time.sleep(0.01)\n",
    ),
    "attack_5000_threads": Entry(
        "ok",
        NONE,
        "import threading, time\nfor _ in range(5000):\n"
        "    threading.Thread(target=time.sleep, args=(60,), daemon=True).start()\n" + SOLUTION,
    ),
    "attack_fill_the_disk": Entry(
        "output",
        NONE,
        "import os\nfor number in range(100_000):\n"
        "    with open(f'fill-{number}', 'wb') as handle:\n"
        "        handle.write(bytes(2**20))\n" + SOLUTION,
        message="more than 64 MB",
    ),
    "cheat_test_cells_pass": Entry("ok", LOG_DET_ONLY, EXP_MINUS_S, tamper=replace_test_cells_with_pass),
    "cheat_inflated_points": Entry("ok", ALL, tamper=inflate_points),
    # Resource abuse: zero points, the matching status, and the batch goes on.
    "abuse_endless_loop": Entry("timeout", NONE, "while True:\n    pass\n"),
    "abuse_sleep": Entry("timeout", NONE, SOLUTION, prelude="import time\ntime.sleep(1000)\n"),
    "abuse_memory": Entry("memory", NONE, "hog = bytearray(6 * 2**30)\n" + SOLUTION),
    "abuse_torch_memory": Entry("memory", NONE, "hog = torch.ones(2**31, dtype=torch.float64)\n" + SOLUTION),
    "abuse_output_flood": Entry("output", NONE, SOLUTION, prelude="print('x' * (20 * 2**20))\n"),
    # Malformed files.
    "malformed_not_json": Entry("invalid", NONE, raw=b"this is not a notebook", message="not a notebook"),
    "malformed_empty": Entry("invalid", NONE, raw=b"", message="empty"),
    "malformed_truncated": Entry("invalid", NONE, tamper=truncate, message="not valid JSON"),
    "malformed_binary": Entry("invalid", NONE, raw=bytes(range(256)) * 4),
    "malformed_no_cells": Entry("invalid", NONE, raw=b'{"nbformat": 4}', message="no list of cells"),
    "malformed_no_coupling_layer": Entry(
        "invalid",
        NONE,
        raw=json.dumps({"cells": [{"cell_type": "code", "source": "x = 1", "metadata": {}}]}).encode(),
        message="defines no class CouplingLayer",
    ),
    "malformed_syntax_error": Entry("invalid", NONE, "y = x_masked +* (1 - mask)\n", message="syntax error"),
    # Tampered notebooks with a correct answer: graded on the CouplingLayer alone.
    "tampered_tests_deleted": Entry("ok", ALL, tamper=delete_test_cells),
    "tampered_fresh_notebook": Entry("ok", ALL, tamper=fresh_notebook),
    "tampered_reordered": Entry("ok", ALL, tamper=tests_first),
    "tampered_scratch_cells": Entry("ok", ALL, tamper=add_scratch_cells),
    "tampered_one_cell": Entry("ok", ALL, tamper=one_cell),
}


def _indent_of(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def fill_stub(release: nbformat.NotebookNode, answer: str, prelude: str = "", above: str = "") -> nbformat.NotebookNode:
    """The release notebook with the stub replaced by ``answer``, ``prelude`` run in the class body and
    ``above`` in a new cell before the class's."""
    notebook = notebooks.fill_stub(release, notebooks.code_stub(ROOT), answer.strip("\n"))
    (cell,) = [cell for cell in notebook.cells if _is_solution_cell(cell)]
    if above:
        notebook.cells.insert(
            notebook.cells.index(cell), nbformat.v4.new_code_cell(above.strip("\n"), id="student-cell")
        )
    if prelude:
        lines = cell.source.splitlines()
        header = next(i for i, line in enumerate(lines) if line.startswith("class CouplingLayer"))
        lines[header + 1 : header + 1] = textwrap.indent(
            prelude.strip("\n"), _indent_of(lines[header + 1])
        ).splitlines()
        cell.source = "\n".join(lines) + "\n"
    return notebook


def notebook_bytes(entry: Entry, release: nbformat.NotebookNode, targets: Targets) -> bytes:
    if entry.raw is not None:
        return entry.raw
    notebook = fill_stub(release, *(targets.fill(code) for code in (entry.answer, entry.prelude, entry.above)))
    tampered = entry.tamper(notebook) if entry.tamper is not None else notebook
    return tampered if isinstance(tampered, bytes) else json.dumps(tampered, indent=1).encode()


def write_corpus(folder: Path, names: list[str] | None = None, targets: Targets | None = None) -> dict[str, Path]:
    """Write ``<name>.ipynb`` for each entry (all of them by default) into ``folder``.

    Cheats that reach for the grader's files aim at ``folder``'s parent by default, where the
    tests keep the submissions, the output folder and the gradebook.
    """
    targets = targets or Targets(folder.parent)
    release = _release()
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name in names or list(CORPUS):
        paths[name] = folder / f"{name}.ipynb"
        paths[name].write_bytes(notebook_bytes(CORPUS[name], release, targets))
    return paths


def host_processes_with(text: str) -> list[str]:
    """Command lines of the processes on this machine that contain ``text``."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            line = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in line:
            found.append(line)
    return found


@contextmanager
def listener() -> Iterator[int]:
    """A TCP port on 127.0.0.1 that accepts connections (the kernel's backlog does) while the context lasts."""
    with socket.create_server(("127.0.0.1", 0), backlog=128) as server:
        yield server.getsockname()[1]


def grade_corpus(
    work: Path, names: list[str] | None = None, course: Path = ROOT, wrapper: tuple[str, ...] = (), **popen
) -> tuple[subprocess.CompletedProcess, dict[str, dict[str, str]]]:
    """The corpus (or ``names``) written to ``work/submissions`` and graded there through the CLI, two workers
    and a 6 s limit, with a listener for the attacks that connect: the run and ``grades.csv``'s rows by name.

    ``wrapper`` goes before the grader's command (say, tests.docker_like's), and ``popen`` to subprocess.run.
    """
    with listener() as port:
        write_corpus(work / "submissions", names, Targets(work, course, port))
        command = [*popen.pop("python", [sys.executable]), "-m", "autograder", "grade", str(work / "submissions")]
        command += ["--course", str(work), "--out", str(work / "out"), "--workers", "2", "--timeout", "6"]
        run = subprocess.run([*wrapper, *command], capture_output=True, text=True, timeout=900, **popen)
    assert run.returncode == 0, run.stderr
    with (work / "out" / "grades.csv").open() as handle:
        return run, {row["student_id"]: row for row in csv.DictReader(handle)}


def leaked_processes(workdir: Path) -> list[str]:
    """Command lines of processes on this machine that a corpus submission graded in ``workdir`` started."""
    return host_processes_with(Targets(workdir).fill(LEAK_MARKER))


@functools.cache
def _release() -> nbformat.NotebookNode:
    return nbformat.read(RELEASE, as_version=4)


def module_for(answer: str, above: str = "") -> str:
    """The module the grader runs for the release notebook with ``answer`` in place of the stub."""
    return module_source(code_cells(fill_stub(_release(), answer, above=above))).source
