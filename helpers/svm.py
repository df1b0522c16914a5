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


# --------------------------------------------------------------------------- primal objectives


def _check_linear_model(coef, intercept, x, y):
    """(coef (K, d), intercept (K,), x (n, d), integer labels y (n,)) as float64/int64 arrays."""
    coef = np.atleast_2d(np.asarray(coef, dtype=np.float64))
    intercept = np.asarray(intercept, dtype=np.float64).reshape(-1)
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y)
    if x.ndim != 2:
        raise ValueError(f"`x` must be 2-D (n, d). Received shape {x.shape}")
    if coef.shape[1] != x.shape[1] or intercept.shape != (coef.shape[0],):
        raise ValueError(
            f"`coef` must be (K, {x.shape[1]}) as scikit-learn's coef_ (a Keras kernel is its "
            f"transpose) and `intercept` (K,). Received {coef.shape} and {intercept.shape}"
        )
    if y.shape != (len(x),) or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(
            f"`y` must hold one integer label per row of `x`. Received shape {y.shape}, "
            f"dtype {y.dtype}"
        )
    n_classes = max(coef.shape[0], 2)
    if y.min() < 0 or y.max() >= n_classes:
        raise ValueError(
            f"`y` must lie in 0..{n_classes - 1} for {coef.shape[0]} row(s) of `coef`"
        )
    return coef, intercept, x, y.astype(np.int64)


def ovr_hinge_objectives(coef, intercept, x, y, c):
    """scikit-learn's primal per one-vs-rest problem: ½‖w_k‖² + C Σ_i max(0, 1 − s_ik f_k(x_i)).

    ``coef`` (K, d) and ``intercept`` (K,) in scikit-learn's layout (a Keras kernel is
    ``coef.T``); ``y`` integer labels, s_ik = +1 if y_i = k else −1. The intercept is not
    penalised. With one row (a binary SVC), the single problem has s_i = +1 for class 1.
    Keras' ``hinge`` + ``l2(λ)`` objective is ``2λ · sum(result)`` at C = ``c_from_l2(λ, n, K)``.
    """
    _check_positive("c", c)
    coef, intercept, x, y = _check_linear_model(coef, intercept, x, y)
    if coef.shape[0] == 1:
        signs = (2 * y - 1)[:, None].astype(np.float64)
    else:
        signs = np.where(y[:, None] == np.arange(coef.shape[0]), 1.0, -1.0)
    hinge = np.maximum(0.0, 1.0 - signs * (x @ coef.T + intercept))
    return 0.5 * np.sum(coef**2, axis=1) + c * hinge.sum(axis=0)


def crammer_singer_objective(coef, intercept, x, y, c, clipped=False):
    """Crammer–Singer's primal: ½ Σ_k ‖w_k‖² + C Σ_i max(0, 1 + max_{j≠y_i} f_j − f_{y_i}).

    This is what ``LinearSVC(multi_class="crammer_singer")`` minimises, except that liblinear
    also penalises the intercept. ``clipped=True`` gives Keras' ``categorical_hinge`` instead,
    ``max(0, 1 + max(0, max_{j≠y} f_j) − f_y)``: never below Crammer–Singer, equal to it when
    every row's best wrong score is ≥ 0. Adding one constant to all intercepts changes neither
    Crammer–Singer nor the penalty, and a large enough one makes the two equal, so both have
    the same minimum. Keras' objective equals ``2λ · result`` (clipped) at C = 1/(2λn).
    """
    _check_positive("c", c)
    coef, intercept, x, y = _check_linear_model(coef, intercept, x, y)
    if coef.shape[0] < 2:
        raise ValueError("Crammer–Singer needs one row of `coef` per class (K ≥ 2)")
    scores = x @ coef.T + intercept
    rows = np.arange(len(y))
    wrong = scores.copy()
    wrong[rows, y] = -np.inf
    best_wrong = wrong.max(axis=1)
    if clipped:
        best_wrong = np.maximum(best_wrong, 0.0)
    loss = np.maximum(0.0, 1.0 + best_wrong - scores[rows, y])
    return 0.5 * float(np.sum(coef**2)) + c * float(loss.sum())


# --------------------------------------------------------------------------- exact references


def linear_svm_reference(
    x, y, c, multi_class="ovr", method="liblinear", tol=1e-5, max_iter=10_000_000,
    intercept_scaling=10.0,
):
    """scikit-learn's linear SVM with an *unpenalised* intercept: ``(coef (K, d), intercept (K,))``.

    ``LinearSVC`` penalises its intercept: it appends a constant feature ``intercept_scaling``
    and so adds ``½ (b / intercept_scaling)²`` to the objective, which Keras' unregularised
    bias does not have. That term matters where C is small: on 10,000 MNIST images at
    C = 5·10⁻⁴ a plain fit on centred features is 1e-3 (relative) above the true minimum. So
    the fit is repeated with the origin moved until the penalised intercept is ≈ 0. Measured
    against ``SVC(kernel="linear", tol=1e-5)``, whose libsvm solver leaves the intercept free
    by construction, the one-vs-rest objectives then agree to < 1e-6 (MNIST, C = 5·10⁻⁴ and
    0.05; on the standardised 4-class table the centred fit alone was within 1.1e-6). A larger
    ``intercept_scaling`` is slower (liblinear needed ~100 times the iterations at 1000), and
    ``SVC`` itself is exact but slow where a class is not linearly separable from the rest
    (2 minutes for one class of the 4-class table, against 0.02 s), so it is the alternative.

    ``multi_class="ovr"``: K binary problems, class k against the rest (also for K = 2, as
    Keras' ``Dense(2)`` + ``hinge`` has two outputs); ``method="svc"`` solves them with
    ``SVC(kernel="linear")`` instead. ``multi_class="crammer_singer"``: one joint problem,
    ``LinearSVC(multi_class="crammer_singer")``, whose solver is less exact: on the 4-class
    table at C = 10 its objective moved by up to 1.2e-4 between ``tol`` = 1e-5, 1e-6 and 1e-7
    and stayed 2e-5 above what ``fit_to_convergence`` found; at ``intercept_scaling=100`` it
    stopped up to 76 % above that without any warning, so keep 10. A solver that stops at ``max_iter`` raises a
    ``RuntimeError`` rather than a ``ConvergenceWarning``: a reference that did not converge
    is no reference. Features should be standardised: on raw columns of very different
    scales liblinear did not converge in 10⁷ iterations.
    """
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.svm import SVC, LinearSVC

    _check_positive("c", c)
    _check_positive("tol", tol)
    _check_positive("intercept_scaling", intercept_scaling)
    if multi_class not in ("ovr", "crammer_singer"):
        raise ValueError(
            f"`multi_class` must be 'ovr' or 'crammer_singer'. Received: {multi_class!r}"
        )
    if method not in ("liblinear", "svc") or (method == "svc" and multi_class != "ovr"):
        raise ValueError(
            f"`method` must be 'liblinear', or 'svc' with multi_class='ovr'. Received: {method!r}"
        )
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y)
    if x.ndim != 2 or y.shape != (len(x),) or not np.issubdtype(y.dtype, np.integer) or y.min() < 0:
        raise ValueError(
            f"Expected x (n, d) and integer labels y ≥ 0 (n,). Received shapes {x.shape} "
            f"and {y.shape}"
        )
    n_classes = int(y.max()) + 1
    if n_classes < 2 or len(np.unique(y)) != n_classes:
        raise ValueError(
            f"`y` must use every label 0..K-1 with K ≥ 2. Received labels {np.unique(y).tolist()}"
        )

    def fit(estimator, features, labels):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            estimator.fit(features, labels)
        if any(issubclass(w.category, ConvergenceWarning) for w in caught):
            raise RuntimeError(
                f"{type(estimator).__name__} did not converge in max_iter={max_iter}; raise it"
            )
        return estimator.coef_, estimator.intercept_

    if method == "svc":
        coef = np.empty((n_classes, x.shape[1]))
        intercept = np.empty(n_classes)
        for k in range(n_classes):
            svc = SVC(kernel="linear", C=c, tol=tol, max_iter=max_iter, cache_size=1000)
            w, b = fit(svc, x, np.where(y == k, 1, -1))
            coef[k], intercept[k] = w[0], b[0]
        return coef, intercept

    # Centred features make the optimal intercept small (|b| ≲ 2); the fit is then repeated
    # with the origin moved by δ, coef·δ = −intercept, so that the penalised intercept is ≈ 0
    # and ½ (b / intercept_scaling)² has nothing left to pull on. A move longer than the
    # data's own spread (coef ≈ 0: a class no hyperplane separates) would only harm the
    # conditioning, and there the penalty is negligible next to C·Σ hinge: it is skipped.
    centre = x.mean(axis=0)
    spread = np.sqrt(np.mean(np.sum((x - centre) ** 2, axis=1)))

    def liblinear(origin, labels, multi):
        # (crammer_singer ignores `loss`: its loss is its own.)
        svc = LinearSVC(C=c, loss="hinge", multi_class=multi, dual=True, tol=tol,
                        max_iter=max_iter, intercept_scaling=intercept_scaling, random_state=0)
        coef, local = fit(svc, x - origin, labels)
        return coef, local

    def refit(labels, multi):
        coef, local = liblinear(centre, labels, multi)
        delta = np.linalg.lstsq(coef, -local, rcond=None)[0]
        if np.linalg.norm(delta) <= spread:
            coef, local = liblinear(centre + delta, labels, multi)
            return coef, local - (centre + delta) @ coef.T
        return coef, local - centre @ coef.T

    if multi_class == "ovr":
        coef = np.empty((n_classes, x.shape[1]))
        intercept = np.empty(n_classes)
        for k in range(n_classes):
            w, b = refit(np.where(y == k, 1, -1), "ovr")
            coef[k], intercept[k] = w[0], b[0]
        return coef, intercept
    coef, intercept = refit(y, "crammer_singer")
    if n_classes == 2:
        # scikit-learn returns only f_1 − f_0 for two classes; the minimum-norm split
        # (w_0 = −w_1, which the Crammer–Singer optimum has) gives both rows back.
        coef = np.vstack([-coef / 2, coef / 2])
        intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
    return coef, intercept


def rbf_svc_predict(svc, x, chunk=1000):
    """A fitted RBF ``SVC``'s labels for ``x``, from matrix products: libsvm's vote, much faster.

    libsvm's ``predict`` evaluates the kernel between each row and one support vector at a
    time. The same one-vs-one decision values, ``f_ij(x) = Σ_s α_s k(x_s, x) + b_ij`` for each
    pair of classes, come from one product of a chunk of rows with all support vectors (BLAS),
    then the pairs vote as libsvm does (a tie goes to the first class). Memory: ``chunk``
    × (number of support vectors) float64 values at a time. On MNIST (22,699 training images)
    notebook 02 checks that the labels are libsvm's and times both.
    """
    from sklearn.metrics.pairwise import rbf_kernel

    if getattr(svc, "kernel", None) != "rbf" or not hasattr(svc, "support_vectors_"):
        raise ValueError("`svc` must be a fitted sklearn.svm.SVC with kernel='rbf'. "
                         f"Received: {type(svc).__name__} (kernel={getattr(svc, 'kernel', None)!r})")
    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
        raise ValueError(f"`chunk` must be a positive integer. Received: chunk={chunk!r}")
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != svc.support_vectors_.shape[1]:
        raise ValueError(f"`x` must have shape (n, {svc.support_vectors_.shape[1]}). Received: {x.shape}")
    # The γ libsvm used, also when the estimator was given gamma='scale' or 'auto': scikit-learn
    # keeps that number only in this private attribute.
    gamma = svc._gamma
    k = len(svc.classes_)
    bounds = np.r_[0, np.cumsum(svc.n_support_)]  # the support vectors are stored class by class
    pairs = [(i, j) for i in range(k) for j in range(i + 1, k)]  # libsvm's order, as intercept_
    labels = np.empty(len(x), dtype=svc.classes_.dtype)
    for start in range(0, len(x), chunk):
        kernel = rbf_kernel(x[start:start + chunk], svc.support_vectors_, gamma=gamma)
        votes = np.zeros((len(kernel), k), dtype=int)
        for p, (i, j) in enumerate(pairs):
            si, sj = slice(bounds[i], bounds[i + 1]), slice(bounds[j], bounds[j + 1])
            f = kernel[:, si] @ svc.dual_coef_[j - 1, si] + kernel[:, sj] @ svc.dual_coef_[i, sj] + svc.intercept_[p]
            votes[:, i] += f > 0
            votes[:, j] += f <= 0
        labels[start:start + chunk] = svc.classes_[votes.argmax(axis=1)]
    return labels
