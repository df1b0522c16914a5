"""A Quasi-SVM trained on more rows than fit in memory: features per batch, rows from disk.

``helpers.models.fit_quasi_svm`` computes the random features of every training row once and
keeps them: 60,000 images × 8,192 float32 features are 1.97 GB, 42 times the images
themselves (47 MB as bytes). That is the fast path while it fits. Past
that, this module streams:

- ``write_npy`` copies the rows, once, to a ``.npy`` file on disk (one row per example,
  flattened; images can stay uint8);
- ``NpyBatches``, a ``keras.utils.PyDataset``, reads one batch of rows at a time from that
  file through a read-only memory map, and yields ``(x, one-hot y)`` as float32;
- ``fit_streaming_quasi_svm`` trains the same model as ``fit_quasi_svm``, ``Input ->
  RandomFourierFeaturesSinCos (frozen) -> Dense(K)`` with the recipe's settings, by
  ``model.fit(dataset)``: the features of a batch are computed inside the model, used once
  and dropped. Memory is the model plus a batch, whatever n is; n is bounded by disk.

The price is time: the 784 × F projection is recomputed for every row in every epoch,
instead of once. ``python -m helpers.streaming`` runs either path on Fashion-MNIST and prints
its time, accuracy and peak memory (benchmarks/README.md, "Past one machine").

Files are read with ``allow_pickle=False``: a ``.npy`` holding Python objects would need
pickle to load, and unpickling a file can run code. Every bad input (a missing or foreign
file, wrong shapes or dtypes, labels out of range, a bad batch size) raises a ``ValueError``
that names the parameter or the file.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import keras
import numpy as np

from helpers.models import (
    QUASI_SVM_RECIPE,
    _check_loss,
    _check_positive_int,
    quasi_svm_l2,
    quasi_svm_learning_rate,
)

# Rows per read when a whole file is scanned (variance, label range, copies): a few MB.
CHUNK_ROWS = 8192


class MissingFileError(FileNotFoundError, ValueError):
    """A file that is not there: a ``FileNotFoundError``, and a ``ValueError`` like every other bad input here."""


# --------------------------------------------------------------------------- files


def write_npy(path, rows, *, dtype=None, chunk_rows=CHUNK_ROWS):
    """Copy ``rows`` to the ``.npy`` file ``path``, ``chunk_rows`` at a time; returns the path.

    ``rows`` is anything with ``len``, ``shape`` and row slicing (a numpy array, a memory
    map, an HDF5 dataset), so the source need not fit in memory either. Each row is
    flattened: (n, 28, 28) images become (n, 784). A 1-D array (labels) is written as is.
    ``dtype`` defaults to the source's: keep images as uint8 (4 times smaller than float32)
    and let ``NpyBatches(x_divisor=255)`` scale them per batch.
    """
    path = Path(path)
    shape = tuple(getattr(rows, "shape", ()))
    if len(shape) < 1 or shape[0] < 1:
        raise ValueError(f"`rows` must hold at least one row. Received shape {shape}")
    dtype = np.dtype(dtype if dtype is not None else rows.dtype)
    _check_numeric(dtype, f"`rows` for {path}")
    out_shape = (shape[0],) if len(shape) == 1 else (shape[0], math.prod(shape[1:]))
    path.parent.mkdir(parents=True, exist_ok=True)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=out_shape)
    try:
        for start in range(0, shape[0], chunk_rows):
            chunk = np.asarray(rows[start : start + chunk_rows])
            out[start : start + len(chunk)] = chunk.reshape((len(chunk),) + out_shape[1:])
        out.flush()
    finally:
        del out  # closes the map; the file is complete
    return path


def fashion_mnist_npy(folder, source=None):
    """The Fashion-MNIST splits as ``.npy`` files in ``folder``, written on the first call.

    Writes ``x_train.npy`` (60,000 × 784 uint8), ``y_train.npy``, ``x_test.npy`` and
    ``y_test.npy`` from ``helpers.data.load_fashion_mnist(source)`` unless all four are
    already there. Returns ``{name: path}``.
    """
    from helpers.data import load_fashion_mnist

    folder = Path(folder)
    paths = {name: folder / f"{name}.npy" for name in ("x_train", "y_train", "x_test", "y_test")}
    if not all(path.is_file() for path in paths.values()):
        (x_train, y_train), (x_test, y_test) = load_fashion_mnist(source)
        arrays = dict(x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
        for name, path in paths.items():
            write_npy(path, arrays[name])
    return paths


def open_npy(path, parameter):
    """A read-only memory map of the ``.npy`` file ``path``; errors name ``parameter`` and the file."""
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"`{parameter}`: file not found: {path}")
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        raise ValueError(
            f"`{parameter}`: {path} is not a readable .npy file of numbers ({err}). "
            "Write it with helpers.streaming.write_npy."
        ) from err
    if not isinstance(array, np.ndarray):  # an .npz archive
        array.close()
        raise ValueError(f"`{parameter}`: {path} is an .npz archive; expected one .npy array")
    return array


def _check_numeric(dtype, what):
    if not (np.issubdtype(dtype, np.integer) or np.issubdtype(dtype, np.floating)):
        raise ValueError(f"{what} has dtype {dtype}; expected integers or floats")


# --------------------------------------------------------------------------- the dataset


class NpyBatches(keras.utils.PyDataset):
    """Batches ``(x, one-hot y)`` read from ``.npy`` files on disk, for ``model.fit``.

    Args:
        x_path: a 2-D ``.npy`` of rows (n, d), integers or floats (see ``write_npy``).
        y_path: a 1-D ``.npy`` of n integer labels in 0..K-1; ``None`` for inputs only
            (``model.predict``).
        batch_size: rows per batch (the recipe's 128 by default).
        n_classes: K, the width of the one-hot targets; default: the largest label + 1.
        x_divisor: each batch is ``x.astype(float32) / x_divisor``; 255 turns uint8 pixels
            into exactly ``helpers.data.flatten_images``' values.
        shuffle: a new random order of the rows every epoch (seeded by ``seed`` and the
            epoch number, so reproducible). Leave it off for prediction, whose outputs
            follow the batches' order.
        batch_multiple: every batch holds a multiple of this many rows; the last one is cut
            short, leaving out up to ``batch_multiple - 1`` rows an epoch (different rows
            each epoch when shuffled). Data-parallel training needs the number of devices
            here, since each device takes an equal share of a batch.
        **kwargs: ``workers``, ``use_multiprocessing``, ``max_queue_size`` of ``PyDataset``.

    Memory: one batch, plus the pages of the files that the operating system keeps mapped
    (it may drop them whenever it needs the memory, as they are a clean copy of the disk),
    plus, when shuffling, one int64 index per row (8 bytes against a 784-byte image).
    """

    def __init__(
        self,
        x_path,
        y_path=None,
        *,
        batch_size=QUASI_SVM_RECIPE["batch_size"],
        n_classes=None,
        x_divisor=1.0,
        shuffle=True,
        seed=0,
        batch_multiple=1,
        **kwargs,
    ):
        super().__init__(**kwargs)
        _check_positive_int("batch_size", batch_size)
        _check_positive_int("batch_multiple", batch_multiple)
        if batch_size % batch_multiple:
            raise ValueError(
                f"`batch_size` must be a multiple of `batch_multiple`. Received: "
                f"batch_size={batch_size}, batch_multiple={batch_multiple}"
            )
        if isinstance(x_divisor, bool) or not isinstance(x_divisor, (int, float)) or not (
            0 < x_divisor < math.inf
        ):
            raise ValueError(f"`x_divisor` must be a positive finite number. Received: x_divisor={x_divisor!r}")
        self.x_path = Path(x_path)
        self.y_path = None if y_path is None else Path(y_path)
        self.batch_size, self.batch_multiple = batch_size, batch_multiple
        self.x_divisor, self.shuffle, self.seed = float(x_divisor), bool(shuffle), seed
        self.epoch = 0

        x = open_npy(self.x_path, "x_path")
        if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 1:
            raise ValueError(
                f"`x_path`: {self.x_path} holds shape {x.shape}; expected (rows, features) with "
                "at least one of each (write_npy flattens images to rows)"
            )
        _check_numeric(x.dtype, f"`x_path`: {self.x_path}")
        self.n_rows, self.n_features = x.shape
        if self.n_rows < batch_multiple:
            raise ValueError(
                f"`x_path`: {self.x_path} has {self.n_rows} rows, fewer than "
                f"batch_multiple={batch_multiple}"
            )
        self.n_classes = None
        if self.y_path is not None:
            self.n_classes = self._check_labels(n_classes)
        elif n_classes is not None:
            raise ValueError("`n_classes` needs labels: pass `y_path` too")
        self._x = x
        self._y = None
        # Rows used per epoch: all of them, less what batch_multiple leaves out.
        self.rows_per_epoch = self.n_rows - self.n_rows % batch_multiple
        self._order = self._new_order()

    def _check_labels(self, n_classes):
        y = open_npy(self.y_path, "y_path")
        if y.ndim != 1 or len(y) != self.n_rows:
            raise ValueError(
                f"`y_path`: {self.y_path} holds shape {y.shape}; expected ({self.n_rows},), "
                f"one label per row of {self.x_path}"
            )
        if not np.issubdtype(y.dtype, np.integer):
            raise ValueError(f"`y_path`: {self.y_path} has dtype {y.dtype}; expected integer labels")
        low = min(int(y[s : s + CHUNK_ROWS].min()) for s in range(0, len(y), CHUNK_ROWS))
        high = max(int(y[s : s + CHUNK_ROWS].max()) for s in range(0, len(y), CHUNK_ROWS))
        if n_classes is None:
            n_classes = high + 1
        else:
            _check_positive_int("n_classes", n_classes)
        if low < 0 or high >= n_classes:
            raise ValueError(
                f"`y_path`: {self.y_path} holds labels {low}..{high}; expected 0..{n_classes - 1} "
                f"(n_classes={n_classes})"
            )
        if n_classes < 2:
            raise ValueError(f"`y_path`: {self.y_path} holds a single class; a classifier needs two")
        return n_classes

    # Memory maps do not travel to worker processes (pickling one copies all its data):
    # they are dropped here and reopened on first use.
    def __getstate__(self):
        state = dict(self.__dict__)
        state["_x"] = state["_y"] = None
        return state

    def _arrays(self):
        if self._x is None:
            self._x = open_npy(self.x_path, "x_path")
        if self._y is None and self.y_path is not None:
            self._y = open_npy(self.y_path, "y_path")
        return self._x, self._y

    def _new_order(self):
        if not self.shuffle:
            return None
        rng = np.random.default_rng([self.seed, self.epoch])
        return rng.permutation(self.n_rows)[: self.rows_per_epoch]

    def __len__(self):
        return -(-self.rows_per_epoch // self.batch_size)

    def __getitem__(self, index):
        if not 0 <= index < len(self):
            raise IndexError(f"batch {index} out of range: {len(self)} batches")
        start, stop = index * self.batch_size, min((index + 1) * self.batch_size, self.rows_per_epoch)
        x, y = self._arrays()
        if self._order is None:
            rows = slice(start, stop)
        else:
            rows = np.sort(self._order[start:stop])  # in file order: fewer, forward reads
        batch = np.asarray(x[rows], dtype=np.float32)
        if self.x_divisor != 1.0:
            batch /= np.float32(self.x_divisor)
        if y is None:
            return (batch,)
        onehot = np.zeros((len(batch), self.n_classes), dtype=np.float32)
        onehot[np.arange(len(batch)), np.asarray(y[rows], dtype=np.int64)] = 1.0
        return batch, onehot

    def on_epoch_end(self):
        self.epoch += 1
        self._order = self._new_order()

    def labels(self):
        """All labels as an int64 array (8 bytes a row), to score predictions."""
        if self.y_path is None:
            raise ValueError("this dataset has no labels (`y_path` is None)")
        return np.asarray(self._arrays()[1], dtype=np.int64)


def gamma_scale_heuristic(dataset, chunk_rows=CHUNK_ROWS):
    """scikit-learn's ``gamma='scale'``, 1 / (d · Var(X)), computed over ``dataset``'s file in chunks.

    The same value as ``helpers.svm.gamma_scale_heuristic`` on the whole array in memory:
    the chunks' means and sums of squared deviations are merged exactly (Chan et al.), in
    float64, without the cancellation of E[x²] − E[x]².
    """
    x = dataset._arrays()[0]
    count, mean, m2 = 0, 0.0, 0.0
    for start in range(0, dataset.n_rows, chunk_rows):
        chunk = np.asarray(x[start : start + chunk_rows], dtype=np.float32)
        if dataset.x_divisor != 1.0:
            chunk /= np.float32(dataset.x_divisor)
        chunk = chunk.astype(np.float64)
        n, chunk_mean = chunk.size, float(chunk.mean())
        chunk_m2 = float(((chunk - chunk_mean) ** 2).sum())
        delta = chunk_mean - mean
        total = count + n
        mean += delta * n / total
        m2 += chunk_m2 + delta**2 * count * n / total
        count = total
    variance = m2 / count
    if variance == 0:
        raise ValueError(f"`x_path`: {dataset.x_path} has zero variance: gamma='scale' is undefined")
    return 1.0 / (dataset.n_features * variance)


# --------------------------------------------------------------------------- the model


def build_streaming_quasi_svm(
    input_dim,
    n_classes,
    *,
    scale,
    decay_steps,
    output_dim=QUASI_SVM_RECIPE["output_dim"],
    learning_rate=None,
    loss=QUASI_SVM_RECIPE["loss"],
    l2=None,
    seed=0,
):
    """``Input -> RandomFourierFeaturesSinCos (frozen) -> Dense(K)``, compiled to train on raw rows.

    The layers and their seeds are ``fit_quasi_svm``'s, so the random features are the
    same; the head starts at zero, has the L2 factor ``l2`` (set at construction, where
    Keras attaches it to the weight) and trains with Adam cosine-decayed from
    ``learning_rate`` to 0 over ``decay_steps``. On TensorFlow it compiles without XLA: in
    a trial on the shared 2-core CPU, later epochs of 6,000 Fashion-MNIST rows took 3.8–5.2 s
    without XLA and 4.7–5.4 s with it, and XLA adds its compilation to the first; other
    backends get Keras' "auto".
    """
    from helpers.layers import RandomFourierFeaturesSinCos

    _check_positive_int("input_dim", input_dim)
    _check_positive_int("n_classes", n_classes)
    _check_positive_int("output_dim", output_dim)
    _check_positive_int("decay_steps", decay_steps)
    _check_loss(loss)
    if learning_rate is None:
        learning_rate = quasi_svm_learning_rate(output_dim)
    rff = RandomFourierFeaturesSinCos(
        output_dim=output_dim, scale=float(scale), kernel_initializer="gaussian", seed=seed
    )
    head = keras.layers.Dense(
        n_classes,
        kernel_initializer="zeros",
        kernel_regularizer=keras.regularizers.l2(l2) if l2 else None,
    )
    model = keras.Sequential([keras.Input(shape=(input_dim,)), rff, head], name="quasi_svm_streaming")
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=decay_steps)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=schedule),
        loss=loss,
        metrics=[keras.metrics.CategoricalAccuracy(name="acc")],
        jit_compile=False if keras.backend.backend() == "tensorflow" else "auto",
    )
    return model


def fit_streaming_quasi_svm(
    train,
    *,
    output_dim=QUASI_SVM_RECIPE["output_dim"],
    scale=QUASI_SVM_RECIPE["scale"],
    gamma_factor=QUASI_SVM_RECIPE["gamma_factor"],
    epochs=QUASI_SVM_RECIPE["epochs"],
    learning_rate=QUASI_SVM_RECIPE["learning_rate"],
    loss=QUASI_SVM_RECIPE["loss"],
    c=QUASI_SVM_RECIPE["c"],
    l2=None,
    seed=0,
    distribution=None,
    verbose=0,
    return_info=False,
):
    """``fit_quasi_svm``'s model and settings, trained by ``model.fit(train)`` on streamed rows.

    ``train`` is an ``NpyBatches`` with labels; its ``batch_size`` is the batch size. The
    other arguments mean what they mean for ``helpers.models.fit_quasi_svm``: ``scale=None``
    takes γ = ``gamma_factor`` × sklearn's ``gamma='scale'`` (computed over the file in
    chunks), ``c`` becomes the head's L2 factor ``F · l2_from_c(c, n, ·)`` (F = output_dim / 2
    frequencies), ``l2`` sets it directly, ``c=None`` and ``l2=None`` train without one.

    ``distribution``: a ``keras.distribution.DataParallel`` (``helpers.distributed.data_parallel``,
    JAX only): the model is built and trained in its scope, each batch split over its
    devices (on CPU devices one step at a time: ``distributed.OneStepInFlight``). The
    returned model predicts outside that scope, on any batch size.

    Returns the model, or ``(model, info)`` with ``return_info=True``: ``fit_seconds`` (the
    whole ``model.fit``, its compilation included), ``gamma_seconds``, ``scale``, ``l2``,
    ``learning_rate``, ``steps``, ``rows_per_epoch``, ``replicas``.
    """
    from helpers import svm

    if not isinstance(train, NpyBatches):
        raise ValueError(f"`train` must be an NpyBatches. Received: {type(train).__name__}")
    if train.y_path is None:
        raise ValueError("`train` has no labels: make it with y_path=")
    _check_loss(loss)
    _check_positive_int("epochs", epochs)
    _check_positive_int("output_dim", output_dim)
    if learning_rate is None:
        learning_rate = quasi_svm_learning_rate(output_dim)
    replicas, callbacks = 1, []
    if distribution is not None:
        from helpers import distributed

        replicas = distributed.replica_count(distribution)
        distributed.check_batches(train.rows_per_epoch, train.batch_size, replicas, what="`train`")
        callbacks = distributed.training_callbacks(distribution)

    start = time.perf_counter()
    if scale is None:
        if not gamma_factor > 0:
            raise ValueError(f"`gamma_factor` must be positive. Received: {gamma_factor!r}")
        scale = svm.scale_from_gamma(gamma_factor * gamma_scale_heuristic(train))
    gamma_seconds = time.perf_counter() - start
    if l2 is None and c is not None:
        l2 = quasi_svm_l2(c, train.n_rows, train.n_classes, output_dim, loss)
    steps = epochs * len(train)

    def build_and_fit():
        model = build_streaming_quasi_svm(
            train.n_features, train.n_classes, scale=scale, decay_steps=steps,
            output_dim=output_dim, learning_rate=learning_rate, loss=loss, l2=l2, seed=seed,
        )
        began = time.perf_counter()
        # shuffle=False: the rows are shuffled by `train` itself; Keras would shuffle the
        # order of its batches on top, so that even shuffle=False data came in a random order.
        model.fit(train, epochs=epochs, verbose=verbose, shuffle=False, callbacks=callbacks)
        return model, time.perf_counter() - began

    if distribution is None:
        model, fit_seconds = build_and_fit()
    else:
        with distribution.scope():
            model, fit_seconds = build_and_fit()
    if not return_info:
        return model
    info = dict(
        fit_seconds=fit_seconds, gamma_seconds=gamma_seconds, scale=float(scale),
        l2=float(l2 or 0.0), learning_rate=float(learning_rate), steps=steps,
        rows_per_epoch=train.rows_per_epoch, replicas=replicas,
    )
    return model, info


def streamed_accuracy(model, dataset):
    """Accuracy of ``model`` on a labelled ``NpyBatches``, predicted batch by batch."""
    if dataset.shuffle:
        raise ValueError("`dataset` must have shuffle=False: predictions follow the batches' order")
    if dataset.rows_per_epoch != dataset.n_rows:
        raise ValueError("`dataset` must use every row (batch_multiple=1) to be scored")
    scores = model.predict(dataset, verbose=0)
    return float(np.mean(np.argmax(scores, axis=1) == dataset.labels()))


# --------------------------------------------------------------------------- measuring it


def main(argv=None):
    """``python -m helpers.streaming``: one path on Fashion-MNIST, its figures as JSON on stdout."""
    import argparse

    from helpers.notebook import peak_rss_bytes
    import datetime
    import json
    import platform

    parser = argparse.ArgumentParser(
        prog="python -m helpers.streaming",
        description="Train the project's Quasi-SVM on Fashion-MNIST, streamed or cached; "
        "print fit time, test accuracy and this process' peak memory as JSON. Run each mode in "
        "its own process (peak memory is per process); --prepare first writes the .npy files.",
    )
    parser.add_argument("--mode", choices=("stream", "cached", "prepare"), required=True,
                        help="stream: NpyBatches + fit_streaming_quasi_svm; cached: fit_quasi_svm "
                        "on all rows in memory; prepare: only write the .npy files")
    parser.add_argument("--data-dir", required=True, help="folder for the .npy files")
    parser.add_argument("--source", default=None, help="Fashion-MNIST folder (default: helpers.data's)")
    parser.add_argument("--epochs", type=int, default=QUASI_SVM_RECIPE["epochs"])
    parser.add_argument("--output-dim", type=int, default=QUASI_SVM_RECIPE["output_dim"])
    parser.add_argument("--c", type=float, default=QUASI_SVM_RECIPE["c"], help="the SVM's C; 0: no L2")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-parallel", type=int, default=0, metavar="N",
                        help="stream mode on JAX: split each batch over N devices (-1: all)")
    parser.add_argument("--out", default=None, help="also write the JSON here")
    args = parser.parse_args(argv)

    paths = fashion_mnist_npy(args.data_dir, args.source)
    if args.mode == "prepare":
        print(json.dumps({name: str(path) for name, path in paths.items()}))
        return
    c = args.c or None
    settings = dict(output_dim=args.output_dim, epochs=args.epochs, c=c, seed=args.seed)
    record = dict(mode=args.mode, **settings)
    if args.mode == "stream":
        distribution = None
        multiple = 1
        if args.data_parallel:
            from helpers import distributed

            distribution = distributed.data_parallel(None if args.data_parallel < 0 else args.data_parallel)
            multiple = distributed.replica_count(distribution)
            record["devices"] = distributed.describe(distribution)
        train = NpyBatches(paths["x_train"], paths["y_train"], x_divisor=255, seed=args.seed,
                           batch_multiple=multiple)
        test = NpyBatches(paths["x_test"], paths["y_test"], x_divisor=255, shuffle=False,
                          batch_size=1024, n_classes=train.n_classes)
        model, info = fit_streaming_quasi_svm(train, distribution=distribution, return_info=True, **settings)
        start = time.perf_counter()
        accuracy = streamed_accuracy(model, test)
        n_train, n_test = train.n_rows, test.n_rows
    else:
        from helpers.models import fit_quasi_svm

        x_train = np.load(paths["x_train"], allow_pickle=False).astype(np.float32) / np.float32(255)
        y_train = np.load(paths["y_train"], allow_pickle=False)
        onehot = np.eye(int(y_train.max()) + 1, dtype=np.float32)[y_train]
        start = time.perf_counter()
        model, info = fit_quasi_svm(x_train, onehot, return_info=True, **settings)
        info["fit_seconds"] = time.perf_counter() - start  # features, warm-up and training
        x_test = np.load(paths["x_test"], allow_pickle=False).astype(np.float32) / np.float32(255)
        y_test = np.load(paths["y_test"], allow_pickle=False)
        start = time.perf_counter()
        accuracy = float(np.mean(model.predict(x_test, verbose=0).argmax(1) == y_test))
        n_train, n_test = len(x_train), len(x_test)
    record.update(
        n_train=n_train, n_test=n_test, test_accuracy=accuracy,
        predict_seconds=time.perf_counter() - start,
        feature_matrix_bytes=n_train * args.output_dim * 4,
        peak_rss_bytes=peak_rss_bytes(),
        info={k: v for k, v in info.items() if k != "curve"},
        backend=keras.backend.backend(), keras=keras.__version__, numpy=np.__version__,
        python=platform.python_version(), date=datetime.date.today().isoformat(),
    )
    text = json.dumps(record, indent=1)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
