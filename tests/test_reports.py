"""The report command: parameter files, a smoke run of every notebook, and failure handling."""

import json
import re
from pathlib import Path

import pytest

from helpers import reports

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))


def _write(tmp_path, text, name="plan.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_every_example_parameter_file_loads():
    for plan in sorted((ROOT / "params").glob("*.yaml")):
        assert reports.load_plan(plan), plan


def test_plan_defaults_overrides_and_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    plan = _write(
        tmp_path,
        "defaults: {smoke: true, epochs: 2}\n"
        "runs:\n  - notebook: 04_four_class_data\n    parameters: {data_path: mine.csv}\n",
    )
    (run,) = reports.load_plan(plan, overrides={"epochs": 5})
    assert run.name == "04_four_class_data"
    assert run.parameters == {"smoke": True, "epochs": 5, "data_path": str(tmp_path / "mine.csv")}


@pytest.mark.parametrize(
    "text, message",
    [
        ("runs: [{notebook: 09_missing}]", "no notebook 09_missing.ipynb"),
        ("run: []", "unknown top-level keys \\['run'\\]"),
        ("defaults: [1, 2]", "'defaults' must be a mapping"),
        ("runs: [{notebook: 01_svm_theory}, {notebook: 01_svm_theory}]", "two runs are named"),
        ("runs: [{name: x}]", "run 1 must be a mapping with 'notebook'"),
        ("defaults: {a: [1,}", "not valid YAML"),
    ],
)
def test_bad_parameter_files_name_the_problem(tmp_path, text, message):
    with pytest.raises(reports.ReportError, match=message):
        reports.load_plan(_write(tmp_path, text))


def test_missing_parameter_file(tmp_path):
    with pytest.raises(reports.ReportError, match="parameter file not found"):
        reports.load_plan(tmp_path / "nope.yaml")


@pytest.mark.notebooks
def test_smoke_reports_link_every_notebook_with_figures(tmp_path):
    out = tmp_path / "reports"
    code = reports.main([str(ROOT / "params" / "smoke.yaml"), "--out", str(out)])
    assert code == 0
    index = (out / "index.html").read_text()
    for notebook in NOTEBOOKS:
        page = out / f"{notebook.stem}.html"
        assert f"href='{notebook.stem}.html'" in index
        text = page.read_text()
        assert "<img" in text, f"{page.name} has no figure"
        # Code cells are left out of the hand-out HTML.
        assert "from helpers import" not in text
        assert json.loads((out / f"{notebook.stem}.json").read_text())
    # Real figures from the results JSON reach the index (accuracies as decimals).
    assert re.search(r"accuracy[^<]*</td><td>0\.\d+", index)
    assert not (tmp_path / "reports.partial").exists()


@pytest.mark.notebooks
def test_failing_run_names_the_cell_and_leaves_no_finished_report(tmp_path, capsys):
    out = tmp_path / "reports"
    plan = _write(
        tmp_path,
        "defaults: {smoke: true}\n"
        "runs: [{notebook: 04_four_class_data, parameters: {data_path: no_such.csv}}]\n",
    )
    code = reports.main([str(plan), "--out", str(out)])
    assert code == 1
    message = capsys.readouterr().err
    assert "04_four_class_data: cell" in message and "data_path" in message
    assert not out.exists()
    assert not (tmp_path / "reports.partial" / "index.html").exists()


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_papermill_sees_every_parameter(notebook, caplog):
    """Plain literals in the parameters cell: papermill lists them all (--help-notebook) and warns of none."""
    import papermill

    found = papermill.inspect_notebook(str(notebook))
    assert {"seed", "smoke", "results_path"} <= set(found)
    assert "Unable to parse" not in caplog.text
