"""The course site (`make site`): built from a clean copy of the checkout, read as a learner reads it.

The build runs `make site-html` (the recipe `make site` runs) on a copy of the files git tracks or
would add (nothing ignored, no earlier build), with MathJax from Debian's libjs-mathjax so the
formulas typeset offline. `../shared/tools/look` then reads every page in headless Chromium and
must report nothing: no formula MathJax could not typeset. That it would report a broken formula on
these pages is shown on a copy of one; no page may show a saved stderr stream or error either. Playwright checks what the pages offer:
the lessons in order with next-links through them, Binder and Colab buttons on every page, search.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.links import repository

ROOT = Path(__file__).resolve().parent.parent
LOOK = ROOT.parent / "shared" / "tools" / "look"
CHROMIUM = "/usr/bin/chromium"
MATHJAX = Path("/usr/share/javascript/mathjax/MathJax.js")
MATHJAX_URL = f"file://{MATHJAX}?config=TeX-AMS_CHTML-full"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--allow-file-access-from-files"]
NOTEBOOKS = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))

for missing, reason in [
    (not LOOK.is_file(), f"no {LOOK}: the shared page checker is not beside the checkout"),
    (not os.access(CHROMIUM, os.X_OK), f"no Chromium at {CHROMIUM}: install Debian's chromium (.ci/run does)"),
    (not MATHJAX.is_file(), f"no {MATHJAX}: install Debian's libjs-mathjax and fonts-mathjax (.ci/run does)"),
    (shutil.which("make") is None, "no make: the site is built by `make site-html`"),
]:
    if missing:
        pytest.skip(reason, allow_module_level=True)


def clean_copy(dest):
    """The checkout's files that git tracks or would add, copied to ``dest``: no build output, no .venv."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():  # a tracked file deleted in the working tree is not copied
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    base = tmp_path_factory.mktemp("site")
    checkout, out = clean_copy(base / "checkout"), base / "html"
    env = dict(os.environ, SITE_MATHJAX=MATHJAX_URL)
    build = subprocess.run(["make", "-s", "site-html", f"VENV={sys.prefix}", f"SITE_OUT={out}"],
                           cwd=checkout, env=env, capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, f"make site-html failed:\n{build.stdout}\n{build.stderr}"
    return out


def pages(site):
    return [site / "site" / "index.html", *(site / "notebooks" / f"{name}.html" for name in NOTEBOOKS),
            site / "notebooks" / "glossary.html"]


def look(*paths):
    """../shared/tools/look on pages read in place (LOOK_OUT is their folder), without pictures."""
    results = []
    for path in paths:
        run = subprocess.run([str(LOOK), str(path)], cwd=ROOT, capture_output=True, text=True, timeout=300,
                             env=dict(os.environ, LOOK_PAGES="0", LOOK_OUT=str(path.parent)))
        results.append((run.returncode, run.stdout + run.stderr))
    return results


def test_every_lesson_and_the_glossary_are_built(site):
    for page in pages(site):
        assert page.is_file(), f"{page.relative_to(site)} was not built"
    assert 'url=site/index.html' in (site / "index.html").read_text(), "the site's root does not lead to the course"


def test_look_reports_nothing_on_any_page(site):
    for (code, report), page in zip(look(*pages(site)), pages(site)):
        findings = [line for line in report.splitlines() if line.startswith("  ")]
        assert code == 0 and not findings, f"look on {page.relative_to(site)}:\n{report}"


# MyST-NB's classes for a saved stderr stream and a saved error (look knows nbconvert's markup only).
SAVED_ERROR = re.compile(r'<div class="output (stderr|traceback)\b')


def test_no_page_shows_saved_stderr_or_an_error(site):
    assert SAVED_ERROR.search('<div class="output stderr highlight-myst-ansi notranslate"><div class="highlight">')
    for page in pages(site):
        found = SAVED_ERROR.findall(page.read_text(encoding="utf-8"))
        assert not found, f"{page.relative_to(site)} shows {len(found)} saved stderr or error outputs"


def test_the_formulas_are_typeset_not_left_as_tex(site):
    """look's formula check counts only what MathJax typeset: every formula of 01 must be typeset."""
    dom = subprocess.run([CHROMIUM, *CHROMIUM_FLAGS, "--virtual-time-budget=30000", "--dump-dom",
                          (site / "notebooks" / f"{NOTEBOOKS[0]}.html").as_uri()],
                         capture_output=True, text=True, timeout=120).stdout
    formulas = len(re.findall(r'<script type="math/tex', dom))
    typeset = len(re.findall(r'class="mjx-chtml', dom))
    assert formulas > 50 and typeset >= formulas, (formulas, typeset)


def test_look_reports_a_broken_formula_on_such_a_page(site):
    first = site / "notebooks" / f"{NOTEBOOKS[0]}.html"
    broken = first.with_name("broken-formula.html")
    html, count = re.subn(r'(<span class="math notranslate nohighlight">)\\\(.*?\\\)', r"\1\\(\\frac{1}{\\)",
                          first.read_text(encoding="utf-8"), count=1)
    assert count == 1
    broken.write_text(html, encoding="utf-8")
    (code, report), = look(broken)
    assert code == 1 and "math error" in report, report


def test_pages_link_in_order_launch_and_search(site):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    repo = repository(ROOT)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page()
            errors = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto((site / "site" / "index.html").as_uri())
            expected = [f"../notebooks/{name}.html" for name in [*NOTEBOOKS, "glossary"]]
            for where in ["article", ".bd-sidebar-primary"]:  # the front page's list, the sidebar's
                links = page.locator(f"{where} a.reference.internal")
                hrefs = links.evaluate_all("links => links.map(a => a.getAttribute('href'))")
                assert hrefs == expected, (where, hrefs)

            # From the front page, "next" walks through every lesson in order, then the glossary.
            for name in ["index", *NOTEBOOKS, "glossary"]:
                if name != "index":
                    page.locator("a.right-next").click()
                    assert page.url.endswith(f"/notebooks/{name}.html"), (name, page.url)
                # A large lesson page can still be loading after the click: wait for its launch links.
                page.wait_for_load_state("load")
                page.locator(".dropdown-launch-buttons a").first.wait_for(state="attached", timeout=60_000)
                launch = {a.inner_text().strip(): a.get_attribute("href")
                          for a in page.locator(".dropdown-launch-buttons a").all()}
                notebook = f"notebooks/{name if name in NOTEBOOKS else NOTEBOOKS[0]}.ipynb"  # others open 01
                assert launch.keys() == {"Binder", "Colab"}, (name, launch)
                assert launch["Binder"].startswith(f"https://mybinder.org/v2/gh/{repo}/main?"), launch
                assert notebook in launch["Binder"].replace("%2F", "/"), launch
                assert launch["Colab"] == f"https://colab.research.google.com/github/{repo}/blob/main/{notebook}"

            page.goto((site / "search.html").as_uri() + "?q=hinge")
            found = page.locator("#search-results li a")
            sync_api.expect(found.first).to_be_visible(timeout=30_000)
            titles = found.all_inner_texts()
            assert any(title.startswith("SVMs in Keras, 1:") for title in titles), titles
            assert not errors, errors
        finally:
            browser.close()
