"""Nothing lost, nothing silently wrong: bad input stops early and names itself, reports are atomic.

Each case asserts the message, the exit status and what is on disk afterwards. The report runs use
a tiny stand-in notebook made here (one sleep cell), so that killing a run at a chosen point is
cheap; the few cases that need a real lesson run it in smoke mode.
"""

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest

from helpers import bench, data, notebook, reports

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}


# --------------------------------------------------------------------------- a stand-in lesson


def _standin(folder):
    """notebooks/01_standin.ipynb: a parameters cell, the name check, a cell that sleeps, the results."""
    folder.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_code_cell(
            'seed: int = 0  # a seed\nsmoke: bool = False  # tiny\n'
            'results_path: "Optional[str]" = None  # results JSON\n'
            'wait: float = 0.0  # seconds the middle cell sleeps\n'
            'marker: "Optional[str]" = None  # a file the middle cell writes before it sleeps',
            metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("from helpers import notebook\nnotebook.require_known_parameters()",
                                  metadata={"tags": ["setup"]}),
        nbformat.v4.new_code_cell("import pathlib, time\nif marker:\n    pathlib.Path(marker).write_text('running')\n"
                                  "time.sleep(wait)"),
        nbformat.v4.new_code_cell('notebook.write_results(results_path, {"smoke": smoke, "headline": [["seed", seed]]})'),
    ]
    nbformat.write(nb, folder / "01_standin.ipynb")
    return folder


@pytest.fixture
def setup(tmp_path):
    """(notebooks folder, plan, OUT with old reports, their checksums)."""
    notebooks = _standin(tmp_path / "notebooks")
    plan = tmp_path / "plan.yaml"
    plan.write_text("defaults: {seed: 1}\n")
    out = tmp_path / "reports"
    (out / "sub").mkdir(parents=True)
    (out / "index.html").write_text("the old reports")
    (out / "sub" / "01_old.json").write_text('{"old": true}')
    return notebooks, plan, out, _checksums(out)


def _checksums(folder):
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(Path(folder).rglob("*")) if p.is_file()}


def _command(plan, out, notebooks, *extra):
    return [PYTHON, "-m", "helpers.reports", str(plan), "--out", str(out), "--notebooks-dir", str(notebooks), *extra]


def _start(plan, out, notebooks, *extra):
    return subprocess.Popen(_command(plan, out, notebooks, *extra), cwd=ROOT, env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _run(plan, out, notebooks, *extra, timeout=120):
    return subprocess.run(_command(plan, out, notebooks, *extra), cwd=ROOT, env=ENV,
                          capture_output=True, text=True, timeout=timeout)


def _wait_for(path, process, timeout=90):
    deadline = time.monotonic() + timeout
    while not Path(path).exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.1)


def _siblings(out):
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(out.name + "."))


# --------------------------------------------------------------------------- locks, kills, interrupts


def test_second_run_stops_at_once_naming_the_first(setup, tmp_path):
    notebooks, plan, out, old = setup
    marker = tmp_path / "first-is-running"
    first = _start(plan, out, notebooks, "-p", "wait", "6", "-p", "marker", str(marker))
    _wait_for(marker, first)
    started = time.monotonic()
    second = _run(plan, out, notebooks)
    assert time.monotonic() - started < 20  # no notebook ran: only the imports and the lock
    assert second.returncode == 1
    assert f"is being written by another report run: pid {first.pid} on host " in second.stderr
    assert "Wait for it to end, or stop it" in second.stderr and second.stdout == ""
    assert _checksums(out) == old  # the first is still running: nothing replaced yet
    stdout, _ = first.communicate(timeout=120)
    assert first.returncode == 0 and "Reports written to" in stdout
    assert sorted(_checksums(out)) == ["01_standin.html", "01_standin.ipynb", "01_standin.json", "index.html"]
    executed = nbformat.read(out / "01_standin.ipynb", as_version=4)
    assert all(c.execution_count for c in executed.cells if c.cell_type == "code")  # every cell ran
    assert _siblings(out) == []  # no .partial, no .lock, no .previous


@pytest.mark.parametrize("signum, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupt_ends_with_one_line_and_leaves_the_old_reports(setup, tmp_path, signum, status):
    notebooks, plan, out, old = setup
    marker = tmp_path / "running"
    run = _start(plan, out, notebooks, "-p", "wait", "60", "-p", "marker", str(marker))
    _wait_for(marker, run)
    run.send_signal(signum)
    stdout, stderr = run.communicate(timeout=60)
    assert run.returncode == status
    assert stderr.strip().splitlines() == [
        f"interrupted by {signal.Signals(signum).name}: no reports written, {out} is as it was"]
    assert stdout.splitlines() == ["[1/1] 01_standin (01_standin.ipynb)"]
    assert _checksums(out) == old
    assert _siblings(out) == []


def test_sigkill_mid_run_keeps_old_reports_and_the_next_run_takes_over(setup, tmp_path):
    notebooks, plan, out, old = setup
    marker = tmp_path / "running"
    run = _start(plan, out, notebooks, "-p", "wait", "60", "-p", "marker", str(marker))
    _wait_for(marker, run)
    run.kill()
    run.communicate(timeout=30)
    assert _checksums(out) == old
    assert _siblings(out) == ["reports.lock", "reports.partial"]  # what a killed run leaves
    assert json.loads((tmp_path / "reports.lock").read_text())["pid"] == run.pid
    again = _run(plan, out, notebooks)
    assert again.returncode == 0, again.stderr
    assert f"Taking over the lock of a run that ended without releasing it (pid {run.pid} on host " in again.stdout
    assert "index.html" in _checksums(out) and "sub/01_old.json" not in _checksums(out)
    assert _siblings(out) == []


# Killed inside the swap: after OUT -> OUT.previous (1), after OUT.partial -> OUT (2).
KILL_AT_RENAME = """
import os, signal, sys
from helpers import reports
real, count = os.rename, [0]
def rename(source, target):
    real(source, target)
    count[0] += 1
    if count[0] == int(sys.argv[1]):
        os.kill(os.getpid(), signal.SIGKILL)
os.rename = rename
sys.exit(reports.main(sys.argv[2:]))
"""


@pytest.mark.parametrize("renames", [1, 2])
def test_sigkill_inside_the_swap_loses_nothing(setup, tmp_path, renames):
    notebooks, plan, out, old = setup
    run = subprocess.run([PYTHON, "-c", KILL_AT_RENAME, str(renames), *_command(plan, out, notebooks)[3:]],
                         cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=120)
    assert run.returncode == -signal.SIGKILL
    previous = tmp_path / "reports.previous"
    if renames == 1:  # between the renames: the old reports, whole, in OUT.previous
        assert not out.exists() and _checksums(previous) == old
    else:  # the new reports in place, complete; the old ones not yet deleted
        assert _checksums(previous) == old and "01_standin.ipynb" in _checksums(out)
    new = _checksums(out) if out.exists() else None
    logged = []
    with reports.OutputLock(out) as lock:  # what the next run does first
        assert lock.stale["command"].endswith(f"--notebooks-dir {notebooks}")
        reports._recover(out, logged.append)
    assert _siblings(out) == []
    if renames == 1:
        assert _checksums(out) == old
        assert logged == [f"Restored the previous reports from {previous} (a run was killed while replacing them)"]
    else:
        assert _checksums(out) == new and logged == []


# --------------------------------------------------------------------------- the output folder, checked first


def _no_trace(out):
    return not out.exists() and _siblings(out) == []


def test_out_is_a_file(setup, tmp_path):
    notebooks, plan, _, _ = setup
    out = tmp_path / "afile"
    out.write_text("mine")
    result = _run(plan, out, notebooks)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr == f"error: --out {out} is a file, not a folder: choose another --out, or remove the file\n"
    assert out.read_text() == "mine" and _siblings(out) == []


def test_out_under_a_file(setup, tmp_path):
    notebooks, plan, _, _ = setup
    (tmp_path / "afile").write_text("mine")
    out = tmp_path / "afile" / "reports"
    result = _run(plan, out, notebooks)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith(f"error: cannot create the folder {out.parent} for --out {out} (")
    assert (tmp_path / "afile").read_text() == "mine"


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root may write anywhere")
def test_out_not_writable(setup, tmp_path):
    notebooks, plan, out, old = setup
    (out / "sub").chmod(0o555)
    try:
        result = _run(plan, out, notebooks)
    finally:
        (out / "sub").chmod(0o755)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith(f"error: {out / 'sub'} is not writable, so the reports in {out} could not be replaced")
    assert _checksums(out) == old and _siblings(out) == []


# --------------------------------------------------------------------------- parameter names


def test_misspelled_parameter_on_the_command_line(setup, tmp_path):
    notebooks, plan, _, _ = setup
    out = tmp_path / "new"
    result = _run(plan, out, notebooks, "-p", "wiat", "3")
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr == ("error: -p: no notebook of these runs takes parameter(s) `wiat` (did you mean `wait`?); "
                             "known parameters: marker, results_path, seed, smoke, wait\n")
    assert _no_trace(out)


def test_misspelled_parameter_in_a_run_and_in_defaults(setup, tmp_path):
    notebooks, _, _, _ = setup
    plan = tmp_path / "bad.yaml"
    plan.write_text("runs: [{notebook: 01_standin, parameters: {sed: 3}}]\n")
    with pytest.raises(reports.ReportError) as err:
        reports.load_plan(plan, notebooks_dir=notebooks)
    assert str(err.value) == (f"{plan}: run 1 (01_standin.ipynb): unknown parameter(s) `sed` (did you mean `seed`?); "
                              "known parameters: marker, results_path, seed, smoke, wait")
    plan.write_text("defaults: {epoch: 3}\n")
    with pytest.raises(reports.ReportError, match=r"'defaults': no notebook of these runs takes parameter\(s\) `epoch`;"):
        reports.load_plan(plan, notebooks_dir=notebooks)


def test_defaults_go_only_to_notebooks_that_take_them_and_p_beats_a_run(tmp_path):
    plan = tmp_path / "plan.yaml"
    plan.write_text("defaults: {epochs: 2}\nruns:\n  - notebook: 01_svm_theory\n"
                    "  - notebook: 04_four_class_data\n    parameters: {data_path: a.csv, epochs: 4}\n")
    theory, four = reports.load_plan(plan, overrides={"data_path": str(tmp_path / "b.csv")})
    assert theory.parameters == {}  # 01 has no `epochs`: it would now stop on the name
    assert four.parameters == {"data_path": str(tmp_path / "b.csv"), "epochs": 4}


def test_injected_names_are_read_from_papermill_cell():
    inputs = ["x = 1", "# Parameters\nepoch = 3\nseed = 2\n", "from helpers import notebook"]
    assert notebook.injected_parameter_names(inputs) == {"epoch", "seed"}
    assert notebook.injected_parameter_names(["x = 1"]) is None
    namespace = {"__annotations__": {"seed": int, "epochs": "Optional[int]"}, "In": inputs}
    with pytest.raises(ValueError) as err:
        notebook.require_known_parameters(namespace)
    assert str(err.value) == ("Unknown parameter(s) `epoch` (did you mean `epochs`?); known parameters: epochs, seed. "
                              "This notebook has no such parameter, so the value would be ignored: fix the name.")
    namespace["In"] = ["# Parameters\nseed = 2\nPAPERMILL_OUTPUT_PATH = 'o.ipynb'\n"]
    notebook.require_known_parameters(namespace)  # known names and papermill's own pass


def _papermill(notebook_path, output, *parameters, cwd=None):
    import papermill

    with pytest.raises(papermill.PapermillExecutionError) as err:
        papermill.execute_notebook(str(notebook_path), str(output), parameters=dict(parameters),
                                   cwd=str(cwd or Path(notebook_path).parent), kernel_name="python3",
                                   progress_bar=False)
    return err.value


def test_plain_papermill_stops_on_a_misspelled_parameter(setup, tmp_path):
    notebooks, _, _, _ = setup
    err = _papermill(notebooks / "01_standin.ipynb", tmp_path / "o.ipynb", ("wiat", 3))
    assert (err.cell_index, err.ename) == (2, "ValueError")  # the cell after the injected one
    assert err.evalue.startswith("Unknown parameter(s) `wiat` (did you mean `wait`?)")


@pytest.mark.notebooks
def test_lesson_04_stops_in_its_check_cell_on_a_misspelled_parameter(tmp_path):
    err = _papermill(ROOT / "notebooks" / "04_four_class_data.ipynb", tmp_path / "o.ipynb",
                     ("smoke", True), ("epoch", 3))
    assert (err.cell_index, err.ename) == (5, "ValueError")  # cell 4, after papermill's cell 4
    assert err.evalue.startswith("Unknown parameter(s) `epoch` (did you mean `epochs`?); known parameters: "
                                 "data_path, epochs, label_column, results_path, seed, smoke, test_size.")


# --------------------------------------------------------------------------- the loader


def _csv(tmp_path, text):
    path = tmp_path / "t.csv"
    path.write_text(text)
    return path


def test_duplicate_label_column_is_refused(tmp_path):
    path = _csv(tmp_path, "a,b,label,label\n1,2,0,0\n3,4,1,1\n5,6,0,0\n7,8,1,1\n")
    with pytest.raises(ValueError) as err:
        data.load_tabular(path)
    assert str(err.value) == (f"{path}: duplicate column names 'label' (2 times); each column needs its own name. "
                              "Rename or delete the copies (a second label column would be read as a feature)")


@pytest.mark.parametrize("copy", ["0,1,0,1", "7,9,7,9"], ids=["identical", "recoded"])
def test_a_feature_that_is_the_label_is_refused(tmp_path, copy):
    rows = "\n".join(f"{a},{c},{y}" for a, c, y in zip([1, 3, 5, 7], copy.split(","), [0, 1, 0, 1]))
    path = _csv(tmp_path, "a,leak,label\n" + rows + "\n")
    with pytest.raises(ValueError) as err:
        data.load_tabular(path)
    assert str(err.value).startswith(f"{path}: feature column(s) ['leak'] hold the label 'label' itself")
    assert "Delete the column(s)" in str(err.value)


def test_a_feature_with_as_many_values_as_classes_but_mixed_is_kept(tmp_path):
    path = _csv(tmp_path, "a,b,label\n0,1,0\n1,2,1\n0,3,1\n1,4,0\n")
    assert data.load_tabular(path).feature_names == ["a", "b"]


# --------------------------------------------------------------------------- the benchmark CLI


@pytest.mark.parametrize("case", ["under-a-file", "a-folder"])
def test_bench_out_checked_before_anything_runs(tmp_path, capsys, case):
    (tmp_path / "afile").write_text("mine")
    out = tmp_path / "afile" / "r.json" if case == "under-a-file" else tmp_path
    with pytest.raises(SystemExit) as exit_:
        bench.main(["--datasets", "four_class", "--approaches", "sklearn_svc", "--out", str(out)])
    assert exit_.value.code == 2
    reason = (f"{tmp_path / 'afile'} is a file, so the folder {out.parent} cannot be created" if case == "under-a-file"
              else f"{tmp_path} is a folder; give a file name")
    assert capsys.readouterr().err.endswith(f"error: argument --out: {reason}\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_bench_datasets_found_before_the_first_fit(tmp_path, capsys):
    bad = _csv(tmp_path, "a,label,label\n1,0,0\n2,1,1\n3,0,0\n4,1,1\n")
    for datasets, message in [(f"four_class,{tmp_path / 'none.csv'}", f"{tmp_path / 'none.csv'}: file not found"),
                              (str(bad), f"{bad}: duplicate column names 'label' (2 times)")]:
        with pytest.raises(SystemExit) as exit_:
            bench.main(["--datasets", datasets, "--approaches", "sklearn_svc"])
        assert exit_.value.code == 2
        assert f"error: argument --datasets: {message}" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        bench.main(["--datasets", "mnist", "--mnist-path", str(tmp_path / "no.npz")])
    assert f"error: dataset mnist: --mnist-path names {tmp_path / 'no.npz'}, which is not a file" in capsys.readouterr().err


# --------------------------------------------------------------------------- lesson 04 on a user's table


def _table(path, x, y):
    frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(x.shape[1])])
    frame["label"] = y
    frame.to_csv(path, index=False)
    return path


@pytest.mark.notebooks
def test_lesson_04_stops_at_its_check_cell_on_tiny_classes(tmp_path):
    rng = np.random.default_rng(0)
    y = np.r_[np.zeros(100, int), np.ones(100, int), [2, 2, 2], [3, 3]]
    path = _table(tmp_path / "tiny.csv", rng.normal(size=(len(y), 3)) + y[:, None], y)
    err = _papermill(ROOT / "notebooks" / "04_four_class_data.ipynb", tmp_path / "o.ipynb",
                     ("smoke", True), ("data_path", str(path)))
    assert (err.cell_index, err.ename) == (5, "ValueError")
    assert err.evalue.startswith("Parameter `data_path`: 2 of 4 classes have fewer than 3 training rows after the test "
                                 "split (test_size=0.25) of the 205 rows used (2: 2, 3: 1)")
