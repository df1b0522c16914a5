"""Data-parallel training through keras.distribution: on two virtual CPU devices it trains the
same head as one device, and every misuse gets a clear error.

The two devices exist only if XLA is told before JAX is imported, so the training test runs
its own Python process with ``KERAS_BACKEND=jax`` and
``XLA_FLAGS=--xla_force_host_platform_device_count=2``, whatever backend this suite runs on.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

import keras
from helpers import distributed

SCRIPT = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    import numpy as np
    import keras
    from helpers import data, distributed, streaming

    folder = Path(sys.argv[1])
    (x, y), (x_test, y_test), _ = data.four_class_split()
    mean, std = x.mean(axis=0), x.std(axis=0)
    x, x_test = ((a - mean) / std for a in (x, x_test))
    paths = [streaming.write_npy(folder / f"{name}.npy", a.astype(np.float32) if a.ndim == 2 else a)
             for name, a in [("x", x[:801]), ("y", y[:801]), ("xt", x_test), ("yt", y_test)]]
    settings = dict(output_dim=512, epochs=4, c=5.0, seed=0, learning_rate=3e-3, return_info=True)
    test = streaming.NpyBatches(paths[2], paths[3], batch_size=100, shuffle=False, n_classes=4)

    def train(dist):
        # 801 rows: batch_multiple=2 leaves one out, in both runs, so they see the same rows.
        batches = streaming.NpyBatches(paths[0], paths[1], batch_size=64, shuffle=False, batch_multiple=2)
        model, info = streaming.fit_streaming_quasi_svm(batches, distribution=dist, **settings)
        kernel = model.layers[-1].kernel
        return dict(
            kernel=keras.ops.convert_to_numpy(kernel),
            kernel_devices=len(kernel.value.sharding.device_set),
            accuracy=streaming.streamed_accuracy(model, test),  # predicted outside the scope
            replicas=info["replicas"],
        )

    dist = distributed.data_parallel()
    one, two = train(None), train(dist)
    errors = {}
    for name, call in {
        "too_many": lambda: distributed.data_parallel(3),
        "unknown": lambda: distributed.data_parallel(["gpu:7"]),
        "odd_rows": lambda: streaming.fit_streaming_quasi_svm(
            streaming.NpyBatches(paths[0], paths[1], batch_size=64), distribution=dist),
        "odd_batch": lambda: distributed.check_batches(800, 63, 2),
    }.items():
        try:
            call()
            errors[name] = None
        except ValueError as err:
            errors[name] = str(err)
    print("RESULT " + json.dumps(dict(
        devices=keras.distribution.list_devices(),
        described=distributed.describe(dist),
        callbacks=[type(c).__name__ for c in distributed.training_callbacks(dist)],
        kernel_devices=[one["kernel_devices"], two["kernel_devices"]],
        replicas=[one["replicas"], two["replicas"]],
        accuracy=[one["accuracy"], two["accuracy"]],
        max_kernel=float(np.abs(one["kernel"]).max()),
        max_difference=float(np.abs(one["kernel"] - two["kernel"]).max()),
        majority=float(np.bincount(y_test).max() / len(y_test)),
        errors=errors,
    )))
    """
)


@pytest.fixture(scope="module")
def two_devices(tmp_path_factory):
    """Train on one and on two virtual CPU devices in a JAX process; its measurements."""
    env = dict(os.environ, KERAS_BACKEND="jax", TF_CPP_MIN_LOG_LEVEL="2",
               XLA_FLAGS="--xla_force_host_platform_device_count=2", JAX_PLATFORMS="cpu")
    folder = tmp_path_factory.mktemp("dp")
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(folder)], env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    line = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT "):])


def test_two_devices_train_the_one_device_head(two_devices):
    assert two_devices["devices"] == ["cpu:0", "cpu:1"]
    assert two_devices["described"] == "DataParallel over 2 devices: cpu:0, cpu:1"
    # Virtual CPU devices train one step at a time (queued steps deadlocked XLA's all-reduce).
    assert two_devices["callbacks"] == ["OneStepInFlight"]
    # The head's weights live on both devices only when the distribution was in effect.
    assert two_devices["kernel_devices"] == [1, 2] and two_devices["replicas"] == [1, 2]
    # Same rows, same batches: each device takes half a batch and the gradients are averaged,
    # so the weights are the one-device weights up to float rounding.
    assert two_devices["max_kernel"] > 1e-3
    assert two_devices["max_difference"] <= 1e-4 * two_devices["max_kernel"]
    one, two = two_devices["accuracy"]
    assert abs(one - two) <= 0.004  # at most 2 of the 500 test rows
    assert two > two_devices["majority"] + 0.3


def test_misuse_on_two_devices_says_what_to_do(two_devices):
    errors = two_devices["errors"]
    assert "asks for 3 devices; Keras lists 2" in errors["too_many"]
    assert "unknown ['gpu:7']" in errors["unknown"]
    assert "last batch of an epoch holds 33 rows" in errors["odd_rows"]
    assert "NpyBatches(batch_multiple=2)" in errors["odd_rows"]
    assert "batch_size=63 does not split over 2 devices" in errors["odd_batch"]


def test_check_batches_accepts_even_splits():
    distributed.check_batches(800, 64, 2)
    distributed.check_batches(50, 16, 2)  # last batch: 2 rows
    with pytest.raises(ValueError, match="last batch of an epoch holds 3 rows"):
        distributed.check_batches(51, 16, 2)


@pytest.mark.skipif(keras.backend.backend() == "jax", reason="JAX supports keras.distribution")
def test_other_backends_get_a_clear_error():
    with pytest.raises(RuntimeError, match=r"JAX backend only; this Keras runs on '\w+'"):
        distributed.data_parallel()


@pytest.mark.skipif(keras.backend.backend() != "jax", reason="keras.distribution needs JAX")
def test_bad_devices_argument_on_jax():
    with pytest.raises(ValueError, match="`devices` must be None, a positive int or a list"):
        distributed.data_parallel("cpu:0")
    with pytest.raises(ValueError, match="asks for 0 devices"):
        distributed.data_parallel(0)
    assert distributed.replica_count(distributed.data_parallel(1)) == 1
