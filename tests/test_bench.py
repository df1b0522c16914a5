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


@pytest.fixture(scope="module")
def tiny_mnist(tmp_path_factory):
    """A learnable MNIST look-alike in Keras' npz layout: each digit is a bright square."""
    rng = np.random.default_rng(0)

    def images(n):
        labels = np.arange(n) % 10
        x = rng.integers(0, 60, size=(n, 28, 28))
        for i, label in enumerate(labels):
            row, col = divmod(int(label), 5)
            x[i, 4 + 10 * row : 12 + 10 * row, 1 + 5 * col : 6 + 5 * col] += 180
        return x.astype(np.uint8), labels.astype(np.uint8)

    (x_train, y_train), (x_test, y_test) = images(300), images(100)
    path = tmp_path_factory.mktemp("mnist") / "mnist.npz"
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return path


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
