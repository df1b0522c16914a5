"""Run the notebooks as parameterized reports: executed notebooks, code-free HTML and an index.

    python -m helpers.reports params/smoke.yaml [-p epochs 3] [--out reports]

A parameter file names the runs (a notebook and its papermill parameters). Each run writes
``NAME.ipynb`` (executed), ``NAME.html`` (outputs only, setup cells left out, for handing
out), ``NAME.json`` (the notebook's key figures, through its ``results_path`` parameter) and
``NAME.png`` (its key figure: the first image of the cell tagged ``key-figure``).
``index.html`` shows, per run, that image, the headline numbers (the ``headline`` entry of
the results: ``(label, value)`` pairs), the parameters, and a banner on smoke runs. Everything is built in
``OUT.partial`` and moved to ``OUT`` only when every run has passed, so a failed run never
leaves a report that looks finished. Relative paths mean what they mean where the command
runs, although papermill runs each notebook inside ``notebooks/``.

Parameter file (YAML)::

    defaults: {smoke: true}          # given to every run
    runs:                            # optional: the default is every notebook, in order
      - notebook: 04_four_class_data
        name: 04_my_table            # optional: defaults to the notebook's name
        parameters: {data_path: my.csv, label_column: label}
"""

import argparse
import base64
import html
import os
import json
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

NOTEBOOKS_DIR = Path(__file__).resolve().parent.parent / "notebooks"
PLAN_KEYS = {"defaults", "runs"}
RUN_KEYS = {"notebook", "name", "parameters"}
# Cells a reader of a hand-out does not need: Colab set-up, parameters, checks, the device.
HIDDEN_TAGS = ("setup", "parameters", "injected-parameters")
KEY_FIGURE_TAG = "key-figure"
# Debian's libjs-mathjax: the reports typeset their formulas offline when it is installed.
LOCAL_MATHJAX = Path("/usr/share/javascript/mathjax/MathJax.js")
SMOKE_BANNER = (
    "Smoke run: tiny data and a few training steps, to check that every notebook runs. "
    "Its numbers are not results; run without smoke mode for those."
)


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


def _ipc_kernel_options(sockets_dir):
    """papermill options for kernels that talk over local sockets (IPC) in ``sockets_dir``.

    Over TCP, ipykernel 7 warns on every start that the traffic is unencrypted, which is
    noise in a terminal that only ran a report. Empty where the system has no such sockets.
    """
    if os.name != "posix":
        return {}
    from jupyter_client.manager import AsyncKernelManager

    class IPCKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs):
            kwargs.setdefault("transport", "ipc")
            kwargs.setdefault("ip", os.path.join(sockets_dir, "kernel"))
            super().__init__(**kwargs)

    return {"kernel_manager_class": IPCKernelManager}


def _execute(run, staging, log, kernel_options):
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
            **kernel_options,
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


def mathjax_url():
    """The local MathJax when Debian's libjs-mathjax is installed, else nbconvert's CDN default."""
    if LOCAL_MATHJAX.is_file():
        return f"{LOCAL_MATHJAX.as_uri()}?config=TeX-AMS_CHTML-full,Safe"
    return None


def _export_html(executed_notebook, html_path):
    """Outputs and prose only: no code, no setup cells, formulas typeset by MathJax."""
    import nbformat
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor

    options = dict(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
    if mathjax_url():
        options["mathjax_url"] = mathjax_url()
    exporter = HTMLExporter(**options)
    exporter.register_preprocessor(TagRemovePreprocessor(remove_cell_tags=HIDDEN_TAGS), enabled=True)
    body, _ = exporter.from_notebook_node(nbformat.read(executed_notebook, as_version=4))
    html_path.write_text(body, encoding="utf-8")


def extract_key_figure(executed_notebook, png_path):
    """Write the first PNG of the cell tagged ``key-figure`` to ``png_path``; False if none."""
    import nbformat

    notebook = nbformat.read(executed_notebook, as_version=4)
    for cell in notebook.cells:
        if KEY_FIGURE_TAG not in cell.get("metadata", {}).get("tags", []):
            continue
        for output in cell.get("outputs", []):
            image = output.get("data", {}).get("image/png")
            if image:
                png_path.write_bytes(base64.b64decode(image))
                return True
    return False


def _format_value(value):
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


INDEX_STYLE = (
    "body{font-family:sans-serif;max-width:62em;margin:2em auto;padding:0 1em;color:#222}"
    "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}"
    "td.value{text-align:right;font-variant-numeric:tabular-nums}"
    ".run{display:flex;gap:1.5em;align-items:flex-start;border-top:1px solid #ddd;padding-top:1em}"
    ".run img{max-width:26em;border:1px solid #eee}"
    ".smoke{background:#fff3cd;border:2px solid #d39e00;padding:.6em 1em;font-weight:bold}"
    "code{background:#f4f4f4;padding:0 .2em}"
)


def write_index(summaries, path, title="SVMs in Keras: reports"):
    """An HTML page with, per report: its key figure, its headline numbers and its parameters."""
    smoke = any(s["results"].get("smoke") for s in summaries)
    parts = [
        "<!doctype html><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title>",
        f"<style>{INDEX_STYLE}</style>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p class='smoke'>{html.escape(SMOKE_BANNER)}</p>" if smoke else "",
        f"<p>Generated {time.strftime('%Y-%m-%d %H:%M')} by <code>python -m helpers.reports</code>. "
        "Each report is the notebook's prose and outputs, without the code; the executed notebook "
        "has both.</p>",
    ]
    for summary in summaries:
        name = html.escape(summary["name"])
        results = summary["results"]
        parameters = ", ".join(f"{k} = {v!r}" for k, v in summary["parameters"].items())
        # A list of (label, value) pairs keeps the notebook's order (JSON objects get sorted).
        headline = results.get("headline") or []
        pairs = headline.items() if isinstance(headline, dict) else headline
        rows = "".join(
            f"<tr><td>{html.escape(str(label))}</td><td class='value'>{html.escape(_format_value(value))}</td></tr>"
            for label, value in pairs
        )
        # Embedded, so the page still shows its figures when it is mailed or moved alone.
        figure = ""
        if summary.get("figure"):
            png = base64.b64encode((Path(path).parent / f"{summary['name']}.png").read_bytes()).decode()
            figure = f"<img src='data:image/png;base64,{png}' alt='key figure of {name}'>"
        parts.append(f"<h2><a href='{name}.html'>{name}</a></h2>")
        if results.get("smoke"):
            parts.append("<p class='smoke'>Smoke run: these numbers are not results.</p>")
        parts.append(
            "<div class='run'>" + figure + "<div>"
            + (f"<table><tr><th>what was measured</th><th>value</th></tr>{rows}</table>" if rows else "")
            + f"<p>Parameters: <code>{html.escape(parameters or 'the notebook defaults')}</code>. "
            f"Ran in {summary['seconds']:.0f} s.</p>"
            f"<p><a href='{name}.html'>report</a> · <a href='{name}.ipynb'>executed notebook</a> · "
            f"<a href='{name}.json'>all figures (JSON)</a></p></div></div>"
        )
    Path(path).write_text("\n".join(p for p in parts if p), encoding="utf-8")


def run_reports(runs, out_dir="reports", log=print):
    """Execute the runs into ``out_dir`` (built aside, moved in place only when all passed)."""
    # Absolute, because each notebook runs inside notebooks/ and writes its results here.
    out_dir = Path(out_dir).resolve()
    staging = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    summaries = []
    with tempfile.TemporaryDirectory(prefix="svm-kernel-") as sockets_dir:
        kernel_options = _ipc_kernel_options(sockets_dir)
        for i, run in enumerate(runs, start=1):
            log(f"[{i}/{len(runs)}] {run.name} ({run.notebook.name})")
            summary = _execute(run, staging, log, kernel_options)
            _export_html(staging / f"{run.name}.ipynb", staging / f"{run.name}.html")
            summary["figure"] = extract_key_figure(staging / f"{run.name}.ipynb", staging / f"{run.name}.png")
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
