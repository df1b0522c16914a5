"""The notebooks as a course: exercises with solutions, an honest run time, and model code that matches the builders.

Reads the committed notebooks (no kernel). The solution cells themselves run in the smoke runs of
``tests/test_notebooks.py`` and under nbval, like every other cell; here we check that they are there, collapsed,
and ran without an error in the committed run.
"""

import ast
import re
from pathlib import Path

import nbformat
import pytest

import keras
from helpers import models
from helpers.layers import RandomFourierFeatures

NOTEBOOKS_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))


def _read(name):
    return nbformat.read(NOTEBOOKS_DIR / f"{name}.ipynb", as_version=4)


# --------------------------------------------------------------------------- exercises


def exercises(nb):
    """(number, heading cell, solution cell or None) for every '## Exercise N' heading, in order."""
    found = []
    for i, cell in enumerate(nb.cells):
        match = re.search(r"^## Exercise (\d+)\b", cell.source, re.M) if cell.cell_type == "markdown" else None
        if match:
            following = nb.cells[i + 1] if i + 1 < len(nb.cells) else None
            solution = following if following is not None and following.cell_type == "code" else None
            found.append((int(match.group(1)), cell, solution))
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_two_to_four_exercises_each_with_a_collapsed_solution_that_ran(path):
    nb = nbformat.read(path, as_version=4)
    found = exercises(nb)
    assert 2 <= len(found) <= 4, f"{path.name}: {len(found)} exercises"
    assert [number for number, _, _ in found] == list(range(1, len(found) + 1)), f"{path.name}: numbering"
    for number, _, solution in found:
        where = f"{path.name}, exercise {number}"
        assert solution is not None, f"{where}: no code cell after the heading"
        assert solution.source.splitlines()[0] == "# Solution", f"{where}: the cell does not start with '# Solution'"
        assert solution.metadata.get("jupyter", {}).get("source_hidden") is True, f"{where}: the solution is not collapsed"
        assert solution.execution_count is not None, f"{where}: the committed run did not execute the solution"
        assert not [o for o in solution.outputs if o.output_type == "error"], f"{where}: the solution failed"
        assert any(o.output_type == "stream" and o.get("name") == "stdout" for o in solution.outputs), \
            f"{where}: the solution prints nothing"


def test_exercise_check_finds_a_missing_solution():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("## Exercise 1\n\nDo it."),
                                         nbformat.v4.new_markdown_cell("## Exercise 2\n\nAnd this.")])
    assert [(n, s) for n, _, s in exercises(nb)] == [(1, None), (2, None)]


# --------------------------------------------------------------------------- intro and run time

RUN_TIME = re.compile(r"\*\*Run time:\*\* about (\d+(?:\.\d+)?) min with the defaults on a 2-core CPU")
TOOK = re.compile(r"this run took (\d+(?:\.\d+)?) min")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_intro_states_prerequisites_and_the_run_time_the_committed_run_printed(path):
    nb = nbformat.read(path, as_version=4)
    intro = nb.cells[0].source
    assert "**Prerequisites:**" in intro, f"{path.name}: no prerequisites in the first cell"
    stated = RUN_TIME.search(intro)
    assert stated, f"{path.name}: no '**Run time:** about N min with the defaults on a 2-core CPU' line"
    last_code = [c for c in nb.cells if c.cell_type == "code"][-1]
    printed = TOOK.search("".join(o.get("text", "") for o in last_code.outputs if o.output_type == "stream"))
    assert printed, f"{path.name}: the last code cell does not print 'this run took N min'"
    stated_min, printed_min = float(stated.group(1)), float(printed.group(1))
    # Within a factor 1.5 either way, or within the 0.1 min the printed figure is rounded to.
    close = abs(stated_min - printed_min) <= 0.1 or 0.67 <= stated_min / printed_min <= 1.5
    assert close, f"{path.name}: intro says {stated.group(1)} min, the run took {printed.group(1)} min"


# --------------------------------------------------------------------------- model code in view = the builders


def notebook_function(name, function, **scope):
    """Execute the top-level function ``function`` of notebook ``name`` alone, with ``keras`` and ``scope``."""
    for cell in _read(name).cells:
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:  # IPython syntax (!, %): no model is defined there
            continue
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name == function:
                namespace = {"keras": keras, "RandomFourierFeatures": RandomFourierFeatures, **scope}
                exec(compile(ast.Module([node], []), f"{name}:{function}", "exec"), namespace)
                return namespace[function]
    raise AssertionError(f"{name}.ipynb defines no top-level function {function}()")


def normalised_config(model):
    """Layers and compile arguments, without names and seeds (random draws, not architecture)."""

    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in ("name", "seed")}
        if isinstance(value, (list, tuple)):
            return [strip(v) for v in value]
        return value

    layers = [(type(layer).__name__, strip(layer.get_config())) for layer in model.layers]
    return {"layers": layers, "compile": strip(model.get_compile_config())}


CASES = [
    ("01_svm_theory", "keras_linear_svm", (7, 4, 0.01), {}, lambda: models.build_linear_svm(7, 4, l2=0.01)),
    ("01_svm_theory", "keras_linear_svm", (784, 10, 1e-4), {"loss": "categorical_hinge"},
     lambda: models.build_linear_svm(784, 10, l2=1e-4, loss="categorical_hinge")),
    ("02_quasi_svm_rff", "keras_io_quasi_svm", (784, 10), {}, lambda: models.build_quasi_svm(784, 10)),
    ("02_quasi_svm_rff", "keras_io_quasi_svm", (784, 10), {"output_dim": 512, "scale": 5.0},
     lambda: models.build_quasi_svm(784, 10, output_dim=512, scale=5.0)),
    ("03_regularized_dense", "dense_hinge", (1e-4,), {}, lambda: models.build_linear_svm(784, 10, l2=1e-4)),
    ("03_regularized_dense", "deep_hinge", (), {}, lambda: models.build_deep_hinge(784, 10)),
    ("04_four_class_data", "keras_linear_svm", (7, 4, 0.05), {"loss": "categorical_hinge"},
     lambda: models.build_linear_svm(7, 4, l2=0.05, loss="categorical_hinge")),
    ("05_gpu_benchmark", "so_quasi_svm", (784, 10), {}, lambda: models.build_quasi_svm(784, 10)),
    ("05_gpu_benchmark", "so_deep_hinge", (784, 10), {}, lambda: models.build_deep_hinge(784, 10)),
]


@pytest.mark.parametrize("name, function, args, kwargs, builder", CASES,
                         ids=[f"{c[0][:2]}-{c[1]}-{i}" for i, c in enumerate(CASES)])
def test_model_written_in_the_notebook_is_the_builders(name, function, args, kwargs, builder):
    written = notebook_function(name, function, n_classes=10)(*args, **kwargs)
    assert normalised_config(written) == normalised_config(builder())


def test_config_comparison_sees_a_different_penalty_and_a_different_loss():
    written = notebook_function("03_regularized_dense", "dense_hinge", n_classes=10)
    assert normalised_config(written(1e-4)) != normalised_config(models.build_linear_svm(784, 10, l2=2e-4))
    assert normalised_config(written(1e-4)) != normalised_config(
        models.build_linear_svm(784, 10, l2=1e-4, loss="squared_hinge"))
