"""Tests for helpers.data: offline loaders, their error messages, the 4-class table.

Everything runs on tiny files written to tmp_path, so no download is needed;
Keras is replaced by a stub where a test must reach the "offline" fallback.
"""

import gzip
import os
import sys
import types
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers import data


# --------------------------------------------------------------------------- MNIST


def _mnist_arrays(n_train=20, n_test=10, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, n_train).astype(np.uint8),
        "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, n_test).astype(np.uint8),
    }


def _write_npz(path, **arrays):
    np.savez(path, **arrays)
    return path


@pytest.fixture
def mnist_npz(tmp_path):
    return _write_npz(tmp_path / "tiny_mnist.npz", **_mnist_arrays())


def _check_mnist(result, n_train=20, n_test=10):
    (x_train, y_train), (x_test, y_test) = result
    assert x_train.shape == (n_train, 28, 28) and x_test.shape == (n_test, 28, 28)
    assert y_train.shape == (n_train,) and y_test.shape == (n_test,)
    for a in (x_train, y_train, x_test, y_test):
        assert a.dtype == np.uint8


def test_load_mnist_from_path(mnist_npz):
    _check_mnist(data.load_mnist(path=mnist_npz))
    (x_train, _), _ = data.load_mnist(path=str(mnist_npz))
    np.testing.assert_array_equal(x_train, _mnist_arrays()["x_train"])


def test_load_mnist_from_env(mnist_npz, monkeypatch):
    monkeypatch.setenv("MNIST_NPZ", str(mnist_npz))
    _check_mnist(data.load_mnist())


def test_load_mnist_int64_labels_are_cast(tmp_path):
    arrays = _mnist_arrays()
    arrays["y_train"] = arrays["y_train"].astype(np.int64)
    (_, y_train), _ = data.load_mnist(_write_npz(tmp_path / "m.npz", **arrays))
    assert y_train.dtype == np.uint8


def test_load_mnist_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.npz"):
        data.load_mnist(tmp_path / "nowhere.npz")


def test_load_mnist_truncated(mnist_npz, tmp_path):
    cut = tmp_path / "cut.npz"
    raw = mnist_npz.read_bytes()
    cut.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match="cut.npz: not an .npz file"):
        data.load_mnist(cut)


def test_load_mnist_not_a_zip(tmp_path):
    bad = tmp_path / "notes.npz"
    bad.write_text("this is not an archive\n")
    with pytest.raises(ValueError, match="notes.npz"):
        data.load_mnist(bad)


def test_load_mnist_missing_array(tmp_path):
    arrays = _mnist_arrays()
    del arrays["y_test"]
    path = _write_npz(tmp_path / "no_y_test.npz", **arrays)
    with pytest.raises(ValueError, match=r"no_y_test.npz.*missing arrays \['y_test'\]"):
        data.load_mnist(path)


def test_load_mnist_wrong_image_shape(tmp_path):
    arrays = _mnist_arrays()
    arrays["x_train"] = arrays["x_train"].reshape(20, 784)
    path = _write_npz(tmp_path / "flat.npz", **arrays)
    with pytest.raises(ValueError, match=r"flat.npz.*x_train has shape \(20, 784\)"):
        data.load_mnist(path)


def test_load_mnist_wrong_dtype_and_label_range(tmp_path):
    arrays = _mnist_arrays()
    arrays["x_test"] = arrays["x_test"].astype(np.float32)
    with pytest.raises(ValueError, match="floats.npz.*x_test has dtype float32"):
        data.load_mnist(_write_npz(tmp_path / "floats.npz", **arrays))
    arrays = _mnist_arrays()
    arrays["y_train"][0] = 12
    with pytest.raises(ValueError, match="labels.npz.*expected 0..9"):
        data.load_mnist(_write_npz(tmp_path / "labels.npz", **arrays))


def test_load_mnist_object_array_needs_no_pickle(tmp_path):
    arrays = _mnist_arrays()
    arrays["y_test"] = np.array([str(i) for i in range(10)], dtype=object)
    path = _write_npz(tmp_path / "objects.npz", **arrays)
    with pytest.raises(ValueError, match="objects.npz.*allow_pickle=False"):
        data.load_mnist(path)


def _offline_keras(monkeypatch):
    """Stand in for Keras with loaders that fail like a download with no network."""

    def fail():
        raise OSError("URL fetch failure: no network")

    datasets = types.SimpleNamespace(
        mnist=types.SimpleNamespace(load_data=fail),
        fashion_mnist=types.SimpleNamespace(load_data=fail),
    )
    monkeypatch.setitem(sys.modules, "keras", types.SimpleNamespace(datasets=datasets))


def test_load_mnist_offline_says_how_to_fix(monkeypatch):
    monkeypatch.delenv("MNIST_NPZ", raising=False)
    _offline_keras(monkeypatch)
    with pytest.raises(RuntimeError, match="MNIST_NPZ") as info:
        data.load_mnist()
    assert "path=" in str(info.value) and "~/.keras/datasets/mnist.npz" in str(info.value)


def test_load_real_mnist_from_env():
    path = os.environ.get("MNIST_NPZ")
    if not path or not Path(path).is_file():
        pytest.skip("MNIST_NPZ is not set to an existing copy of mnist.npz")
    (x_train, y_train), (x_test, y_test) = data.load_mnist()
    assert x_test.shape == (10000, 28, 28) and x_train.shape[1:] == (28, 28)
    assert set(np.unique(y_test)) == set(range(10))
    assert len(y_train) == len(x_train)


# --------------------------------------------------------------------------- Fashion-MNIST


def _write_idx(path, array, magic=None):
    array = np.asarray(array, dtype=np.uint8)
    magic = (0x800 | array.ndim) if magic is None else magic
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.tobytes())


def _write_fashion_dir(folder, arrays):
    folder.mkdir(exist_ok=True)
    for name, filename in data.FASHION_MNIST_FILES.items():
        _write_idx(folder / filename, arrays[name])
    return folder


def test_load_fashion_mnist_round_trip(tmp_path, monkeypatch):
    arrays = _mnist_arrays(n_train=12, n_test=6, seed=1)
    folder = _write_fashion_dir(tmp_path / "fashion", arrays)
    result = data.load_fashion_mnist(folder)
    monkeypatch.setenv("FASHION_MNIST_DIR", str(folder))
    from_env = data.load_fashion_mnist()
    for loaded in (result, from_env):
        (x_train, y_train), (x_test, y_test) = loaded
        for name, got in zip(data.MNIST_ARRAYS, (x_train, y_train, x_test, y_test)):
            assert got.dtype == np.uint8
            np.testing.assert_array_equal(got, arrays[name])


def test_load_fashion_mnist_bad_magic(tmp_path):
    folder = _write_fashion_dir(tmp_path / "fashion", _mnist_arrays())
    _write_idx(folder / "t10k-labels-idx1-ubyte.gz", np.zeros(10), magic=0x00000803)
    with pytest.raises(ValueError, match="t10k-labels-idx1-ubyte.gz.*magic"):
        data.load_fashion_mnist(folder)


def test_load_fashion_mnist_size_mismatch_and_missing_file(tmp_path):
    folder = _write_fashion_dir(tmp_path / "fashion", _mnist_arrays())
    images = folder / "train-images-idx3-ubyte.gz"
    raw = gzip.decompress(images.read_bytes())
    images.write_bytes(gzip.compress(raw[:-100]))
    with pytest.raises(ValueError, match="train-images-idx3-ubyte.gz.*IDX header says"):
        data.load_fashion_mnist(folder)
    _write_idx(images, _mnist_arrays()["x_train"][:5])
    with pytest.raises(ValueError, match=r"train-images.*train-labels.*y_train has shape \(20,\)"):
        data.load_fashion_mnist(folder)
    images.unlink()
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte.gz"):
        data.load_fashion_mnist(folder)


def test_load_fashion_mnist_offline_says_how_to_fix(tmp_path, monkeypatch):
    monkeypatch.delenv("FASHION_MNIST_DIR", raising=False)
    monkeypatch.setattr(data, "FASHION_MNIST_SYSTEM_DIR", tmp_path / "not-installed")
    _offline_keras(monkeypatch)
    with pytest.raises(RuntimeError, match="FASHION_MNIST_DIR.*dataset-fashion-mnist"):
        data.load_fashion_mnist()


# --------------------------------------------------------------------------- small helpers


def test_subsample_is_deterministic_and_keeps_classes():
    x = np.arange(1000).reshape(500, 2)
    y = np.repeat([0, 1, 2, 3, 4], [300, 100, 50, 40, 10])
    xs, ys = data.subsample(x, y, 50, seed=3)
    assert xs.shape == (50, 2) and len(ys) == 50
    rows = xs[:, 0] // 2
    assert np.all(np.diff(rows) > 0)  # distinct rows, original order
    np.testing.assert_array_equal(y[rows], ys)  # x and y stay paired
    assert set(ys) == {0, 1, 2, 3, 4}
    assert abs(np.sum(ys == 0) - 30) <= 1
    again, _ = data.subsample(x, y, 50, seed=3)
    other, _ = data.subsample(x, y, 50, seed=4)
    np.testing.assert_array_equal(xs, again)
    assert not np.array_equal(xs, other)
    assert data.subsample(x, y, None)[0] is x
    assert len(data.subsample(x, y, 10_000)[0]) == 500


def test_flatten_images():
    x = np.zeros((3, 28, 28), dtype=np.uint8)
    x[:, 0, 0] = 255
    flat = data.flatten_images(x)
    assert flat.shape == (3, 784) and flat.dtype == np.float32
    assert flat.min() == 0.0 and flat.max() == 1.0
    with pytest.raises(ValueError, match="uint8"):
        data.flatten_images(flat)


# --------------------------------------------------------------------------- 4-class table


def test_make_four_class_is_deterministic():
    a, b = data.make_four_class(), data.make_four_class()
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(data.make_four_class(seed=8))
    assert list(a.columns) == [f"x{i}" for i in range(1, 8)] + ["label"]
    assert a.shape == (2000, 8) and sorted(a["label"].unique()) == [0, 1, 2, 3]
    assert len(data.make_four_class(n_samples=50)) == 50


def test_shipped_csv_matches_generator():
    shipped = pd.read_csv(data.four_class_csv_path())
    expected = data.make_four_class().round(4)
    pd.testing.assert_index_equal(shipped.columns, expected.columns)
    np.testing.assert_array_equal(shipped["label"], expected["label"])
    np.testing.assert_allclose(shipped.drop(columns="label"), expected.drop(columns="label"),
                               rtol=0, atol=1e-9)


def test_write_four_class_csv_is_reproducible(tmp_path):
    written = data.write_four_class_csv(tmp_path / "sub" / "four.csv", n_samples=40, seed=1)
    again = data.write_four_class_csv(tmp_path / "again.csv", n_samples=40, seed=1)
    assert written.read_text() == again.read_text()
    assert written.read_text().splitlines()[0] == "x1,x2,x3,x4,x5,x6,x7,label"


def test_four_class_needs_a_nonlinear_model():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC, LinearSVC

    (x_train, y_train), (x_test, y_test), info = data.four_class_split(test_size=0.25, seed=0)
    assert len(y_train) == 1500 and len(y_test) == 500 and info.class_names == [0, 1, 2, 3]
    linear = make_pipeline(StandardScaler(), LinearSVC()).fit(x_train, y_train)
    rbf = make_pipeline(StandardScaler(), SVC(kernel="rbf")).fit(x_train, y_train)
    linear_acc, rbf_acc = linear.score(x_test, y_test), rbf.score(x_test, y_test)
    assert rbf_acc - linear_acc >= 0.1, (linear_acc, rbf_acc)
    assert rbf_acc >= 0.85 and linear_acc <= 0.8
    # The classes are imbalanced, so the majority class is the chance level to beat.
    assert rbf_acc > np.bincount(y_train).max() / len(y_train) + 0.3


# --------------------------------------------------------------------------- load_tabular


def _csv(tmp_path, text, name="table.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_load_tabular_shipped_file():
    table = data.load_tabular(data.four_class_csv_path())
    assert table.x.shape == (2000, 7) and table.x.dtype == np.float32
    assert table.y.dtype == np.int64 and set(table.y) == {0, 1, 2, 3}
    assert table.feature_names == [f"x{i}" for i in range(1, 8)]
    assert table.class_names == [0, 1, 2, 3] and table.label_column == "label"
    with pytest.raises(AttributeError):
        table.path = "elsewhere"  # frozen


def test_load_tabular_label_first_column_by_name(tmp_path):
    path = _csv(tmp_path, "kind,a,b\n2,1.0,5\n0,2.0,6\n2,3.0,7\n0,4.0,8\n")
    table = data.load_tabular(path, label_column="kind")
    assert table.feature_names == ["a", "b"]
    np.testing.assert_array_equal(table.x, [[1, 5], [2, 6], [3, 7], [4, 8]])
    np.testing.assert_array_equal(table.y, [1, 0, 1, 0])
    assert table.class_names == [0, 2] and table.path == str(path)


def test_load_tabular_string_labels(tmp_path):
    path = _csv(tmp_path, "a,b,species\n1,2,cat\n3,4,dog\n5,6,cat\n7,8,dog\n9,0,eel\n1,1,eel\n")
    table = data.load_tabular(path)
    assert table.class_names == ["cat", "dog", "eel"]
    np.testing.assert_array_equal(table.y, [0, 1, 0, 1, 2, 2])


def test_load_tabular_writes_nothing(tmp_path):
    path = _csv(tmp_path, "a,y\n1,0\n2,1\n3,0\n4,1\n")
    before = sorted(os.listdir(tmp_path)), path.read_bytes()
    data.load_tabular(path)
    assert (sorted(os.listdir(tmp_path)), path.read_bytes()) == before


def test_load_tabular_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="absent.csv"):
        data.load_tabular(tmp_path / "absent.csv")


@pytest.mark.parametrize(
    "text, kwargs, message",
    [
        ("", {}, "bad.csv: file is empty"),
        ("a,b,label\n", {}, "bad.csv: file is empty"),
        ("a,b,label\n1,2,0\n3,4,1\n", {"label_column": "target"},
         r"bad.csv: no label column 'target'; columns are \['a', 'b', 'label'\]"),
        ("a,colour,label\n1,red,0\n2,blue,1\n3,red,0\n4,blue,1\n", {},
         r"bad.csv: non-numeric feature columns \['colour'\]; .*\(column 'colour' has 'red'\)"),
        ("a,b,label\n1,,0\n2,,1\n3,4,0\n4,5,1\n", {},
         r"bad.csv: missing values in columns 'b' \(2\)"),
        ("a,b,label\n1,2,0\n3,4,0\n", {}, "bad.csv: .*fewer than two classes"),
        ("a,b,label\n1,2,0\n3,4,0\n5,6,1\n", {},
         r"bad.csv: class 1 has 1 row\(s\); each class needs at least 2"),
        ("a,b,label\n1,2,x\n3,4,x\n5,6,y\n7,8,y\n9,9,z\n", {"min_rows_per_class": 2},
         r"class 'z' has 1 row"),
    ],
    ids=["zero-bytes", "header-only", "unknown-label", "text-feature", "missing-values",
         "one-class", "tiny-class", "tiny-string-class"],
)
def test_load_tabular_bad_input(tmp_path, text, kwargs, message):
    path = _csv(tmp_path, text, name="bad.csv")
    with pytest.raises(ValueError, match=message):
        data.load_tabular(path, **kwargs)


def _four_class_written(tmp_path, name, **to_csv):
    """The first 40 rows of the 4-class table written with pandas' ``to_csv(**to_csv)``."""
    path = tmp_path / name
    data.make_four_class(n_samples=40, seed=3).round(4).to_csv(path, index=False, **to_csv)
    return path


@pytest.fixture
def four_class_40(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a file with a header must load without a warning
        return data.load_tabular(_four_class_written(tmp_path, "plain.csv"))


@pytest.mark.parametrize(
    "to_csv",
    [{"sep": ";"}, {"sep": ";", "decimal": ","}, {"sep": "\t"}],
    ids=["semicolon", "semicolon-decimal-comma", "tab"],
)
def test_load_tabular_other_separators_read_the_same_table(tmp_path, four_class_40, to_csv):
    path = _four_class_written(tmp_path, "other.csv", **to_csv)
    if to_csv.get("decimal") == ",":
        assert "0,3" in path.read_text()  # the file really holds decimal commas
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = data.load_tabular(path)
    assert len(table.y) == 40  # no row lost
    assert table.feature_names == four_class_40.feature_names and table.label_column == "label"
    np.testing.assert_array_equal(table.x, four_class_40.x)
    np.testing.assert_array_equal(table.y, four_class_40.y)


def test_load_tabular_headerless_file_keeps_its_first_row(tmp_path, four_class_40):
    path = _four_class_written(tmp_path, "no_header.csv", header=False)
    assert len(path.read_text().splitlines()) == 40
    with pytest.warns(UserWarning, match=r"no_header.csv: the first row looks like data.*x0..x7"):
        table = data.load_tabular(path)
    assert len(table.y) == 40 and table.feature_names == [f"x{i}" for i in range(7)]
    assert table.label_column == "x7" and table.class_names == four_class_40.class_names
    np.testing.assert_array_equal(table.x, four_class_40.x)
    np.testing.assert_array_equal(table.y, four_class_40.y)
    # The label by position; naming a column the file does not have says why.
    label_first = _csv(tmp_path, "0,1.5,2\n1,2.5,3\n0,3.5,4\n1,4.5,5\n", name="label_first.csv")
    with pytest.warns(UserWarning, match="label 'x0'"):
        first = data.load_tabular(label_first, label_column="x0")
    assert first.feature_names == ["x1", "x2"] and len(first.y) == 4
    np.testing.assert_array_equal(first.x, [[1.5, 2], [2.5, 3], [3.5, 4], [4.5, 5]])
    np.testing.assert_array_equal(first.y, [0, 1, 0, 1])
    with pytest.raises(ValueError, match=r"no_header.csv: no label column 'label'; columns are "
                       r"\['x0', .*'x7'\] \(the first row looks like data, not a header.*"
                       r"label_column='x0'..'x7', or add a header row\)"):
        data.load_tabular(path, label_column="label")
    # header=True takes the first row as names anyway (one row fewer), header=False never does.
    assert len(data.load_tabular(path, header=True).y) == 39
    with pytest.raises(ValueError, match=r"header must be None \(detect\), True or False"):
        data.load_tabular(path, header="yes")


def test_load_tabular_headerless_semicolon_and_string_labels(tmp_path):
    path = _csv(tmp_path, "1,5;2;0\n2,5;3;1\n3;4,25;0\n4;5;1\n", name="semi.csv")
    with pytest.warns(UserWarning, match="semi.csv: the first row looks like data"):
        table = data.load_tabular(path)
    np.testing.assert_array_equal(table.x, [[1.5, 2], [2.5, 3], [3, 4.25], [4, 5]])
    np.testing.assert_array_equal(table.y, [0, 1, 0, 1])
    # Like UCI's iris.data: the label is text, but the first row's label recurs below.
    path = _csv(tmp_path, "5.1,3.5,setosa\n4.9,3.0,setosa\n6.3,3.3,virginica\n5.8,2.7,virginica\n",
                name="iris.csv")
    with pytest.warns(UserWarning, match="iris.csv: the first row looks like data"):
        table = data.load_tabular(path)
    assert len(table.y) == 4 and table.class_names == ["setosa", "virginica"]
    np.testing.assert_allclose(table.x[0], [5.1, 3.5], rtol=1e-6)


def test_load_tabular_numeric_headers_stay_headers(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # What pandas writes for an unnamed DataFrame: the names 0..d-1.
        path = _csv(tmp_path, "0,1,2\n1.5,2,0\n2.5,3,1\n3.5,4,0\n4.5,5,1\n")
        table = data.load_tabular(path)
        assert table.feature_names == ["0", "1"] and len(table.y) == 4
        # Numeric names over numbers, text label name over text labels.
        path = _csv(tmp_path, "400,500,species\n1,2,ant\n3,4,bee\n5,6,ant\n7,8,bee\n")
        assert data.load_tabular(path).feature_names == ["400", "500"]
        # A first row that names label_column is a header, even if all numbers.
        path = _csv(tmp_path, "400,500,600\n1,2,0\n3,4,1\n5,6,0\n7,8,1\n")
        table = data.load_tabular(path, label_column="600")
        assert table.feature_names == ["400", "500"] and len(table.y) == 4


@pytest.mark.parametrize(
    "text, message",
    [
        ("a\tb\tlabel\n1,5\t2\t0\n2\t3\t1\n3\t4\t0\n4\t5\t1\n",
         r"bad.csv: feature column 'a' has numbers with a decimal comma \(e.g. '1,5'\); "
         r"in a tab-separated file .*thousands separator. Write them with a decimal point "
         r"\(e.g. '1.5'\), or save the file ';'-separated"),
        ('a,b,label\n"1,5",2,0\n2,3,1\n3,4,0\n4,5,1\n',
         r"bad.csv: feature column 'a' has numbers with a decimal comma .* comma-separated file"),
        ("a;b;label\n1;2.5;0\n2;3,5;1\n3;4;0\n4;5;1\n",
         r"bad.csv: feature column 'b' mixes decimal points and decimal commas "
         r"\(e.g. '2.5' and '3,5'\)"),
        ("a;b;label\n1;1.234,5;0\n2;3;1\n3;4;0\n4;5;1\n",
         r"bad.csv: non-numeric feature columns \['b'\]; .*\(column 'b' has '1.234,5'\)"),
        ("a;b;label\n1;2;0\n2;3;1;7\n3;4;0\n4;5;1\n",
         r"bad.csv: could not parse as CSV \(.*Expected 3 fields in line 3, saw 4\) "
         r"\(read as ';'-separated\)"),
    ],
    ids=["tab-decimal-comma", "quoted-decimal-comma", "mixed-decimals", "thousands-dot",
         "ragged-semicolon"],
)
def test_load_tabular_separator_problems(tmp_path, text, message):
    with pytest.raises(ValueError, match=message):
        data.load_tabular(_csv(tmp_path, text, name="bad.csv"))


def test_load_tabular_not_utf8(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("café,b,label\n1,2,0\n2,3,1\n".encode("latin-1"))
    with pytest.raises(ValueError, match="latin1.csv: could not parse as CSV: not UTF-8 text"):
        data.load_tabular(path)


def test_load_images_picks_the_loader_by_name(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(data, "load_mnist", lambda path=None: calls.append(("mnist", path)) or "m")
    assert data.load_images("mnist", "x.npz") == "m" and calls == [("mnist", "x.npz")]
    with pytest.raises(ValueError, match="Unknown image dataset 'cifar10'"):
        data.load_images("cifar10")


def test_describe_images_names_a_partial_training_set():
    assert data.describe_images("mnist", 22_699, 10_000) == (
        "MNIST: the first 22,699 of the 60,000 official training images and all 10,000 official test images"
    )
    assert data.describe_images("fashion_mnist", 60_000, 10_000).startswith("Fashion-MNIST: all 60,000 official training")
    with pytest.raises(ValueError, match="Unknown image dataset 'cifar'"):
        data.describe_images("cifar", 1, 1)
