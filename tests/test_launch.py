"""Binder and Colab set-up: the files agree with requirements.txt, the Colab cell is inert here."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
LESSONS = ["01_svm_theory", "02_quasi_svm_rff", "03_regularized_dense", "04_four_class_data", "05_gpu_benchmark",
           "06_scaling"]


def test_the_six_lessons_are_there_in_order():
    assert [p.stem for p in NOTEBOOKS] == LESSONS


def _pins(path):
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-"):
            name, _, version = line.partition("==")
            pins[re.sub(r"[-_.]+", "-", name.lower())] = version
    return pins


def test_binder_requirements_pin_the_same_versions():
    main, binder = _pins(ROOT / "requirements.txt"), _pins(ROOT / "binder" / "requirements.txt")
    # Binder takes the CPU-only TensorFlow build; everything else is identical.
    assert binder.pop("tensorflow-cpu") == main.pop("tensorflow")
    assert binder == main


def test_binder_python_matches_the_supported_range():
    runtime = (ROOT / "binder" / "runtime.txt").read_text().strip()
    assert re.fullmatch(r"python-3\.(1[0-9])", runtime)


def test_binder_scripts_are_executable_and_install_the_package():
    for name in ("postBuild", "start"):
        assert (ROOT / "binder" / name).stat().st_mode & 0o111, f"binder/{name} is not executable"
    assert "pip install" in (ROOT / "binder" / "postBuild").read_text()


def test_binder_start_sets_defaults_and_runs_the_command():
    out = subprocess.run(
        ["bash", str(ROOT / "binder" / "start"), sys.executable, "-c",
         "import os; print(os.environ['SVM_TUTORIAL_N_TRAIN'])"],
        capture_output=True, text=True, check=True, env={"PATH": "/usr/bin:/bin"},
    )
    assert int(out.stdout) > 0
    # An exported value wins over Binder's default.
    out = subprocess.run(
        ["bash", str(ROOT / "binder" / "start"), sys.executable, "-c",
         "import os; print(os.environ['SVM_TUTORIAL_N_TRAIN'])"],
        capture_output=True, text=True, check=True, env={"PATH": "/usr/bin:/bin", "SVM_TUTORIAL_N_TRAIN": "123"},
    )
    assert out.stdout.strip() == "123"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_colab_cell_is_inert_off_colab(notebook):
    """The first code cell only acts on Colab: here it must run without installing anything."""
    from IPython.core.interactiveshell import InteractiveShell

    cells = json.loads(notebook.read_text())["cells"]
    first_code = next(c for c in cells if c["cell_type"] == "code")
    source = "".join(first_code["source"])
    assert "google.colab" in source and "%pip install" in source
    shell = InteractiveShell.instance()
    calls = []
    # '!' commands and %magics would land here instead of running.
    shell.system = lambda cmd: calls.append(cmd)
    shell.run_line_magic = lambda name, line, *args, **kwargs: calls.append(f"%{name} {line}")
    result = shell.run_cell(source)
    assert result.success, result.error_in_exec
    assert calls == []
    assert "google.colab" not in sys.modules


def test_links_follow_the_repository_in_pyproject(tmp_path):
    from helpers import links

    repo = links.repository()
    for path in links.link_files():
        assert links.rewrite(path.read_text(), repo) == path.read_text(), f"{path.name}: run python -m helpers.links"
    text = (
        "[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
        "(https://colab.research.google.com/github/OWNER/svm-in-keras/blob/main/notebooks/01.ipynb) "
        "!git clone -q --depth 1 https://github.com/OWNER/svm-in-keras /content/svm-in-keras\n"
        "[Binder](https://mybinder.org/v2/gh/OWNER/svm-in-keras/main?labpath=notebooks%2F01.ipynb)"
    )
    new = links.rewrite(text, "someone/fork")
    assert new.count("someone/fork") == 3 and "OWNER" not in new
    assert "colab.research.google.com/assets/colab-badge.svg" in new
