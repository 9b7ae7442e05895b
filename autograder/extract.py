"""From a submitted notebook file to the Python module the grader runs.

The grader judges the student's code as stock ``nbgrader autograde`` does: as it stands when the last test
cell runs. Code cells are read in order, whatever else their metadata says, up to and including the last test
cell (a code cell whose nbgrader metadata has ``grade`` true and not ``solution``); the code cells after it (an
experiment that redefines ``CouplingLayer``, the training run, plots) do not count. The metadata is the
student's to change, so it only places that cut, and a notebook counts whole when the cut cannot be the
homework's: when no code cell is a test cell (the code pasted into a fresh notebook or into one cell, the test
cells deleted; malformed metadata marks no test cell), and when no statement up to the last test cell defines
``CouplingLayer`` (the test cells moved above the code). Copying a test cell to the end moves the cut there.

The module is a dependency slice of the counted top-level statements: those that define a name the graded
classes (``CouplingLayer`` and ``RealNVP``, which the probe builds) use, directly or through other kept
definitions, in notebook order. An import, an alias (``EXP = torch.exp``), a computed constant, a helper
function or object is kept when the graded code needs it; a statement that defines nothing the graded code
needs (a training run, a plot, ``torch.manual_seed(0)``, a test cell, scratch work) is left out, so a hang
there costs nothing. A top-level statement that calls a top-level function (``setup()``) defines the names
that function, or a top-level function it calls, sets through a ``global`` statement, so
``def setup(): global SCALE_FN; SCALE_FN = torch.exp`` and the call are both kept when ``SCALE_FN`` is needed.

A name the graded code needs but that no counted statement defines is reported with the reason in words, so a
``NameError`` in the feedback can say why.
"""

from __future__ import annotations

import ast
import builtins
import json
import re
import symtable
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
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
    function: str = ""  # the name a top-level ``def`` defines
    sets: frozenset[str] = frozenset()  # the names that function's body assigns through ``global``


@dataclass(frozen=True)
class Unreadable:
    cell: str  # which cell, in words
    number: int  # the cell's number among the code cells
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


@dataclass(frozen=True)
class CodeCell:
    """One code cell: its source, and whether nbgrader's metadata marks it a test cell."""

    source: str
    test: bool = False


def _is_test_cell(cell: dict) -> bool:
    """nbgrader's test cell: graded (``grade``) and not an answer (``solution``). Any malformed metadata: no."""
    metadata = cell.get("metadata")
    nbgrader = metadata.get("nbgrader") if isinstance(metadata, dict) else None
    return isinstance(nbgrader, dict) and bool(nbgrader.get("grade")) and not nbgrader.get("solution")


def code_cells(notebook: object) -> list[CodeCell]:
    """The code cells of a notebook read from JSON, in order."""
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    if not isinstance(cells, list):
        raise InvalidSubmission("the file is JSON but not a Jupyter notebook (it has no list of cells)")
    found = []
    for cell in cells:
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            source = cell.get("source", "")
            source = "".join(map(str, source)) if isinstance(source, list) else str(source)
            found.append(CodeCell(source, _is_test_cell(cell)))
    return found


def read_cells(path: Path) -> list[CodeCell]:
    """The notebook's code cells, in order."""
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
    except RecursionError:
        raise InvalidSubmission("the file is not a notebook (its JSON is nested too deeply to read)") from None
    return code_cells(notebook)


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


def _global_assigns(table: symtable.SymbolTable) -> set[str]:
    """Names that ``table`` and the scopes inside it declare ``global`` and assign or import."""
    names = {
        symbol.get_name()
        for symbol in table.get_symbols()
        if symbol.is_declared_global() and (symbol.is_assigned() or symbol.is_imported())
    }
    return names.union(*(_global_assigns(child) for child in table.get_children()))


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
    function, sets = "", set()
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        function = node.name
        sets = set().union(*(_global_assigns(child) for child in table.get_children() if child.get_name() == function))
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
        function,
        frozenset(sets),
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


def _with_calls(statements: list[Statement]) -> list[Statement]:
    """``statements``, where one that reads a top-level function while running also binds the names the
    function sets through ``global``: those its body assigns, and those the top-level functions it reads set."""
    effects: dict[str, set[str]] = {}
    for statement in statements:
        if statement.function:
            effects.setdefault(statement.function, set()).update(statement.sets)
    changed = True
    while changed:
        changed = False
        for statement in statements:
            if statement.function:
                through = set().union(*(effects.get(read, set()) for read in statement.deferred))
                if not through <= effects[statement.function]:
                    effects[statement.function] |= through
                    changed = True
    called = []
    for statement in statements:
        sets = set().union(*(effects.get(read, set()) for read in statement.immediate))
        called.append(replace(statement, binds=statement.binds | sets) if sets else statement)
    return called


def _last_counted_cell(cells: list[CodeCell], statements: list[Statement]) -> int:
    """The number of the last code cell that counts: the last test cell, or the last cell when the
    notebook counts whole (no test cell, or no ``CouplingLayer`` up to the last one)."""
    last_test = max((number for number, cell in enumerate(cells, start=1) if cell.test), default=len(cells))
    if any(REQUIRED_CLASS in s.binds for s in statements if s.number <= last_test):
        return last_test
    return len(cells)


def _mentions(cell: Unreadable, name: str) -> bool:
    return re.search(rf"\b{re.escape(name)}\b", cell.source) is not None


def _why_missing(
    name: str, use: int, statements: list[Statement], unreadable: list[Unreadable], below: list[Statement | Unreadable]
) -> str:
    """Why no counted statement before ``use`` binds ``name``; ``below``: the cells after the last test cell."""
    if name == "get_ipython":
        return "IPython magics and shell commands (% and !) do not run when grading; write that line in plain Python"
    binders = [s.cell for s in statements if name in s.binds]
    if binders and use < len(statements):
        return (
            f"{statements[use].cell} uses it before {binders[0]} defines it; "
            "run your notebook from the top (Restart & Run All) to see the same error"
        )
    for cell in unreadable:
        if _mentions(cell, name):
            return f"it is defined only in {cell.cell}, which {cell.reason}"
    for later in below:
        if _mentions(later, name) if isinstance(later, Unreadable) else name in later.binds | later.sets:
            return (
                f"it is defined only in {later.cell}, below the last test cell; the grader, like nbgrader, "
                "grades your code as it stands when the last test cell runs"
            )
    setters = [s for s in statements if name in s.sets]
    if setters:
        function = f"{setters[0].function}()"
        return (
            f"it is set only by a global statement in {function}, in {setters[0].cell}, and no top-level "
            f"statement of your notebook calls {function}, directly or through another top-level function"
        )
    return (
        "no top-level statement of your notebook defines it "
        "(names made by exec or globals() are not seen by the grader)"
    )


def module_source(cells: Sequence[str | CodeCell]) -> SubmissionModule:
    """The statements the graded classes need, as one module; raise if there is no CouplingLayer.

    A cell given as a string is a code cell without nbgrader's metadata.
    """
    code = [cell if isinstance(cell, CodeCell) else CodeCell(cell) for cell in cells]
    transformer = TransformerManager()
    statements: list[Statement] = []
    unreadable: list[Unreadable] = []
    for number, cell in enumerate(code, start=1):
        try:
            with AST_LOCK:
                statements += _cell_statements(number, cell.source, transformer)
        except ValueError as error:
            unreadable.append(Unreadable(_cell_name(number, cell.source), number, cell.source, str(error)))
    if not any(REQUIRED_CLASS in statement.binds for statement in statements):
        problems = "; ".join(f"{cell.cell} {cell.reason}" for cell in unreadable)
        raise InvalidSubmission(
            f"the notebook defines no class {REQUIRED_CLASS}" + (f" ({problems})" if problems else "")
        )
    last = _last_counted_cell(code, statements)
    counted = sum(statement.number <= last for statement in statements)  # statements are in cell order
    below = [*_with_calls(statements)[counted:], *(cell for cell in unreadable if cell.number > last)]
    statements = _with_calls(statements[:counted])
    unreadable = [cell for cell in unreadable if cell.number <= last]
    kept, unbound = _slice(statements, GRADED_NAMES)
    missing = {name: _why_missing(name, use, statements, unreadable, below) for name, use in unbound.items()}
    origins, line = [], 1
    for index in kept:
        origins.append((line, statements[index].number, statements[index].line))
        line += statements[index].source.count("\n") + 2  # its lines and the blank line after it
    source = "\n\n".join(statements[index].source for index in kept) + "\n"
    return SubmissionModule(source, missing, tuple(origins))


def submission_module(path: Path) -> SubmissionModule:
    """What the sandbox runs for the notebook at ``path``."""
    return module_source(read_cells(path))
