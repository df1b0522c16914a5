"""Builders for the Keras models the notebooks compare, with the defaults of their sources.

- ``build_quasi_svm``: the keras.io recipe "A Quasi-SVM in Keras" (RFF 4096, scale 10, Adam 1e-3).
- ``build_linear_svm``: ``Dense(K)`` with an L2 kernel regularizer on the raw features.
- ``build_deep_hinge``: the Stack Overflow answer's MLP (128-64-32-16 relu) under an L2 hinge head.

All of them train on one-hot targets and report ``categorical_accuracy``. Keras'
``metrics=["accuracy"]`` would pick *binary* accuracy for a hinge loss, which counts each
of the K outputs separately and reads about 0.9 for a model that is always wrong on 10 classes.
"""

import keras

from helpers.layers import RandomFourierFeatures

HINGE_LOSSES = ("hinge", "squared_hinge", "categorical_hinge")


def _check_positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"`{name}` must be a positive integer. Received: {name}={value!r}")


def _check_loss(loss):
    if loss not in HINGE_LOSSES:
        raise ValueError(f"Unknown `loss`: {loss!r}. Expected one of {HINGE_LOSSES}.")


def compile_hinge(model, loss="hinge", learning_rate=1e-3, jit_compile="auto"):
    """Compile with Adam, a hinge loss and categorical accuracy (never binary 'accuracy')."""
    _check_loss(loss)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss=loss,
        metrics=[keras.metrics.CategoricalAccuracy(name="acc")],
        jit_compile=jit_compile,
    )
    return model


def build_quasi_svm(
    input_dim,
    n_classes,
    output_dim=4096,
    scale=10.0,
    kernel_initializer="gaussian",
    learning_rate=1e-3,
    loss="hinge",
    seed=None,
):
    """RandomFourierFeatures -> Dense(K): a linear SVM on random features of an RBF kernel."""
    _check_positive_int("input_dim", input_dim)
    _check_positive_int("n_classes", n_classes)
    model = keras.Sequential(
        [
            keras.Input(shape=(input_dim,)),
            RandomFourierFeatures(
                output_dim=output_dim,
                scale=scale,
                kernel_initializer=kernel_initializer,
                seed=seed,
            ),
            keras.layers.Dense(n_classes, kernel_initializer=_dense_init(seed)),
        ],
        name="quasi_svm",
    )
    return compile_hinge(model, loss=loss, learning_rate=learning_rate)


def build_linear_svm(input_dim, n_classes, l2=0.01, learning_rate=1e-3, loss="hinge", seed=None):
    """Dense(K) with ``kernel_regularizer=l2(λ)`` and hinge loss: a one-vs-rest linear SVM.

    The bias is not regularized, as in scikit-learn's ``SVC``. ``helpers.svm.c_from_l2``
    gives the matching C.
    """
    _check_positive_int("input_dim", input_dim)
    _check_positive_int("n_classes", n_classes)
    model = keras.Sequential(
        [
            keras.Input(shape=(input_dim,)),
            keras.layers.Dense(
                n_classes,
                kernel_regularizer=keras.regularizers.l2(l2),
                kernel_initializer=_dense_init(seed),
            ),
        ],
        name="linear_svm",
    )
    return compile_hinge(model, loss=loss, learning_rate=learning_rate)


def build_deep_hinge(
    input_dim,
    n_classes,
    hidden_units=(128, 64, 32, 16),
    l2=0.01,
    learning_rate=1e-3,
    loss="hinge",
    seed=None,
):
    """An MLP with an L2 hinge head. The features are learned, so this is no fixed-kernel SVM."""
    _check_positive_int("input_dim", input_dim)
    _check_positive_int("n_classes", n_classes)
    layers = [keras.Input(shape=(input_dim,))]
    for i, units in enumerate(hidden_units):
        layers.append(
            keras.layers.Dense(units, activation="relu", kernel_initializer=_dense_init(seed, i + 1))
        )
    layers.append(
        keras.layers.Dense(
            n_classes,
            kernel_regularizer=keras.regularizers.l2(l2),
            kernel_initializer=_dense_init(seed),
        )
    )
    return compile_hinge(keras.Sequential(layers, name="deep_hinge"), loss=loss, learning_rate=learning_rate)


def _dense_init(seed, offset=0):
    # Keras' default initializer, seeded when the caller asks for reproducibility.
    return keras.initializers.GlorotUniform(seed=None if seed is None else seed + 100 + offset)


# --------------------------------------------------------------------------- a fast Quasi-SVM

import numpy as np  # noqa: E402  (only the functions below need it)

# The project's Quasi-SVM recipe (see benchmarks/README.md for the measurements behind it).
QUASI_SVM_RECIPE = dict(
    output_dim=8192,  # 4096 random frequencies, a cos and a sin of each
    scale=None,  # None: γ = gamma_factor × scikit-learn's gamma='scale' heuristic
    gamma_factor=1.5,
    epochs=15,
    batch_size=128,
    learning_rate=None,  # Adam, cosine-decayed to 0; None: 2e-4 × 8192 / output_dim
    loss="categorical_hinge",  # Crammer-Singer multi-class hinge
    c=5.0,  # the SVM's C, turned into the head's L2 factor (see fit_quasi_svm)
)


def warm_up_fit(model, x, y, batch_size, n_fit=None, validation_data=None):
    """Trace and compile ``model``'s training step, then undo the updates; returns the seconds.

    One epoch on ``batch_size + remainder`` rows compiles both the full-batch and the last,
    partial-batch shapes that a fit on ``n_fit`` rows (default: all of ``x``) will see. The
    weights *and* the optimizer state are then put back, so a timed fit afterwards starts
    where an un-warmed one would, without compilation in its clock.
    """
    import time

    start = time.perf_counter()
    model.optimizer.build(model.trainable_variables)
    weights = model.get_weights()
    state = [keras.ops.convert_to_numpy(v) for v in model.optimizer.variables]
    n_fit = len(x) if n_fit is None else n_fit
    rows = min(len(x), batch_size + n_fit % batch_size)
    model.fit(
        x[:rows], y[:rows], batch_size=batch_size, epochs=1, verbose=0, shuffle=False,
        validation_data=validation_data,
    )
    model.set_weights(weights)
    for variable, value in zip(model.optimizer.variables, state):
        variable.assign(value)
    return time.perf_counter() - start


def rff_features(layer, x, chunk_rows=2048):
    """The outputs of a built ``RandomFourierFeatures(SinCos)`` layer on ``x``, as float32 numpy.

    Computed with numpy in chunks of ``chunk_rows`` rows, so memory stays at the output
    plus one chunk's projection.
    """
    from helpers.layers import RandomFourierFeaturesSinCos

    x = np.asarray(x, dtype=np.float32)
    scale = float(keras.ops.convert_to_numpy(layer.kernel_scale)[0])
    kernel = (np.float32(1.0 / scale) * keras.ops.convert_to_numpy(layer.unscaled_kernel)).astype(np.float32)
    sincos = isinstance(layer, RandomFourierFeaturesSinCos)
    bias = None if sincos else keras.ops.convert_to_numpy(layer.bias).astype(np.float32)
    out = np.empty((len(x), layer.output_dim), dtype=np.float32)
    half = kernel.shape[1]
    for start in range(0, len(x), chunk_rows):
        projection = x[start : start + chunk_rows] @ kernel
        rows = slice(start, start + len(projection))
        if sincos:
            np.cos(projection, out=out[rows, :half])
            np.sin(projection, out=out[rows, half:])
        else:
            projection += bias
            np.cos(projection, out=out[rows])
    return out


def fit_quasi_svm(
    x_train,
    y_train_onehot,
    *,
    output_dim=QUASI_SVM_RECIPE["output_dim"],
    scale=QUASI_SVM_RECIPE["scale"],
    gamma_factor=QUASI_SVM_RECIPE["gamma_factor"],
    epochs=QUASI_SVM_RECIPE["epochs"],
    batch_size=QUASI_SVM_RECIPE["batch_size"],
    learning_rate=QUASI_SVM_RECIPE["learning_rate"],
    loss=QUASI_SVM_RECIPE["loss"],
    c=QUASI_SVM_RECIPE["c"],
    l2=None,
    seed=0,
    warmup=True,
    monitor=None,
    verbose=0,
    return_info=False,
):
    """Train a Quasi-SVM fast: random features computed once, then a Keras-trained linear head.

    The model is the keras.io Quasi-SVM's shape, ``Input -> RandomFourierFeaturesSinCos ->
    Dense(K)``, a linear SVM (hinge loss) on random features of an RBF kernel. Instead of
    recomputing the 784 x D projection on every step of every epoch, the features of the
    training set are computed once (numpy, float32, chunked) and only ``Dense(K)`` is
    trained on them, with Adam (learning rate cosine-decayed to 0), zero initial weights,
    and ``jit_compile=True``. The trained head goes into the full model, which then
    predicts on raw inputs like any Quasi-SVM.

    ``learning_rate=None`` is ``2e-4 × 8192 / output_dim``: one Adam step moves every
    weight by about the learning rate, so f by about ``lr · Σ|φ_j|`` ∝ ``lr · output_dim``;
    keeping that product fixed kept the best rate when the feature count changed.

    ``scale=None`` takes γ = ``gamma_factor`` × scikit-learn's ``gamma='scale'`` heuristic
    on ``x_train`` (``helpers.svm.gamma_scale_heuristic``); ``gamma_factor=1`` is exactly
    sklearn's γ. A given ``scale`` is used as is.

    ``c`` is the SVM's C. The kernel is ``k(x, y) ≈ φ(x)·φ(y) / F`` with F = output_dim / 2
    frequencies, so a head weight w is √F times smaller than the kernel machine's, and
    C's ``½||w||² / (C n)`` (per sample) becomes a Keras L2 factor of
    ``F · helpers.svm.l2_from_c(c, n, K)`` for the one-vs-rest ``hinge``/``squared_hinge``
    (Keras averages them over the K outputs) and ``F · l2_from_c(c, n, 1)`` for
    ``categorical_hinge``. ``l2`` sets the factor directly instead; ``c=None`` and
    ``l2=None``: no regularization. ``warmup``: compile the head's
    training step on a few rows first and undo those updates, so ``train_seconds`` does not
    include compilation. ``monitor=(x, labels)``: after each epoch measure accuracy there
    (on features computed once, with the clock stopped); the curve goes into the info.
    The returned model is compiled without XLA on TensorFlow (its oneDNN matmul predicts
    faster on CPU than XLA's), with ``"auto"`` on other backends.

    Returns the compiled model, or ``(model, info)`` with ``return_info=True``; info holds
    ``feature_seconds``, ``train_seconds``, ``warmup_seconds``, ``monitor_feature_seconds``,
    ``scale``, ``l2``, ``learning_rate`` and ``curve`` (a list of ``(epoch, training seconds so far, accuracy)``).
    """
    import time

    from helpers import svm
    from helpers.layers import RandomFourierFeaturesSinCos

    _check_loss(loss)
    _check_positive_int("output_dim", output_dim)
    if learning_rate is None:
        learning_rate = 2e-4 * 8192 / output_dim
    _check_positive_int("epochs", epochs)
    _check_positive_int("batch_size", batch_size)
    x_train = np.asarray(x_train, dtype=np.float32)
    y_train_onehot = np.asarray(y_train_onehot, dtype=np.float32)
    if x_train.ndim != 2 or y_train_onehot.ndim != 2 or len(x_train) != len(y_train_onehot):
        raise ValueError(
            "Expected x_train (n, d) and one-hot y_train (n, K). "
            f"Received shapes {x_train.shape} and {y_train_onehot.shape}"
        )
    n_features, n_classes = x_train.shape[1], y_train_onehot.shape[1]
    if scale is None:
        if not gamma_factor > 0:
            raise ValueError(f"`gamma_factor` must be positive. Received: {gamma_factor!r}")
        scale = svm.scale_from_gamma(gamma_factor * svm.gamma_scale_heuristic(x_train))
    rff = RandomFourierFeaturesSinCos(
        output_dim=output_dim, scale=float(scale), kernel_initializer="gaussian", seed=seed
    )
    head = keras.layers.Dense(n_classes, kernel_initializer="zeros")
    model = keras.Sequential([keras.Input(shape=(n_features,)), rff, head], name="quasi_svm")

    start = time.perf_counter()
    features = rff_features(rff, x_train)
    feature_seconds = time.perf_counter() - start

    # The same Dense layer, trained on the cached features: its weights are the model's.
    trainer = keras.Sequential([keras.Input(shape=(output_dim,)), head], name="quasi_svm_head")
    if l2 is None and c is not None:
        per_output = 1 if loss == "categorical_hinge" else n_classes
        l2 = (output_dim // 2) * svm.l2_from_c(c, len(x_train), per_output)
    if l2:
        head.kernel_regularizer = keras.regularizers.l2(l2)
    steps = epochs * int(np.ceil(len(features) / batch_size))
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=steps)
    trainer.compile(
        optimizer=keras.optimizers.Adam(learning_rate=schedule), loss=loss, jit_compile=True
    )

    warmup_seconds = 0.0
    if warmup:
        warmup_seconds = warm_up_fit(trainer, features, y_train_onehot, batch_size)

    callbacks, curve, monitor_seconds = [], [], 0.0
    if monitor is not None:
        start = time.perf_counter()
        monitor_features = rff_features(rff, monitor[0])
        monitor_labels = np.asarray(monitor[1])
        monitor_seconds = time.perf_counter() - start
        callbacks.append(_CurveCallback(monitor_features, monitor_labels, curve))

    start = time.perf_counter()
    trainer.fit(
        features, y_train_onehot, epochs=epochs, batch_size=batch_size, verbose=verbose,
        callbacks=callbacks,
    )
    elapsed = time.perf_counter() - start
    train_seconds = elapsed - sum(c.paused for c in callbacks)
    del features

    head.kernel_regularizer = None
    # On TensorFlow's CPU, its own (oneDNN) matmul predicts faster than XLA's; elsewhere "auto".
    compile_hinge(
        model, loss=loss, learning_rate=learning_rate,
        jit_compile=False if keras.backend.backend() == "tensorflow" else "auto",
    )
    if not return_info:
        return model
    info = dict(
        feature_seconds=feature_seconds, train_seconds=train_seconds,
        warmup_seconds=warmup_seconds, monitor_feature_seconds=monitor_seconds, curve=curve,
        scale=float(scale), l2=float(l2 or 0.0), learning_rate=float(learning_rate),
    )
    return model, info


class _CurveCallback(keras.callbacks.Callback):
    """Accuracy on cached features after each epoch; the time it takes is kept in ``paused``."""

    def __init__(self, features, labels, curve):
        super().__init__()
        self.features, self.labels, self.curve, self.paused = features, labels, curve, 0.0

    def on_train_begin(self, logs=None):
        import time

        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        import time

        began = time.perf_counter()
        kernel, bias = (keras.ops.convert_to_numpy(w) for w in self.model.layers[-1].weights[:2])
        accuracy = float(np.mean((self.features @ kernel + bias).argmax(1) == self.labels))
        self.curve.append((epoch + 1, began - self.start - self.paused, accuracy))
        self.paused += time.perf_counter() - began


# --------------------------------------------------------------------------- scikit-learn bridge

_ONE_HOT_CLASSIFIER = None


def _one_hot_classifier_class():
    """SciKeras' KerasClassifier, with targets always one-hot encoded.

    SciKeras one-hot encodes only for ``categorical_crossentropy``; for any other loss it
    passes class indices (n, 1), which a hinge loss on K outputs would silently broadcast.
    """
    global _ONE_HOT_CLASSIFIER
    if _ONE_HOT_CLASSIFIER is None:
        from scikeras.utils.transformers import ClassifierLabelEncoder
        from scikeras.wrappers import KerasClassifier

        class OneHotKerasClassifier(KerasClassifier):
            """A ``KerasClassifier`` that trains on one-hot targets whatever the loss."""

            @property
            def target_encoder(self):
                return ClassifierLabelEncoder(loss="categorical_crossentropy")

        _ONE_HOT_CLASSIFIER = OneHotKerasClassifier
    return _ONE_HOT_CLASSIFIER


def keras_classifier(build_fn, **kwargs):
    """A scikit-learn estimator around a ``helpers.models`` builder, via SciKeras.

    ``kwargs`` go to ``KerasClassifier``: ``model__<arg>`` reach the builder, ``epochs``,
    ``batch_size`` and ``verbose`` reach ``fit``. The estimator works in ``Pipeline``,
    ``cross_val_score`` and ``GridSearchCV``.
    """
    kwargs.setdefault("verbose", 0)
    return _one_hot_classifier_class()(model=build_fn, **kwargs)
