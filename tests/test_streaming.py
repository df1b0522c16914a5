"""Streaming training: batches read from .npy files equal the rows in memory, the streamed
model has the cached path's features and, trained on the same batches, its weights; bad
input fails with messages that name the parameter or the file.

Backend-neutral: runs under TensorFlow and JAX (``KERAS_BACKEND=jax``).
"""

import gzip
import pickle

import numpy as np
import pytest

import keras
from helpers import data, models, streaming, svm


def _rows(tmp_path, x, y=None, name="x"):
    """Write x (and y) to tmp_path; returns their paths."""
    x_path = streaming.write_npy(tmp_path / f"{name}.npy", x)
    y_path = None if y is None else streaming.write_npy(tmp_path / f"{name}_labels.npy", y)
    return x_path, y_path


def _four_class(n_train=1200):
    """The 4-class table (a ring: not linearly separable), standardized, as train/test arrays."""
    (x_train, y_train), (x_test, y_test), _ = data.four_class_split()
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    scale = lambda x: ((x - mean) / std).astype(np.float32)  # noqa: E731
    return (scale(x_train)[:n_train], y_train[:n_train]), (scale(x_test), y_test)


# --------------------------------------------------------------------------- files and batches


def test_batches_are_the_rows_of_the_file_scaled_like_flatten_images(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(50, 4, 3), dtype=np.uint8)
    labels = rng.integers(0, 3, size=50).astype(np.uint8)
    x_path = streaming.write_npy(tmp_path / "x.npy", images, chunk_rows=7)  # 8 chunks, one short
    y_path = streaming.write_npy(tmp_path / "y.npy", labels)
    assert np.load(x_path).shape == (50, 12) and np.load(x_path).dtype == np.uint8
    batches = streaming.NpyBatches(x_path, y_path, batch_size=16, x_divisor=255, shuffle=False)
    assert (len(batches), batches.n_classes, batches.n_features) == (4, 3, 12)
    x = np.concatenate([batches[i][0] for i in range(len(batches))])
    y = np.concatenate([batches[i][1] for i in range(len(batches))])
    # Bit for bit what the in-memory path feeds the model.
    assert x.dtype == np.float32 and np.array_equal(x, data.flatten_images(images))
    assert np.array_equal(y, np.eye(3, dtype=np.float32)[labels])
    assert len(batches[3][0]) == 2
    with pytest.raises(IndexError):
        batches[4]
    inputs_only = streaming.NpyBatches(x_path, batch_size=16, shuffle=False)
    assert len(inputs_only[0]) == 1 and np.array_equal(inputs_only[0][0], images.reshape(50, 12)[:16])


def test_each_epoch_is_a_new_reproducible_order_of_every_row(tmp_path):
    ids = np.arange(100, dtype=np.float32)[:, None]  # each row holds its own index
    x_path, y_path = _rows(tmp_path, ids, np.arange(100) % 2)

    def epoch_rows(batches):
        return np.concatenate([batches[i][0][:, 0] for i in range(len(batches))]).astype(int)

    batches = streaming.NpyBatches(x_path, y_path, batch_size=32, seed=3)
    first = epoch_rows(batches)
    batches.on_epoch_end()
    second = epoch_rows(batches)
    assert sorted(first) == sorted(second) == list(range(100))
    assert not np.array_equal(first, second)
    # Same seed, same orders; another seed, another order.
    again = streaming.NpyBatches(x_path, y_path, batch_size=32, seed=3)
    assert np.array_equal(epoch_rows(again), first)
    other = streaming.NpyBatches(x_path, y_path, batch_size=32, seed=4)
    assert not np.array_equal(epoch_rows(other), first)
    # Labels travel with their rows.
    x, y = batches[1]
    assert np.array_equal(y.argmax(1), x[:, 0].astype(int) % 2)


def test_batch_multiple_cuts_the_last_batch(tmp_path):
    x_path, y_path = _rows(tmp_path, np.zeros((51, 2), np.float32), np.arange(51) % 2)
    batches = streaming.NpyBatches(x_path, y_path, batch_size=16, batch_multiple=4, shuffle=False)
    assert batches.rows_per_epoch == 48 and len(batches) == 3 and len(batches[2][0]) == 16
    batches = streaming.NpyBatches(x_path, y_path, batch_size=16, batch_multiple=2, shuffle=False)
    assert batches.rows_per_epoch == 50 and len(batches[3][0]) == 2


def test_pickling_drops_the_memory_map_and_reopens_it(tmp_path):
    x = np.random.default_rng(1).random((2000, 50)).astype(np.float32)  # 400 kB
    x_path, y_path = _rows(tmp_path, x, np.arange(2000) % 5)
    batches = streaming.NpyBatches(x_path, y_path, batch_size=64, shuffle=False)
    blob = pickle.dumps(batches)
    assert len(blob) < 20_000  # the index order and settings, not the rows
    copy = pickle.loads(blob)
    assert np.array_equal(copy[5][0], x[320:384])


def test_gamma_heuristic_over_chunks_equals_the_in_memory_one(tmp_path):
    # A large mean over a small spread: E[x²] − E[x]² would lose most digits here.
    x = (1000.0 + np.random.default_rng(2).normal(size=(103, 9))).astype(np.float32)
    x_path, _ = _rows(tmp_path, x)
    batches = streaming.NpyBatches(x_path, shuffle=False)
    expected = svm.gamma_scale_heuristic(x)
    assert streaming.gamma_scale_heuristic(batches, chunk_rows=10) == pytest.approx(expected, rel=1e-9)
    images = np.random.default_rng(3).integers(0, 256, size=(40, 28, 28), dtype=np.uint8)
    x_path, _ = _rows(tmp_path, images, name="images")
    batches = streaming.NpyBatches(x_path, x_divisor=255)
    expected = svm.gamma_scale_heuristic(data.flatten_images(images))
    assert streaming.gamma_scale_heuristic(batches, chunk_rows=16) == pytest.approx(expected, rel=1e-9)


def _write_idx(path, array):
    """One gzipped IDX file (big-endian header: magic 0x08, ndim; then the sizes)."""
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def test_fashion_mnist_npy_writes_the_four_splits_once(tmp_path):
    rng = np.random.default_rng(4)
    source = tmp_path / "source"
    source.mkdir()
    arrays = dict(
        x_train=rng.integers(0, 256, (30, 28, 28)), y_train=rng.integers(0, 10, 30),
        x_test=rng.integers(0, 256, (12, 28, 28)), y_test=rng.integers(0, 10, 12),
    )
    for name, filename in data.FASHION_MNIST_FILES.items():
        _write_idx(source / filename, arrays[name])
    paths = streaming.fashion_mnist_npy(tmp_path / "npy", source)
    assert np.array_equal(np.load(paths["x_train"]), arrays["x_train"].reshape(30, 784))
    assert np.array_equal(np.load(paths["y_test"]), arrays["y_test"])
    stamp = paths["x_train"].stat().st_mtime_ns
    streaming.fashion_mnist_npy(tmp_path / "npy", tmp_path / "no-such-folder")  # already there
    assert paths["x_train"].stat().st_mtime_ns == stamp


# --------------------------------------------------------------------------- the model


def test_streamed_features_are_the_cached_paths_features(tmp_path):
    (x, y), _ = _four_class(n_train=300)
    x_path, y_path = _rows(tmp_path, x, y)
    train = streaming.NpyBatches(x_path, y_path, batch_size=64)
    model, info = streaming.fit_streaming_quasi_svm(train, output_dim=256, epochs=1, seed=5, return_info=True)
    cached = models.fit_quasi_svm(x, np.eye(4, dtype=np.float32)[y], output_dim=256, epochs=1, seed=5, warmup=False)
    # Same γ, same seed: the same frozen frequencies, so the same features.
    assert info["scale"] == pytest.approx(cached.layers[0].scale, rel=1e-9)
    for mine, theirs in zip(model.layers[0].weights, cached.layers[0].weights):
        assert np.array_equal(keras.ops.convert_to_numpy(mine), keras.ops.convert_to_numpy(theirs))
    streamed = keras.ops.convert_to_numpy(model.layers[0](x[:100]))
    assert np.allclose(streamed, models.rff_features(cached.layers[0], x[:100]), atol=1e-5)
    assert not model.layers[0].trainable_weights  # frozen: W, b and the scale
    assert svm.count_params(model) == 256 * 4 + 4  # only the head trains


def test_streamed_training_equals_training_on_cached_features(tmp_path):
    """Same batches in the same order: the head must come out as if trained on cached features."""
    (x, y), (x_test, y_test) = _four_class(n_train=640)
    x_path, y_path = _rows(tmp_path, x, y)
    train = streaming.NpyBatches(x_path, y_path, batch_size=64, shuffle=False)
    model, info = streaming.fit_streaming_quasi_svm(
        train, output_dim=512, epochs=3, c=5.0, seed=1, return_info=True
    )
    # The L2 penalty is really on the head: Keras adds λ‖W‖² to the loss.
    kernel = keras.ops.convert_to_numpy(model.layers[-1].kernel)
    assert info["l2"] == pytest.approx(256 * svm.l2_from_c(5.0, 640, 1))
    assert float(keras.ops.convert_to_numpy(sum(model.losses))) == pytest.approx(
        info["l2"] * float((kernel.astype(np.float64) ** 2).sum()), rel=1e-4
    )

    # The cached path by hand: features once, the same head, optimizer, schedule and batches.
    features = models.rff_features(model.layers[0], x)
    head = keras.layers.Dense(4, kernel_initializer="zeros", kernel_regularizer=keras.regularizers.l2(info["l2"]))
    trainer = keras.Sequential([keras.Input(shape=(512,)), head])
    schedule = keras.optimizers.schedules.CosineDecay(info["learning_rate"], decay_steps=info["steps"])
    trainer.compile(optimizer=keras.optimizers.Adam(learning_rate=schedule), loss="categorical_hinge")
    trainer.fit(features, np.eye(4, dtype=np.float32)[y], batch_size=64, epochs=3, shuffle=False, verbose=0)

    reference = keras.ops.convert_to_numpy(head.kernel)
    assert np.abs(reference).max() > 1e-3  # it learned something
    # Measured: equal to ~1e-8 (float rounding). A change of batch order, of the schedule or of
    # the penalty moves weights by ~50 % of their size (Keras shuffling the batches did).
    assert np.allclose(kernel, reference, rtol=0, atol=1e-5 * np.abs(reference).max())
    scores = model.predict(x_test, verbose=0)
    cached_scores = models.rff_features(model.layers[0], x_test) @ reference + keras.ops.convert_to_numpy(head.bias)
    assert np.array_equal(scores.argmax(1), cached_scores.argmax(1))


def test_streamed_accuracy_matches_the_cached_path(tmp_path):
    (x, y), (x_test, y_test) = _four_class(n_train=1200)
    x_path, y_path = _rows(tmp_path, x, y)
    test_x_path, test_y_path = _rows(tmp_path, x_test, y_test, name="test")
    settings = dict(output_dim=512, epochs=5, seed=0, c=None, learning_rate=3e-3)
    train = streaming.NpyBatches(x_path, y_path, batch_size=64, seed=0)
    model = streaming.fit_streaming_quasi_svm(train, **settings)
    test = streaming.NpyBatches(test_x_path, test_y_path, batch_size=100, shuffle=False, n_classes=4)
    streamed = streaming.streamed_accuracy(model, test)
    cached_model = models.fit_quasi_svm(x, np.eye(4, dtype=np.float32)[y], batch_size=64, warmup=False, **settings)
    cached = float(np.mean(cached_model.predict(x_test, verbose=0).argmax(1) == y_test))
    majority = np.bincount(y_test).max() / len(y_test)
    assert streamed > majority + 0.3  # the ring needs the kernel: a linear model stays far lower
    assert abs(streamed - cached) <= 0.03
    with pytest.raises(ValueError, match="shuffle=False"):
        streaming.streamed_accuracy(model, train)


# --------------------------------------------------------------------------- bad input


def test_missing_and_foreign_files_name_the_file(tmp_path):
    missing = tmp_path / "nope.npy"
    with pytest.raises(ValueError, match=r"`x_path`: file not found: .*nope\.npy"):
        streaming.NpyBatches(missing)
    with pytest.raises(FileNotFoundError):  # also an OSError, for callers that catch those
        streaming.NpyBatches(missing)
    text = tmp_path / "table.npy"
    text.write_text("1,2,3\n")
    with pytest.raises(ValueError, match=r"`x_path`: .*table\.npy is not a readable \.npy file"):
        streaming.NpyBatches(text)
    objects = tmp_path / "objects.npy"
    np.save(objects, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match=r"objects\.npy is not a readable \.npy file"):
        streaming.NpyBatches(objects)  # refused, never unpickled
    archive = tmp_path / "arrays.npz"
    np.savez(archive, x=np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"arrays\.npz is an \.npz archive"):
        streaming.NpyBatches(archive)
    x_path, _ = _rows(tmp_path, np.zeros((4, 2), np.float32))
    with pytest.raises(ValueError, match=r"`y_path`: file not found: .*missing_labels\.npy"):
        streaming.NpyBatches(x_path, tmp_path / "missing_labels.npy")


def test_wrong_shapes_and_dtypes_name_the_file(tmp_path):
    cube = tmp_path / "cube.npy"
    np.save(cube, np.zeros((4, 3, 2), np.float32))
    with pytest.raises(ValueError, match=r"`x_path`: .*cube\.npy holds shape \(4, 3, 2\)"):
        streaming.NpyBatches(cube)
    flags = tmp_path / "flags.npy"
    np.save(flags, np.zeros((4, 3), bool))
    with pytest.raises(ValueError, match=r"flags\.npy has dtype bool; expected integers or floats"):
        streaming.NpyBatches(flags)
    x_path, _ = _rows(tmp_path, np.zeros((4, 3), np.float32))
    for name, labels, message in [
        ("short", np.array([0, 1, 0]), r"short\.npy holds shape \(3,\); expected \(4,\)"),
        ("float", np.array([0.0, 1.0, 0.0, 1.0]), r"float\.npy has dtype float64; expected integer labels"),
        ("range", np.array([0, 1, 2, 5]), r"range\.npy holds labels 0\.\.5; expected 0\.\.2 \(n_classes=3\)"),
        ("negative", np.array([0, -1, 1, 1]), r"negative\.npy holds labels -1\.\.1"),
        ("single", np.array([0, 0, 0, 0]), r"single\.npy holds a single class"),
    ]:
        path = tmp_path / f"{name}.npy"
        np.save(path, labels)
        with pytest.raises(ValueError, match=message):
            streaming.NpyBatches(x_path, path, n_classes=3 if name == "range" else None)
    with pytest.raises(ValueError, match="at least one row"):
        streaming.write_npy(tmp_path / "empty.npy", np.zeros((0, 3)))
    with pytest.raises(ValueError, match="dtype complex128"):
        streaming.write_npy(tmp_path / "complex.npy", np.zeros((2, 3), complex))


def test_bad_settings_name_the_parameter(tmp_path):
    x_path, y_path = _rows(tmp_path, np.zeros((10, 3), np.float32), np.arange(10) % 2)
    for kwargs, message in [
        (dict(batch_size=0), r"`batch_size` must be a positive integer\. Received: batch_size=0"),
        (dict(batch_size=2.5), r"batch_size=2\.5"),
        (dict(batch_multiple=0), r"`batch_multiple` must be a positive integer"),
        (dict(batch_size=10, batch_multiple=4), r"`batch_size` must be a multiple of `batch_multiple`"),
        (dict(batch_size=16, batch_multiple=16), r"has 10 rows, fewer than batch_multiple=16"),
        (dict(x_divisor=0), r"`x_divisor` must be a positive finite number"),
        (dict(n_classes=0), r"`n_classes` must be a positive integer"),
    ]:
        with pytest.raises(ValueError, match=message):
            streaming.NpyBatches(x_path, y_path, **kwargs)
    with pytest.raises(ValueError, match="`n_classes` needs labels"):
        streaming.NpyBatches(x_path, n_classes=2)
    with pytest.raises(ValueError, match="`train` has no labels"):
        streaming.fit_streaming_quasi_svm(streaming.NpyBatches(x_path))
    with pytest.raises(ValueError, match="`train` must be an NpyBatches"):
        streaming.fit_streaming_quasi_svm(np.zeros((10, 3)))
    train = streaming.NpyBatches(x_path, y_path)
    with pytest.raises(ValueError, match="`epochs` must be a positive integer"):
        streaming.fit_streaming_quasi_svm(train, epochs=0)
    with pytest.raises(ValueError, match="Unknown `loss`"):
        streaming.fit_streaming_quasi_svm(train, loss="hinj")
