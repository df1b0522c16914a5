"""The benchmark harness on tiny data: complete, sane records; valid JSON; clear errors."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers import bench


@pytest.fixture(scope="module")
def four_class_records():
    return bench.run_benchmark(
        datasets=("four_class",), n_train=200, n_test=200, epochs=2, verbose=False
    )


def _check_record(record):
    assert set(bench.RECORD_KEYS) <= set(record)
    assert record["backend"] and record["device"]
    assert record["fit_seconds"] > 0 and record["predict_seconds"] > 0
    assert 0.0 <= record["test_accuracy"] <= 1.0
    assert 0.0 <= record["agreement_with_svc"] <= 1.0
    assert record["peak_rss_mb"] > 0 and record["load_seconds"] >= 0
    assert record["trainable_params"] > 0
    # The floor is what the two accuracies force: max(0, acc + acc_svc - 1).
    assert record["agreement_floor"] <= record["agreement_with_svc"] + 1e-9
    # None only where the SVC makes no mistake (nothing to compare on).
    errors = record["agreement_on_svc_errors"]
    assert errors is None or 0.0 <= errors <= 1.0
    if record["approach"].startswith("sklearn") or record["approach"] == "linear_svm":
        assert record["epochs"] is None and record["seconds_per_epoch"] is None
    else:
        assert record["epochs"] >= 1 and record["seconds_per_epoch"] > 0


def test_four_class_records_are_complete_and_sane(four_class_records):
    records = {r["approach"]: r for r in four_class_records}
    assert list(records) == list(bench.APPROACHES)
    for record in four_class_records:
        _check_record(record)
        assert record["dataset"] == "four_class" and record["n_test"] == 200
    svc = records["sklearn_svc"]
    assert svc["agreement_with_svc"] == 1.0 and svc["agreement_on_svc_errors"] == 1.0
    for record in four_class_records:
        floor = max(0.0, record["test_accuracy"] + svc["test_accuracy"] - 1.0)
        assert record["agreement_floor"] == pytest.approx(floor, abs=1e-6)
        assert record["agreement_on_svc_errors"] is not None  # the SVC errs here (accuracy < 1)
        assert record["data"].startswith("data/four_class.csv: 2,000 rows, split 1,500 training / 500 test")
        assert record["data"].endswith("200 training and 200 test rows are used")
    # The linear pair is one SVM: the same objective at the optimum, the same predictions.
    keras_linear, sklearn_linear = records["linear_svm"], records["sklearn_linear_svc"]
    assert keras_linear["params"]["converged"] is True
    c = 1 / (2 * 0.01 * 200 * 4)  # C = 1 / (2 λ n K)
    assert keras_linear["params"]["c"] == sklearn_linear["params"]["C"] == pytest.approx(c)
    assert keras_linear["svm_objective"] == pytest.approx(sklearn_linear["svm_objective"], rel=1e-3)
    assert keras_linear["agreement_with_pair"] == sklearn_linear["agreement_with_pair"] >= 0.98
    assert records["quasi_svm"]["agreement_with_pair"] is None
    # The validation_split of the keras.io recipe holds back 20% of the rows.
    assert records["seed_quasi_svm"]["n_train"] == 160 and records["quasi_svm"]["n_train"] == 200
    # 4 classes: chance is about 0.25-0.35; the RBF models must clearly beat it.
    assert records["sklearn_svc"]["test_accuracy"] > 0.7
    assert records["quasi_svm"]["test_accuracy"] > 0.5
    quasi = records["quasi_svm"]
    assert quasi["feature_seconds"] > 0 and quasi["fit_seconds"] >= quasi["feature_seconds"]
    assert len(quasi["test_accuracy_curve"]) == quasi["epochs"] == 2
    # The curve's clock is fit_seconds' clock: features first, then training, epoch by epoch.
    first, last = quasi["test_accuracy_curve_seconds"]
    assert quasi["feature_seconds"] < first < last <= quasi["fit_seconds"]
    counts = {
        "seed_quasi_svm": 4096 * 4 + 4,
        "quasi_svm": 8192 * 4 + 4,
        "linear_svm": 7 * 4 + 4,
        "deep_hinge": 7 * 128 + 128 + 128 * 64 + 64 + 64 * 32 + 32 + 32 * 16 + 16 + 16 * 4 + 4,
    }
    for approach, count in counts.items():
        assert records[approach]["trainable_params"] == count
    # Multiply-adds of each Keras fit, counted by hand (d = 7, K = 4, 2 epochs; helpers.flops):
    # per row forward + weight gradient (+ input gradient above the first trained layer).
    layers = [7 * 128, 128 * 64, 64 * 32, 32 * 16, 16 * 4]
    multiply_adds = {
        # Fixed 7 -> 4096 cosines, a trained Dense(4) on 160 rows; 40 validation rows, forward only.
        "seed_quasi_svm": 2 * (160 * (7 * 4096 + 2 * 4096 * 4) + 40 * (7 * 4096 + 4096 * 4)),
        # Features once (one 7 x 4096 projection, cos and sin of it), then a Dense(4) on 8192 of them.
        "quasi_svm": 200 * 7 * 4096 + 2 * 200 * 2 * 8192 * 4,
        "deep_hinge": 2 * 200 * (2 * sum(layers) + sum(layers[1:])),
    }
    for approach, count in multiply_adds.items():
        record = records[approach]
        assert record["fit_multiply_adds"] == count
        assert record["fit_gflops"] == pytest.approx(2 * count / record["fit_seconds"] / 1e9, rel=1e-6)
    assert records["linear_svm"]["fit_multiply_adds"] is None  # a solver, not a Keras fit by epochs
    assert all(r["matmul_gflops"] == records["quasi_svm"]["matmul_gflops"] > 0 for r in four_class_records)


def test_records_table(four_class_records):
    table = bench.records_table(four_class_records)
    assert isinstance(table, pd.DataFrame) and len(table) == len(bench.APPROACHES)
    assert list(table.columns[:3]) == ["dataset", "approach", "n_train"]


def test_mnist_from_a_tiny_npz(tiny_mnist):
    records = bench.run_benchmark(
        datasets=("mnist",), approaches=("seed_quasi_svm", "quasi_svm", "sklearn_svc"),
        mnist_path=str(tiny_mnist), epochs=2, verbose=False,
    )
    by = {r["approach"]: r for r in records}
    for record in records:
        _check_record(record)
        assert record["n_test"] == 100 and record["n_features"] == 784
    assert by["seed_quasi_svm"]["trainable_params"] == 40_970  # the keras.io recipe's count
    assert by["quasi_svm"]["trainable_params"] == 8192 * 10 + 10
    assert by["sklearn_svc"]["test_accuracy"] > 0.9
    if by["sklearn_svc"]["test_accuracy"] == 1.0:  # no SVC error: no agreement on its errors
        assert all(r["agreement_on_svc_errors"] is None for r in records)
    assert by["quasi_svm"]["test_accuracy"] > 0.5  # chance is 0.1
    assert by["quasi_svm"]["seed_accuracy_source"] == "seed_quasi_svm in this run"
    assert by["sklearn_svc"]["data"] == (
        "MNIST: the first 300 of the 60,000 official training images and the first 100 of "
        "the 10,000 official test images"
    )


def test_cli_writes_valid_json(tmp_path, capsys):
    out = tmp_path / "sub" / "records.json"
    bench.main(
        ["--datasets", "four_class", "--approaches", "quasi_svm,sklearn_linear_svc",
         "--n-train", "200", "--epochs", "1", "--output-dim", "256", "--out", str(out)]
    )
    records = json.loads(out.read_text())
    assert [r["approach"] for r in records] == ["quasi_svm", "sklearn_linear_svc"]
    assert records[0]["params"]["output_dim"] == 256 and records[0]["agreement_with_svc"] is None
    assert records[0]["agreement_floor"] is None and records[1]["agreement_with_pair"] is None
    assert "quasi_svm" in capsys.readouterr().out  # the table


@pytest.mark.parametrize(
    "kwargs, option",
    [
        (dict(datasets=("cifar",)), "dataset"),
        (dict(approaches=("quasi_svn",)), "approach"),
        (dict(epochs=0), "epochs"),
        (dict(batch_size=-1), "batch_size"),
    ],
)
def test_bad_options_raise_value_error(kwargs, option):
    with pytest.raises(ValueError, match=option):
        bench.run_benchmark(**kwargs, verbose=False)


@pytest.mark.parametrize(
    "argv, option",
    [
        (["--epochs", "0"], "--epochs"),
        (["--approaches", "svm"], "--approaches"),
        (["--datasets", "cifar"], "--datasets"),
        (["--scale", "-1"], "--scale"),
    ],
)
def test_bad_cli_options_name_the_option(argv, option, capsys):
    with pytest.raises(SystemExit):
        bench.main(argv)
    assert option in capsys.readouterr().err


def test_device_name_is_a_string():
    assert isinstance(bench.device_name(), str) and bench.device_name()


# --------------------------------------------------------------------------- CLI start-up and the GPU script

REPO = Path(__file__).resolve().parent.parent
RUN_GPU = REPO / "benchmarks" / "run-gpu.sh"


def test_help_loads_no_backend():
    """`--help` must answer without importing Keras or a backend (that costs seconds)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "helpers.bench", "--help"],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: python -m helpers.bench") and "--n-train" in done.stdout
    imported = {
        line.split("|")[-1].strip().split(".")[0]
        for line in done.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "numpy" in imported  # the import log was read
    assert not imported & {"keras", "tensorflow", "jax", "torch"}


def _run_gpu_script(tmp_path, **settings):
    """Run benchmarks/run-gpu.sh on this machine's Python, forced onto the CPU."""
    env = {k: v for k, v in os.environ.items() if k not in ("OUT", "MNIST_NPZ", "KERAS_BACKEND")}
    env.update(
        PYTHON=sys.executable, JAX_PLATFORMS="cpu", CUDA_VISIBLE_DEVICES="",
        WHEEL_DIR=str(tmp_path / "no-wheels"), OUT_DIR=str(tmp_path / "out"), **settings,
    )
    return subprocess.run(
        ["bash", str(RUN_GPU)], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.mark.parametrize(
    "settings, message",
    [
        (dict(BACKEND="tensorflow"), "BACKEND must be jax or torch"),
        (dict(N_TRAIN="abc"), "N_TRAIN must be a positive integer"),
        (dict(EPOCHS="0"), "EPOCHS must be a positive integer"),
        (dict(LARGE_DIMS="16384 big"), "LARGE_DIMS must hold positive integers"),
        (dict(STAGES="main huge"), "STAGES may hold main and large"),
        (dict(ALLOW_CPU="yes"), "ALLOW_CPU must be 0 or 1"),
        (dict(MNIST_NPZ="/no/such/mnist.npz"), "MNIST file not found: /no/such/mnist.npz"),
    ],
)
def test_gpu_script_refuses_bad_settings(tmp_path, tiny_mnist, settings, message):
    done = _run_gpu_script(tmp_path, **{"MNIST_NPZ": str(tiny_mnist), **settings})
    assert done.returncode == 2 and message in done.stderr


needs_jax = pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="needs JAX")


@needs_jax
def test_gpu_script_stops_without_a_gpu(tmp_path, tiny_mnist):
    done = _run_gpu_script(tmp_path, MNIST_NPZ=str(tiny_mnist))
    assert done.returncode == 3
    assert "the jax backend sees no GPU" in done.stderr and "ALLOW_CPU=1" in done.stderr
    assert not list((tmp_path / "out").glob("results-*.json"))


@needs_jax
def test_gpu_script_cpu_test_writes_marked_records(tmp_path, tiny_mnist):
    """The script end to end on the CPU: its large stage only, tiny (about 20 s)."""
    done = _run_gpu_script(
        tmp_path, MNIST_NPZ=str(tiny_mnist), ALLOW_CPU="1", STAGES="large", LARGE_DIMS="256",
        N_TRAIN="200", N_TEST="100", EPOCHS="1",
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    out = tmp_path / "out"
    # A CPU test is named as one, and the per-stage files are merged away.
    assert sorted(p.name for p in out.iterdir()) == [
        "environment.txt", "results-gpu-cpu-test.json", "run-gpu.log"
    ]
    records = json.loads((out / "results-gpu-cpu-test.json").read_text())
    assert [r["approach"] for r in records] == ["sklearn_svc", "quasi_svm"]
    for record in records:
        assert set(bench.RECORD_KEYS) <= set(record)
        assert (record["backend"], record["device"], record["stage"]) == ("jax", "cpu", "large-256")
        assert record["versions"]["jax"] and record["versions"]["keras"]
        assert (record["n_train"], record["n_test"]) == (200, 100)
    quasi = records[1]
    assert quasi["params"]["output_dim"] == 256 and quasi["epochs"] == 1
    assert quasi["trainable_params"] == 256 * 10 + 10
    assert records[0]["agreement_with_svc"] == 1.0 and quasi["agreement_with_svc"] > 0.3
    assert "backend: jax" in (out / "environment.txt").read_text()


# --------------------------------------------------------------------------- scaling study

TINY_QUASI = dict(epochs=3, output_dim=512)


@pytest.fixture(scope="module")
def scaling_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("scaling") / "scaling.json"
    result = bench.run_scaling(
        "four_class", [200, 400], quasi_overrides=TINY_QUASI, out=out, verbose=False
    )
    return result, out


def test_scaling_records_hold_sane_values(scaling_run):
    result, out = scaling_run
    assert json.loads(out.read_text()) == result
    records = result["records"]
    assert [r["n_train"] for r in records] == [200, 400]
    assert result["stopped"] is None and result["meta"]["svc"] == dict(kernel="rbf", gamma="scale", C=bench.SVC_C)
    for record in records:
        assert set(bench.SCALING_KEYS) <= set(record)
        assert record["n_test"] == 500  # the 4-class table's whole test split
        for key in ("svc_fit_seconds", "svc_predict_libsvm_seconds", "svc_predict_blas_seconds",
                    "quasi_fit_seconds", "quasi_predict_seconds"):
            assert record[key] > 0, key
        # No subset asked for: libsvm predicted the whole test set, nothing was scaled.
        assert record["svc_predict_libsvm_rows"] == 500
        assert record["svc_predict_libsvm_seconds_full_test"] == record["svc_predict_libsvm_seconds"]
        # The BLAS prediction is the same classifier: libsvm's labels on every row.
        assert record["blas_equals_libsvm"] == 1.0
        assert 0 < record["svc_support_vectors"] <= record["n_train"]
        # Four classes (chance 0.25, majority class 0.39): both clearly learn.
        assert record["svc_test_accuracy"] > 0.8 and record["quasi_test_accuracy"] > 0.6
        assert record["agreement_floor"] <= record["quasi_agreement_with_svc"] <= 1.0
        assert record["quasi_trainable_params"] == (512 + 1) * 4
        assert record["svc_gamma"] > 0 and record["peak_rss_mb"] > 0
    # More rows, more support vectors (the SVC's prediction cost grows with n).
    assert records[1]["svc_support_vectors"] > records[0]["svc_support_vectors"]
    assert set(result["summary"]["slopes"]) == set(bench.SCALING_SERIES)


def test_scaling_libsvm_subset_is_scaled_to_the_test_set(tmp_path):
    result = bench.run_scaling(
        "four_class", [300], libsvm_predict_rows=100, quasi_overrides=TINY_QUASI, verbose=False
    )
    record = result["records"][0]
    assert record["svc_predict_libsvm_rows"] == 100
    assert record["svc_predict_libsvm_seconds_full_test"] == pytest.approx(
        record["svc_predict_libsvm_seconds"] * 5, rel=1e-6
    )
    assert record["blas_equals_libsvm"] == 1.0
    # One size: no slope can be fitted, and the summary says nothing rather than guessing.
    assert result["summary"]["slopes"] == {}


def test_scaling_stops_at_the_time_budget_and_keeps_what_it_has(tmp_path):
    out = tmp_path / "stopped.json"
    result = bench.run_scaling(
        "four_class", [200, 400, 1500], time_budget=0.001, quasi_overrides=TINY_QUASI,
        out=out, verbose=False,
    )
    # The first size always runs; the budget is spent, so it stops before the second.
    assert [r["n_train"] for r in result["records"]] == [200]
    stopped = result["stopped"]
    assert stopped["before_n"] == 400 and stopped["estimated_seconds"] > 0
    assert stopped["elapsed_seconds"] > 0.001 and "400" in stopped["reason"]
    assert json.loads(out.read_text())["stopped"] == stopped


def test_power_law_fit_recovers_a_known_exponent():
    n = np.array([1000, 2000, 5000, 10000, 20000])
    k, a = bench.fit_power_law(n, 3e-7 * n ** 2.3)
    assert k == pytest.approx(2.3, abs=1e-9) and a == pytest.approx(3e-7, rel=1e-7)
    # 1e-6 n² against 1e-3 n: equal at n = 1000, the quadratic one costlier above it.
    assert bench.power_law_crossover((2.0, 1e-6), (1.0, 1e-3)) == pytest.approx(1000.0)
    # The "fast" one growing as fast or faster never overtakes.
    assert bench.power_law_crossover((1.0, 1.0), (1.5, 1e-3)) is None
    with pytest.raises(ValueError, match="at least two distinct sizes"):
        bench.fit_power_law([1000, 1000], [1.0, 2.0])
    with pytest.raises(ValueError, match="must be positive"):
        bench.fit_power_law([1000, 2000], [1.0, 0.0])


def test_scaling_summary_crossovers_on_synthetic_records():
    sizes = [1000, 2000, 4000, 8000]
    records = [
        dict(n_train=n, svc_fit_seconds=1e-6 * n ** 2, quasi_fit_seconds=2e-3 * n,
             svc_predict_libsvm_seconds_full_test=1e-3 * n, svc_predict_blas_seconds=1e-4 * n,
             quasi_predict_seconds=1.0 + 0 * n)
        for n in sizes
    ]
    summary = bench.scaling_summary(records)
    assert summary["slopes"]["svc_fit"] == pytest.approx(2.0)
    assert summary["slopes"]["quasi_predict"] == pytest.approx(0.0, abs=1e-12)
    fit = summary["crossovers"]["fit"]
    # 1e-6 n² = 2e-3 n at n = 2000: inside the measured range; cheaper from 4000 on.
    assert fit["fitted_n"] == pytest.approx(2000.0) and fit["extrapolated"] is False
    assert fit["measured_from_n"] == 4000
    # libsvm 1e-3 n = 1 s at n = 1000 (measured: equal there, cheaper from 2000).
    assert summary["crossovers"]["predict_libsvm"]["fitted_n"] == pytest.approx(1000.0)
    assert summary["crossovers"]["predict_libsvm"]["measured_from_n"] == 2000
    # BLAS 1e-4 n = 1 s at n = 10,000: beyond the sizes, so extrapolated; never cheaper measured.
    blas = summary["crossovers"]["predict_blas"]
    assert blas["fitted_n"] == pytest.approx(10000.0) and blas["extrapolated"] is True
    assert blas["measured_from_n"] is None


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(sizes=[200, 99999]), "exceed the 1,500 training rows"),
        (dict(time_budget=0), "`time_budget` must be a positive"),
        (dict(quasi_overrides=dict(scale=3.0)), "`quasi_overrides` may set"),
        (dict(libsvm_predict_rows=0), "`libsvm_predict_rows` must be a positive integer"),
    ],
)
def test_scaling_bad_options_raise_value_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        bench.run_scaling("four_class", **dict(dict(sizes=[200]), **kwargs), verbose=False)


def test_scaling_unknown_dataset_names_it():
    with pytest.raises(ValueError, match="Unknown dataset 'cifar'"):
        bench.run_scaling("cifar", verbose=False)


def test_scaling_cli_writes_the_study(tmp_path, capsys):
    out = tmp_path / "cli.json"
    result = bench.main(["--scaling", "--dataset", "four_class", "--sizes", "150,250", "--out", str(out)])
    written = json.loads(out.read_text())
    assert [r["n_train"] for r in written["records"]] == [150, 250] == result["meta"]["sizes"]
    printed = capsys.readouterr().out
    assert "four_class n=250: SVC fit" in printed and '"slopes"' in printed


def test_scaling_plot_cli_draws_the_records(scaling_run, tmp_path, capsys):
    _, records = scaling_run
    png = tmp_path / "scaling.png"
    bench.main(["--scaling-plot", str(png), str(records)])
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    with pytest.raises(SystemExit):
        bench.main(["--scaling-plot", str(png)])
    assert "give the PNG to write, then one or more records files" in capsys.readouterr().err


def test_scaling_estimate_extrapolates_each_part_with_its_last_slope():
    def record(n):
        # The SVC's fit grows like n², the rest like n (BLAS) or not at all (quasi_svm's predict).
        parts = dict(svc_fit_seconds=1e-6 * n ** 2, svc_predict_libsvm_seconds=1e-3 * n,
                     svc_predict_blas_seconds=1e-4 * n, quasi_fit_seconds=2e-3 * n, quasi_predict_seconds=1.0)
        return dict(n_train=n, point_seconds=sum(parts.values()) + 0.5, **parts)

    done = [record(10000), record(20000)]
    # At 60,000: each part from its value at 20,000 with its own slope, at least 1 (so the
    # constant predict triples), and the untimed 0.5 s linearly.
    expected = 1e-6 * 60000 ** 2 + 1e-3 * 60000 + 1e-4 * 60000 + 2e-3 * 60000 + 3.0 + 1.5
    assert bench._estimate_seconds(done, 60000) == pytest.approx(expected)
    # One size done: the SVC's fit taken as n², the rest as n.
    assert bench._estimate_seconds(done[:1], 20000) == pytest.approx(
        1e-6 * 20000 ** 2 + 2 * (1e-3 * 10000 + 1e-4 * 10000 + 2e-3 * 10000 + 1.0 + 0.5))


@pytest.mark.parametrize("n_rows", [5000, 1000])  # 1000: fewer training rows than the test set
@pytest.mark.parametrize("predict_rows, shapes", [(500, {500}), (2500, {1024, 452}), (2048, {1024})])
def test_predict_warm_up_compiles_the_batch_shapes_of_the_timed_predict(predict_rows, shapes, n_rows):
    """On JAX a batch shape not seen before compiles inside the timed predict (0.1-1.8 s for 500 rows)."""
    seen = set()

    class Recorder:
        def predict(self, x, batch_size, verbose):
            seen.update(len(x[i : i + batch_size]) for i in range(0, len(x), batch_size))

    bench._warm_up_predict(Recorder(), np.zeros((n_rows, 2)), predict_rows)
    timed = {len(range(i, min(i + bench.PREDICT_BATCH_SIZE, predict_rows))) for i in range(0, predict_rows, bench.PREDICT_BATCH_SIZE)}
    assert seen == shapes == timed
