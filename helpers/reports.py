"""Run the notebooks as parameterized reports: executed notebooks, code-free HTML and an index.

    python -m helpers.reports params/smoke.yaml [-p epochs 3] [--out reports]

A parameter file names the runs (a notebook and its papermill parameters). Each run writes
``NAME.ipynb`` (executed), ``NAME.html`` (outputs only, for handing out) and ``NAME.json``
(the notebook's key figures, through its ``results_path`` parameter). ``index.html`` links
them and shows those figures. Everything is built in ``OUT.partial`` and moved to ``OUT`` only
when every run has passed, so a failed run never leaves a report that looks finished.

Parameter file (YAML)::

    defaults: {smoke: true}          # given to every run
    runs:                            # optional: the default is every notebook, in order
      - notebook: 04_four_class_data
        name: 04_my_table            # optional: defaults to the notebook's name
        parameters: {data_path: my.csv, label_column: label}
"""

import argparse
import html
import json
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

NOTEBOOKS_DIR = Path(__file__).resolve().parent.parent / "notebooks"
PLAN_KEYS = {"defaults", "runs"}
RUN_KEYS = {"notebook", "name", "parameters"}


class ReportError(RuntimeError):
    """A parameter file or a notebook run failed; the message says which and where."""


@dataclass
class Run:
    name: str
    notebook: Path
    parameters: dict = field(default_factory=dict)


def _mapping(value, where):
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ReportError(f"{where} must be a mapping of parameter names to values, got {value!r}")
    return dict(value)


def load_plan(plan_path, overrides=None, notebooks_dir=NOTEBOOKS_DIR):
    """Read a parameter file into a list of runs; ``overrides`` apply to every run."""
    plan_path, notebooks_dir = Path(plan_path), Path(notebooks_dir)
    if not plan_path.is_file():
        raise ReportError(f"{plan_path}: parameter file not found")
    try:
        plan = yaml.safe_load(plan_path.read_text()) or {}
    except yaml.YAMLError as err:
        raise ReportError(f"{plan_path}: not valid YAML ({err})") from err
    if not isinstance(plan, dict) or set(plan) - PLAN_KEYS:
        unknown = sorted(set(plan) - PLAN_KEYS) if isinstance(plan, dict) else plan
        raise ReportError(f"{plan_path}: unknown top-level keys {unknown}; expected {sorted(PLAN_KEYS)}")
    defaults = _mapping(plan.get("defaults"), f"{plan_path}: 'defaults'")
    defaults.update(overrides or {})

    entries = plan.get("runs")
    if entries is None:
        entries = [{"notebook": p.stem} for p in sorted(notebooks_dir.glob("[0-9]*.ipynb"))]
    runs, names = [], set()
    for i, entry in enumerate(entries, start=1):
        where = f"{plan_path}: run {i}"
        if not isinstance(entry, dict) or "notebook" not in entry or set(entry) - RUN_KEYS:
            raise ReportError(f"{where} must be a mapping with 'notebook' and optional 'name', 'parameters'")
        notebook = notebooks_dir / f"{Path(str(entry['notebook'])).stem}.ipynb"
        if not notebook.is_file():
            raise ReportError(f"{where}: no notebook {notebook.name} in {notebooks_dir}")
        name = str(entry.get("name") or notebook.stem)
        if name in names:
            raise ReportError(f"{where}: two runs are named {name!r}; give one a 'name'")
        names.add(name)
        parameters = {**defaults, **_mapping(entry.get("parameters"), f"{where}: 'parameters'")}
        # Notebooks run inside notebooks/: make paths mean what they meant where the command ran.
        for key, value in parameters.items():
            if key.endswith("_path") and isinstance(value, str) and value:
                parameters[key] = str(Path(value).resolve())
        runs.append(Run(name, notebook, parameters))
    if not runs:
        raise ReportError(f"{plan_path}: no runs (and no notebooks in {notebooks_dir})")
    return runs


def _execute(run, staging, log):
    import papermill

    results_path = staging / f"{run.name}.json"
    parameters = {**run.parameters, "results_path": str(results_path)}
    started = time.perf_counter()
    try:
        papermill.execute_notebook(
            str(run.notebook),
            str(staging / f"{run.name}.ipynb"),
            parameters=parameters,
            cwd=str(run.notebook.parent),
            kernel_name="python3",
            progress_bar=False,
        )
    except papermill.PapermillExecutionError as err:
        raise ReportError(
            f"{run.name}: cell {err.exec_count} (cell index {err.cell_index}) raised "
            f"{err.ename}: {err.evalue}\nThe executed notebook is {staging / (run.name + '.ipynb')}."
        ) from err
    seconds = time.perf_counter() - started
    results = json.loads(results_path.read_text()) if results_path.is_file() else {}
    log(f"      done in {seconds:.1f} s")
    return {"name": run.name, "parameters": run.parameters, "seconds": seconds, "results": results}


def _export_html(executed_notebook, html_path):
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(nbformat.read(executed_notebook, as_version=4))
    html_path.write_text(body, encoding="utf-8")


def _figures(results, prefix=""):
    """Flatten a results dict to (key, value) rows of scalars."""
    for key, value in results.items():
        label = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from _figures(value, prefix=f"{label}.")
        elif isinstance(value, float):
            yield label, f"{value:.4g}"
        elif isinstance(value, (int, str, bool)) or value is None:
            yield label, str(value)


def write_index(summaries, path, title="SVMs in Keras: reports"):
    """An HTML page linking each report, with its parameters, run time and key figures."""
    parts = [
        "<!doctype html><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title>",
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}</style>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p>Generated {time.strftime('%Y-%m-%d %H:%M')} by <code>python -m helpers.reports</code>.</p>",
    ]
    for summary in summaries:
        name = html.escape(summary["name"])
        parameters = ", ".join(f"{k}={v!r}" for k, v in summary["parameters"].items()) or "defaults"
        parts.append(f"<h2><a href='{name}.html'>{name}</a></h2>")
        parts.append(
            f"<p>Parameters: <code>{html.escape(parameters)}</code>. Ran in {summary['seconds']:.1f} s. "
            f"<a href='{name}.ipynb'>executed notebook</a></p>"
        )
        rows = "".join(
            f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>" for k, v in _figures(summary["results"])
        )
        parts.append(f"<table><tr><th>figure</th><th>value</th></tr>{rows}</table>" if rows else "<p>No figures.</p>")
    Path(path).write_text("\n".join(parts), encoding="utf-8")


def run_reports(runs, out_dir="reports", log=print):
    """Execute the runs into ``out_dir`` (built aside, moved in place only when all passed)."""
    out_dir = Path(out_dir)
    staging = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    summaries = []
    for i, run in enumerate(runs, start=1):
        log(f"[{i}/{len(runs)}] {run.name} ({run.notebook.name})")
        summary = _execute(run, staging, log)
        _export_html(staging / f"{run.name}.ipynb", staging / f"{run.name}.html")
        summaries.append(summary)
    write_index(summaries, staging / "index.html")
    shutil.rmtree(out_dir, ignore_errors=True)
    staging.rename(out_dir)
    log(f"Reports written to {out_dir / 'index.html'}")
    return summaries


def _parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m helpers.reports", description=__doc__.split("\n\n")[0])
    parser.add_argument("params", help="parameter file (YAML), e.g. params/smoke.yaml")
    parser.add_argument(
        "-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
        help="a parameter for every run, overriding the file (VALUE is read as YAML: 3, true, 'text')",
    )
    parser.add_argument("--out", default="reports", help="output folder (default: reports)")
    parser.add_argument("--notebooks-dir", default=str(NOTEBOOKS_DIR), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv=None):
    args = _parse_args(argv)
    overrides = {name: yaml.safe_load(value) for name, value in args.parameter}
    try:
        runs = load_plan(args.params, overrides, args.notebooks_dir)
        run_reports(runs, args.out)
    except ReportError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
