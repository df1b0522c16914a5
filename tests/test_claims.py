"""helpers.claims: verdicts at the thresholds' edges, smoke thresholds, errors, the report, the CLI."""

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
from IPython.core.formatters import DisplayFormatter

from helpers.claims import MIME_TYPE, Claims, ClaimsFailed, fmt, main, read_claims

ROOT = Path(__file__).resolve().parents[1]


def verdict(value, smoke=False, **thresholds):
    return Claims(smoke=smoke, verbose=False).check("claim", value, basis="theory", **thresholds)


# --------------------------------------------------------------------------- verdicts


def test_bounds_at_their_edges():
    below_099 = np.nextafter(0.99, 0.0)
    assert verdict(0.99, at_least=0.99) is True
    assert verdict(below_099, at_least=0.99) is False
    assert verdict(0.99, above=0.99) is False
    assert verdict(np.nextafter(0.99, 1.0), above=0.99) is True
    assert verdict(0.005, at_most=0.005) is True
    assert verdict(np.nextafter(0.005, 1.0), at_most=0.005) is False
    assert verdict(0.005, below=0.005) is False
    assert verdict(below_099, below=0.99) is True
    # a range: both ends must hold
    assert verdict(1.0, at_least=0.9, at_most=1.0) is True
    assert verdict(0.89, at_least=0.9, at_most=1.0) is False
    assert verdict(1.01, at_least=0.9, at_most=1.0) is False


def test_equals_within_tol_and_exact():
    # 0.5, 0.25 and 0.75 are exact binary fractions, so the edge is the edge
    assert verdict(0.75, equals=0.5, tol=0.25) is True
    assert verdict(np.nextafter(0.75, 1.0), equals=0.5, tol=0.25) is False
    assert verdict(0.25, equals=0.5, tol=0.25) is True
    assert verdict(1234, equals=1234) is True
    assert verdict(1235, equals=1234) is False
    assert verdict(np.array_equal([1, 2], [1, 2]), equals=True) is True


def test_smoke_thresholds_replace_full_ones_only_in_a_smoke_run():
    full, smoke = Claims(smoke=False, verbose=False), Claims(smoke=True, verbose=False)
    for claims in (full, smoke):
        claims.check("agreement ≥ 99 %", 0.95, at_least=0.99, smoke_at_least=0.80)
        claims.check("gap ≤ 0.5 %", 0.01, at_most=0.005, smoke_at_most=0.05)
        claims.check("exact", 0.5, equals=0.5, tol=1e-6)  # no smoke threshold: the full one applies
    assert [c.holds for c in full.records.values()] == [False, False, True]
    assert [c.holds for c in smoke.records.values()] == [True, True, True]
    assert [c.applied for c in full.records.values()] == ["full", "full", "full"]
    assert [c.applied for c in smoke.records.values()] == ["smoke_at_least", "smoke_at_most", "full"]
    assert smoke.records["agreement ≥ 99 %"].thresholds == {"at_least": 0.80}
    assert smoke.records["agreement ≥ 99 %"].needs == "≥ 0.8"
    assert full.records["exact"].needs == "= 0.5 ± 1e-06"
    assert verdict(0.04, smoke=True, equals=0.0, tol=0.01, smoke_tol=0.05) is True
    assert verdict(0.04, smoke=False, equals=0.0, tol=0.01, smoke_tol=0.05) is False


def test_check_prints_a_verdict_and_a_rerun_replaces_the_claim(capsys):
    claims = Claims()
    assert claims.check("objectives within 0.5 %", 0.0123, basis="target", at_most=0.005) is False
    assert capsys.readouterr().out == (
        "✗ DOES NOT HOLD: objectives within 0.5 % (measured 0.0123, needs ≤ 0.005; basis: target)\n")
    assert claims.check("objectives within 0.5 %", 0.001, basis="target", at_most=0.005) is True  # cell re-run
    assert capsys.readouterr().out == (
        "✓ holds: objectives within 0.5 % (measured 0.001, needs ≤ 0.005; basis: target)\n")
    assert len(claims.records) == 1 and claims.failed == []


def test_values_display_with_4_significant_digits_and_ints_as_ints():
    assert fmt(0.995238) == "0.9952"
    assert fmt(97.3149) == "97.31"
    assert fmt(28.0) == "28"
    assert fmt(1e-7) == "1e-07"
    assert fmt(12345.6) == "12346"
    assert fmt(1234) == "1234" and fmt(True) == "True"
    claims = Claims(verbose=False)
    claims.check("support vectors", np.int64(4321), at_least=np.float32(100.0))
    claims.check("accuracy", np.float32(0.97314), at_least=0.97)
    assert claims.records["support vectors"].value == 4321
    assert type(claims.records["support vectors"].value) is int
    assert claims.records["support vectors"].needs == "≥ 100"
    assert fmt(claims.records["accuracy"].value) == "0.9731"


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize("kwargs, message", [
    ({}, r"Received: no threshold"),
    ({"at_least": 0.9, "above": 0.8}, r"one of at_least/above.*Received: at_least, above"),
    ({"at_most": 1, "below": 2}, r"Received: at_most, below"),
    ({"equals": 1, "at_least": 0}, r"equals alone\. Received: at_least, equals"),
    ({"at_least": 0, "tol": 0.1}, r"`tol` needs `equals`"),
    ({"equals": 1, "tol": -0.1}, r"`tol` must be >= 0\. Received tol=-0.1"),
    ({"at_most": 1, "smoke_at_least": 0}, r"`smoke_at_least` must loosen `at_least`.*at_least=None"),
    ({"at_least": 0.9, "smoke_at_least": 0.95}, r"`smoke_at_least` must loosen.*smoke_at_least=0.95"),
    ({"at_most": 0.1, "smoke_at_most": 0.05}, r"`smoke_at_most` must loosen `at_most`"),
    ({"at_least": float("nan")}, r"`at_least` must be a finite number\. Received at_least=nan"),
    ({"at_least": 0, "smoke_at_least": float("-inf")}, r"`smoke_at_least` must be a finite number"),
])
def test_bad_thresholds_name_the_argument(kwargs, message):
    with pytest.raises(ValueError, match=message) as err:
        Claims(verbose=False).check("my claim", 0.5, basis="theory", **kwargs)
    assert str(err.value).startswith("Claim 'my claim': ")


@pytest.mark.parametrize("value", [float("nan"), float("inf"), "0.5", None])
def test_a_value_that_is_not_a_finite_number_is_refused(value):
    with pytest.raises(ValueError, match=r"Claim 'c': `value` must be a finite number\. Received"):
        Claims(verbose=False).check("c", value, at_least=0)


def test_statement_must_be_text():
    with pytest.raises(ValueError, match="`statement` must be a non-empty string"):
        Claims().check("  ", 0.5, at_least=0)


# --------------------------------------------------------------------------- report


def two_claims(smoke=False):
    claims = Claims(smoke=smoke, verbose=False)
    claims.check("Keras and scikit-learn agree on ≥ 99 % <of> images", 0.9952, at_least=0.99,
                 basis="target: issue 1")
    claims.check("objectives within 0.5 %", 0.0123, at_most=0.005, smoke_at_most=0.05,
                 basis="theory: the solver's tolerance")
    return claims


def test_report_raises_naming_only_the_failed_claim(capsys):
    with pytest.raises(ClaimsFailed) as err:
        two_claims().report()
    message = str(err.value)
    assert "✗ 1 of 2 claims do NOT hold" in message
    assert "objectives within 0.5 % (measured 0.0123, needs ≤ 0.005; basis: theory" in message
    assert "agree on" not in message
    # the table was shown before raising (plain text outside IPython)
    out = capsys.readouterr().out
    assert out.startswith("What this notebook showed (full run): ✗ 1 of 2 claims do NOT hold\n")
    assert "  ✗ DOES NOT HOLD: objectives within 0.5 %" in out


def test_report_not_strict_shows_the_failure_without_raising(capsys):
    claims = two_claims()
    claims.report(strict=False)
    assert "✗ DOES NOT HOLD: objectives within 0.5 %" in capsys.readouterr().out
    html = claims._repr_mimebundle_()["text/html"]
    assert "✗ does NOT hold</td>" in html and "color:#b00020" in html
    two_claims(smoke=True).report()  # smoke thresholds: both hold, nothing raised


def test_report_without_claims_is_an_error():
    with pytest.raises(ValueError, match=r"no claims were checked"):
        Claims().report()


def test_the_display_carries_html_text_and_the_claims_json():
    data, _ = DisplayFormatter().format(two_claims(smoke=True))  # what a kernel sends
    assert set(data) == {"text/plain", "text/html", MIME_TYPE}
    assert "<caption><b>What this notebook showed (smoke run): 2 of 2 claims hold" in data["text/html"]
    assert "&lt;of&gt;" in data["text/html"]  # statements are escaped
    payload = data[MIME_TYPE]
    assert payload["smoke"] is True
    assert payload["claims"][1] == {
        "statement": "objectives within 0.5 %", "value": 0.0123, "needs": "≤ 0.05",
        "thresholds": {"at_most": 0.05}, "applied": "smoke_at_most", "holds": True,
        "basis": "theory: the solver's tolerance", "se": None, "n_samples": None}
    assert json.loads(json.dumps(payload)) == payload


def test_report_in_ipython_displays_the_bundle(monkeypatch):
    import IPython
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython, "get_ipython", lambda: object())
    monkeypatch.setattr(IPython.display, "display", shown.append)
    claims = two_claims(smoke=True)
    claims.report()
    assert shown == [claims]


# --------------------------------------------------------------------------- command line


def save_notebook(path, claims=None, strict=True):
    """A notebook whose saved outputs are what ``claims.report()`` displays in a kernel."""
    cell = nbformat.v4.new_code_cell("claims.report()", execution_count=1)
    if claims is not None:
        data, _ = DisplayFormatter().format(claims)
        cell.outputs = [nbformat.v4.new_output("display_data", data=data)]
    else:
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="no claims here\n")]
    nb = nbformat.v4.new_notebook(cells=[cell])
    nbformat.validate(nb)
    nbformat.write(nb, path)
    return path


@pytest.fixture
def notebooks(tmp_path):
    failing = Claims(verbose=False)
    failing.check("accuracy ≥ 0.97", 0.9512, at_least=0.97, basis="target")
    failing.check("C = 5e-4", 0.0005, equals=0.0005, tol=1e-12, basis="theory")
    return {
        "pass": save_notebook(tmp_path / "a_pass.ipynb", two_claims(smoke=True)),
        "fail": save_notebook(tmp_path / "b_fail.ipynb", failing),
        "none": save_notebook(tmp_path / "c_none.ipynb"),
    }


def test_cli_passing_notebook(notebooks, capsys):
    assert main([str(notebooks["pass"])]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"{notebooks['pass']}: What this notebook showed (smoke run): 2 of 2 claims hold",
        "  ✓ holds: Keras and scikit-learn agree on ≥ 99 % <of> images (measured 0.9952, needs ≥ 0.99;"
        " basis: target: issue 1)",
        "  ✓ holds: objectives within 0.5 % (measured 0.0123, needs ≤ 0.05; smoke_at_most;"
        " basis: theory: the solver's tolerance)",
        "1 of 1 notebooks hold all their claims, each with a basis",
    ]
    assert read_claims(notebooks["pass"])["claims"][0]["value"] == 0.9952


def test_cli_folder_with_a_failing_and_a_claimless_notebook(notebooks, capsys):
    assert main([str(notebooks["pass"].parent)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[3:] == [
        f"{notebooks['fail']}: What this notebook showed (full run): ✗ 1 of 2 claims do NOT hold",
        "  ✗ DOES NOT HOLD: accuracy ≥ 0.97 (measured 0.9512, needs ≥ 0.97; basis: target)",
        "  ✓ holds: C = 5e-4 (measured 0.0005, needs = 0.0005 ± 1e-12; basis: theory)",
        f"{notebooks['none']}: ✗ no claims output (run it through claims.report(), save with outputs)",
        "1 of 3 notebooks hold all their claims, each with a basis",
    ]
    assert main([str(notebooks["none"])]) == 1


@pytest.mark.parametrize("make, why", [
    (lambda d: d / "missing.ipynb", "no such file or folder"),
    (lambda d: (d / "notes.txt").write_text("hi") and d / "notes.txt", "not a notebook (.ipynb) file"),
    (lambda d: (d / "empty").mkdir() or d / "empty", "no .ipynb notebook in this folder"),
    (lambda d: (d / "bad.ipynb").write_text("{not json") and d / "bad.ipynb", "not a readable notebook"),
])
def test_cli_bad_paths_are_named(tmp_path, capsys, make, why):
    path = make(tmp_path)
    with pytest.raises(SystemExit) as err:
        main([str(path)])
    assert err.value.code == 2
    assert capsys.readouterr().err.startswith(f"error: {path}: {why}")


def test_cli_runs_as_a_module(notebooks):
    done = subprocess.run([sys.executable, "-m", "helpers.claims", str(notebooks["fail"])],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert "✗ DOES NOT HOLD: accuracy ≥ 0.97 (measured 0.9512, needs ≥ 0.97; basis: target)" in done.stdout


def test_a_kernel_saves_the_claims_where_the_cli_reads_them(tmp_path, capsys):
    """End to end on a three-line notebook: the real display path, nbformat-valid, read back."""
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "from helpers.claims import Claims\nclaims = Claims(smoke=True)\n"
        "claims.check('half', [0.5, 0.52, 0.48], at_least=0.3, smoke_at_least=0.2, basis='noise')\n"
        "claims.report()")])
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3", resources={
        "metadata": {"path": str(ROOT)}}).execute()
    nbformat.validate(nb)
    path = tmp_path / "run.ipynb"
    nbformat.write(nb, path)
    assert [o.output_type for o in nb.cells[0].outputs] == ["stream", "display_data"]
    assert main([str(path)]) == 0
    assert ("  ✓ holds: half (measured 0.5 ± 0.02309 [0.4769, 0.5231], 3 values, needs ≥ 0.2 "
            "(all of ± 2 SE); smoke_at_least; basis: noise)") in capsys.readouterr().out


# --------------------------------------------------------------------------- bases and noise


@pytest.mark.parametrize("basis", ["hunch", "", "theory:", "noise:  ", 3, "Theory"])
def test_a_basis_must_be_theory_noise_or_target(basis):
    with pytest.raises(ValueError, match=r"Claim 'c': `basis` must be one of theory, noise, target"):
        Claims(verbose=False).check("c", 0.5, at_least=0, basis=basis)


def test_a_claim_without_a_basis_is_marked_and_fails_the_command_line(tmp_path, capsys):
    claims = Claims(verbose=False)
    claims.check("has one", 0.5, at_least=0.4, basis="theory: a bound")
    claims.check("has none", 0.5, at_least=0.4)
    assert [c.basis for c in claims.without_basis] == [None]
    assert claims.text().splitlines()[0].endswith("2 of 2 claims hold; ✗ 1 without a basis")
    assert "✗ no basis</td>" in claims._repr_mimebundle_()["text/html"]
    with pytest.raises(ClaimsFailed, match=r"has none \(measured 0\.5, needs ≥ 0\.4; ✗ NO BASIS\)"):
        claims.report()
    claims.report(strict=False)  # a user's own data: shown, not raised
    assert main([str(save_notebook(tmp_path / "nb.ipynb", claims))]) == 1
    out = capsys.readouterr().out
    assert "  ✓ holds: has none (measured 0.5, needs ≥ 0.4; ✗ NO BASIS)" in out
    assert out.splitlines()[-1] == "0 of 1 notebooks hold all their claims, each with a basis"


def test_per_seed_values_hold_only_beyond_two_standard_errors():
    # mean 0.02, SE 0.01 / sqrt(3): the interval is [0.00845, 0.03155]
    claims = Claims(verbose=False)
    assert claims.check("gain", [0.01, 0.02, 0.03], above=-0.001, basis="noise") is True
    record = claims.records["gain"]
    assert record.value == pytest.approx(0.02) and record.se == pytest.approx(0.01 / np.sqrt(3))
    assert record.n_samples == 3
    assert record.interval == pytest.approx((0.02 - 2 * record.se, 0.02 + 2 * record.se))
    # the mean is above 0.01, but not the whole interval: no claim of a gain that large
    assert claims.check("gain > 0.008", [0.01, 0.02, 0.03], above=0.008, basis="noise") is True
    assert claims.check("gain > 0.01", [0.01, 0.02, 0.03], above=0.01, basis="noise") is False
    assert claims.check("gain < 0.05", [0.01, 0.02, 0.03], below=0.05, basis="noise") is True
    assert claims.check("gain < 0.03", [0.01, 0.02, 0.03], below=0.03, basis="noise") is False


def test_a_standard_error_widens_the_value_to_its_interval():
    # binary fractions, so that the interval's ends are exact: 0.5 ± 2 × 0.125 = [0.25, 0.75]
    assert verdict(0.5, se=0.125, at_least=0.25) is True
    assert verdict(0.5, se=0.125, above=0.25) is False
    assert verdict(0.5, se=0.125, at_most=0.75) is True
    assert verdict(0.5, se=0.1875, at_most=0.75) is False


def test_equals_with_noise_claims_no_measurable_difference_or_a_tolerance_band():
    assert verdict(0.01, se=0.006, equals=0.0) is True  # 0 lies in [-0.002, 0.022]
    assert verdict(0.01, se=0.004, equals=0.0) is False  # [0.002, 0.018] excludes 0: a difference
    assert verdict([0.0, 0.02, -0.01], equals=0.0) is True
    assert verdict(0.01, se=0.004, equals=0.0, tol=0.02) is True  # [0.002, 0.018] within ± 0.02
    assert verdict(0.01, se=0.006, equals=0.0, tol=0.02) is False  # 0.022 > 0.02
    # a smoke tolerance applies in smoke runs only; the full run still claims no measurable difference
    assert verdict(0.01, se=0.004, equals=0.0, smoke_tol=1.0) is False
    assert verdict(0.01, se=0.004, equals=0.0, smoke_tol=1.0, smoke=True) is True
    claims = Claims(verbose=False)
    claims.check("no difference", 0.01, se=0.006, equals=0.0, basis="noise")
    assert claims.records["no difference"].needs == "0 within ± 2 SE"
    assert claims.records["no difference"].measured() == "0.01 ± 0.012 [-0.002, 0.022]"


@pytest.mark.parametrize("value, se, message", [
    ([0.5], None, r"per-seed values must be at least two finite numbers"),
    ([0.5, float("nan")], None, r"per-seed values must be at least two finite numbers"),
    ([[0.5, 0.6]], None, r"per-seed values must be at least two finite numbers"),
    ([0.5, 0.6], 0.1, r"give per-seed values or `se`, not both"),
    (0.5, -0.1, r"`se` must be >= 0\. Received se=-0.1"),
])
def test_bad_noise_arguments_are_named(value, se, message):
    with pytest.raises(ValueError, match=message):
        Claims(verbose=False).check("c", value, se=se, at_least=0, basis="noise")


def test_the_saved_claim_keeps_its_interval_for_the_command_line(tmp_path, capsys):
    claims = Claims(verbose=False)
    claims.check("seeds", [0.97, 0.972, 0.974], at_least=0.9, basis="noise: 3 seeds")
    assert main([str(save_notebook(tmp_path / "nb.ipynb", claims))]) == 0
    assert ("✓ holds: seeds (measured 0.972 ± 0.002309 [0.9697, 0.9743], 3 values, needs ≥ 0.9 "
            "(all of ± 2 SE); basis: noise: 3 seeds)") in capsys.readouterr().out
