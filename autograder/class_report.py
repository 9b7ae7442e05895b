"""The class's results for the instructor: the summary printed after a run, OUT/report.html and
OUT/class_counts.csv.

The page is self-contained (styles inline, plots as PNG data URIs), so it opens from a
course server, an email attachment or a laptop with no network. Everything on it is
counted from the same rows as grades.csv.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from autograder.checks import PARTS
from autograder.grading import Graded
from autograder.reports import STATUS_WORDS, number
from autograder.staging import Staging

REPORT = "report.html"
COUNTS = "class_counts.csv"
COUNTS_COLUMNS = ("section", "part", "item", "count", "share", "students")
TOP_MISTAKES = 5


@dataclass(frozen=True)
class RunFigures:
    """How the batch was graded, as the page's last section reports it."""

    seconds: float
    workers: int
    timeout_s: float
    memory_mb: int
    isolation_warning: str  # empty when every submission ran isolated under bubblewrap


@dataclass(frozen=True)
class Mistake:
    part: str
    text: str
    students: tuple[str, ...]


def mistakes(rows: list[Graded]) -> list[Mistake]:
    """Every mistake the grader named, most common first, each with the students who made it."""
    students: dict[tuple[str, str], list[str]] = defaultdict(list)
    for row in rows:
        for part in PARTS:
            verdict = row.verdicts.get(part)
            if verdict is not None and not verdict.passed:
                students[(part, verdict.mistake or verdict.hint)].append(row.student_id)
    found = [Mistake(part, text, tuple(ids)) for (part, text), ids in students.items()]
    return sorted(found, key=lambda m: (-len(m.students), PARTS.index(m.part), m.text))


def _by_status(rows: list[Graded]) -> dict[str, list[Graded]]:
    """The submissions that did not run normally, grouped by status."""
    groups: dict[str, list[Graded]] = defaultdict(list)
    for row in rows:
        if row.status != "ok":
            groups[row.status].append(row)
    return dict(sorted(groups.items(), key=lambda item: (-len(item[1]), item[0])))


def _passed(rows: list[Graded], part: str) -> list[str]:
    return [row.student_id for row in rows if (verdict := row.verdicts.get(part)) is not None and verdict.passed]


def _share(count: int, total: int) -> str:
    return f"{count / total:.0%}" if total else "0%"


# --- the printed summary ---------------------------------------------------------------------


def summary(rows: list[Graded]) -> str:
    """Counts per status, the (final) score distribution and the most common mistakes."""
    if not rows:
        return "No submissions found."
    statuses = Counter(row.status for row in rows)
    scores = Counter(row.score for row in rows)
    max_score = number(rows[0].max_score)
    mean = sum(row.score for row in rows) / len(rows)
    lines = [
        f"{len(rows)} submissions: " + ", ".join(f"{count} {status}" for status, count in sorted(statuses.items())),
        f"mean score {mean:.2f} / {max_score}",
        "score distribution: "
        + ", ".join(f"{number(score)}/{max_score} x{count}" for score, count in sorted(scores.items(), reverse=True)),
    ]
    late = [row for row in rows if row.late_penalty]
    if late:
        points = number(sum(row.late_penalty for row in late))
        lines.append(f"late penalties: {len(late)} submissions, {points} points in all")
    common = mistakes(rows)[:TOP_MISTAKES]
    if common:
        lines.append("most common mistakes:")
        lines += [f"  {len(m.students):>4}  {m.part}: {m.text}" for m in common]
    return "\n".join(lines)


def score_table(rows: list[Graded]) -> str:
    """A plain-text table of scores per part, one line per student; the late penalty when any was given."""
    late = any(row.late_penalty for row in rows)
    header = ["student_id", *PARTS, *(["late_penalty"] if late else []), "score", "status"]
    body = [
        [
            row.student_id,
            *(number(row.part_score(part)) for part in PARTS),
            *([number(row.late_penalty or 0)] if late else []),
            number(row.score),
            row.status,
        ]
        for row in rows
    ]
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *body, strict=True)]
    return "\n".join(
        "  ".join(str(cell).ljust(width) for cell, width in zip(line, widths, strict=True)) for line in [header, *body]
    )


# --- class_counts.csv ------------------------------------------------------------------------


def count_rows(rows: list[Graded]) -> list[tuple[str, str, str, int, str, str]]:
    """The page's counts as ``(section, part, item, count, share, students)`` rows."""
    total = len(rows)
    table = []
    by_score: dict[float, list[str]] = defaultdict(list)
    for row in rows:
        by_score[row.score].append(row.student_id)
    for score, ids in sorted(by_score.items(), reverse=True):
        table.append(("score", "", number(score), len(ids), _share(len(ids), total), ";".join(ids)))
    for part in PARTS:
        count = len(_passed(rows, part))
        table.append(("part", part, "passed", count, _share(count, total), ""))
    for mistake in mistakes(rows):
        count = len(mistake.students)
        table.append(("mistake", mistake.part, mistake.text, count, _share(count, total), ";".join(mistake.students)))
    for status, group in _by_status(rows).items():
        ids = [row.student_id for row in group]
        table.append(("status", "", status, len(ids), _share(len(ids), total), ";".join(ids)))
    return table


def counts_text(rows: list[Graded]) -> str:
    handle = io.StringIO(newline="")
    writer = csv.writer(handle)
    writer.writerow(COUNTS_COLUMNS)
    writer.writerows(count_rows(rows))
    return handle.getvalue()


# --- report.html -----------------------------------------------------------------------------


def _png(draw: Callable[[Axes], None], size: tuple[float, float]) -> str:
    """A plot as an <img> with its PNG inline."""
    figure = Figure(figsize=size, dpi=100, layout="constrained")
    draw(figure.subplots())
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="" src="data:image/png;base64,{data}">'


def _histogram(rows: list[Graded]) -> str:
    max_score = rows[0].max_score
    scores = [row.score for row in rows]

    def draw(axes: Axes) -> None:
        edges = [edge - 0.5 for edge in range(int(max_score) + 2)]
        axes.hist(scores, bins=edges, color="#4a78b5", edgecolor="white")
        axes.set_xlabel(f"final score (out of {number(max_score)})")
        axes.set_ylabel("submissions")
        axes.set_xticks(range(int(max_score) + 1))
        axes.yaxis.get_major_locator().set_params(integer=True)

    return _png(draw, (6.4, 3.0))


def _part_bars(rows: list[Graded]) -> str:
    shares = [len(_passed(rows, part)) / len(rows) for part in PARTS]

    def draw(axes: Axes) -> None:
        axes.barh(list(reversed(PARTS)), list(reversed(shares)), color="#2a7f62")
        axes.set_xlim(0, 1)
        axes.set_xlabel("share of submissions that passed")
        for y, share in enumerate(reversed(shares)):
            axes.text(min(share + 0.01, 0.9), y, f"{share:.0%}", va="center")

    return _png(draw, (6.4, 1.8))


def _table(header: tuple[str, ...], body: list[tuple[str, ...]]) -> str:
    head = "".join(f"<th>{html.escape(cell)}</th>" for cell in header)
    lines = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in line) + "</tr>" for line in body)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{lines}</tbody></table>"


def _students(ids: tuple[str, ...] | list[str]) -> str:
    """Each student linked to their feedback page, which is beside this report in feedback/."""
    return ", ".join(f'<a href="feedback/{html.escape(i, quote=True)}.html">{html.escape(i)}</a>' for i in ids)


def _scores_section(rows: list[Graded]) -> str:
    scores = [row.score for row in rows]
    max_score = number(rows[0].max_score)
    figures = (
        f"<p>Mean {statistics.fmean(scores):.2f}, median {number(statistics.median(scores))} "
        f"out of {max_score}; {sum(score == rows[0].max_score for score in scores)} full marks, "
        f"{sum(score == 0 for score in scores)} zero.</p>"
    )
    return f"<h2>Scores</h2>{figures}{_histogram(rows)}"


def _parts_section(rows: list[Graded]) -> str:
    body = []
    for part in PARTS:
        passed = len(_passed(rows, part))
        body.append((html.escape(part), number(rows[0].points[part]), str(passed), _share(passed, len(rows))))
    table = _table(("part", "points", "passed", "share"), body)
    return f"<h2>Parts</h2>{_part_bars(rows)}{table}"


def _mistakes_section(rows: list[Graded]) -> str:
    found = mistakes(rows)
    if not found:
        return "<h2>Mistakes</h2><p>The grader named no mistake: every graded part passed.</p>"
    body = [(html.escape(m.part), html.escape(m.text), str(len(m.students)), _students(m.students)) for m in found]
    intro = "<p>Each failed part, by the mistake the grader named, most common first.</p>"
    return f"<h2>Mistakes</h2>{intro}{_table(('part', 'mistake', 'students', 'who'), body)}"


def _status_section(rows: list[Graded]) -> str:
    groups = _by_status(rows)
    if not groups:
        return "<h2>Submissions that did not run normally</h2><p>None: every submission ran to the end.</p>"
    blocks = []
    for status, group in groups.items():
        words = html.escape(STATUS_WORDS.get(status, status))
        body = [(_students([row.student_id]), html.escape(row.message)) for row in group]
        blocks.append(f"<h3>{html.escape(status)}: {len(group)} ({words})</h3>{_table(('student', 'message'), body)}")
    return "<h2>Submissions that did not run normally</h2>" + "".join(blocks)


def _late_section(rows: list[Graded]) -> str:
    late = [row for row in rows if row.late_penalty]
    if not late:
        return ""
    points = number(sum(row.late_penalty or 0 for row in late))
    return f"<h2>Late submissions</h2><p>{len(late)} submissions lost {points} points in all to late penalties.</p>"


def _figures_section(rows: list[Graded], run: RunFigures) -> str:
    isolation = (
        "each submission ran isolated under bubblewrap (no network, read-only system, its own user)"
        if not run.isolation_warning
        else f"<strong>{html.escape(run.isolation_warning)}</strong>"
    )
    per = run.seconds / len(rows)
    workers = f"{run.workers} worker" + ("s" if run.workers != 1 else "")
    return (
        "<h2>The grader</h2>"
        f"<p>{len(rows)} submissions graded in {run.seconds:.1f} s ({per:.2f} s each) by {workers}, "
        f"with limits of {number(run.timeout_s)} s and {run.memory_mb} MB per submission; {isolation}.</p>"
    )


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>RealNVP coupling layer: class report</title>
<style>
body {{ font-family: sans-serif; max-width: 60em; margin: 2em auto; line-height: 1.45; color: #222; }}
table {{ border-collapse: collapse; margin: .5em 0 1em; }}
th, td {{ border-bottom: 1px solid #ddd; padding: .25em .7em; text-align: left; vertical-align: top; }}
th {{ background: #f4f4f4; }}
img {{ max-width: 100%; }}
</style></head><body>
<h1>RealNVP coupling layer: class report</h1>
<p>{count} submissions. The same counts are in {counts}; each student's row is in grades.csv and their
feedback in feedback/.</p>
{sections}
</body></html>
"""


def report_html(rows: list[Graded], run: RunFigures) -> str:
    if not rows:
        sections = "<p>No submissions were found.</p>"
    else:
        parts = (_scores_section, _parts_section, _mistakes_section, _status_section, _late_section)
        sections = "\n".join([*(section(rows) for section in parts), _figures_section(rows, run)])
    return _PAGE.format(count=len(rows), counts=COUNTS, sections=sections)


def stage_class_report(rows: list[Graded], out: Path, run: RunFigures, staging: Staging) -> list[Path]:
    """``OUT/report.html`` and ``OUT/class_counts.csv``."""
    staging.write_text(out / REPORT, report_html(rows, run))
    staging.write_text(out / COUNTS, counts_text(rows))
    return [out / REPORT, out / COUNTS]
