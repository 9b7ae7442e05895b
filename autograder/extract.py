"""From a submitted notebook file to the Python module the grader runs.

Grading reads what the student wrote, not nbgrader's cell metadata: every
code cell is considered, in order, whatever its metadata says, and only the
top-level definitions are kept (imports, functions, classes and assignments of
literal values). Training loops, plots and test cells are left out, so a
notebook with deleted, edited, reordered or extra cells is graded on its
``CouplingLayer`` alone.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

from IPython.core.inputtransformer2 import TransformerManager

from autograder.wire import AST_LOCK

REQUIRED_CLASS = "CouplingLayer"
_DEFINITIONS = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


class InvalidSubmission(Exception):
    """The file cannot be graded at all; the message says why, in a sentence."""


def read_cells(path: Path) -> list[str]:
    """The sources of the notebook's code cells, in order."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidSubmission(f"the file could not be read: {error}") from None
    if not text.strip():
        raise InvalidSubmission("the file is empty")
    try:
        notebook = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidSubmission(
            f"the file is not a notebook (not valid JSON: {error.msg}, line {error.lineno})"
        ) from None
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    if not isinstance(cells, list):
        raise InvalidSubmission("the file is JSON but not a Jupyter notebook (it has no list of cells)")
    sources = []
    for cell in cells:
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            source = cell.get("source", "")
            sources.append("".join(source) if isinstance(source, list) else str(source))
    return sources


def _is_literal(node: ast.Assign | ast.AnnAssign) -> bool:
    """A value spelled out in the code: it cannot train, plot or depend on what was left out."""
    if node.value is None:
        return True
    try:
        ast.literal_eval(node.value)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def _kept(node: ast.stmt) -> bool:
    if isinstance(node, _DEFINITIONS):
        return True
    return isinstance(node, ast.Assign | ast.AnnAssign) and _is_literal(node)


def _kept_sources(tree: ast.Module, lines: list[str]) -> list[str]:
    """The source lines of the cell's kept top-level statements, decorators included."""
    kept = []
    for node in tree.body:
        if _kept(node):
            start = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
            kept.append("\n".join(lines[start - 1 : node.end_lineno]))
    return kept


def module_source(cells: list[str]) -> str:
    """The top-level definitions of all cells as one module; raise if there is no CouplingLayer."""
    transformer = TransformerManager()
    kept: list[str] = []
    problems: list[str] = []
    for number, cell in enumerate(cells, start=1):
        try:
            with AST_LOCK:
                python = transformer.transform_cell(cell)
                tree = ast.parse(python)
                kept += _kept_sources(tree, python.splitlines())
        except (SyntaxError, ValueError) as error:
            problems.append(f"code cell {number} has a syntax error: {getattr(error, 'msg', error)}")
        except (RecursionError, MemoryError):
            problems.append(f"code cell {number} is nested too deeply to read")
    source = "\n\n".join(kept) + "\n"
    with AST_LOCK:
        defined = {node.name for node in ast.parse(source).body if isinstance(node, ast.ClassDef)}
    if REQUIRED_CLASS not in defined:
        detail = f" ({'; '.join(problems)})" if problems else ""
        raise InvalidSubmission(f"the notebook defines no class {REQUIRED_CLASS}{detail}")
    return source


def submission_module(path: Path) -> str:
    """What the sandbox runs for the notebook at ``path``."""
    return module_source(read_cells(path))
