"""JupyterLab, the Quick start's first door, driven in a real browser.

`jupyter lab` starts from the checkout with `make lab`'s own command line (read with `make -n`),
on a free local port with a token, in smoke mode (SVM_TUTORIAL_SMOKE=1). Headless Chromium,
driven by Playwright, opens notebook 01 and works it as a learner would: the Setup heading is
folded, the outputs are cleared from the Edit menu, the Setup cells and the first lesson cells run
from the Run menu, and the C/gamma explorer (`interactive = True`) answers a slider move. Any error
output, stderr output or page error fails the check; a copy of 01 with a cell that raises shows it.

The browser is Debian's `chromium` (`.ci/run` installs it), never one Playwright downloads.
Autosave is off and checkpoints go to a temporary folder: the committed notebook is left as it was.
"""

import contextlib
import copy
import hashlib
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = "notebooks/01_svm_theory.ipynb"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LESSON_CODE_CELLS = 2  # the first lesson cells run after Setup: section 1's figure, section 2's C table
RUN_TIMEOUT_MS = 240_000  # kernel start and TensorFlow's import included, on a busy 2-core machine

if not os.access(CHROMIUM, os.X_OK):
    pytest.skip(f"no Chromium at {CHROMIUM}: install Debian's chromium (apt-get install chromium; "
                ".ci/run does) to drive JupyterLab in a browser", allow_module_level=True)
if shutil.which("make") is None:
    pytest.skip("no make: this test starts JupyterLab with `make lab`'s command", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (requirements-test.txt)")


# ---------------------------------------------------------------------------------------------
# The notebook's structure, found by content so the check follows edits of 01


def _source(cell):
    return "".join(cell["source"])


def lesson_plan(notebook):
    """Indices of the Setup heading, the cells it folds, the first lesson code cells, and the explorer.

    The explorer is the code cell that builds ``widgets.interactive``; before it runs, the cell that
    defines ``rbf_street`` (which it calls) runs, and ``interactive = True`` is typed above that one.
    """
    cells = notebook["cells"]
    heading = next(i for i, c in enumerate(cells) if c["cell_type"] == "markdown" and _source(c).startswith("## Setup"))
    lesson = next(i for i in range(heading + 1, len(cells))
                  if cells[i]["cell_type"] == "markdown" and _source(cells[i]).startswith("## "))
    setup = [i for i in range(heading + 1, lesson) if cells[i]["cell_type"] == "code"]
    first = [i for i in range(lesson, len(cells)) if cells[i]["cell_type"] == "code"][:LESSON_CODE_CELLS]
    explorer = next(i for i, c in enumerate(cells) if c["cell_type"] == "code" and "widgets.interactive(" in _source(c))
    streets = next(i for i, c in enumerate(cells) if c["cell_type"] == "code" and "def rbf_street(" in _source(c))
    return dict(heading=heading, setup=setup, first=first, streets=streets, explorer=explorer)


# ---------------------------------------------------------------------------------------------
# Server and browser, always stopped


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_lab_command(root):
    """`make lab`'s JupyterLab command line, as make prints it (the environment is this test's)."""
    printed = subprocess.run(["make", "-s", "-n", "lab", f"VENV={sys.prefix}"], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout
    lines = [line for line in printed.splitlines() if "jupyter lab" in line]
    assert len(lines) == 1, f"make -n lab printed no single `jupyter lab` line:\n{printed}"
    return shlex.split(lines[0])


@contextlib.contextmanager
def lab_server(root, scratch):
    """JupyterLab serving ``root`` as `make lab` does; yields (base URL, token); always stopped."""
    port, token = free_port(), secrets.token_hex(16)
    settings = scratch / "settings" / "@jupyterlab"
    for plugin, values in {"docmanager-extension/plugin": {"autosave": False},
                           "apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False}}.items():
        path = settings / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    env = dict(os.environ, SVM_TUTORIAL_SMOKE="1", TF_CPP_MIN_LOG_LEVEL="3",
               JUPYTERLAB_SETTINGS_DIR=str(scratch / "settings"), JUPYTERLAB_WORKSPACES_DIR=str(scratch / "workspaces"),
               JUPYTER_RUNTIME_DIR=str(scratch / "runtime"))
    command = make_lab_command(root) + [
        "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}", f"--FileCheckpoints.checkpoint_dir={scratch / 'checkpoints'}",
    ]
    log = open(scratch / "jupyter.log", "w")
    server = subprocess.Popen(command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                assert server.poll() is None, f"jupyter lab exited ({server.returncode}):\n{(scratch / 'jupyter.log').read_text()}"
                assert time.monotonic() < deadline, "jupyter lab did not answer within 90 s"
                time.sleep(0.5)
        yield base, token
    finally:
        with contextlib.suppress(OSError, ValueError):  # kernels first: they run in sessions of their own
            kernels = json.load(urllib.request.urlopen(f"{base}/api/kernels?token={token}", timeout=5))
            for kernel in kernels:
                request = urllib.request.Request(f"{base}/api/kernels/{kernel['id']}?token={token}", method="DELETE")
                urllib.request.urlopen(request, timeout=30)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(10)
        log.close()


@contextlib.contextmanager
def chromium_page():
    """A page of headless Chromium that records page errors; the browser is always closed."""
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.page_errors = []
            page.on("pageerror", lambda error: page.page_errors.append(str(error)))
            yield page
        finally:
            browser.close()


# ---------------------------------------------------------------------------------------------
# The check


def _prompt(cell):
    return cell.locator(".jp-InputArea-prompt").first.inner_text().strip()


def _wait_for_prompt(page, cell, count, what):
    """Until ``cell`` shows ``[count]:``; an error output anywhere stops the wait at once."""
    deadline = time.monotonic() + RUN_TIMEOUT_MS / 1000
    while _prompt(cell) != f"[{count}]:":
        _assert_no_error_output(page)
        assert time.monotonic() < deadline, f"{what} did not finish: its prompt shows {_prompt(cell)!r}"
        time.sleep(0.5)


def _assert_no_error_output(page):
    """Errors and stderr streams both render as application/vnd.jupyter.stderr in JupyterLab."""
    shown = page.locator('.jp-NotebookPanel .jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
    texts = [text.strip()[:300] for text in shown.all_inner_texts()]
    assert not texts, f"error output in the notebook: {texts}"


def _run_menu(page, item):
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name=item, exact=True).click()


def check_lesson_in_lab(page, base, token, plan, saved):
    """Work notebook 01 in JupyterLab; an AssertionError names the first thing that went wrong."""
    page.goto(f"{base}/lab/tree/{NOTEBOOK}?token={token}")
    cells = page.locator(".jp-NotebookPanel .jp-Cell")
    sync_api.expect(cells).to_have_count(len(saved["cells"]), timeout=60_000)
    indicator = page.locator(".jp-NotebookPanel .jp-Notebook-ExecutionIndicator")
    sync_api.expect(indicator).to_have_attribute("data-status", "idle", timeout=RUN_TIMEOUT_MS)

    heading = cells.nth(plan["heading"])
    assert "jp-MarkdownHeadingCollapsed" in heading.get_attribute("class"), "the Setup heading opens unfolded"
    sync_api.expect(heading.locator(".jp-collapseHeadingButton")).to_have_class(re.compile(r"\bjp-mod-collapsed\b"))
    assert not any(cells.nth(i).is_visible() for i in plan["setup"]), "Setup's cells show under its folded heading"

    page.get_by_role("menuitem", name="Edit", exact=True).click()
    page.get_by_role("menuitem", name="Clear Outputs of All Cells", exact=True).click()
    sync_api.expect(page.locator(".jp-NotebookPanel .jp-OutputArea-output")).to_have_count(0)

    ran = plan["setup"] + plan["first"]
    cells.nth(ran[-1] + 1).locator(".jp-InputArea-prompt").click()  # the cell after the last one to run
    _run_menu(page, "Run All Above Selected Cell")
    for count, index in enumerate(ran, start=1):
        _wait_for_prompt(page, cells.nth(index), count, f"cell {index}")
    sync_api.expect(indicator).to_have_attribute("data-status", "idle", timeout=RUN_TIMEOUT_MS)
    _assert_no_error_output(page)
    for index in ran:
        if saved["cells"][index]["outputs"]:
            outputs = cells.nth(index).locator(".jp-OutputArea-output")
            assert outputs.count() > 0, f"cell {index} ran but shows no output (the committed run has some)"
    assert cells.nth(plan["first"][0]).locator(".jp-OutputArea-output img").count() > 0, \
        "section 1's hinge-loss figure did not appear"

    # The explorer: `interactive = True` typed in a new cell above the cell it needs, then both run.
    cells.nth(plan["streets"]).locator(".jp-InputArea-prompt").click()
    page.keyboard.press("Escape")
    page.keyboard.press("a")
    page.keyboard.press("Enter")
    page.keyboard.type("interactive = True")
    for _ in range(3):  # the new cell, rbf_street's, the explorer's (the indices move down by one)
        page.keyboard.press("Shift+Enter")
    explorer = cells.nth(plan["explorer"] + 1)
    _wait_for_prompt(page, explorer, len(ran) + 3, "the explorer cell")
    sync_api.expect(indicator).to_have_attribute("data-status", "idle", timeout=RUN_TIMEOUT_MS)
    _assert_no_error_output(page)
    sliders = explorer.locator(".widget-slider")
    sync_api.expect(sliders).to_have_count(2, timeout=30_000)
    readout = sliders.first.locator(".widget-readout")
    drawn = explorer.locator(".jp-OutputArea-output .jp-OutputArea-output")  # the widget's own output area
    sync_api.expect(drawn.locator("img")).to_have_count(1, timeout=60_000)
    sync_api.expect(drawn.filter(has_text="margin violations")).to_have_count(1, timeout=60_000)
    before_value, before_text = readout.inner_text(), drawn.all_inner_texts()

    sliders.first.locator(".noUi-handle").focus()
    page.keyboard.press("ArrowRight")  # one step of C: 10^0.25 times larger
    sync_api.expect(readout).not_to_have_text(before_value, timeout=30_000)
    deadline = time.monotonic() + 60
    while drawn.all_inner_texts() == before_text or drawn.locator("img").count() != 1:
        assert time.monotonic() < deadline, "the explorer did not redraw after the slider moved"
        time.sleep(0.5)
    sync_api.expect(indicator).to_have_attribute("data-status", "idle", timeout=RUN_TIMEOUT_MS)
    _assert_no_error_output(page)
    assert not page.page_errors, f"page errors: {page.page_errors}"
    return dict(C=(before_value, readout.inner_text()), text=(before_text, drawn.all_inner_texts()))


# ---------------------------------------------------------------------------------------------


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_lesson_01_runs_in_jupyterlab_in_a_browser(tmp_path):
    notebook_path = ROOT / NOTEBOOK
    saved = json.loads(notebook_path.read_text(encoding="utf-8"))
    before = _digest(notebook_path)
    with lab_server(ROOT, tmp_path) as (base, token):
        refused = urllib.request.Request(f"{base}/api/contents")
        with pytest.raises(urllib.error.HTTPError, match="403"):
            urllib.request.urlopen(refused, timeout=10)  # the token is in force
        with chromium_page() as page:
            moved = check_lesson_in_lab(page, base, token, lesson_plan(saved), saved)
    before_c, after_c = moved["C"]
    assert (before_c, after_c) == ("1.00", "1.78"), moved  # C = 1, then one step of 10^0.25
    assert _digest(notebook_path) == before, "the committed notebook was written while JupyterLab had it open"


def test_the_check_fails_when_a_cell_raises(tmp_path):
    """A copy of 01 whose first lesson cell raises: the check must stop there, naming the error."""
    saved = json.loads((ROOT / NOTEBOOK).read_text(encoding="utf-8"))
    plan = lesson_plan(saved)
    broken = copy.deepcopy(saved)
    broken["cells"][plan["first"][0]]["source"] = ['raise RuntimeError("this cell raises on purpose")\n']
    served = tmp_path / "served"
    (served / "notebooks").mkdir(parents=True)
    (served / NOTEBOOK).write_text(json.dumps(broken, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    with lab_server(served, scratch) as (base, token), chromium_page() as page:
        with pytest.raises(AssertionError, match="error output in the notebook.*this cell raises on purpose"):
            check_lesson_in_lab(page, base, token, plan, broken)
