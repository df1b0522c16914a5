"""Data-parallel training over several devices with Keras' distribution API (JAX backend).

Data parallelism keeps a full copy of the model on every device and splits each batch along
its rows: every device computes the random features and the head's gradient of its share,
the gradients are averaged across devices, and every copy takes the same step. A step is
therefore the one-device step on the whole batch (up to the order of float additions), so
accuracy is unchanged; what it buys is throughput, and per-device memory for the features
of a batch. The Quasi-SVM's weights (784 × 4,096 frozen frequencies, an 8,192 × 10 head) are
small enough to copy everywhere, which is what this scheme needs.

In Keras 3, ``keras.distribution`` is implemented for JAX only; on another backend
``data_parallel`` says so instead of failing deep inside ``fit``. Nothing here imports JAX:
Keras finds the devices.

Several GPUs on one machine: ``KERAS_BACKEND=jax``, then ``data_parallel()`` takes them all.
To try it without GPUs, give JAX virtual CPU devices *before it is imported*:
``XLA_FLAGS=--xla_force_host_platform_device_count=2 KERAS_BACKEND=jax python ...``.
"""

from __future__ import annotations

import keras


def require_jax():
    """Raise ``RuntimeError`` unless Keras runs on JAX, the only backend of its distribution API."""
    backend = keras.backend.backend()
    if backend != "jax":
        raise RuntimeError(
            f"Data-parallel training uses keras.distribution, which Keras 3 implements for the "
            f"JAX backend only; this Keras runs on {backend!r}. Set KERAS_BACKEND=jax before "
            "Keras is imported (and install jax)."
        )


def data_parallel(devices=None):
    """A ``keras.distribution.DataParallel`` over ``devices``, checked first.

    ``devices``: ``None`` for every device Keras lists (its GPUs or TPUs if it has any,
    else its CPUs), an int n for the first n of them, or a list of names such as
    ``["gpu:0", "gpu:1"]``. Build and train in its scope: ``with dist.scope(): ...``, or
    pass it to ``helpers.streaming.fit_streaming_quasi_svm(distribution=...)``.
    """
    require_jax()
    available = keras.distribution.list_devices()
    if devices is None:
        chosen = list(available)
    elif isinstance(devices, int) and not isinstance(devices, bool):
        if not 1 <= devices <= len(available):
            raise ValueError(
                f"`devices` asks for {devices} devices; Keras lists {len(available)}: {available}. "
                "(On CPU, XLA_FLAGS=--xla_force_host_platform_device_count=N, set before JAX "
                "is imported, makes N.)"
            )
        chosen = list(available[:devices])
    elif isinstance(devices, (list, tuple)) and devices and all(isinstance(d, str) for d in devices):
        unknown = [d for d in devices if d not in available]
        if unknown:
            raise ValueError(f"`devices`: unknown {unknown}; Keras lists {available}")
        if len(set(devices)) != len(devices):
            raise ValueError(f"`devices` names a device twice: {list(devices)}")
        chosen = list(devices)
    else:
        raise ValueError(
            f"`devices` must be None, a positive int or a list of device names. Received: {devices!r}"
        )
    return keras.distribution.DataParallel(devices=chosen)


def replica_count(distribution):
    """How many ways ``distribution`` splits a batch: the size of its mesh's batch axis."""
    mesh = distribution.device_mesh
    return int(mesh.shape[mesh.axis_names.index(distribution.batch_dim_name)])


def describe(distribution):
    """``"DataParallel over 2 devices: cpu:0, cpu:1"``, for logs and records."""
    devices = [str(d) for d in distribution.device_mesh.devices.flatten()]
    return f"{type(distribution).__name__} over {len(devices)} devices: {', '.join(devices)}"


class OneStepInFlight(keras.callbacks.Callback):
    """Makes ``model.fit`` wait for each training step before it dispatches the next.

    Keras on JAX queues steps without waiting for them. On virtual CPU devices (one
    process, one shared thread pool) can deadlock XLA's gradient all-reduce. Measured on
    the 2-core machine with 2 devices and the recipe's model: epochs of 16,384 and of
    60,000 Fashion-MNIST rows (128 and 469 steps) stopped in their first minute with
    "Termination timeout for all reduce ... only 1 of them arrived", in 2 of 2 and 5 of 5
    runs, while epochs of 8 and 32 steps ran through (3 of 3); with this callback, 2 of 2
    epochs of 60,000 rows, 1 of 1 of 16,384 and two 15-epoch runs finished. Any callback with an
    ``on_train_batch_end`` does it, because Keras then turns each step's logs into
    Python numbers (which waits for the step) before calling it; this one says why.
    """

    def on_train_batch_end(self, batch, logs=None):
        pass


def training_callbacks(distribution):
    """What ``model.fit`` needs under ``distribution``: ``[OneStepInFlight()]`` on CPU devices, else ``[]``.

    Real accelerators keep their queued steps (it is how they overlap work); only the
    virtual CPU devices of a test deadlock with them.
    """
    devices = [str(d) for d in distribution.device_mesh.devices.flatten()]
    return [OneStepInFlight()] if all(d.startswith("cpu") for d in devices) else []


def check_batches(rows, batch_size, replicas, what="the data"):
    """Raise ``ValueError`` unless every batch of ``rows`` rows splits evenly over ``replicas`` devices.

    JAX shards a batch only in equal parts, and the last batch of an epoch is usually
    short. The message says how to fix it rather than JAX's ``IndivisibleError`` mid-epoch.
    """
    if batch_size % replicas:
        raise ValueError(
            f"{what}: batch_size={batch_size} does not split over {replicas} devices; use a "
            f"multiple of {replicas}"
        )
    last = rows % batch_size or batch_size
    if last % replicas:
        raise ValueError(
            f"{what}: the last batch of an epoch holds {last} rows, which {replicas} devices "
            f"cannot share equally; NpyBatches(batch_multiple={replicas}) leaves out the "
            f"{last % replicas} extra row(s) (different ones each epoch when shuffled)"
        )
