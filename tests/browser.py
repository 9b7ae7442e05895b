"""Debian's Chromium driven by Playwright (which never downloads a browser of its own here), and the pages
of JupyterLab used through their menus, editor and keys, as a person uses them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Browser, Frame, Page, Playwright

from tests.jupyterlab import JupyterLab

CHROMIUM = Path("/usr/bin/chromium")  # Debian's package `chromium`; .ci/run installs it
# As root there is no sandbox to drop into; the machine has no GPU, and its closed network refuses the
# connections Chromium makes in the background (updates, sync, field trials).
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]  # fmt: skip
VIEWPORT = {"width": 1280, "height": 900}
RUN_TIMEOUT_MS = 240_000  # a whole notebook under NBGRADER_EXECUTION, beside another test worker

# The pictures the browser tests take. The README shows these, from docs/screenshots/:
STUDENT_TODO = "student-todo.png"  # the first test cell, run on the notebook as released
STUDENT_SAMPLES = "student-samples.png"  # after training: the samples, the scores, the density
FORMGRADER = "formgrader.png"  # the assignment's submissions, with their scores
FORMGRADER_SUBMISSION = "formgrader-submission.png"  # a failed test cell as a TA grading by hand sees it
CLASS_REPORT = "class-report.png"
HUB_ASSIGNMENTS = "hub-assignments.png"  # on the hub: the Assignments panel's Validate naming a failed test
HUB_FORMGRADER = "hub-formgrader.png"  # on the hub: the TA's formgrader, in their own JupyterLab
README_PICTURES = (
    STUDENT_TODO, STUDENT_SAMPLES, FORMGRADER, FORMGRADER_SUBMISSION, CLASS_REPORT, HUB_ASSIGNMENTS, HUB_FORMGRADER
)  # fmt: skip
# and these, the whole notebook before and after, are for whoever checks a run: JPEG, and too tall to commit.
STUDENT_AS_RELEASED = "student-as-released.jpg"
STUDENT_AFTER_TRAINING = "student-after-training.jpg"


def launch_chromium(playwright: Playwright) -> Browser:
    if not CHROMIUM.is_file():
        raise RuntimeError(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)")
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)


@dataclass(frozen=True)
class CellView:
    """One cell as the page shows it."""

    kind: str  # "code" or "markdown"
    prompt: str  # "[3]:", "[*]:" while it runs, "[ ]:" when it has not run
    outputs: list[str]  # how each output is shown: its MIME type, or "widget" for an ipywidgets view
    text: str  # the outputs' text, as a person reads it
    images: list[bool]  # one per picture: whether it loaded and has a size
    progress_bars: list[dict[str, str]]  # per ipywidgets progress bar: its fill's width and the text around it

    @property
    def errors(self) -> int:
        """Tracebacks and stderr, which JupyterLab shows on red."""
        return self.outputs.count("application/vnd.jupyter.stderr")

    @property
    def ran(self) -> bool:
        return any(character.isdigit() for character in self.prompt)


_CELL_VIEWS = """() => [...document.querySelectorAll('.jp-Notebook .jp-Cell')].map(cell => ({
  kind: cell.classList.contains('jp-CodeCell') ? 'code' : 'markdown',
  prompt: cell.querySelector('.jp-InputArea-prompt')?.textContent ?? '',
  outputs: [...cell.querySelectorAll('.jp-OutputArea-output')].map(output =>
    output.dataset.mimeType ?? (output.querySelector('.jupyter-widgets') ? 'widget' : '')),
  text: cell.querySelector('.jp-OutputArea')?.innerText ?? '',
  images: [...cell.querySelectorAll('.jp-OutputArea-output img')].map(img => img.complete && img.naturalWidth > 0),
  progress_bars: [...cell.querySelectorAll('.widget-hprogress')].map(bar => ({
    fill: bar.querySelector('.progress-bar')?.style.width ?? '',
    text: bar.parentElement.innerText,
  })),
}))"""

_PROMPTS = "() => [...document.querySelectorAll('.jp-Notebook .jp-InputArea-prompt')].map(p => p.textContent)"
# The status bar names the kernel once it is connected; until then the execution indicator already says idle.
_KERNEL_IDLE = "document.querySelector('#jp-main-statusbar')?.innerText.includes('(ipykernel) | Idle')"
# A run has ended when the kernel is idle, no cell waits ([*]) and the prompts are not those of before it.
_RUN_ENDED = f"""before => {{
  const prompts = ({_PROMPTS})();
  return {_KERNEL_IDLE} && !prompts.some(p => p.includes('*')) && prompts.join() !== before.join();
}}"""


class NotebookPage:
    """A notebook open in JupyterLab."""

    def __init__(self, page: Page) -> None:
        self.page = page

    @classmethod
    def open(cls, browser: Browser, lab: JupyterLab, path: str) -> NotebookPage:
        page = browser.new_page(viewport=VIEWPORT)
        page.goto(lab.url(f"lab/tree/{path}"))
        page.wait_for_function(f"() => {_KERNEL_IDLE}", timeout=RUN_TIMEOUT_MS)
        return cls(page)

    def menu(self, menu: str, item: str) -> None:
        self.page.get_by_role("menuitem", name=menu, exact=True).click()
        self.page.get_by_role("menuitem", name=item, exact=True).click()

    def run_all(self) -> None:
        before = self.page.evaluate(_PROMPTS)
        self.menu("Run", "Run All Cells")
        self._wait_until_run_ends(before)

    def restart_and_run_all(self) -> None:
        before = self.page.evaluate(_PROMPTS)
        self.menu("Kernel", "Restart Kernel and Run All Cells…")
        self.page.locator(".jp-Dialog .jp-mod-accept").click()  # "Restart"
        self._wait_until_run_ends(before)

    def _wait_until_run_ends(self, before: list[str]) -> None:
        self.page.wait_for_function(_RUN_ENDED, arg=before, timeout=RUN_TIMEOUT_MS, polling=250)

    def type_over(self, cell: int, first_line: str, lines: int, typed: list[str]) -> None:
        """Select ``lines`` lines of a cell's code, from the one holding ``first_line`` (after its indentation),
        and type ``typed`` over them, line by line; the editor indents each new line as the one before."""
        editor = self.page.locator(".jp-Notebook .jp-Cell").nth(cell)
        editor.scroll_into_view_if_needed()
        editor.locator(".cm-line", has_text=first_line).click()
        for key in ["End", "Home", *["Shift+ArrowDown"] * (lines - 1), "Shift+End"]:
            self.page.keyboard.press(key)
        for number, line in enumerate(typed):
            if number:
                self.page.keyboard.press("Enter")
            self.page.keyboard.type(line)
        self.page.keyboard.press("Escape")

    def save(self) -> None:
        self.page.keyboard.press("Control+s")
        self.page.wait_for_function("() => !document.querySelector('.lm-TabBar-tab.jp-mod-current.jp-mod-dirty')")

    def cells(self) -> list[CellView]:
        return [CellView(**view) for view in self.page.evaluate(_CELL_VIEWS)]

    @contextmanager
    def whole_notebook_in_view(self) -> Iterator[None]:
        """The left panel closed and the window as tall as the notebook, scrolled to its top."""
        close_left_panel(self.page)
        scroller = self.page.locator(".jp-NotebookPanel .jp-WindowedPanel-outer")
        with taller_window(self.page, scroller.evaluate("e => e.scrollHeight - e.clientHeight")):
            scroller.evaluate("e => e.scrollTo(0, 0)")
            yield

    def screenshot(self, path: Path) -> None:
        with self.whole_notebook_in_view():
            self.page.screenshot(path=path, quality=80 if path.suffix == ".jpg" else None)

    def screenshot_cells(self, path: Path, first: int, last: int | None = None) -> None:
        """The cells ``first`` to ``last`` (indices; ``first`` alone by default), inputs and outputs, in one picture."""
        with self.whole_notebook_in_view():
            cells = self.page.locator(".jp-Notebook .jp-Cell")
            top, bottom = cells.nth(first).bounding_box(), cells.nth(first if last is None else last).bounding_box()
            height = bottom["y"] + bottom["height"] - top["y"]
            clip = {"x": top["x"], "y": top["y"], "width": top["width"], "height": height}
            self.page.screenshot(path=path, clip=clip)


def close_left_panel(page: Page) -> None:
    open_panel = page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current")
    if open_panel.count():
        open_panel.click()  # its icon in the left bar closes it


@contextmanager
def taller_window(page: Page, hidden: int) -> Iterator[None]:
    """The window ``hidden`` pixels taller than usual, so what was scrolled out of view shows."""
    page.set_viewport_size({"width": VIEWPORT["width"], "height": VIEWPORT["height"] + max(hidden, 0)})
    page.wait_for_timeout(500)  # let the layout settle at the new size
    try:
        yield
    finally:
        page.set_viewport_size(VIEWPORT)


def open_formgrader(page: Page) -> Frame:
    """On a page of JupyterLab, its Nbgrader menu, then Formgrader: formgrader's pages open in a frame in a tab."""
    page.get_by_role("menuitem", name="Nbgrader", exact=True).click()
    with page.expect_event("framenavigated", predicate=lambda frame: "/formgrader" in frame.url) as navigated:
        page.get_by_role("menuitem", name="Formgrader", exact=True).click()
    frame = navigated.value
    frame.wait_for_selector("#main-table tr")
    return frame


def nbgrader_menu(page: Page) -> list[str]:
    """The items of JupyterLab's Nbgrader menu, opened and closed again."""
    page.get_by_role("menuitem", name="Nbgrader", exact=True).click()
    items = page.locator(".lm-Menu-content .lm-Menu-itemLabel").all_inner_texts()
    page.keyboard.press("Escape")
    return [item for item in items if item]


def sign_in(browser: Browser, hub_url: str, username: str, password: str) -> Page:
    """JupyterHub's login form filled in and sent, in a browser context of the user's own (cookies are per user)."""
    page = browser.new_context(viewport=VIEWPORT).new_page()
    page.goto(f"{hub_url}/hub/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    return page


def log_in(browser: Browser, hub_url: str, username: str, password: str) -> Page:
    """Signed in, until the user's JupyterLab has loaded."""
    page = sign_in(browser, hub_url, username, password)
    page.wait_for_url(f"**/user/{username}/lab**", timeout=RUN_TIMEOUT_MS)
    page.wait_for_selector("#jp-main-statusbar", timeout=RUN_TIMEOUT_MS)
    return page


# The released list shows its assignments, or the line saying there are none, once the server has answered.
_PANEL_LOADED = """() => [...document.querySelectorAll(
  '#released_assignments_list > .list_item, #released_assignments_list > .list_placeholder'
)].some(element => element.offsetParent !== null)"""


class AssignmentsPanel:
    """nbgrader's Assignments panel in a student's JupyterLab (Nbgrader, then Assignment List)."""

    def __init__(self, page: Page) -> None:
        self.page = page
        page.get_by_role("menuitem", name="Nbgrader", exact=True).click()
        page.get_by_role("menuitem", name="Assignment List", exact=True).click()
        self.root = page.locator("#assignments")
        page.wait_for_function(_PANEL_LOADED)

    def show(self) -> None:
        self.page.get_by_role("tab", name="Assignments").click()

    def released(self) -> list[str]:
        return self.root.locator("#released_assignments_list .list_item .item_name").all_inner_texts()

    def fetch(self, assignment: str) -> None:
        row = self.root.locator("#released_assignments_list .list_item", has_text=assignment)
        row.get_by_role("button", name="Fetch").click()
        self._fetched(assignment).wait_for()

    def _fetched(self, assignment: str):
        return self.root.locator("#fetched_assignments_list > .list_item", has_text=assignment)

    def _notebooks(self, assignment: str):
        """The fetched assignment's notebook rows, shown (its name toggles them)."""
        fetched = self._fetched(assignment)
        rows = fetched.locator(".nested_list_item")
        if not rows.first.is_visible():
            fetched.locator("a.assignment-notebooks-link").click()
            rows.first.wait_for()
        return rows

    def open_notebook(self, assignment: str, notebook: str) -> NotebookPage:
        self._notebooks(assignment).locator(".item_name a", has_text=notebook).click()
        self.page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell")
        self.page.wait_for_function(f"() => {_KERNEL_IDLE}", timeout=RUN_TIMEOUT_MS)
        return NotebookPage(self.page)

    def validate(self, assignment: str, notebook: str) -> str:
        """Click Validate on the notebook; the text of the dialog with nbgrader's verdict, which is then closed."""
        self.show()
        row = self._notebooks(assignment).filter(has_text=notebook)
        row.get_by_role("button", name="Validate").click()
        dialog = self.page.locator(".jp-Dialog")
        dialog.wait_for(timeout=RUN_TIMEOUT_MS)
        text = dialog.locator(".jp-Dialog-body").inner_text()
        return text

    def close_dialog(self) -> None:
        self.page.locator(".jp-Dialog .jp-mod-accept").click()

    def submit(self, assignment: str) -> None:
        self.show()
        before = self.submitted().count(assignment)
        self._fetched(assignment).get_by_role("button", name="Submit").click()
        self.page.wait_for_function(
            "([name, before]) => [...document.querySelectorAll('#submitted_assignments_list .list_item')]"
            ".filter(item => item.innerText.includes(name)).length > before", arg=[assignment, before],
            timeout=RUN_TIMEOUT_MS,
        )  # fmt: skip

    def submitted(self) -> list[str]:
        return self.root.locator("#submitted_assignments_list .list_item .item_name").all_inner_texts()

    def fetch_feedback(self, assignment: str, notebook: str) -> str:
        """Fetch Feedback, then "(view feedback)", which opens its folder in the file browser, then a double click
        on the notebook's page: the text JupyterLab's HTML viewer shows."""
        self.show()
        row = self.root.locator("#submitted_assignments_list .list_item", has_text=assignment).first
        row.get_by_role("button", name="Fetch Feedback").click()
        link = self.root.locator("#submitted_assignments_list a", has_text="view feedback")
        link.wait_for(timeout=RUN_TIMEOUT_MS)
        link.click()
        self.page.locator(".jp-DirListing-item", has_text=f"{notebook}.html").dblclick()
        page = self.page.frame_locator(".jp-HTMLViewer iframe").locator("body")
        page.locator("p").first.wait_for(timeout=RUN_TIMEOUT_MS)  # the viewer fills its frame after it opens
        return page.inner_text()


def screenshot_formgrader(page: Page, frame: Frame, path: Path) -> None:
    """The formgrader tab with the left panel closed and its whole page in view."""
    close_left_panel(page)
    with taller_window(page, frame.evaluate("document.documentElement.scrollHeight - window.innerHeight")):
        page.screenshot(path=path)
