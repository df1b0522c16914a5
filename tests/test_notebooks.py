"""Execute every notebook with papermill in smoke mode and check the figures it writes.

Each notebook in ``notebooks/`` must have an entry in ``CHECKS``: a function that asserts
real values in its results JSON. A notebook without one fails, so none is added unchecked.
Run only these with ``pytest -m notebooks``; skip them with ``-m "not notebooks"``.
"""

import json
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

papermill = pytest.importorskip("papermill")

NOTEBOOKS_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))
# Generous by default (a loaded CI runner); on an idle 2-core machine each smoke run takes well under it.
SMOKE_LIMIT_S = float(os.environ.get("SVM_TUTORIAL_SMOKE_LIMIT_S", "90"))

pytestmark = pytest.mark.notebooks


def run_notebook(name_or_path, tmp_path, **parameters):
    """Execute a notebook with papermill in notebooks/; return (results dict or None, seconds)."""
    source = Path(name_or_path)
    if not source.is_absolute():
        source = NOTEBOOKS_DIR / f"{name_or_path}.ipynb"
    started = time.perf_counter()
    papermill.execute_notebook(
        str(source), str(tmp_path / f"out-{source.name}"), parameters=parameters,
        kernel_name="python3", cwd=str(NOTEBOOKS_DIR), progress_bar=False, log_output=False,
    )
    seconds = time.perf_counter() - started
    results_path = parameters.get("results_path")
    results = json.loads(Path(results_path).read_text()) if results_path else None
    return results, seconds


def _accuracy(value):
    assert isinstance(value, float) and 0.0 <= value <= 1.0, value
    return value


# --------------------------------------------------------------------------- checks per notebook


def check_01(r):
    assert r["smoke"] is True
    assert r["linear"]["agreement"] >= 0.95  # Dense + L2 + hinge vs SVC(linear) at the matching C
    assert r["linear"]["max_weight_difference"] < 0.05
    errors = r["rff"]["rms_errors"]
    assert len(errors) == len(r["rff"]["dims"]) >= 3
    assert all(a > b for a, b in zip(errors, errors[1:])), errors  # more features, smaller error
    assert errors[-1] < errors[0] / 5
    assert r["quasi_vs_svc"]["agreement"] > 0.8
    assert _accuracy(r["quasi_vs_svc"]["svc_accuracy"]) > 0.8
    assert r["multiclass_agreement"]["hinge"] > 0.9
    assert r["multiclass_agreement"]["categorical_hinge"] > 0.8


def check_02(r):
    assert r["smoke"] is True and r["dataset"] == "mnist"
    acc = r["test_accuracy"]
    assert set(acc) == {"seed_quasi_svm", "quasi_svm", "svc"}
    for value in acc.values():
        _accuracy(value)
    assert acc["svc"] > 0.5 and acc["quasi_svm"] > 0.5  # 10 classes: chance is 0.1
    for value in r["agreement_with_svc"].values():
        _accuracy(value)
    assert r["agreement_with_svc"]["quasi_svm"] > 0.5
    assert r["gamma"]["recipe"] == pytest.approx(0.005)  # scale 10 -> 1/(2·10²)
    assert 0.005 < r["gamma"]["heuristic"] < 0.05  # sklearn's gamma='scale' on MNIST pixels (≈ 0.013)
    assert r["gamma"]["quasi_svm"] == pytest.approx(1.5 * r["gamma"]["heuristic"], rel=1e-4)
    assert len(r["sweep"]) == 6 and {row["scale"] for row in r["sweep"]} == {5.0, 10.0, 20.0}
    for row in r["sweep"]:
        _accuracy(row["test_accuracy"])
    assert all(r["train_seconds"][k] > 0 for k in ("seed_quasi_svm", "quasi_svm", "svc"))


def check_05(r):
    assert r["smoke"] is True
    pairs = {(rec["dataset"], rec["approach"]) for rec in r["records"]}
    assert pairs == {(d, a) for d in ("mnist", "four_class") for a in r["approaches"]}
    assert len(r["approaches"]) == 6
    for dataset, by_approach in r["test_accuracy"].items():
        assert set(by_approach) == set(r["approaches"])
        for value in by_approach.values():
            _accuracy(value)
    # One epoch on 500 rows in smoke mode: only the exact SVMs and the fast recipe must clearly beat chance
    # (MNIST 0.1; four_class 0.25, its majority class 0.39).
    for dataset, chance in (("mnist", 0.1), ("four_class", 0.39)):
        for approach in ("sklearn_svc", "quasi_svm"):
            assert r["test_accuracy"][dataset][approach] > chance + 0.2, (dataset, approach)
    for rec in r["records"]:
        assert rec["fit_seconds"] > 0 and rec["predict_seconds"] > 0
        if rec["dataset"] == "mnist":
            assert rec["n_test"] == 500 and rec["n_train"] <= 500  # the smoke subsets
        _accuracy(rec["agreement_with_svc"])
        assert rec["trainable_params"] > 0
    svc = {rec["dataset"]: rec for rec in r["records"] if rec["approach"] == "sklearn_svc"}
    assert all(rec["agreement_with_svc"] == 1.0 for rec in svc.values())


def check_03(r):
    acc = r["test_accuracy"]
    assert set(acc) >= {"linear_svc_seed_c", "keras_linear_l2_0.01", "deep_hinge", "quasi_svm"}
    for value in acc.values():
        _accuracy(value)
    assert acc["linear_svc_seed_c"] > 0.5  # 10 classes: chance is 0.1
    assert r["trainable_params"] == {"keras_linear": 7_850, "deep_hinge": 111_514, "quasi_svm": 40_970}
    assert r["c_of_l2_0.01"] == pytest.approx(1 / (2 * 0.01 * r["n_train"] * 10))


def check_04(r):
    acc = r["test_accuracy"]
    assert set(acc) == {"quasi_svm", "linear_svm", "svc", "linear_svc"}
    for value in acc.values():
        _accuracy(value)
    assert acc["svc"] > 0.5  # 4 classes: chance is 0.25, the majority class 0.39
    assert (r["n_features"], r["n_classes"]) == (7, 4)
    assert r["cv_accuracy"]["svc_scaled"] > r["cv_accuracy"]["svc_unscaled"]  # scaling matters here
    assert _accuracy(r["tuned"]["svc"]["test_accuracy"]) > 0.5


CHECKS = {
    "01_svm_theory": check_01,
    "02_quasi_svm_rff": check_02,
    "03_regularized_dense": check_03,
    "04_four_class_data": check_04,
    "05_gpu_benchmark": check_05,
}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_smoke_run(path, tmp_path):
    check = CHECKS.get(path.stem)
    assert check is not None, f"{path.name} has no entry in CHECKS in {__file__}: add checks of its results JSON"
    results_path = tmp_path / "r.json"
    try:
        results, seconds = run_notebook(path, tmp_path, smoke=True, results_path=str(results_path))
    except papermill.PapermillExecutionError as err:
        if "Could not get MNIST" in str(err) or "Could not get Fashion-MNIST" in str(err):
            pytest.skip(f"{path.name}: dataset not available offline (set MNIST_NPZ / FASHION_MNIST_DIR)")
        raise
    print(f"{path.name}: smoke run {seconds:.1f} s")
    check(results)
    assert seconds < SMOKE_LIMIT_S, f"{path.name}: smoke run took {seconds:.0f} s"


def test_every_notebook_was_found():
    assert {p.stem for p in NOTEBOOKS} >= {"01_svm_theory", "03_regularized_dense", "04_four_class_data"}


# --------------------------------------------------------------------------- 04 on unseen data


def _unseen_csv(path):
    """7 numeric features and 4 string classes from a different generator; the label is column 3."""
    from sklearn.datasets import make_classification

    x, y = make_classification(n_samples=500, n_features=7, n_informative=5, n_redundant=1,
                               n_classes=4, n_clusters_per_class=1, class_sep=1.5, random_state=11)
    frame = pd.DataFrame(x * np.array([1, 50, 0.01, 3, 1, 200, 0.5]), columns=[f"f{i}" for i in range(7)])
    frame.insert(3, "species", np.array(["ant", "bee", "cat", "dog"])[y])
    frame.to_csv(path, index=False)
    return path


def test_04_runs_on_a_csv_it_has_never_seen(tmp_path):
    csv = _unseen_csv(tmp_path / "unseen.csv")
    out = tmp_path / "out.json"
    results, _ = run_notebook("04_four_class_data", tmp_path, smoke=True, results_path=str(out),
                              data_path=str(csv), label_column="species")
    assert set(results["test_accuracy"]) == {"quasi_svm", "linear_svm", "svc", "linear_svc"}
    for value in results["test_accuracy"].values():
        _accuracy(value)
    assert results["test_accuracy"]["svc"] > 0.5
    assert results["label_column"] == "species" and results["data_file"] == "unseen.csv"
    assert results["class_names"] == ["ant", "bee", "cat", "dog"] and results["n_features"] == 7


# --------------------------------------------------------------------------- bad parameters


@pytest.mark.parametrize(
    "name, parameters, message",
    [
        ("04_four_class_data", {"data_path": "no/such/file.csv"}, "data_path"),
        ("04_four_class_data", {"label_column": "no_such_column"}, "label_column"),
        ("04_four_class_data", {"test_size": 1.5}, "test_size"),
        ("03_regularized_dense", {"epochs": 0}, "epochs"),
        ("03_regularized_dense", {"dataset": "cifar10"}, "dataset"),
        ("02_quasi_svm_rff", {"dataset": "cifar10"}, "dataset"),
        ("02_quasi_svm_rff", {"scale": -1.0}, "scale"),
        ("05_gpu_benchmark", {"approaches": ["no_such_approach"]}, "approaches"),
    ],
)
def test_bad_parameters_stop_with_a_clear_message(name, parameters, message, tmp_path):
    with pytest.raises(papermill.PapermillExecutionError) as info:
        run_notebook(name, tmp_path, smoke=True, **parameters)
    assert info.value.ename == "ValueError"
    assert message in str(info.value)
    assert info.value.exec_count <= 4  # the check cell right after the (injected) parameters


# --------------------------------------------------------------------------- Binder defaults


def test_smoke_mode_stays_tiny_under_binder_variables(tmp_path, monkeypatch):
    """binder/start exports larger MNIST sizes; a smoke run must still use its tiny subsets."""
    monkeypatch.setenv("SVM_TUTORIAL_N_TRAIN", "5000")
    monkeypatch.setenv("SVM_TUTORIAL_N_TEST", "4000")
    out = tmp_path / "r.json"
    try:
        results, _ = run_notebook("03_regularized_dense", tmp_path, smoke=True, results_path=str(out))
    except papermill.PapermillExecutionError as err:
        if "Could not get MNIST" in str(err):
            pytest.skip("MNIST not available offline (set MNIST_NPZ)")
        raise
    assert (results["n_train"], results["n_test"]) == (500, 1000)
