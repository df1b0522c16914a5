"""Builders for the Keras models the notebooks compare, with the defaults of their sources.

- ``build_quasi_svm``: the keras.io recipe "A Quasi-SVM in Keras" (RFF 4096, scale 10, Adam 1e-3).
- ``build_linear_svm``: ``Dense(K)`` with an L2 kernel regularizer on the raw features.
- ``build_deep_hinge``: the Stack Overflow answer's MLP (128-64-32-16 relu) under an L2 hinge head.

All of them train on one-hot targets and name ``CategoricalAccuracy`` for clarity. With one-hot
labels and K > 1 outputs, Keras 3's ``metrics=["accuracy"]`` picks that same metric: it chooses
binary, sparse or categorical accuracy from the shapes of the labels and outputs, never from the
loss (``keras/src/trainers/compile_utils.py``, ``get_metric``).
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

import math  # noqa: E402

import numpy as np  # noqa: E402  (only the functions below need it)

# The project's Quasi-SVM recipe (see benchmarks/README.md for the measurements behind it; batch,
# learning rate, epochs and C were chosen on validation rows by helpers.tuning, with the penalty on).
QUASI_SVM_RECIPE = dict(
    output_dim=8192,  # 4096 random frequencies, a cos and a sin of each
    scale=None,  # None: γ = gamma_factor × scikit-learn's gamma='scale' heuristic
    gamma_factor=1.5,
    epochs=15,
    batch_size=512,
    learning_rate=None,  # Adam, cosine-decayed to 0; None: quasi_svm_learning_rate (8e-4 here)
    loss="categorical_hinge",  # Crammer-Singer multi-class hinge
    c=3.162,  # the SVM's C (10^0.5), turned into the head's L2 factor (see fit_quasi_svm)
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


def quasi_svm_learning_rate(output_dim, batch_size=QUASI_SVM_RECIPE["batch_size"]):
    """The recipe's learning rate: 2e-4 at 8,192 features and batch 128, scaled as 1/D and as B.

    Growing it in proportion to the batch (8e-4 at 512) beat growing it as √B on validation
    rows at 10 epochs, and was within 2 paired SE of it at 15 (``benchmarks/results-quasi-svm-choice.json``).
    """
    return 2e-4 * 8192 / output_dim * batch_size / 128


def quasi_svm_l2(c, n_rows, n_classes, output_dim, loss):
    """The head's L2 factor for the SVM with this C on ``output_dim`` sin/cos features.

    ``svm.l2_from_c`` for the loss (``categorical_hinge`` is not averaged over the K outputs),
    times F = ``output_dim`` / 2 frequencies: the layer's features lack the kernel map's
    factor √(1/F), so the penalty on their weights scales by F.
    """
    from helpers import svm

    per_output = 1 if loss == "categorical_hinge" else n_classes
    return (output_dim // 2) * svm.l2_from_c(c, n_rows, per_output)


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
    feature_map="rff",
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
    trained on them (``fit_quasi_svm_head``), with Adam (learning rate cosine-decayed to 0)
    and zero initial weights. The trained head goes into the full model, which then
    predicts on raw inputs like any Quasi-SVM.

    ``learning_rate=None`` is ``2e-4 × (8192 / output_dim) × (batch_size / 128)``
    (``quasi_svm_learning_rate``): one Adam step moves every
    weight by about the learning rate, so f by about ``lr · Σ|φ_j|`` ∝ ``lr · output_dim``;
    keeping that product fixed kept the best rate when the feature count changed.

    ``feature_map`` picks the kernel approximation (all of the RBF kernel, ``output_dim``
    features each): ``"rff"`` sin/cos random Fourier features (the recipe),
    ``"rff_cos"`` the keras.io layer's phase-shifted cosines, ``"orf"`` orthogonal random
    features, ``"nystroem"`` Nyström features on ``output_dim`` landmark rows of ``x_train``
    (``helpers.approximations``). Nyström's features are multiplied by √F so that, as for
    the others, ``φ(x)·φ(y) ≈ F k(x, y)`` and the learning rate and L2 rules below carry over;
    its returned model is folded (``approximations.fold_nystroem``): kernel against the
    landmarks, then one m × K matrix.

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

    from helpers import approximations, svm

    _check_loss(loss)
    _check_positive_int("output_dim", output_dim)
    if feature_map not in FEATURE_MAPS:
        raise ValueError(f"`feature_map` should be one of {FEATURE_MAPS}. Received: feature_map={feature_map!r}")
    _check_positive_int("epochs", epochs)
    _check_positive_int("batch_size", batch_size)
    if learning_rate is None:
        learning_rate = quasi_svm_learning_rate(output_dim, batch_size)
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
    if feature_map == "nystroem" and output_dim > len(x_train):
        raise ValueError(
            f"`output_dim` landmarks cannot exceed the {len(x_train)} training rows for "
            f"feature_map='nystroem'. Received: output_dim={output_dim}"
        )
    head = keras.layers.Dense(n_classes, kernel_initializer="zeros")
    start = time.perf_counter()
    rff, features = quasi_svm_feature_layer(feature_map, x_train, output_dim, float(scale), seed)
    model = keras.Sequential([keras.Input(shape=(n_features,)), rff, head], name="quasi_svm")
    feature_seconds = time.perf_counter() - start
    if l2 is None and c is not None:
        l2 = quasi_svm_l2(c, len(x_train), n_classes, output_dim, loss)

    callbacks, curve, monitor_seconds = [], [], 0.0
    if monitor is not None:
        start = time.perf_counter()
        monitor_features = quasi_svm_features(rff, monitor[0], output_dim)
        monitor_labels = np.asarray(monitor[1])
        monitor_seconds = time.perf_counter() - start
        callbacks.append(_CurveCallback(monitor_features, monitor_labels, curve))
    head_info = fit_quasi_svm_head(
        head, features, y_train_onehot, epochs=epochs, batch_size=batch_size,
        learning_rate=learning_rate, loss=loss, l2=l2, warmup=warmup, callbacks=callbacks,
        verbose=verbose,
    )
    train_seconds, warmup_seconds = head_info["train_seconds"], head_info["warmup_seconds"]
    del features

    if feature_map == "nystroem":
        start = time.perf_counter()
        model = approximations.fold_nystroem(rff, head, _nystroem_scale(output_dim), name="quasi_svm")
        feature_seconds += time.perf_counter() - start  # part of the set-up, like the whitening
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
        feature_map=feature_map,
    )
    return model, info


FEATURE_MAPS = ("rff", "rff_cos", "orf", "nystroem")


def quasi_svm_feature_layer(feature_map, x, output_dim, scale, seed):
    """The built feature layer of ``feature_map`` and its features of ``x`` (float32 numpy).

    ``fit_quasi_svm``'s first half; a study that trains many heads on one draw of features
    (``helpers.tuning``) calls it once and ``fit_quasi_svm_head`` for each head.
    """
    from helpers import approximations
    from helpers.layers import RandomFourierFeatures, RandomFourierFeaturesSinCos

    if feature_map == "nystroem":
        layer = approximations.NystroemFeatures.from_data(x, output_dim, scale=scale, seed=seed)
    elif feature_map == "orf":
        layer = approximations.OrthogonalRandomFeatures(output_dim, scale=scale, seed=seed)
    else:
        kind = RandomFourierFeaturesSinCos if feature_map == "rff" else RandomFourierFeatures
        layer = kind(output_dim=output_dim, scale=scale, kernel_initializer="gaussian", seed=seed)
    layer.build((None, x.shape[1]))
    return layer, quasi_svm_features(layer, x, output_dim)


def _nystroem_scale(output_dim):
    """√F, F = output_dim / 2: Nyström features times this have the random features' φ·φ ≈ F k."""
    return math.sqrt(output_dim // 2)


def quasi_svm_features(layer, x, output_dim):
    """Cached features of ``x``: RFF-type layers' as they are, Nyström's times √F (see fit_quasi_svm)."""
    from helpers import approximations

    if isinstance(layer, approximations.NystroemFeatures):
        features = approximations.nystroem_features(layer, x)
        features *= np.float32(_nystroem_scale(output_dim))
        return features
    return rff_features(layer, x)


def fit_quasi_svm_head(head, features, y_onehot, *, epochs, batch_size, learning_rate, loss, l2,
                       warmup=True, callbacks=(), verbose=0):
    """Train the ``Dense`` layer ``head`` on cached ``features``: ``fit_quasi_svm``'s second half.

    Adam with its learning rate cosine-decayed to 0 over the whole fit, L2 factor ``l2`` on the
    kernel (0 or None: none) during the fit only. On TensorFlow the step runs without XLA: on
    this project's shared 2-core CPU its oneDNN matmul trained the 8,192-feature head 1.3x
    (batch 128) and 2.4-4.7x (batch 512-4,096) faster per epoch than XLA's, one timing each
    under load; JAX compiles with XLA, PyTorch runs eagerly (Keras' "auto"). The
    features become one backend tensor before the fit: handed over as numpy, Keras' TensorFlow
    data adapter spent seconds per fit converting them. ``head`` may already
    sit in a model (its weights are then that model's). Returns ``dict(train_seconds,
    warmup_seconds)``; ``train_seconds`` leaves out what callbacks spent with their clock stopped.
    """
    import time

    trainer = keras.Sequential([keras.Input(shape=(features.shape[1],)), head], name="quasi_svm_head")
    if l2:
        # Keras 3 attaches a regularizer to a weight when the weight is created: the head may have
        # been built already, so the penalty goes on its kernel variable itself (and on the layer,
        # for its config). Setting only ``head.kernel_regularizer`` would train without it.
        head.kernel_regularizer = keras.regularizers.l2(l2)
        head.kernel.regularizer = head.kernel_regularizer
    steps = epochs * int(np.ceil(len(features) / batch_size))
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=steps)
    # XLA on JAX; not on TensorFlow's CPU (slower, above) nor PyTorch, whose "auto" is eager: there
    # jit_compile=True meant torch.compile, 77 s of warm-up for a 0.1 s eager one on a 400-row test fit.
    jit = False if keras.backend.backend() == "tensorflow" else "auto"
    trainer.compile(optimizer=keras.optimizers.Adam(learning_rate=schedule), loss=loss, jit_compile=jit)
    features, y_onehot = keras.ops.convert_to_tensor(features), keras.ops.convert_to_tensor(y_onehot)
    warmup_seconds = warm_up_fit(trainer, features, y_onehot, batch_size) if warmup else 0.0
    callbacks = list(callbacks)
    start = time.perf_counter()
    trainer.fit(features, y_onehot, epochs=epochs, batch_size=batch_size, verbose=verbose, callbacks=callbacks)
    train_seconds = time.perf_counter() - start - sum(getattr(c, "paused", 0.0) for c in callbacks)
    head.kernel_regularizer = head.kernel.regularizer = None  # the trained head predicts; no penalty
    return dict(train_seconds=train_seconds, warmup_seconds=warmup_seconds)


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


# --------------------------------------------------------------------------- training to convergence

# The smoothing parameter μ (in units of the margin, which is 1) starts here and is divided by
# _SMOOTHING_SHRINK after each stage; stages stop below _SMOOTHING_FLOOR, where float32 rounding
# of the objective is about as large as what a smaller μ could still gain.
_SMOOTHING_START = 1.0
_SMOOTHING_SHRINK = 10.0
_SMOOTHING_FLOOR = 1e-6
_MIN_STAGES = 3  # μ ≤ 0.01 before "stopped falling" may count as converged
_CONVERGENCE_LOSSES = ("hinge", "categorical_hinge")


def _linear_svm_parts(model):
    """The Dense layer, its L2 factor and the loss name of a ``build_linear_svm``-like model.

    Every condition under which "this model is a linear SVM" would be false raises a
    ``ValueError`` saying which one, because the solver computes the objective itself.
    """
    if not isinstance(model, keras.Model):
        raise ValueError(f"`model` must be a Keras model. Received: {type(model).__name__}")
    if getattr(model, "loss", None) is None or not getattr(model, "compiled", False):
        raise ValueError("`model` must be compiled with a hinge loss (see build_linear_svm)")
    loss = model.loss
    if isinstance(loss, keras.losses.CategoricalHinge):
        loss = "categorical_hinge"
    elif isinstance(loss, keras.losses.Hinge):
        loss = "hinge"
    if not isinstance(loss, str) or loss not in _CONVERGENCE_LOSSES:
        raise ValueError(
            f"`model` is compiled with loss={model.loss!r}; fit_to_convergence supports "
            f"{_CONVERGENCE_LOSSES}"
        )
    layers = [layer for layer in model.layers if layer.weights]
    if len(layers) != 1 or not isinstance(layers[0], keras.layers.Dense):
        names = [type(layer).__name__ for layer in layers]
        raise ValueError(
            "`model` must be a linear SVM: one Dense layer on the inputs (build_linear_svm). "
            f"Received layers with weights: {names}"
        )
    dense = layers[0]
    if len(model.inputs) != 1 or dense.input is not model.inputs[0]:
        raise ValueError("`model`'s Dense layer must read the model's input directly")
    if dense.activation is not keras.activations.linear:
        raise ValueError(f"`model`'s Dense layer must be linear. Received activation={dense.activation.__name__}")
    if not dense.use_bias:
        raise ValueError("`model`'s Dense layer needs a bias (the SVM's unpenalised intercept)")
    regularizer = dense.kernel_regularizer
    config = regularizer.get_config() if regularizer is not None else {}
    l2 = float(config.get("l2", 0.0))
    is_l2 = isinstance(regularizer, (keras.regularizers.L2, keras.regularizers.L1L2))
    if not is_l2 or config.get("l1", 0.0) or not l2 > 0:
        raise ValueError(
            "`model`'s Dense layer needs kernel_regularizer=keras.regularizers.l2(λ) with λ > 0: "
            f"without it the hinge objective has no unique minimiser. Received: {regularizer!r}"
        )
    if dense.bias_regularizer is not None or dense.activity_regularizer is not None:
        raise ValueError(
            "`model`'s Dense layer must not regularise its bias or activity: an SVM's "
            "intercept is free"
        )
    if loss == "categorical_hinge" and dense.units < 2:
        raise ValueError("categorical_hinge needs at least 2 outputs (one per class)")
    return dense, l2, loss


def _check_svm_data(x, y_onehot, n_features, n_outputs, loss):
    """``x`` (n, d) finite and ``y_onehot`` (n, K) of 0/1, one 1 per row where the loss needs it."""
    x = np.asarray(x)
    y = np.asarray(y_onehot)
    if x.ndim != 2 or x.shape[1] != n_features or len(x) == 0:
        raise ValueError(
            f"`x` must have shape (n, {n_features}) with n ≥ 1. Received shape {x.shape}"
        )
    if not (np.issubdtype(x.dtype, np.number) and np.isfinite(x).all()):
        raise ValueError("`x` must hold finite numbers (no NaN or infinity)")
    if y.shape != (len(x), n_outputs):
        raise ValueError(
            f"`y_onehot` must have shape ({len(x)}, {n_outputs}): one row per row of `x`, one "
            f"column per output of the model. Received shape {y.shape}"
        )
    if n_outputs == 1 and loss == "hinge" and np.isin(y, (-1, 1)).all() and (y == -1).any():
        y = (y > 0).astype(np.float64)  # ±1 labels of a single output, as Keras' hinge takes them
    if not np.isin(y, (0, 1)).all():
        raise ValueError("`y_onehot` must hold only 0 and 1 (one-hot labels)")
    if loss == "categorical_hinge" and not (y.sum(axis=1) == 1).all():
        raise ValueError("`y_onehot` must have exactly one 1 per row for categorical_hinge")
    return x.astype(np.float64), y.astype(np.float64)


def _hinge_smoothed(z, sign, kernel, bias, l2, mu):
    """Keras' ``hinge`` + L2 with each hinge max(0, u) Huber-smoothed over u ∈ (0, μ).

    Huber's hinge lies within μ/2 below the hinge, is exact outside (0, μ), and has a
    Lipschitz gradient, so a quasi-Newton method converges on it.
    Returns (J_μ, ∇kernel, ∇bias).
    """
    ops = keras.ops
    margin = 1.0 - sign * (ops.matmul(z, kernel) + bias)
    linear = margin - 0.5 * mu
    quadratic = ops.square(margin) / (2.0 * mu)
    value = ops.where(margin <= 0.0, 0.0, ops.where(margin < mu, quadratic, linear))
    count = margin.shape[0] * margin.shape[1]
    d_scores = -sign * ops.clip(margin / mu, 0.0, 1.0) / count
    objective = ops.mean(value) + l2 * ops.sum(ops.square(kernel))
    return objective, _gradient(z, d_scores, kernel, l2), ops.sum(d_scores, axis=0)


def _crammer_singer_smoothed(z, onehot, kernel, bias, l2, mu):
    """Crammer–Singer + L2, each max_j a_j (a_j = [j≠y] + f_j − f_y) smoothed by sparsemax.

    max_j a_j = max over the simplex of p·a; subtracting (μ/2)‖p‖² makes it smooth, lies within
    μ/2 below it and, like Huber's hinge, is exact where one candidate leads by μ or more.
    Its gradient is p = the projection of a/μ onto the simplex.
    """
    ops = keras.ops
    scores = ops.matmul(z, kernel) + bias
    true_score = ops.sum(onehot * scores, axis=1, keepdims=True)
    a = scores - true_score + (1.0 - onehot)
    p = _project_to_simplex(a / mu)
    value = ops.sum(p * a, axis=1) - 0.5 * mu * ops.sum(ops.square(p), axis=1)
    d_scores = (p - onehot) / a.shape[0]
    objective = ops.mean(value) + l2 * ops.sum(ops.square(kernel))
    return objective, _gradient(z, d_scores, kernel, l2), ops.sum(d_scores, axis=0)


def _gradient(z, d_scores, kernel, l2):
    """∇kernel = zᵀ·∂J/∂scores + 2λW, as (∂J/∂scores)ᵀ·z transposed: this never copies z."""
    ops = keras.ops
    return ops.transpose(ops.matmul(ops.transpose(d_scores), z)) + 2.0 * l2 * kernel


def _project_to_simplex(v):
    """Euclidean projection of each row of ``v`` onto the probability simplex.

    The projection is max(v − τ, 0) with τ = max over k of (sum of the k largest − 1) / k.
    Every prefix of the sorted row is the set {i : v_i ≥ v_j} of one j, so τ comes from a
    K×K comparison per row instead of a sort: a few cheap element-wise ops on any backend.
    """
    ops = keras.ops
    column = ops.expand_dims(v, 2)
    at_least = ops.cast(column >= ops.expand_dims(v, 1), v.dtype)  # [., i, j]: v_i ≥ v_j
    count = ops.sum(at_least, axis=1)
    total = ops.sum(at_least * column, axis=1)
    threshold = ops.max((total - 1.0) / count, axis=1, keepdims=True)
    return ops.maximum(v - threshold, 0.0)


def _lbfgs_stage(evaluate, theta, tol, max_steps, memory):
    """One smoothing stage: scipy's L-BFGS-B on a smooth objective of one flat parameter vector.

    ``evaluate(theta)`` returns the objective and its gradient (float64 numpy): the matrix
    products inside stay in ``keras.ops``, the optimizer's short vectors on the host. The
    objective is divided by its value at the start, so that L-BFGS-B's ``ftol`` test,
    ``(f_k − f_{k+1}) / max(|f_k|, |f_{k+1}|, 1) ≤ ftol``, is relative to the objective rather
    than absolute (Keras' objectives are below 1). Its gradient test is switched off
    (``gtol=0``): a float32 objective stops falling before its gradient is small.
    Stops when one step gains at most ``tol`` (relative), when the line search finds no
    decrease (rounding), or after ``max_steps`` steps. Returns (theta, objective, steps,
    evaluations).
    """
    from scipy.optimize import minimize

    start_value, _ = evaluate(theta)
    scale = abs(start_value) or 1.0

    def scaled(theta):
        value, grad = evaluate(theta)
        return value / scale, grad / scale

    result = minimize(
        scaled, theta, jac=True, method="L-BFGS-B",
        options=dict(maxiter=max_steps, maxfun=4 * max_steps + 20, maxcor=memory, ftol=tol, gtol=0.0),
    )
    return result.x, float(result.fun) * scale, int(result.nit), int(result.nfev) + 1


def _per_row_loss(loss):
    """The compiled loss as a function giving one value per row, whether named or an instance.

    A ``keras.losses.Loss`` instance reduces over the batch (its mean, by default); a copy
    with ``reduction=None`` returns the rows' values, so every form is summed the same way.
    """
    if isinstance(loss, str):
        return keras.losses.get(loss)
    if isinstance(loss, keras.losses.Loss):
        return type(loss).from_config({**loss.get_config(), "reduction": None})
    return loss  # a plain function of (y_true, y_pred) already gives one value per row


def keras_objective(model, x, y_onehot):
    """What Keras minimises for ``model`` on (x, y): the mean of its loss plus its penalties.

    Computed with the model's own loss function and regularisation losses, in float64 on the
    host for the sum over rows, so it can be compared with scikit-learn's objectives.
    """
    loss_fn = _per_row_loss(model.loss)
    total, n = 0.0, len(x)
    for start in range(0, n, 8192):
        rows = slice(start, start + 8192)
        scores = model(np.asarray(x[rows], dtype="float32"), training=False)
        labels = keras.ops.convert_to_tensor(np.asarray(y_onehot[rows], dtype="float32"))
        per_row = loss_fn(labels, scores)
        total += float(np.sum(keras.ops.convert_to_numpy(per_row), dtype=np.float64))
    penalty = sum(float(keras.ops.convert_to_numpy(term)) for term in model.losses)
    return total / n + penalty


def fit_to_convergence(
    model, x, y_onehot, *, tol=1e-4, max_steps=5000, memory=10, precondition=True, verbose=0
):
    """Train a ``build_linear_svm`` model until its objective stops falling; the weights are set.

    The objective is exactly what Keras minimises: the mean ``hinge`` (or
    ``categorical_hinge``) over all rows plus ``λ‖W‖²`` from the kernel regularizer. Adam on
    mini-batches only wanders near its minimum (the hinge has kinks), so instead, full batch:
    each hinge is smoothed within μ of its kink (Huber for ``hinge``, sparsemax for
    Crammer–Singer), the smooth objective is minimised by scipy's L-BFGS-B, then μ is divided by 10 and
    the solution refined, from μ = 1 down. The objective and its gradient (the matrix
    products) run in ``keras.ops`` on the model's backend; L-BFGS' short vectors of
    (d+1)·K numbers stay in float64 numpy. Features are centred (the intercept is free, so
    this changes only the conditioning) and, with ``precondition``, weights are rescaled by
    √(Var(x_j) + 2λK) (2λ for ``categorical_hinge``), so that the scale of a feature does
    not matter. Without it, on the 4-class table's raw columns (standard deviations 0.1 to
    284) L-BFGS crawled so slowly that it stopped 0.7–1.7 % above the minimum and took that
    for convergence; with it, 10,000 MNIST images needed ~650 steps instead of ~380 (pixels
    share one scale; measured with the hand-written L-BFGS this replaced), so
    ``precondition=False`` suits such data.

    Converged (``info["converged"]``) means: after at least three stages (μ ≤ 0.01), dividing
    μ by 10 lowered the true objective by at most ``tol`` relative, and that stage's L-BFGS-B
    had stopped (a step gaining at most ``tol / 100``, or a line search finding no decrease).
    This is "stopped falling", not a certificate; measured against scikit-learn's exact
    solutions the objective came within 1e-5 to 4e-4 (relative) at the default ``tol``
    (MNIST, the 4-class table; with the hand-written L-BFGS this replaced).

    ``categorical_hinge`` is Keras' clipped Crammer–Singer loss,
    ``max(0, 1 + max(0, max_{j≠y} f_j) − f_y)``. Adding one constant to all biases leaves
    Crammer–Singer unchanged and, once every row's best wrong score is ≥ 0, makes the two
    equal; so the unclipped loss is minimised and the biases are then shifted by the smallest
    such constant (``info["bias_shift"]``), where Keras' objective equals that minimum.

    ``max_steps`` bounds the L-BFGS steps over all stages (a step evaluates the objective and
    gradient once, or a few times when it backtracks), ``memory`` is L-BFGS' number of stored
    pairs. It starts from the model's weights, or from zeros where those are better.
    Returns an info dict: ``objective`` (Keras' objective at the solution, computed with the
    model's own loss and penalty), ``converged``, ``message``, ``steps``, ``evaluations``,
    ``seconds``, ``stages`` (μ, steps and objective of each), ``tol``, ``l2``, ``loss`` and
    ``bias_shift``.
    """
    import time

    start = time.perf_counter()
    dense, l2, loss = _linear_svm_parts(model)
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not 0 < tol < 1:
        raise ValueError(
            f"`tol` must be a number between 0 and 1 (relative). Received: tol={tol!r}"
        )
    _check_positive_int("max_steps", max_steps)
    _check_positive_int("memory", memory)
    n_features, n_outputs = dense.kernel.shape
    x, y = _check_svm_data(x, y_onehot, n_features, n_outputs, loss)

    ops = keras.ops
    dtype = keras.backend.floatx()
    mean = x.mean(axis=0)
    z = ops.convert_to_tensor((x - mean).astype(dtype))
    target = ops.convert_to_tensor((2.0 * y - 1.0 if loss == "hinge" else y).astype(dtype))
    smoothed = _hinge_smoothed if loss == "hinge" else _crammer_singer_smoothed
    kernel0 = keras.ops.convert_to_numpy(dense.kernel).astype(np.float64)
    bias0 = keras.ops.convert_to_numpy(dense.bias).astype(np.float64)
    # Preconditioning: the L-BFGS works on V = diag(scale)·W, where scale_j² = Var(x_j) + δ
    # approximates the objective's curvature along w_j (loss part ∝ Var(x_j), penalty 2λ; δ is
    # 2λ over the loss' curvature per unit variance, K for hinge's mean over K outputs).
    # Features of any scale then look alike to it, and near-constant ones are not blown up.
    if precondition:
        delta = 2.0 * l2 * (n_outputs if loss == "hinge" else 1.0)
        scale = np.sqrt(x.var(axis=0) + delta)
    else:
        scale = np.ones(n_features)
    inverse_scale = (1.0 / scale)[:, None]
    # In centred coordinates the same scores need the bias b + mean·W. Parameters are one flat
    # float64 vector on the host, [V, bias].
    size = n_features * n_outputs
    theta = np.concatenate([(scale[:, None] * kernel0).ravel(), bias0 + mean @ kernel0])

    def unpack(theta):
        kernel = theta[:size].reshape(n_features, n_outputs) * inverse_scale
        bias = theta[size:]
        return ops.convert_to_tensor(kernel.astype(dtype)), ops.convert_to_tensor(bias.astype(dtype))

    def true_objective(theta):
        # The unsmoothed objective in centred coordinates, to judge each stage by.
        kernel, bias = unpack(theta)
        scores = ops.matmul(z, kernel) + bias
        if loss == "hinge":
            losses = ops.maximum(1.0 - target * scores, 0.0)
        else:
            a = scores - ops.sum(target * scores, axis=1, keepdims=True) + (1.0 - target)
            losses = ops.max(a, axis=1)
        return float(ops.mean(losses) + l2 * ops.sum(ops.square(kernel)))

    # Start from the model's weights if they are better than all zeros (J = 1 for hinge): a
    # trained model continues, a fresh one is not thrown off by random weights on large features.
    previous = true_objective(theta)
    zeros = np.zeros_like(theta)
    if true_objective(zeros) < previous:
        theta, previous = zeros, true_objective(zeros)
    stages, steps, evaluations = [], 0, 0
    mu, converged, message = _SMOOTHING_START, False, ""
    while True:
        def evaluate(theta, mu=mu):
            value, grad_kernel, grad_bias = smoothed(z, target, *unpack(theta), l2, mu)
            grad_v = ops.convert_to_numpy(grad_kernel).astype(np.float64) * inverse_scale
            return float(value), np.concatenate([grad_v.ravel(), ops.convert_to_numpy(grad_bias)])

        theta, _, stage_steps, stage_evaluations = _lbfgs_stage(
            evaluate, theta, tol / 100.0, max_steps - steps, memory
        )
        steps += stage_steps
        evaluations += stage_evaluations
        current = true_objective(theta)
        stages.append(dict(mu=mu, steps=stage_steps, objective=current))
        if verbose:
            print(f"fit_to_convergence: μ={mu:.0e} steps={stage_steps} objective={current:.8g}")
        drop = (previous - current) / abs(current) if current else 0.0
        previous = current
        if len(stages) >= _MIN_STAGES and drop <= tol:
            converged, message = True, f"objective fell by {drop:.2e} ≤ tol over the last stage"
            break
        if steps >= max_steps:
            message = (
                f"max_steps={max_steps} reached; the objective fell by {drop:.2e} over the "
                "last stage"
            )
            break
        if mu / _SMOOTHING_SHRINK < _SMOOTHING_FLOOR:
            message = f"smoothing reached μ={mu:.0e} while the objective still fell by {drop:.2e}"
            break
        mu /= _SMOOTHING_SHRINK

    kernel = theta[:size].reshape(n_features, n_outputs) * inverse_scale
    bias = theta[size:] - mean @ kernel
    shift = 0.0
    if loss == "categorical_hinge":
        scores = x @ kernel + bias
        best_wrong = np.where(y > 0, -np.inf, scores).max(axis=1)
        shift = max(0.0, -float(best_wrong.min()))
        bias = bias + shift
    dense.kernel.assign(kernel.astype(dense.kernel.dtype))
    dense.bias.assign(bias.astype(dense.bias.dtype))
    return dict(
        objective=keras_objective(model, x, y),
        converged=converged,
        message=message,
        steps=steps,
        evaluations=evaluations,
        seconds=time.perf_counter() - start,
        stages=stages,
        tol=float(tol),
        l2=l2,
        loss=loss,
        bias_shift=shift,
    )
