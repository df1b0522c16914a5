"""Run the notebooks as parameterized reports: executed notebooks, code-free HTML and an index.

    python -m helpers.reports params/smoke.yaml [-p epochs 3] [--out reports]

A parameter file names the runs (a notebook and its papermill parameters). Each run writes
``NAME.ipynb`` (executed), ``NAME.html`` (outputs only, setup cells left out, for handing
out), ``NAME.json`` (the notebook's key figures, through its ``results_path`` parameter) and
``NAME.png`` (its key figure: the first image of the cell tagged ``key-figure``).
``index.html`` shows, per run, that image, the headline numbers (the ``headline`` entry of
the results: ``(label, value)`` pairs), the parameters, and a banner on smoke runs. Relative paths
mean what they mean where the command runs, although papermill runs each notebook inside ``notebooks/``.

Nothing half-done is left where a report is expected:

- Every parameter name is checked against the notebook's ``parameters`` cell before anything runs;
  a name given in ``defaults`` or with ``-p`` goes to the runs whose notebook takes it.
- ``OUT.lock`` (beside ``OUT``) is held for the whole run: a second run into the same folder stops at
  once, naming the first (pid, host, start). The lock is an ``flock``, which the system drops when its
  process ends however it ends, so the file left by a killed run is taken over.
- ``OUT`` is checked replaceable (creatable, writable, not a file) before the first notebook runs.
- Everything is built in ``OUT.partial``; when every run has passed, renames alone put it in place
  (``OUT`` -> ``OUT.previous``, ``OUT.partial`` -> ``OUT``, then ``OUT.previous`` is deleted), so at
  every instant the old or the new complete reports exist. A run killed between the two renames
  leaves the old ones in ``OUT.previous``; the next run puts them back before it starts.
- SIGINT and SIGTERM end the run with one line (exit status 130 or 143), delete ``OUT.partial`` and
  leave ``OUT`` as it was. A notebook that fails keeps ``OUT.partial`` with that executed notebook,
  to look at; the next run deletes it.

Parameter file (YAML)::

    defaults: {smoke: true}          # given to every run
    runs:                            # optional: the default is every notebook, in order
      - notebook: 04_four_class_data
        name: 04_my_table            # optional: defaults to the notebook's name
        parameters: {data_path: my.csv, label_column: label}
"""

import argparse
import base64
import contextlib
import datetime
import html
import os
import json
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from helpers.notebook import describe_unknown

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


STAGING_SUFFIX, BACKUP_SUFFIX, LOCK_SUFFIX = ".partial", ".previous", ".lock"
# Run-level parameters the report sets itself (papermill may also inject its paths).
REPORT_SET = {"results_path"}


class ReportError(RuntimeError):
    """A parameter file or a notebook run failed; the message says which and where."""


class ReportInterrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived; a KeyboardInterrupt, so libraries unwind as they do for Ctrl-C."""

    def __init__(self, signum):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


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


def notebook_parameters(notebook):
    """The names the notebook's ``parameters`` cell declares, as papermill reads them."""
    import papermill

    return set(papermill.inspect_notebook(str(notebook)))


def load_plan(plan_path, overrides=None, notebooks_dir=NOTEBOOKS_DIR):
    """Read a parameter file into a list of runs; ``overrides`` apply to every run.

    Every parameter name is checked: one a run gives must be in its notebook's ``parameters``
    cell, one of ``defaults`` or ``overrides`` in at least one run's, and goes only to those.
    """
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
    overrides = dict(overrides or {})
    defaults.update(overrides)

    entries = plan.get("runs")
    if entries is None:
        entries = [{"notebook": p.stem} for p in sorted(notebooks_dir.glob("[0-9]*.ipynb"))]
    runs, names, offered = [], set(), set()
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
        known = notebook_parameters(notebook)
        own = _mapping(entry.get("parameters"), f"{where}: 'parameters'")
        unknown = sorted(set(own) - known)
        if unknown:
            raise ReportError(f"{where} ({notebook.name}): unknown parameter(s) {describe_unknown(unknown, known)}")
        offered.update(known)
        shared = {k: v for k, v in defaults.items() if k in known and k not in own}
        parameters = {**shared, **{k: overrides.get(k, v) for k, v in own.items()}}
        # Notebooks run inside notebooks/: make paths mean what they meant where the command ran.
        for key, value in parameters.items():
            if key.endswith("_path") and isinstance(value, str) and value:
                parameters[key] = str(Path(value).resolve())
        runs.append(Run(name, notebook, parameters))
    if not runs:
        raise ReportError(f"{plan_path}: no runs (and no notebooks in {notebooks_dir})")
    unused = sorted(set(defaults) - offered)
    if unused:
        where = "-p" if set(unused) <= set(overrides) else f"{plan_path}: 'defaults'"
        raise ReportError(f"{where}: no notebook of these runs takes parameter(s) {describe_unknown(unused, offered)}")
    return runs


def _kernel_options(sockets_dir, managers):
    """papermill options for kernels that talk over local sockets (IPC) in ``sockets_dir``.

    Over TCP, ipykernel 7 warns on every start that the traffic is unencrypted, which is
    noise in a terminal that only ran a report; TCP where the system has no such sockets.
    Each kernel manager is appended to ``managers``, so that an interrupted run can stop its kernel.
    """
    from jupyter_client.manager import AsyncKernelManager

    class ReportKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs):
            if os.name == "posix":
                kwargs.setdefault("transport", "ipc")
                kwargs.setdefault("ip", os.path.join(sockets_dir, "kernel"))
            super().__init__(**kwargs)
            managers.append(self)

    return {"kernel_manager_class": ReportKernelManager}


# The kernel managers of the run under way: an interrupt kills their kernels before anything
# else, so that no kernel outlives the run or writes its complaints about closed sockets.
_KERNELS = []


def _stop_kernels(managers=_KERNELS):
    """Kill the kernels an interrupted run started (papermill has no chance to shut them down)."""
    for manager in managers:
        process = getattr(getattr(manager, "provisioner", None), "process", None)
        if process is not None and process.poll() is None:
            process.kill()
            with contextlib.suppress(Exception):
                process.wait(10)


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
            f"{err.ename}: {err.evalue}\nThe executed notebook is {staging / (run.name + '.ipynb')} "
            "(the next run deletes it); the previous reports are as they were."
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


def _sibling(out_dir, suffix):
    return out_dir.with_name(out_dir.name + suffix)


class OutputLock:
    """Exclusive use of an output folder, through ``OUT.lock`` beside it.

    The file is held with ``flock``, which the system releases when the holding process ends,
    however it ends: a lock left by a killed run is found free and taken over, and no pid can be
    mistaken for a live holder. The file's text (pid, host, start time, command) names the holder
    to a run that finds it taken.
    """

    def __init__(self, out_dir):
        self.out_dir = Path(out_dir)
        self.path = _sibling(self.out_dir, LOCK_SUFFIX)
        self.fd = None
        self.stale = None  # what the file said when a killed run had left it

    def _read(self, fd):
        os.lseek(fd, 0, os.SEEK_SET)
        text = os.read(fd, 65536).decode("utf-8", "replace")
        try:
            holder = json.loads(text)
        except ValueError:
            return None
        return holder if isinstance(holder, dict) else None

    def _describe(self, holder):
        if not holder:
            return "a run that has not written its details yet"
        return (f"pid {holder.get('pid')} on host {holder.get('host')}, started {holder.get('started')}"
                + (f" ({holder['command']})" if holder.get("command") else ""))

    def acquire(self):
        import fcntl

        for _ in range(10):
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as err:
                raise ReportError(
                    f"cannot write in {self.path.parent} ({err.strerror}), where the reports of --out "
                    f"{self.out_dir} would go: choose another --out") from err
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                holder = self._read(fd)
                for _ in range(20):  # the holder may be between creating the file and writing it
                    if holder:
                        break
                    time.sleep(0.05)
                    holder = self._read(fd)
                os.close(fd)
                raise ReportError(
                    f"{self.out_dir} is being written by another report run: {self._describe(holder)}. "
                    f"Wait for it to end, or stop it (its lock: {self.path}); two runs into one folder "
                    "would mix their notebooks.") from None
            try:  # the last holder deletes the file on release: lock the one now at the path
                if os.path.samestat(os.fstat(fd), os.stat(self.path)):
                    break
            except FileNotFoundError:
                pass
            os.close(fd)
        else:
            raise ReportError(f"could not take the lock {self.path}: it keeps being replaced")
        self.stale = self._read(fd)
        holder = {
            "pid": os.getpid(), "host": socket.gethostname(),
            "started": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            "command": " ".join(sys.argv) if sys.argv and sys.argv[0] else None,
        }
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, (json.dumps(holder) + "\n").encode())
        self.fd = fd
        return self

    def release(self):
        if self.fd is None:
            return
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)  # while still held, so nobody takes a file that is going away
        os.close(self.fd)
        self.fd = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()


def _recover(out_dir, log):
    """Undo what a killed run left: old reports in OUT.previous go back, OUT.partial goes."""
    staging, backup = _sibling(out_dir, STAGING_SUFFIX), _sibling(out_dir, BACKUP_SUFFIX)
    if backup.is_dir():
        if out_dir.exists():  # killed after the swap: the new reports are in place
            shutil.rmtree(backup)
        else:  # killed between the two renames: the old reports are put back
            os.rename(backup, out_dir)
            log(f"Restored the previous reports from {backup} (a run was killed while replacing them)")
    if staging.is_dir():
        shutil.rmtree(staging)
    elif staging.exists():
        staging.unlink()


def _check_replaceable(out_dir):
    """Stop before any notebook runs if the old reports could not be replaced at the end."""
    if out_dir.exists() and not out_dir.is_dir():
        raise ReportError(f"--out {out_dir} is a file, not a folder: choose another --out, or remove the file")
    for folder, _, _ in os.walk(out_dir):
        if not os.access(folder, os.W_OK | os.X_OK):
            raise ReportError(
                f"{folder} is not writable, so the reports in {out_dir} could not be replaced: "
                f"make it writable (chmod -R u+w {out_dir}) or choose another --out")


def _create_parent(out_dir):
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ReportError(
            f"cannot create the folder {out_dir.parent} for --out {out_dir} "
            f"({err.strerror or err}): choose another --out") from err


@contextlib.contextmanager
def _signals_held():
    """SIGINT and SIGTERM wait until the block is done; yields the list of those that came."""
    held = []
    if threading.current_thread() is not threading.main_thread():
        yield held
        return
    previous = {s: signal.signal(s, lambda signum, frame: held.append(signal.Signals(signum).name))
                for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield held
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _replace(staging, out_dir):
    """Renames only: OUT -> OUT.previous, OUT.partial -> OUT, then OUT.previous is deleted."""
    backup = _sibling(out_dir, BACKUP_SUFFIX)
    if out_dir.exists():
        os.rename(out_dir, backup)
    os.rename(staging, out_dir)
    shutil.rmtree(backup, ignore_errors=True)
    if backup.exists():
        raise ReportError(f"the new reports are in {out_dir}, but the old ones could not all be deleted: "
                          f"{backup} is left, delete it yourself")


def run_reports(runs, out_dir="reports", log=print):
    """Execute the runs into ``out_dir`` (locked; built aside, moved in place only when all passed)."""
    # Absolute, because each notebook runs inside notebooks/ and writes its results here.
    out_dir = Path(out_dir).resolve()
    staging = _sibling(out_dir, STAGING_SUFFIX)
    if out_dir.exists() and not out_dir.is_dir():
        raise ReportError(f"--out {out_dir} is a file, not a folder: choose another --out, or remove the file")
    _create_parent(out_dir)
    with OutputLock(out_dir) as lock:
        if lock.stale:
            log(f"Taking over the lock of a run that ended without releasing it ({lock._describe(lock.stale)})")
        _recover(out_dir, log)
        _check_replaceable(out_dir)
        staging.mkdir()
        summaries, managers = [], _KERNELS
        managers.clear()
        try:
            with tempfile.TemporaryDirectory(prefix="svm-kernel-") as sockets_dir:
                kernel_options = _kernel_options(sockets_dir, managers)
                for i, run in enumerate(runs, start=1):
                    log(f"[{i}/{len(runs)}] {run.name} ({run.notebook.name})")
                    summary = _execute(run, staging, log, kernel_options)
                    _export_html(staging / f"{run.name}.ipynb", staging / f"{run.name}.html")
                    summary["figure"] = extract_key_figure(staging / f"{run.name}.ipynb", staging / f"{run.name}.png")
                    summaries.append(summary)
            write_index(summaries, staging / "index.html")
        except ReportError:
            raise  # a notebook failed: OUT.partial keeps it, to look at
        except BaseException:  # interrupted (or a bug): nothing half-built stays
            with _signals_held():
                _stop_kernels(managers)
                shutil.rmtree(staging, ignore_errors=True)
            raise
        managers.clear()
        with _signals_held() as held:
            _replace(staging, out_dir)
    log(f"Reports written to {out_dir / 'index.html'}")
    if held:
        log(f"({' and '.join(held)} came while the reports were being moved into place, and waited for it to finish)")
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


@contextlib.contextmanager
def _signals_raise():
    """SIGINT and SIGTERM raise ReportInterrupted while the block runs (main thread only)."""
    def interrupt(signum, frame):
        _stop_kernels()
        raise ReportInterrupted(signum)

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, interrupt) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def main(argv=None):
    args = _parse_args(argv)
    overrides = {name: yaml.safe_load(value) for name, value in args.parameter}
    with _signals_raise():
        try:
            runs = load_plan(args.params, overrides, args.notebooks_dir)
            run_reports(runs, args.out)
        except ReportError as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
        except ReportInterrupted as err:
            print(f"interrupted by {err}: no reports written, {Path(args.out)} is as it was", file=sys.stderr)
            return 128 + err.signum
    return 0


if __name__ == "__main__":
    sys.exit(main())
