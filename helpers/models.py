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
