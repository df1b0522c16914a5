"""helpers.notebook: parameter checks, the device report, atomic JSON results, the SciKeras bridge."""

import json
import os

import numpy as np
import pytest

from helpers import notebook


@pytest.mark.parametrize("value", [0, -3, 1.5, "10", True, None])
def test_require_positive_int_names_the_parameter(value):
    with pytest.raises(ValueError, match="`epochs`"):
        notebook.require_positive_int("epochs", value)


def test_require_positive_int_accepts_numpy_ints():
    assert notebook.require_positive_int("n", np.int64(3)) == 3


@pytest.mark.parametrize("value", [0, 1, -0.1, "0.2", None])
def test_require_fraction(value):
    with pytest.raises(ValueError, match="test_size"):
        notebook.require_fraction("test_size", value)
    assert notebook.require_fraction("test_size", 0.25) == 0.25


def test_require_file(tmp_path):
    f = tmp_path / "a.csv"
    f.write_text("x\n1\n")
    assert notebook.require_file("data_path", str(f)) == f
    with pytest.raises(ValueError, match="data_path.*not found"):
        notebook.require_file("data_path", tmp_path / "missing.csv")
    with pytest.raises(ValueError, match="data_path"):
        notebook.require_file("data_path", None)


def test_require_choice_and_bool():
    assert notebook.require_choice("loss", "hinge", ["hinge", "squared_hinge"]) == "hinge"
    with pytest.raises(ValueError, match="`loss`.*hinge"):
        notebook.require_choice("loss", "hingee", ["hinge", "squared_hinge"])
    assert notebook.require_bool("smoke", np.bool_(True)) is True
    with pytest.raises(ValueError, match="smoke"):
        notebook.require_bool("smoke", "yes")


def test_require_optional_path(tmp_path):
    assert notebook.require_optional_path("results_path", None) is None
    assert notebook.require_optional_path("results_path", str(tmp_path / "r.json")) == tmp_path / "r.json"
    with pytest.raises(ValueError, match="results_path"):
        notebook.require_optional_path("results_path", tmp_path / "nope" / "r.json")


def test_smoke_size():
    assert notebook.smoke_size(10_000, 500, smoke=True) == 500
    assert notebook.smoke_size(10_000, 500, smoke=False) == 10_000


def test_write_results_converts_numpy_and_is_atomic(tmp_path):
    path = tmp_path / "r.json"
    assert notebook.write_results(None, {"a": 1}) is None
    # None, not the path: a notebook's last line would display it (a dead staging path in reports).
    assert notebook.write_results(path, {"acc": np.float32(0.5), "n": np.int64(3), "v": np.arange(2),
                                         "nan": float("nan"), "t": (1, 2), 3: True}) is None
    written = json.loads(path.read_text())
    # The kernel's peak memory is added to every results file (Binder's 2 GB budget).
    assert written.pop("peak_rss_mb") > 50
    assert written == {"acc": 0.5, "n": 3, "v": [0, 1], "nan": None, "t": [1, 2], "3": True}
    assert os.listdir(tmp_path) == ["r.json"]  # no temporary file left behind
    assert path.stat().st_mode & 0o044, "results file should be readable like any other file"


def test_write_results_leaves_the_old_file_when_conversion_fails(tmp_path):
    path = tmp_path / "r.json"
    notebook.write_results(path, {"ok": 1})
    with pytest.raises(TypeError):
        notebook.write_results(path, {"bad": object()})
    assert json.loads(path.read_text())["ok"] == 1
    assert os.listdir(tmp_path) == ["r.json"]


def test_device_summary_prints_backend_and_cpu_warning(capsys):
    info = notebook.device_summary()
    out = capsys.readouterr().out
    assert info["backend"] in out and info["keras"] in out
    if not info["gpus"]:
        assert notebook.NO_GPU_WARNING in out


def test_in_colab_is_false_here():
    assert notebook.in_colab() is False


def test_require_int_allows_zero_seed_but_not_negative():
    assert notebook.require_int("seed", 0) == 0
    with pytest.raises(ValueError, match="`seed` must be an integer >= 0"):
        notebook.require_int("seed", -1)


def test_require_tabular_names_the_parameters(tmp_path):
    csv = tmp_path / "t.csv"
    csv.write_text("a,b,target\n1,2,x\n3,4,y\n5,6,x\n7,8,y\n")
    table = notebook.require_tabular(csv, "target")
    assert table.x.shape == (4, 2) and list(table.class_names) == ["x", "y"]
    with pytest.raises(ValueError, match="label_column.*no label column 'nope'"):
        notebook.require_tabular(csv, "nope")
    with pytest.raises(ValueError, match="data_path"):
        notebook.require_tabular(tmp_path / "missing.csv")


def test_env_flag_and_env_size(monkeypatch):
    monkeypatch.setenv("SVM_TEST_FLAG", "1")
    assert notebook.env_flag("SVM_TEST_FLAG") is True
    monkeypatch.setenv("SVM_TEST_FLAG", "0")
    assert notebook.env_flag("SVM_TEST_FLAG") is False
    monkeypatch.delenv("SVM_TEST_SIZE", raising=False)
    assert notebook.env_size("n_train", None, "SVM_TEST_SIZE") is None
    monkeypatch.setenv("SVM_TEST_SIZE", "3000")
    assert notebook.env_size("n_train", None, "SVM_TEST_SIZE") == 3000
    assert notebook.env_size("n_train", 200, "SVM_TEST_SIZE") == 200  # a given parameter wins
    monkeypatch.setenv("SVM_TEST_SIZE", "lots")
    with pytest.raises(ValueError, match="SVM_TEST_SIZE.*n_train"):
        notebook.env_size("n_train", None, "SVM_TEST_SIZE")


@pytest.mark.parametrize("bad", [0, -1.5, True, "3", None])
def test_require_positive_number_names_the_parameter(bad):
    assert notebook.require_positive_number("scale", 2) == 2.0
    with pytest.raises(ValueError, match="`scale` must be a positive number"):
        notebook.require_positive_number("scale", bad)
