"""The report command: parameter files, a smoke run of every notebook, and failure handling."""

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


def test_index_shows_figure_headline_parameters_and_smoke_banner(tmp_path):
    (tmp_path / "01_x.png").write_bytes(b"png")
    headline = [["Keras vs scikit-learn, same predictions", "99.7 %"], ["accuracy", 0.97123]]
    summaries = [
        {"name": "01_x", "parameters": {"smoke": True}, "seconds": 3.0, "figure": True,
         "results": {"smoke": True, "headline": headline}},
        {"name": "02_y", "parameters": {}, "seconds": 4.0, "figure": False, "results": {"smoke": False}},
    ]
    reports.write_index(summaries, tmp_path / "index.html")
    index = (tmp_path / "index.html").read_text()
    assert index.count("class='smoke'") == 2  # the page's banner and the smoke run's own
    assert index.count("<img src='data:image/png;base64,cG5n'") == 1  # 01's figure, embedded; 02 has none
    assert "<td>Keras vs scikit-learn, same predictions</td><td class='value'>99.7 %</td>" in index
    assert index.index("99.7 %") < index.index("0.9712")  # the notebook's order, floats to 4 digits
    assert "smoke = True" in index and "the notebook defaults" in index


def test_full_runs_get_no_smoke_banner(tmp_path):
    summaries = [{"name": "01_x", "parameters": {}, "seconds": 1.0, "figure": False, "results": {"smoke": False}}]
    reports.write_index(summaries, tmp_path / "index.html")
    assert "Smoke run" not in (tmp_path / "index.html").read_text()


def test_key_figure_comes_from_the_tagged_cell(tmp_path):
    import base64

    import nbformat

    nb = nbformat.v4.new_notebook()
    first = nbformat.v4.new_code_cell("plot()", outputs=[nbformat.v4.new_output(
        "display_data", data={"image/png": base64.b64encode(b"first").decode()})])
    key = nbformat.v4.new_code_cell("plot()", metadata={"tags": ["key-figure"]}, outputs=[nbformat.v4.new_output(
        "display_data", data={"image/png": base64.b64encode(b"key").decode()})])
    nb.cells = [first, key]
    nbformat.write(nb, tmp_path / "nb.ipynb")
    assert reports.extract_key_figure(tmp_path / "nb.ipynb", tmp_path / "k.png")
    assert (tmp_path / "k.png").read_bytes() == b"key"
    nb.cells = [first]
    nbformat.write(nb, tmp_path / "nb.ipynb")
    assert not reports.extract_key_figure(tmp_path / "nb.ipynb", tmp_path / "none.png")


def test_every_notebook_tags_a_key_figure_and_its_setup_cells():
    import nbformat

    for path in NOTEBOOKS:
        cells = nbformat.read(path, as_version=4).cells
        tags = [c.metadata.get("tags", []) for c in cells]
        assert sum("key-figure" in t for t in tags) == 1, path.name
        setup = [c for c, t in zip(cells, tags) if "setup" in t]
        assert setup[0].source.startswith("## Setup"), path.name
        assert setup[0].metadata.get("jp-MarkdownHeadingCollapsed") is True  # folded in JupyterLab
        # The Colab cell, the checks and the device report are hidden from hand-outs.
        assert any("google.colab" in c.source for c in setup)
        assert any("device_summary" in c.source for c in setup)


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
    # --help-notebook shows a type and a description for each, not "Unknown type".
    for name, parameter in found.items():
        assert parameter["inferred_type_name"] != "None", f"{name} has no type annotation"
        assert parameter["help"], f"{name} has no description"
