"""The committed notebooks, as readers see them on GitHub, hold every claim they make.

Reads the saved outputs (nothing is executed): each lesson ends with a claims table written by
``helpers.claims``; ``python -m helpers.claims`` must find at least five claims in each, and
all of them holding in the committed full run.
"""

import subprocess
import sys
from pathlib import Path

import pytest

from helpers.claims import read_claims

ROOT = Path(__file__).resolve().parent.parent
# The lessons rewritten with claims in code. 05 is not yet (the issue on exact claims is open
# for it); add it here when it ends with a claims table.
LESSONS = [ROOT / "notebooks" / f"{name}.ipynb"
           for name in ("01_svm_theory", "02_quasi_svm_rff", "03_regularized_dense", "04_four_class_data",
                            "05_gpu_benchmark", "06_scaling")]


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_committed_run_holds_at_least_five_claims(path):
    payload = read_claims(path)
    assert payload is not None, f"{path.name} has no saved claims table"
    assert payload["smoke"] is False, f"{path.name} was committed from a smoke run"
    claims = payload["claims"]
    assert len(claims) >= 5, f"{path.name}: only {len(claims)} claims"
    failed = [c["statement"] for c in claims if not c["holds"]]
    assert not failed, f"{path.name}: claims that do not hold: {failed}"


def test_the_command_line_agrees():
    done = subprocess.run([sys.executable, "-m", "helpers.claims", *map(str, LESSONS)],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{len(LESSONS)} of {len(LESSONS)} notebooks hold all their claims" in done.stdout
