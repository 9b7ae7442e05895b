"""The README's pictures: the browser tests' screenshots, committed where the README shows them."""

import re
import subprocess

from tests.browser import README_PICTURES
from tests.conftest import ROOT

FOLDER = "docs/screenshots"
SIGNATURES = {".png": b"\x89PNG\r\n\x1a\n", ".jpg": b"\xff\xd8\xff"}


def readme_pictures() -> set[str]:
    """Every docs/screenshots/ file the README shows (![...](...)) or links ([...](...))."""
    return set(re.findall(rf"\]\(({FOLDER}/[^)\s]+)\)", (ROOT / "README.md").read_text()))


def test_the_readme_shows_the_browser_tests_pictures_and_no_other():
    assert readme_pictures() == {f"{FOLDER}/{name}" for name in README_PICTURES}


def test_every_picture_of_the_readme_is_committed_and_is_a_picture():
    committed = subprocess.run(
        ["git", "ls-files", FOLDER], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    for picture in sorted(readme_pictures()):
        assert picture in committed, f"{picture} is not committed: run `make screenshots` and commit it"
        content = (ROOT / picture).read_bytes()
        suffix = picture[picture.rindex(".") :]
        assert content.startswith(SIGNATURES[suffix]), f"{picture} is not a {suffix} picture"
        assert len(content) > 20_000, f"{picture} is too small to be a screenshot"
