"""Datasets for the notebooks: MNIST, Fashion-MNIST and the 4-class table.

The image loaders work offline: each one reads a local copy first (an
argument, then an environment variable) and only falls back to Keras'
download, so the notebooks and the tests run on machines with no internet.
Every bad file raises an error that names the file and what is wrong with
it, because "cannot reshape array" three calls deep helps nobody.

The 4-class table (7 numeric features, 4 classes) stands in for the
learner's own CSV: ``make_four_class`` generates it, ``load_tabular`` reads
it or any other CSV (comma, ';' or tab separated; a missing header row is
detected). ``python -m helpers.data`` rewrites
``data/four_class.csv`` from the generator.
"""

from __future__ import annotations

import csv
import gzip
import io
import itertools
import os
import re
import warnings
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

# The repository root is the parent of helpers/ in a checkout or an editable install.
REPO_ROOT = Path(__file__).resolve().parent.parent
FOUR_CLASS_CSV = REPO_ROOT / "data" / "four_class.csv"

# Where `apt-get install -y dataset-fashion-mnist` puts the four .gz files.
FASHION_MNIST_SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")

MNIST_ARRAYS = ("x_train", "y_train", "x_test", "y_test")
FASHION_MNIST_FILES = {
    "x_train": "train-images-idx3-ubyte.gz",
    "y_train": "train-labels-idx1-ubyte.gz",
    "x_test": "t10k-images-idx3-ubyte.gz",
    "y_test": "t10k-labels-idx1-ubyte.gz",
}
_IDX_MAGIC_LABELS = 0x00000801  # unsigned bytes, 1 dimension
_IDX_MAGIC_IMAGES = 0x00000803  # unsigned bytes, 3 dimensions


# --------------------------------------------------------------------------- images


def _check_split(path, images, labels, split: str):
    """Validate one (images, labels) pair from ``path`` and return it as uint8 arrays."""
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError(f"{path}: x_{split} has shape {images.shape}, expected (N, 28, 28)")
    if images.dtype != np.uint8:
        raise ValueError(f"{path}: x_{split} has dtype {images.dtype}, expected uint8")
    if labels.ndim != 1 or len(labels) != len(images):
        raise ValueError(
            f"{path}: y_{split} has shape {labels.shape}, expected ({len(images)},) "
            f"to match x_{split}"
        )
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"{path}: y_{split} has dtype {labels.dtype}, expected integers")
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise ValueError(
            f"{path}: y_{split} holds values {labels.min()}..{labels.max()}, expected 0..9"
        )
    return images, labels.astype(np.uint8)


def _read_mnist_npz(path):
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"MNIST file not found: {path}")
    # An .npz is a zip of .npy files; a cut-off download loses the zip's directory.
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path}: not an .npz file (not a zip archive: truncated, or a .npy?)")
    try:
        with np.load(path, allow_pickle=False) as npz:
            found = {name: npz[name] for name in MNIST_ARRAYS if name in npz.files}
            names = list(npz.files)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, zlib.error) as err:
        # Object arrays land here too: loading them would need pickle, which can run code.
        raise ValueError(f"{path}: corrupt or unreadable .npz ({err})") from err
    missing = [name for name in MNIST_ARRAYS if name not in found]
    if missing:
        raise ValueError(f"{path}: missing arrays {missing} (it holds {names})")
    train = _check_split(path, found["x_train"], found["y_train"], "train")
    test = _check_split(path, found["x_test"], found["y_test"], "test")
    return train, test


def load_mnist(path=None):
    """MNIST as ``((x_train, y_train), (x_test, y_test))``, like Keras' loader.

    Reads ``path``, else the file named by ``$MNIST_NPZ``, else asks
    ``keras.datasets.mnist.load_data()`` (its cache, or a download).
    """
    path = path or os.environ.get("MNIST_NPZ")
    if path:
        return _read_mnist_npz(path)
    try:
        import keras

        return keras.datasets.mnist.load_data()
    except Exception as err:  # Keras raises a bare Exception when the download fails
        raise RuntimeError(
            "Could not get MNIST from Keras (offline?). Pass path= or set MNIST_NPZ to a "
            "copy of Keras' mnist.npz (arrays x_train, y_train, x_test, y_test), e.g. one "
            "copied from ~/.keras/datasets/mnist.npz on a machine that has it."
        ) from err


def _read_idx(path, magic: int):
    """Read one gzipped IDX file (the format of the original MNIST files)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Fashion-MNIST file not found: {path}")
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError, zlib.error) as err:
        raise ValueError(f"{path}: not a readable gzip file ({err})") from err
    if len(raw) < 4 or int.from_bytes(raw[:4], "big") != magic:
        found = int.from_bytes(raw[:4], "big") if len(raw) >= 4 else None
        raise ValueError(f"{path}: bad IDX magic number {found!r}, expected {magic:#010x}")
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated IDX header")
    dims = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    if len(raw) - header != int(np.prod(dims)):
        raise ValueError(
            f"{path}: IDX header says {dims} = {int(np.prod(dims))} bytes of data, "
            f"file has {len(raw) - header}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def _read_fashion_dir(folder):
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"Fashion-MNIST folder not found: {folder}")
    arrays = {}
    for name, filename in FASHION_MNIST_FILES.items():
        magic = _IDX_MAGIC_IMAGES if name.startswith("x") else _IDX_MAGIC_LABELS
        arrays[name] = _read_idx(folder / filename, magic)
    splits = []
    for split in ("train", "test"):
        x_name, y_name = "x_" + split, "y_" + split
        # A shape mismatch involves both files, so the message names both.
        source = f"{folder / FASHION_MNIST_FILES[x_name]} + {FASHION_MNIST_FILES[y_name]}"
        splits.append(_check_split(source, arrays[x_name], arrays[y_name], split))
    return tuple(splits)


IMAGE_DATASETS = ("mnist", "fashion_mnist")


def load_images(name, path=None):
    """``load_mnist(path)`` or ``load_fashion_mnist(path)`` by name, for code that takes either."""
    loaders = {"mnist": load_mnist, "fashion_mnist": load_fashion_mnist}
    if name not in loaders:
        raise ValueError(f"Unknown image dataset {name!r}. Expected one of {list(loaders)}.")
    return loaders[name](path)


OFFICIAL_SIZES = {"mnist": ("MNIST", 60_000, 10_000), "fashion_mnist": ("Fashion-MNIST", 60_000, 10_000)}


def describe_images(name, n_train_available, n_test_available):
    """One sentence that names what was loaded, for every figure that comes from it.

    The offline MNIST copy holds only the first 22,699 of the 60,000 official training
    images; a figure from it must not be read as a full-MNIST result.
    """
    if name not in OFFICIAL_SIZES:
        raise ValueError(f"Unknown image dataset {name!r}. Expected one of {list(OFFICIAL_SIZES)}.")
    title, n_train, n_test = OFFICIAL_SIZES[name]

    def part(available, official, what):
        if available >= official:
            return f"all {official:,} official {what} images"
        return f"the first {available:,} of the {official:,} official {what} images"

    return f"{title}: {part(n_train_available, n_train, 'training')} and {part(n_test_available, n_test, 'test')}"


def load_fashion_mnist(path=None):
    """Fashion-MNIST as ``((x_train, y_train), (x_test, y_test))``.

    ``path`` is a folder holding the four official ``*-ubyte.gz`` files. Tried
    in order: ``path``, ``$FASHION_MNIST_DIR``, ``FASHION_MNIST_SYSTEM_DIR``
    (Debian's ``dataset-fashion-mnist``), then Keras' loader.
    """
    path = path or os.environ.get("FASHION_MNIST_DIR")
    if path:
        return _read_fashion_dir(path)
    if FASHION_MNIST_SYSTEM_DIR.is_dir():
        return _read_fashion_dir(FASHION_MNIST_SYSTEM_DIR)
    try:
        import keras

        return keras.datasets.fashion_mnist.load_data()
    except Exception as err:
        files = ", ".join(FASHION_MNIST_FILES.values())
        raise RuntimeError(
            "Could not get Fashion-MNIST from Keras (offline?). Pass path= or set "
            f"FASHION_MNIST_DIR to a folder holding {files}, or run "
            f"`apt-get install -y dataset-fashion-mnist` (installs {FASHION_MNIST_SYSTEM_DIR})."
        ) from err


def subsample(x, y, n, seed=0):
    """A random subset of ``n`` rows with about the class mix of ``y``.

    Keeps smoke runs tiny without dropping a class by bad luck. Deterministic
    for a seed; rows keep their original order; ``n=None`` or ``n >= len``
    returns everything.
    """
    x, y = np.asarray(x), np.asarray(y)
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} rows but y has {len(y)}")
    if n is None or n >= len(y):
        return x, y
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    keep = np.sort(balanced_order(y, seed)[:n])
    return x[keep], y[keep]


def balanced_order(y, seed=0):
    """Row indices in a random order whose every prefix holds the classes in about their mix.

    Each class's rows are spread evenly over [0, 1) in random order; sorting by that key
    puts the first n rows of any n in proportion to the class sizes. ``subsample`` keeps such
    a prefix; the scaling study takes growing prefixes, so each size contains the smaller ones.
    """
    rng = np.random.default_rng(seed)
    y = np.asarray(y)
    key = np.empty(len(y))
    for cls in np.unique(y):
        rows = rng.permutation(np.flatnonzero(y == cls))
        key[rows] = (np.arange(len(rows)) + rng.random()) / len(rows)
    return np.argsort(key, kind="stable")


def flatten_images(x):
    """(N, 28, 28) uint8 images -> (N, 784) float32 in [0, 1], for dense models."""
    x = np.asarray(x)
    # Only uint8 is accepted: scaling images that were already scaled would squash them.
    if x.dtype != np.uint8 or x.ndim < 2:
        raise ValueError(f"expected uint8 images (N, H, W), got {x.dtype} {x.shape}")
    return x.reshape(len(x), -1).astype(np.float32) / 255.0


# --------------------------------------------------------------------------- 4-class table


def make_four_class(n_samples=2000, seed=7):
    """The 4-class table: 7 features ``x1..x7`` and an int ``label`` in 0..3.

    Each row has a hidden 2-D point (u, v). Its class is ring x side: inside
    or outside the unit circle, left or right of u = 0. The side is a linear
    split, the ring is not, so a linear SVM tops out well below an RBF SVM.
    The features mix u and v at very different scales (StandardScaler
    matters), two are pure noise, and 3% of labels are flipped.
    """
    rng = np.random.default_rng(seed)
    # The 0.3 shift makes "right" more common, so the classes are imbalanced.
    u = rng.normal(0.3, 1.0, n_samples)
    v = rng.normal(0.0, 1.0, n_samples)
    outer = u**2 + v**2 >= 1.0
    label = 2 * outer + (u > 0)  # 0 inner-left, 1 inner-right, 2 outer-left, 3 outer-right
    flip = rng.random(n_samples) < 0.03
    label[flip] = (label[flip] + rng.integers(1, 4, flip.sum())) % 4  # always a different class
    features = {
        "x1": u,
        "x2": 10.0 * v,
        "x3": 100.0 * (u + 0.5 * v) + rng.normal(0.0, 10.0, n_samples),
        "x4": 0.1 * u * v + rng.normal(0.0, 0.01, n_samples),
        "x5": np.sin(2.0 * u) + rng.normal(0.0, 0.05, n_samples),
        "x6": rng.normal(0.0, 5.0, n_samples),
        "x7": rng.uniform(0.0, 1000.0, n_samples),
    }
    frame = pd.DataFrame(features)
    frame["label"] = label.astype(np.int64)
    return frame


def write_four_class_csv(path=FOUR_CLASS_CSV, n_samples=2000, seed=7):
    """Write ``make_four_class(n_samples, seed)`` to ``path``, rounded to 4 decimals."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    make_four_class(n_samples, seed).round(4).to_csv(path, index=False, lineterminator="\n")
    return path


def four_class_csv_path():
    """Path of the shipped ``data/four_class.csv``.

    A checkout (or editable install) has it beside ``helpers/``. A non-editable install
    (Colab's cell installs the clone that way) does not, so the working folder and its
    parents are searched next: a notebook running in the clone's ``notebooks/`` finds it.
    """
    candidates = [FOUR_CLASS_CSV] + [folder / "data" / "four_class.csv" for folder in (Path.cwd(), *Path.cwd().parents)]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"{FOUR_CLASS_CSV} not found, nor data/four_class.csv in {Path.cwd()} or its parents: "
        "the CSV ships with the repository. Run from a checkout, or regenerate it with "
        "helpers.data.write_four_class_csv(path)."
    )


@dataclass(frozen=True)
class TabularData:
    """A labelled table ready for a model: ``x`` float32 (n, d), ``y`` int64 in 0..K-1."""

    x: np.ndarray
    y: np.ndarray
    feature_names: list
    class_names: list  # the original label values; y == i means class_names[i]
    label_column: str
    path: str


# Separators tried, in this order: a file is read with the first one that splits its opening
# lines into the same number (> 1) of fields. Comma first, so every file that loaded before
# this detection existed still loads the same way.
TABULAR_SEPARATORS = (",", ";", "\t")
_SEPARATOR_NAMES = {",": "comma", ";": "';'", "\t": "tab"}
_SNIFF_LINES = 50
_POINT_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_COMMA_NUMBER = re.compile(r"[+-]?(\d+,?\d*|,\d+)([eE][+-]?\d+)?")  # "1,5"; plain "2" too


def _is_number(text):
    text = text.strip()
    return bool(_POINT_NUMBER.fullmatch(text) or _COMMA_NUMBER.fullmatch(text))


def _sniff_separator(path):
    """``(separator, first row's fields)`` from the opening lines of ``path``.

    A separator that splits every opening line into the same number of fields wins. If
    none does (a ragged file), the one that splits the first row most is used, so the
    parser's error then points at the ragged line instead of at a one-column table.
    """
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            head = "".join(itertools.islice(f, _SNIFF_LINES))
    except UnicodeDecodeError as err:
        raise ValueError(
            f"{path}: could not parse as CSV: not UTF-8 text ({err}); save it as UTF-8 CSV"
        ) from err
    split = {}
    for sep in TABULAR_SEPARATORS:
        try:
            rows = [r for r in csv.reader(io.StringIO(head), delimiter=sep) if r and r != [""]]
        except csv.Error:
            rows = []
        split[sep] = rows
        if rows and len(rows[0]) > 1 and all(len(r) == len(rows[0]) for r in rows):
            return sep, rows[0]
    widest = max(TABULAR_SEPARATORS, key=lambda s: len(split[s][0]) if split[s] else 0)
    return widest, split[widest][0] if split[widest] else []


def _read_table(path, sep, header):
    where = "" if sep == "," else f" (read as {_SEPARATOR_NAMES[sep]}-separated)"
    try:
        frame = pd.read_csv(path, sep=sep, header=0 if header else None)
    except pd.errors.EmptyDataError as err:
        raise ValueError(f"{path}: file is empty") from err
    except pd.errors.ParserError as err:
        raise ValueError(f"{path}: could not parse as CSV ({str(err).strip()}){where}") from err
    except UnicodeDecodeError as err:
        raise ValueError(
            f"{path}: could not parse as CSV: not UTF-8 text ({err}); save it as UTF-8 CSV"
        ) from err
    if not header:
        frame.columns = [f"x{i}" for i in range(frame.shape[1])]
    return frame


def _first_row_is_data(fields, frame, label_column):
    """True when the header row looks like one more data row.

    That is: every field is a number, or (in a text column such as string labels) a value
    that also occurs further down. Two exceptions keep real headers: the first row naming
    ``label_column``, and the names 0..d-1 that pandas writes for an unnamed DataFrame.
    """
    if not fields or len(fields) != frame.shape[1]:
        return False
    if label_column is not None and label_column in fields:
        return False
    if fields == [str(i) for i in range(len(fields))]:
        return False
    for j, field in enumerate(fields):
        if _is_number(field):
            continue
        column = frame.iloc[:, j]
        if pd.api.types.is_numeric_dtype(column):
            return False  # a name over a column of numbers: a header
        below = set(column.astype(str).str.strip())
        if not field.strip() or field.strip() not in below:
            return False
    return True


def _decimal_commas(path, features, sep):
    """``features`` with "1,5" read as 1.5 in ';' files; elsewhere such numbers are refused.

    Only ';' files get this: there the comma cannot separate fields, and ';' is what
    spreadsheets write where the comma is the decimal mark. In a comma or tab file "1,234"
    may as well be a thousands separator, and guessing wrong is silently off by 1000x.
    """
    converted = {}
    for column in features.columns:
        if pd.api.types.is_numeric_dtype(features[column]):
            continue
        values = features[column].astype(str).str.strip()
        commas = values[values.str.contains(",", regex=False)]
        if commas.empty or not values.map(_is_number).all():
            continue  # text, reported by the caller
        if sep != ";":
            raise ValueError(
                f"{path}: feature column {column!r} has numbers with a decimal comma "
                f"(e.g. {commas.iloc[0]!r}); in a {_SEPARATOR_NAMES[sep]}-separated file "
                f"that could also be a thousands separator. Write them with a decimal point "
                f"(e.g. {commas.iloc[0].replace(',', '.')!r}), or save the file ';'-separated"
            )
        points = values[values.str.contains(".", regex=False)]
        if not points.empty:
            raise ValueError(
                f"{path}: feature column {column!r} mixes decimal points and decimal commas "
                f"(e.g. {points.iloc[0]!r} and {commas.iloc[0]!r}); write all numbers one way"
            )
        converted[column] = values.str.replace(",", ".", regex=False).astype(np.float64)
    return features.assign(**converted) if converted else features


def _refuse_duplicate_names(path, header_fields, frame):
    """Two columns with one name: pandas would read the second as ``name.1``, silently.

    Read from the header row itself, as pandas has renamed them by now. A second ``label``
    column would become a feature that is the label: a perfect, meaningless score.
    """
    if len(header_fields) != frame.shape[1]:
        return  # a ragged header: the parser has said so, or reads it its own way
    names = [field.strip() for field in header_fields]
    repeated = sorted({n for n in names if n and names.count(n) > 1})
    if repeated:
        detail = ", ".join(f"{n!r} ({names.count(n)} times)" for n in repeated)
        raise ValueError(
            f"{path}: duplicate column names {detail}; each column needs its own name. "
            "Rename or delete the copies (a second label column would be read as a feature)")


def _refuse_label_copies(path, features, label, label_column):
    """A feature that is the label, or the label under other names (one value per class, and back).

    Such a column scores perfectly and means nothing: the model reads the answer.
    """
    codes = pd.factorize(label)[0]
    n_classes = codes.max() + 1
    copies = []
    for column in features.columns:
        values = features[column]
        if n_classes > 1 and values.nunique() == n_classes:
            feature_codes = pd.factorize(values)[0]
            # one-to-one: the pairs (feature value, class) are as many as the classes
            if len(set(zip(feature_codes.tolist(), codes.tolist()))) == n_classes:
                copies.append(column)
    if copies:
        raise ValueError(
            f"{path}: feature column(s) {copies} hold the label {label_column!r} itself (each value "
            "stands for one class and each class has one value), so a model would read the answer. "
            "Delete the column(s), or pass label_column= if one of them is the label you meant")


def load_tabular(csv_path, label_column=None, min_rows_per_class=2, header=None):
    """Read a CSV into ``TabularData``; the label defaults to the last column.

    Labels may be ints or strings. The separator is ``,``, ``;`` or tab, whichever splits
    the opening lines consistently (``TABULAR_SEPARATORS``). In ``;`` files a decimal
    comma ("1,5") is read as 1.5; in comma and tab files it is refused, being ambiguous.

    ``header=None`` detects a file without a header row: when the first row looks like
    data (numbers, and in text columns values that recur below; see ``_first_row_is_data``)
    it is kept as data, the columns are named ``x0..x{d-1}`` by position (label: the last
    one, or e.g. ``label_column="x0"``) and a ``UserWarning`` says so. ``header=True`` or
    ``False`` overrides the detection.

    Every problem (empty file, unknown label column, text or missing features, too few
    classes or rows per class) raises a ``ValueError`` naming the file, so a learner's own
    CSV fails with a message they can act on. Two columns with one name, and a feature that
    is the label (a copy, or a recoding with one value per class), are refused: either would
    let a model read the answer.
    """
    if header not in (None, True, False):
        raise ValueError(f"header must be None (detect), True or False, got {header!r}")
    path = Path(csv_path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: file not found")
    label_column = None if label_column is None else str(label_column)
    sep, first_row = _sniff_separator(path)
    frame = _read_table(path, sep, header=True)
    headerless = _first_row_is_data(first_row, frame, label_column) if header is None else not header
    if headerless:
        frame = _read_table(path, sep, header=False)
    if frame.empty:
        raise ValueError(f"{path}: file is empty (a header but no data rows)")
    if not headerless:
        _refuse_duplicate_names(path, first_row, frame)

    columns = [str(c) for c in frame.columns]
    frame.columns = columns
    label_column = columns[-1] if label_column is None else label_column
    if label_column not in columns:
        hint = ""
        if headerless:
            why = "header=False" if header is False else "the first row looks like data, not a header"
            hint = (f" ({why}, so the columns are named by position; "
                    f"pass label_column='x0'..'{columns[-1]}', or add a header row)")
        raise ValueError(f"{path}: no label column {label_column!r}; columns are {columns}{hint}")
    if headerless and header is None:
        warnings.warn(
            f"{path}: the first row looks like data, not a header, so it is read as data; "
            f"columns are named {columns[0]}..{columns[-1]} by position, label {label_column!r}. "
            "Add a header row to name them, or pass header=True if it is one.",
            UserWarning,
            stacklevel=2,
        )
    features = frame.drop(columns=label_column)
    if features.shape[1] == 0:
        raise ValueError(f"{path}: no feature columns besides the label {label_column!r}")

    nan_counts = frame.isna().sum()
    nan_counts = nan_counts[nan_counts > 0]
    if len(nan_counts):
        detail = ", ".join(f"{col!r} ({n})" for col, n in nan_counts.items())
        raise ValueError(f"{path}: missing values in columns {detail}")
    features = _decimal_commas(path, features, sep)
    text = [c for c in features.columns if not pd.api.types.is_numeric_dtype(features[c])]
    if text:
        values = features[text[0]].astype(str)
        example = next((v for v in values if not _is_number(v)), values.iloc[0])
        raise ValueError(
            f"{path}: non-numeric feature columns {text}; encode them as numbers "
            f"(column {text[0]!r} has {example!r})"
        )
    x = features.to_numpy(dtype=np.float32)
    if not np.isfinite(x).all():
        bad = [c for c in features.columns if not np.isfinite(features[c].to_numpy(float)).all()]
        raise ValueError(f"{path}: infinite or too-large values in columns {bad}")
    _refuse_label_copies(path, features, frame[label_column], label_column)

    class_names, y, counts = np.unique(
        frame[label_column].to_numpy(), return_inverse=True, return_counts=True
    )
    if len(class_names) < 2:
        raise ValueError(
            f"{path}: label column {label_column!r} has fewer than two classes "
            f"({class_names.tolist()})"
        )
    small = [
        (c, n) for c, n in zip(class_names.tolist(), counts.tolist()) if n < min_rows_per_class
    ]
    if small:
        detail = ", ".join(f"class {c!r} has {n} row(s)" for c, n in small)
        raise ValueError(f"{path}: {detail}; each class needs at least {min_rows_per_class}")
    return TabularData(
        x=x,
        y=y.astype(np.int64),
        feature_names=list(features.columns),
        class_names=class_names.tolist(),
        label_column=label_column,
        path=str(path),
    )


def four_class_split(test_size=0.25, seed=0, csv_path=None):
    """The 4-class table split stratified: ``(x_train, y_train), (x_test, y_test), data``."""
    from sklearn.model_selection import train_test_split  # slow import, only needed here

    data = load_tabular(csv_path or four_class_csv_path(), label_column="label")
    x_train, x_test, y_train, y_test = train_test_split(
        data.x, data.y, test_size=test_size, random_state=seed, stratify=data.y
    )
    return (x_train, y_train), (x_test, y_test), data


if __name__ == "__main__":
    written = write_four_class_csv()
    counts = make_four_class()["label"].value_counts().sort_index()
    print(f"wrote {written}: class counts {counts.to_dict()}")
