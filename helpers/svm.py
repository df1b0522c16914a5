"""The SVM arithmetic the lessons rely on: Keras' L2 factor vs scikit-learn's C, RBF γ vs RFF scale.

Keras and scikit-learn write the same soft-margin objective with different constants.
These functions convert between them, so that a Keras model and a scikit-learn SVM can be
set up to solve the *same* problem and then compared.
"""

import math

import numpy as np


def _check_positive(name, value):
    if not (isinstance(value, (int, float, np.floating, np.integer)) and value > 0):
        raise ValueError(f"`{name}` must be a positive number. Received: {name}={value!r}")


def c_from_l2(l2, n_samples, n_classes):
    """scikit-learn's C for a Keras ``Dense(K, kernel_regularizer=l2(λ))`` trained with ``hinge``.

    Keras minimises the batch *mean* of ``hinge`` (itself a mean over the K one-vs-rest
    outputs) plus ``λ Σ_k ||w_k||²``:

        J = (1/(nK)) Σ_i Σ_k max(0, 1 - y_ik f_k(x_i)) + λ Σ_k ||w_k||²

    The K outputs do not interact, so J splits into K binary problems. Dividing the k-th by
    2λ gives scikit-learn's primal, ``½||w_k||² + C Σ_i max(0, 1 - y_ik f_k(x_i))``, with

        C = 1 / (2 λ n K).

    For one output (binary labels ±1) use ``n_classes=1``.
    """
    _check_positive("l2", l2)
    _check_positive("n_samples", n_samples)
    _check_positive("n_classes", n_classes)
    return 1.0 / (2.0 * l2 * n_samples * n_classes)


def l2_from_c(c, n_samples, n_classes):
    """The inverse of :func:`c_from_l2`: λ = 1 / (2 C n K)."""
    _check_positive("c", c)
    _check_positive("n_samples", n_samples)
    _check_positive("n_classes", n_classes)
    return 1.0 / (2.0 * c * n_samples * n_classes)


def gamma_from_scale(scale):
    """RBF γ approximated by a gaussian RandomFourierFeatures layer of this ``scale``.

    The layer draws w ~ N(0, I/scale²), whose kernel is exp(-||x-y||²/(2 scale²)),
    i.e. scikit-learn's exp(-γ||x-y||²) with γ = 1/(2 scale²).
    """
    _check_positive("scale", scale)
    return 1.0 / (2.0 * scale**2)


def scale_from_gamma(gamma):
    """The inverse of :func:`gamma_from_scale`: scale = sqrt(1/(2γ))."""
    _check_positive("gamma", gamma)
    return math.sqrt(1.0 / (2.0 * gamma))


def gamma_scale_heuristic(x):
    """scikit-learn's ``gamma='scale'``: 1 / (n_features · Var(X)), over all entries of X."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"`x` must be a non-empty 2-D array. Received shape {x.shape}")
    variance = x.var()
    if variance == 0:
        raise ValueError("`x` has zero variance: gamma='scale' is undefined")
    return 1.0 / (x.shape[1] * variance)


def count_params(model_or_weights, trainable_only=True):
    """Number of (trainable) parameters, in place of the removed ``keras.utils.layer_utils.count_params``.

    Accepts a Keras model or layer, or a list of weights/arrays.
    """
    if hasattr(model_or_weights, "trainable_weights"):
        weights = model_or_weights.trainable_weights if trainable_only else model_or_weights.weights
    else:
        weights = model_or_weights
    return int(sum(math.prod(tuple(w.shape)) for w in weights))


def as_labels(predictions):
    """Class labels from labels (1-D) or from scores (2-D: argmax; one column: the sign)."""
    predictions = np.asarray(predictions)
    if predictions.ndim == 1:
        return predictions
    if predictions.ndim == 2 and predictions.shape[1] == 1:
        return (predictions[:, 0] > 0).astype(np.int64)
    if predictions.ndim == 2:
        return predictions.argmax(axis=1)
    raise ValueError(f"Expected labels (n,) or scores (n, K). Received shape {predictions.shape}")


def prediction_agreement(a, b):
    """Share of samples on which two classifiers predict the same class (labels or scores)."""
    a, b = as_labels(a), as_labels(b)
    if a.shape != b.shape:
        raise ValueError(f"Predictions differ in length: {a.shape[0]} vs {b.shape[0]}")
    if a.size == 0:
        raise ValueError("No predictions to compare")
    return float(np.mean(a == b))
