"""Every formula a reader sees typesets: MathJax 3 (JupyterLab's renderer) runs on each one.

The formulas are taken from the notebooks' markdown cells (and markdown outputs) and from
README.md, the way JupyterLab finds them: ``$...$`` and ``$$...$$`` outside code. Two checks:

- MathJax must typeset each formula without an error (no red box, no undefined macro);
- no formula may hold ``\\`` right before a letter. That typesets, but as a line break and
  a bare word: ``\\lambda`` shows "lambda". It is what a JSON-escaped backslash written
  twice by mistake looks like.

MathJax is the npm package pinned in tests/mathjax/package.json (``make setup`` installs it).
"""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MATHJAX_DIR = ROOT / "tests" / "mathjax"
SOURCES = sorted((ROOT / "notebooks").glob("*.ipynb")) + sorted((ROOT / "notebooks").glob("*.md")) + [ROOT / "README.md"]

_FENCED = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
_CODE_SPAN = re.compile(r"(`+)(?!`).*?(?<!`)\1(?!`)", re.S)
_DISPLAY = re.compile(r"\$\$(.+?)\$\$", re.S)
# Inline math stays inside a paragraph: no blank line, no `$` inside.
_INLINE = re.compile(r"(?<![\\$])\$(?!\$)((?:[^$\n]|\n(?!\s*\n))+?)(?<!\\)\$")
DOUBLE_BACKSLASH_WORD = re.compile(r"\\\\[A-Za-z]")


def formulas_in_markdown(text):
    """(tex, display) pairs of a markdown text, skipping fenced blocks and code spans."""
    text = _CODE_SPAN.sub(" ", _FENCED.sub(" ", text))
    found = [(m.group(1), True) for m in _DISPLAY.finditer(text)]
    text = _DISPLAY.sub(" ", text)
    found += [(m.group(1), False) for m in _INLINE.finditer(text)]
    return found


def _markdown_texts(path):
    """(where, markdown) for README.md, or for each markdown cell and markdown output of a notebook."""
    if path.suffix == ".md":
        yield path.name, path.read_text(encoding="utf-8")
        return
    notebook = json.loads(path.read_text(encoding="utf-8"))
    for index, cell in enumerate(notebook["cells"]):
        where = f"{path.name} cell {index}"
        if cell["cell_type"] == "markdown":
            yield where, "".join(cell["source"])
        for output in cell.get("outputs", []):
            markdown = output.get("data", {}).get("text/markdown")
            if markdown:
                yield f"{where} (output)", "".join(markdown)


def all_formulas(paths=SOURCES):
    return [
        (where, tex, display)
        for path in paths
        for where, text in _markdown_texts(path)
        for tex, display in formulas_in_markdown(text)
    ]


def typeset_errors(formulas):
    """MathJax's error message for each (tex, display), or None where it typeset."""
    node = shutil.which("node")
    if node is None or not (MATHJAX_DIR / "node_modules" / "mathjax-full").is_dir():
        message = "MathJax is not installed: run `make setup` (needs Node.js and npm)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    payload = json.dumps([{"tex": tex, "display": display} for tex, display in formulas])
    done = subprocess.run(
        [node, str(MATHJAX_DIR / "typeset.js")], input=payload, capture_output=True, text=True,
        timeout=120, check=True,
    )
    return json.loads(done.stdout)


def test_the_sources_hold_formulas():
    # Guards the extraction itself: the theory notebook alone has dozens.
    assert len(all_formulas([ROOT / "notebooks" / "01_svm_theory.ipynb"])) >= 20


def test_extraction_skips_code_and_finds_both_kinds():
    text = "Cost $O(n^2)$ and\n$$C = \\frac{1}{2\\lambda n K}$$\n`echo $HOME $PATH` and ```\n$x$\n```"
    assert formulas_in_markdown(text) == [("C = \\frac{1}{2\\lambda n K}", True), ("O(n^2)", False)]


def test_the_checker_catches_what_a_reader_would_see_broken():
    errors = typeset_errors([("\\frac{1}{2", True), ("\\lambdaa x", False), ("w^\\top x", False)])
    assert errors[0] and "brace" in errors[0].lower()
    assert errors[1] and "\\lambdaa" in errors[1]
    assert errors[2] is None
    assert DOUBLE_BACKSLASH_WORD.search("f(x) = w^\\\\top x") and not DOUBLE_BACKSLASH_WORD.search("a \\\\ b")


def test_every_formula_typesets():
    formulas = all_formulas()
    errors = typeset_errors([(tex, display) for _, tex, display in formulas])
    broken = [f"{where}: ${tex}$ -> {error}" for (where, tex, _), error in zip(formulas, errors) if error]
    assert not broken, "MathJax cannot typeset:\n" + "\n".join(broken)


def test_no_formula_has_a_double_backslash_before_a_word():
    broken = [f"{where}: ${tex}$" for where, tex, _ in all_formulas() if DOUBLE_BACKSLASH_WORD.search(tex)]
    assert not broken, "'\\\\' before a letter renders as a line break and a bare word:\n" + "\n".join(broken)
