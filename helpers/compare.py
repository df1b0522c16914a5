"""How close two classifiers are, with the baselines that make an agreement figure mean something.

Two accurate classifiers agree often whatever they are: if A is right on a share ``acc_a``
of the points and B on ``acc_b``, they are both right, and so agree, on at least
``acc_a + acc_b - 1`` of them. A 97 % agreement between a model and an exact SVC is
therefore evidence of "the same SVM" only when it clearly beats that floor and beats what
a model that is *not* that SVM reaches. The sharper tests look where the reference is
wrong (does the model copy its mistakes?) and at decision values, not only labels.

- ``agreement``: share of points with the same predicted class.
- ``agreement_floor``: the least agreement two classifiers of these accuracies can have.
- ``agreement_on_errors``: on the reference's mistakes, how often the model makes the same one.
- ``decision_correlation``: Pearson correlation of two models' decision values, class by class.
- ``agreement_table``: all of these for several models against one reference, as a DataFrame.
- ``paired_difference``: the difference of two models' per-point scores on the same points, with
  its paired standard error (for ``Claims.check(..., se=...)``); ``paired_se_bound``, an upper
  bound on that error from summary shares alone (records without per-point predictions).
- ``bootstrap_se``: the standard error of any statistic of the test points (a difference of two
  decision correlations, say), by resampling the points.
"""

import numpy as np

from helpers.svm import as_labels, prediction_agreement


# Share of samples on which two classifiers predict the same class (labels or scores): the one
# definition lives in helpers.svm, so this module's name for it cannot drift from it.
agreement = prediction_agreement


def agreement_floor(accuracy_a, accuracy_b):
    """``max(0, acc_a + acc_b - 1)``: two classifiers this accurate agree at least this often."""
    for name, value in (("accuracy_a", accuracy_a), ("accuracy_b", accuracy_b)):
        if not 0.0 <= float(value) <= 1.0:
            raise ValueError(f"`{name}` must be an accuracy between 0 and 1. Received: {value!r}")
    return max(0.0, float(accuracy_a) + float(accuracy_b) - 1.0)


def agreement_on_errors(predictions, reference, y_true):
    """Among the points the reference gets wrong, the share where ``predictions`` equal its answer.

    Returns NaN when the reference makes no mistake (nothing to compare).
    """
    predictions, reference, y_true = as_labels(predictions), as_labels(reference), np.asarray(y_true)
    if not len(predictions) == len(reference) == len(y_true):
        raise ValueError(
            f"Lengths differ: predictions {len(predictions)}, reference {len(reference)}, y_true {len(y_true)}"
        )
    wrong = reference != y_true
    if not wrong.any():
        return float("nan")
    return float(np.mean(predictions[wrong] == reference[wrong]))


def decision_correlation(scores_a, scores_b):
    """Mean over classes of the Pearson correlation of two (n, K) arrays of decision values.

    Use decision values of the same kind on both sides, e.g. the K one-vs-rest outputs of a
    Keras hinge model against the K binary SVMs of ``OneVsRestClassifier(SVC(...))``. The
    scale does not matter (a correlation), the shape of the function does.
    """
    a, b = np.asarray(scores_a, dtype=np.float64), np.asarray(scores_b, dtype=np.float64)
    if a.ndim == 1:
        a, b = a[:, None], b.reshape(-1, 1)
    if a.shape != b.shape or a.ndim != 2 or len(a) < 2:
        raise ValueError(f"Expected two (n, K) arrays of the same shape, n >= 2. Received {a.shape} and {b.shape}")
    return float(np.mean([np.corrcoef(a[:, k], b[:, k])[0, 1] for k in range(a.shape[1])]))


def agreement_table(predictions, reference_name, y_true):
    """One row per model: accuracy, agreement with the reference, its floor, agreement on its errors.

    ``predictions`` maps names to predicted labels (or scores) and must include
    ``reference_name``. The reference's own row is left out.
    """
    import pandas as pd

    if reference_name not in predictions:
        raise ValueError(f"`reference_name` {reference_name!r} is not among the predictions {list(predictions)}")
    y_true = np.asarray(y_true)
    reference = as_labels(predictions[reference_name])
    reference_accuracy = float(np.mean(reference == y_true))
    rows = []
    for name, values in predictions.items():
        if name == reference_name:
            continue
        labels = as_labels(values)
        accuracy = float(np.mean(labels == y_true))
        rows.append({
            "model": name,
            "accuracy": accuracy,
            f"agreement with {reference_name}": agreement(labels, reference),
            "floor (acc₁ + acc₂ − 1)": agreement_floor(accuracy, reference_accuracy),
            f"same answer on {reference_name}'s errors": agreement_on_errors(labels, reference, y_true),
        })
    return pd.DataFrame(rows).set_index("model")


def paired_difference(values_a, values_b):
    """``(mean(a - b), standard error)`` of two models' per-point values on the *same* points.

    The values are per-point hits (``predictions == y``: an accuracy difference), agreements with
    a reference (``predictions == reference``) or any per-point score. Pairing removes the
    points both models get alike, so the standard error, ``std(a - b, ddof=1) / sqrt(n)``, is
    far smaller than that of two independent accuracies; the difference is real only beyond
    about two of them.
    """
    a, b = np.asarray(values_a, dtype=np.float64), np.asarray(values_b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1 or len(a) < 2:
        raise ValueError(f"Expected two 1-D arrays of the same length >= 2. Received shapes {a.shape} and {b.shape}")
    d = a - b
    return float(d.mean()), float(d.std(ddof=1) / np.sqrt(len(d)))


def paired_se_bound(discordant, n):
    """An upper bound on ``paired_difference``'s standard error from summary shares alone.

    A per-point difference d is -1, 0 or 1, so std(d, ddof=1)² <= n/(n-1) · P(d != 0) and the
    error is at most sqrt(P(d != 0) / (n - 1)). ``discordant`` is any upper bound on P(d != 0):
    the share of points where the two models give different labels, or, through a common
    reference R, (1 - agreement(A, R)) + (1 - agreement(B, R)). Use it for a claim that a
    difference is *beyond* noise (a larger error only makes that harder); never for "no
    measurable difference", which a too-large error would make too easy.
    """
    if not 0.0 <= float(discordant) <= 1.0:
        raise ValueError(f"`discordant` must be a share between 0 and 1. Received: {discordant!r}")
    if isinstance(n, bool) or int(n) != n or n < 2:
        raise ValueError(f"`n` must be an integer >= 2. Received: {n!r}")
    return float(np.sqrt(float(discordant) / (int(n) - 1)))


def bootstrap_se(statistic, n_points, *, draws=200, seed=0):
    """``(statistic(all points), bootstrap standard error)`` over ``n_points`` test points.

    ``statistic(rows)`` computes the figure from the points at the integer indices ``rows``
    (with repeats); it is evaluated on ``draws`` resamples of the points, drawn with a seeded
    generator, and the standard deviation of those values is the standard error. Use it for
    figures with no per-point form, such as a correlation.
    """
    if isinstance(n_points, bool) or not isinstance(n_points, (int, np.integer)) or n_points < 2:
        raise ValueError(f"`n_points` must be an integer >= 2. Received n_points={n_points!r}")
    if isinstance(draws, bool) or not isinstance(draws, (int, np.integer)) or draws < 2:
        raise ValueError(f"`draws` must be an integer >= 2. Received draws={draws!r}")
    rng = np.random.default_rng(seed)
    values = [statistic(rng.integers(0, n_points, n_points)) for _ in range(draws)]
    return float(statistic(np.arange(n_points))), float(np.std(values, ddof=1))
