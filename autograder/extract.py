"""From a submitted notebook file to the Python module the grader runs.

Grading reads what the student wrote, not nbgrader's cell metadata: every code
cell is read, in order, whatever its metadata says. The module is a dependency
slice of the notebook's top-level statements: those that define a name the
graded classes (``CouplingLayer`` and ``RealNVP``, which the probe builds) use,
directly or through other kept definitions, in notebook order. An import, an
alias (``EXP = torch.exp``), a computed constant, a helper function or object
is kept when the graded code needs it; a statement that defines nothing the
graded code needs (a training run, a plot, ``torch.manual_seed(0)``, a test
cell, scratch work) is left out, so a hang there costs nothing.

A name the graded code needs but that no readable statement defines is reported
with the reason in words, so a ``NameError`` in the feedback can say why.
"""

from __future__ import annotations

import ast
import builtins
import json
import re
import symtable
from dataclasses import dataclass, field
from pathlib import Path

from IPython.core.inputtransformer2 import TransformerManager

from autograder.wire import AST_LOCK

REQUIRED_CLASS = "CouplingLayer"
GRADED_NAMES = (REQUIRED_CLASS, "RealNVP")  # what probe.py builds from the module's namespace
# Cell magics that run their body as Python in the notebook's namespace.
PYTHON_CELL_MAGICS = ("time", "capture")
_COMPREHENSIONS = ("listcomp", "setcomp", "dictcomp", "genexpr")
_BUILTINS = frozenset(dir(builtins))
_NAME_ERROR = re.compile(r"NameError: name '(\w+)' is not defined")
_MODULE_LINE = re.compile(r"\(in ([\w<>]+), line (\d+)\)")  # where probe.describe_error places an error


class InvalidSubmission(Exception):
    """The file cannot be graded at all; the message says why, in a sentence."""


@dataclass(frozen=True)
class Statement:
    """One top-level statement and the names it binds and reads at module level."""

    cell: str  # which cell, in words
    number: int  # the cell's number among the code cells
    line: int  # the cell's line where the statement starts
    source: str
    binds: frozenset[str]  # names it may (re)bind
    kills: frozenset[str]  # names it always rebinds, so no earlier binding survives it
    immediate: frozenset[str]  # names read while it runs
    deferred: frozenset[str]  # names read later, when the functions it defines are called
    star: bool = False  # ``from m import *``: it may bind any name


@dataclass(frozen=True)
class Unreadable:
    cell: str  # which cell, in words
    source: str
    reason: str  # completes "<cell> ..."


@dataclass(frozen=True)
class SubmissionModule:
    """What the sandbox runs, where each of its lines comes from, and why each name it needs but lacks is missing."""

    source: str
    missing: dict[str, str] = field(default_factory=dict)
    origins: tuple[tuple[int, int, int], ...] = ()  # (module line, code cell, cell line) where each statement starts

    def cell_line(self, line: int) -> tuple[int, int] | None:
        """The ``(code cell, line in the cell)`` of the module's ``line``."""
        for start, cell, cell_line in reversed(self.origins):
            if start <= line:
                return cell, cell_line + line - start
        return None

    def explain(self, error: str) -> str:
        """``error`` in the student's terms: lines of their notebook's cells, and why a name is missing."""
        error = _MODULE_LINE.sub(self._cell_place, error)
        match = _NAME_ERROR.search(error)
        if match is None or match.group(1) not in self.missing:
            return error
        name = match.group(1)
        return f"{error}. The grader could not define {name}: {self.missing[name]}"

    def _cell_place(self, match: re.Match[str]) -> str:
        place = self.cell_line(int(match.group(2)))
        return match.group(0) if place is None else f"(in {match.group(1)}, code cell {place[0]}, line {place[1]})"


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


# --- one statement -----------------------------------------------------------------------------


def _target_names(target: ast.expr) -> set[str]:
    if isinstance(target, ast.Name):
        return {target.id}
    if isinstance(target, ast.Tuple | ast.List):
        return set().union(*(_target_names(element) for element in target.elts))
    if isinstance(target, ast.Starred):
        return _target_names(target.value)
    return set()


def _kills(node: ast.stmt) -> set[str]:
    """Names the statement binds on every run, whatever they were bound to before."""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {node.name}
    if isinstance(node, ast.Assign):
        return set().union(*(_target_names(target) for target in node.targets))
    if isinstance(node, ast.AnnAssign) and node.value is not None:
        return _target_names(node.target)
    if isinstance(node, ast.ImportFrom):
        return {alias.asname or alias.name for alias in node.names}
    if isinstance(node, ast.Import):  # ``import a`` keeps the submodules an earlier ``import a.b`` loaded
        return {alias.asname for alias in node.names if alias.asname}
    return set()


def _base_name(target: ast.expr) -> str | None:
    while isinstance(target, ast.Attribute | ast.Subscript):
        target = target.value
    return target.id if isinstance(target, ast.Name) else None


def _modified(node: ast.stmt) -> set[str]:
    """Names whose object the statement changes: ``X.attr = ...``, ``X[k] += ...``, ``setattr(X, ...)``."""
    targets: list[ast.expr] = []
    if isinstance(node, ast.Assign | ast.Delete):
        targets = list(node.targets)
    elif isinstance(node, ast.AugAssign | ast.AnnAssign):
        targets = [node.target]
    elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        call = node.value
        if isinstance(call.func, ast.Name) and call.func.id in ("setattr", "delattr") and call.args:
            targets = [ast.Attribute(value=call.args[0], attr="", ctx=ast.Store())]
    names = {_base_name(target) for target in targets if isinstance(target, ast.Attribute | ast.Subscript)}
    return {name for name in names if name is not None}


def _reads(table: symtable.SymbolTable, later: bool, immediate: set[str], deferred: set[str]) -> None:
    """Global names read in ``table`` and its children: a function's body runs later, a class body now."""
    for symbol in table.get_symbols():
        if symbol.is_referenced() and (symbol.is_global() or table.get_type() == "module"):
            (deferred if later else immediate).add(symbol.get_name())
    for child in table.get_children():
        runs_later = child.get_type() == "function" and child.get_name() not in _COMPREHENSIONS
        _reads(child, later or runs_later, immediate, deferred)


def _first_line(node: ast.stmt) -> int:
    """A decorated definition starts at its first decorator."""
    return min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])


def _segment(node: ast.stmt, python: str, lines: list[str]) -> str:
    if getattr(node, "decorator_list", []):  # the decorator starts its line: take whole lines
        return "\n".join(lines[_first_line(node) - 1 : node.end_lineno])
    return ast.get_source_segment(python, node) or ""


def _statement(cell: str, number: int, offset: int, node: ast.stmt, python: str, lines: list[str]) -> Statement:
    source = _segment(node, python, lines)
    table = symtable.symtable(source, "cell", "exec")
    binds = {s.get_name() for s in table.get_symbols() if s.is_assigned() or s.is_imported()}
    if isinstance(node, ast.AnnAssign) and node.value is None:
        binds = set()  # ``x: int`` only annotates
    immediate: set[str] = set()
    deferred: set[str] = set()
    _reads(table, False, immediate, deferred)
    if isinstance(node, ast.AugAssign):
        immediate |= _target_names(node.target)
    star = isinstance(node, ast.ImportFrom) and any(alias.name == "*" for alias in node.names)
    return Statement(
        cell,
        number,
        offset + _first_line(node),
        source,
        frozenset(binds | _modified(node)),
        frozenset(_kills(node) & binds),
        frozenset(immediate),
        frozenset(deferred),
        star,
    )


# --- one cell ----------------------------------------------------------------------------------


def _cell_python(cell: str, transformer: TransformerManager) -> tuple[str, int]:
    """The cell as IPython runs it (the body of a ``%%time`` or ``%%capture`` cell runs as Python), and the
    number of the cell's lines before it."""
    lines = cell.splitlines(keepends=True)
    blank = next((index for index, line in enumerate(lines) if line.strip()), len(lines))
    header = lines[blank].strip() if blank < len(lines) else ""
    if header.startswith("%%"):
        magic = header[2:].split(maxsplit=1)[0] if header[2:].strip() else ""
        if magic not in PYTHON_CELL_MAGICS:
            raise ValueError(f"is a %%{magic} cell (those run only in Jupyter, not in plain Python)")
        python, offset = _cell_python("".join(lines[blank + 1 :]), transformer)
        return python, blank + 1 + offset
    return transformer.transform_cell(cell), blank


def _cell_name(number: int, cell: str) -> str:
    """How a student finds the cell: its number among the code cells, and its first line."""
    first = next((line.strip() for line in cell.splitlines() if line.strip()), "")
    return f"code cell {number} (the one that starts `{first[:60]}`)" if first else f"code cell {number}"


def _cell_statements(number: int, cell: str, transformer: TransformerManager) -> list[Statement]:
    """The cell's top-level statements; ``ValueError`` says why the cell cannot be read."""
    name = _cell_name(number, cell)
    try:
        python, offset = _cell_python(cell, transformer)
        tree = ast.parse(python)
        lines = python.splitlines()
        return [_statement(name, number, offset, node, python, lines) for node in tree.body]
    except SyntaxError as error:
        raise ValueError(f"has a syntax error ({error.msg}, line {error.lineno})") from None
    except (RecursionError, MemoryError):
        raise ValueError("is nested too deeply to read") from None


# --- the slice ---------------------------------------------------------------------------------


def _slice(statements: list[Statement], roots: tuple[str, ...]) -> tuple[list[int], dict[str, int]]:
    """The kept statements' indices, and each needed name no statement before its use binds (with that use).

    A name is needed at a point: where a kept statement reads it while running, or at the end (the
    grader's checks run after the whole module). Every binder of it before that point is kept, back to
    the last one that rebinds it whatever came before. A function's body may run wherever the function
    is needed and at the end, so the names it reads are needed at both.
    """
    end = len(statements)
    kept: set[int] = set()
    unbound: dict[str, int] = {}
    todo = [(name, end) for name in roots]
    seen: set[tuple[str, int]] = set()
    while todo:
        name, point = todo.pop()
        if (name, point) in seen:
            continue
        seen.add((name, point))
        found = False
        for index in range(point - 1, -1, -1):
            statement = statements[index]
            if name not in statement.binds and not statement.star:
                continue
            found = True
            kept.add(index)
            todo += [(read, index) for read in statement.immediate]
            todo += [(read, at) for read in statement.deferred for at in {point, end}]
            if name in statement.kills:
                break
        if not found and name not in _BUILTINS:
            unbound[name] = min(point, unbound.get(name, end))
    return sorted(kept), unbound


def _why_missing(name: str, use: int, statements: list[Statement], unreadable: list[Unreadable]) -> str:
    if name == "get_ipython":
        return "IPython magics and shell commands (% and !) do not run when grading; write that line in plain Python"
    binders = [s.cell for s in statements if name in s.binds]
    if binders and use < len(statements):
        return (
            f"{statements[use].cell} uses it before {binders[0]} defines it; "
            "run your notebook from the top (Restart & Run All) to see the same error"
        )
    for cell in unreadable:
        if re.search(rf"\b{re.escape(name)}\b", cell.source):
            return f"it is defined only in {cell.cell}, which {cell.reason}"
    return (
        "no top-level statement of your notebook defines it (names made by exec, globals() or a "
        "function's global statement are not seen by the grader)"
    )


def module_source(cells: list[str]) -> SubmissionModule:
    """The statements the graded classes need, as one module; raise if there is no CouplingLayer."""
    transformer = TransformerManager()
    statements: list[Statement] = []
    unreadable: list[Unreadable] = []
    for number, cell in enumerate(cells, start=1):
        try:
            with AST_LOCK:
                statements += _cell_statements(number, cell, transformer)
        except ValueError as error:
            unreadable.append(Unreadable(_cell_name(number, cell), cell, str(error)))
    if not any(REQUIRED_CLASS in statement.binds for statement in statements):
        problems = "; ".join(f"{cell.cell} {cell.reason}" for cell in unreadable)
        raise InvalidSubmission(
            f"the notebook defines no class {REQUIRED_CLASS}" + (f" ({problems})" if problems else "")
        )
    kept, unbound = _slice(statements, GRADED_NAMES)
    missing = {name: _why_missing(name, use, statements, unreadable) for name, use in unbound.items()}
    origins, line = [], 1
    for index in kept:
        origins.append((line, statements[index].number, statements[index].line))
        line += statements[index].source.count("\n") + 2  # its lines and the blank line after it
    source = "\n\n".join(statements[index].source for index in kept) + "\n"
    return SubmissionModule(source, missing, tuple(origins))


def submission_module(path: Path) -> SubmissionModule:
    """What the sandbox runs for the notebook at ``path``."""
    return module_source(read_cells(path))
