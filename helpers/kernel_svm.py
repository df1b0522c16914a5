"""An exact RBF-kernel SVM as a Keras model: a kernel layer over the training rows, a Dense head.

By the representer theorem, the minimiser of ``½‖f‖²_H + C Σ_i max(0, 1 − y_i f(x_i))`` over
the RBF kernel's function space has the form ``f(x) = Σ_i α_i k(x_i, x) + b``, with
``‖f‖² = αᵀKα``. So :class:`~helpers.approximations.NystroemFeatures` with training rows as
landmarks (``whiten=False``: it outputs ``k(x, L)``) under a ``Dense`` head holding α and b
*is* an RBF SVM, once the head is trained to the minimum. :func:`fit_kernel_svm` builds and
trains it, in scikit-learn's units: ``c`` is the C of each one-vs-rest binary problem
(``loss="hinge"``, scikit-learn's ``OneVsRestClassifier(SVC(kernel="rbf"))``, or ``SVC``
itself for two classes), or the Crammer–Singer C (``loss="categorical_hinge"``).

How: the training rows get explicit kernel features Φ with ``Φ Φᵀ = K``
(:func:`exact_kernel_features`); the SVM on K is then the linear SVM on Φ, solved by
``helpers.models.fit_to_convergence`` (smoothed hinge, scipy's L-BFGS-B, products in
``keras.ops``). For ``hinge`` each binary problem is then made exact in float64 by an
active-set step (:func:`_polish_binary`), kept only where it settles and lowers the
objective. The weights are folded back into α. Φ comes from a pivoted Cholesky
factorisation of K (LAPACK ``dpstrf``, n³/3 multiply-adds), not from the symmetric
``K^{-1/2}`` of ``NystroemFeatures(whiten=True)``, whose eigendecomposition costs several
times that; both give the same feature inner products on the rows they span.
"""

import math
import time
import warnings

import numpy as np

import keras

from helpers import svm
from helpers.approximations import EIGENVALUE_FLOOR, NystroemFeatures, fold_nystroem, nystroem_features

LOSSES = ("hinge", "categorical_hinge")


def _check_positive_number(name, value):
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if not (ok and math.isfinite(value) and value > 0):
        raise ValueError(f"`{name}` must be a positive number. Received: {name}={value!r}")
    return float(value)


def _check_data(x, y):
    x = np.asarray(x)
    y = np.asarray(y)
    if x.ndim != 2 or len(x) < 2 or x.shape[1] == 0:
        raise ValueError(f"`x` must be a 2-D array (rows, features) with at least 2 rows. Received shape {x.shape}")
    if not (np.issubdtype(x.dtype, np.number) and np.isfinite(x).all()):
        raise ValueError("`x` must hold finite numbers (no NaN or infinity)")
    if y.shape != (len(x),) or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(
            f"`y` must hold one integer label per row of `x`: shape ({len(x)},). "
            f"Received shape {y.shape}, dtype {y.dtype}"
        )
    n_classes = int(y.max()) + 1 if y.min() >= 0 else 0
    if n_classes < 2 or len(np.unique(y)) != n_classes:
        raise ValueError(f"`y` must use every label 0..K-1 with K ≥ 2. Received labels {np.unique(y).tolist()}")
    return x.astype(np.float64), y.astype(np.int64), n_classes


def _rbf(a, b, gamma):
    from sklearn.metrics.pairwise import rbf_kernel

    return rbf_kernel(a, b, gamma=gamma)


def exact_kernel_features(x, gamma, relative_floor=EIGENVALUE_FLOOR):
    """Features Φ of the rows of ``x`` with ``Φ Φᵀ = K`` (RBF, γ), from a pivoted Cholesky of K.

    LAPACK's ``dpstrf`` factors ``K = P L Lᵀ Pᵀ``, taking next the row whose kernel feature is
    farthest from the span of those taken, and stops when every remaining row is within
    ``relative_floor × max K_ii`` (squared, in the kernel's feature space) of that span: the
    r rows taken are the landmarks, ``φ(z) = k(z, landmarks) L₁₁^{-T}``. For any function f in
    their span, f(x_i) = ⟨f, k(x_i, ·)⟩ exactly, so the SVM on Φ is the kernel SVM restricted
    to that span; the floor is float32's resolution, that of the features used in training.
    Returns ``(features (n, r) float64, landmark_rows (r,) into x, whitening (r, r))``.
    """
    from scipy.linalg import lapack, solve_triangular

    x = np.asarray(x, dtype=np.float64)
    gamma = _check_positive_number("gamma", gamma)
    kernel = _rbf(x, x, gamma)
    floor = relative_floor * float(kernel.diagonal().max())
    factor, pivots, rank, status = lapack.dpstrf(kernel, lower=1, tol=floor, overwrite_a=1)
    if status < 0:
        raise RuntimeError(f"LAPACK dpstrf failed (info={status})")
    del kernel
    pivots = pivots - 1  # 1-based
    lower = np.tril(factor[:, :rank])  # row i belongs to training row pivots[i]
    features = np.empty((len(x), rank))
    features[pivots] = lower
    whitening = solve_triangular(lower[:rank], np.eye(rank), lower=True).T  # L₁₁^{-T}
    return features, pivots[:rank], whitening


def _labels_for(loss, y, n_classes):
    """(targets for fit_to_convergence, number of outputs): one ±-coded output for two classes."""
    if loss == "hinge" and n_classes == 2:
        return y[:, None].astype(np.float64), 1
    return keras.utils.to_categorical(y, n_classes), n_classes


def _binary_objective(features, signs, weights, bias, c):
    """½‖w‖² + C Σ max(0, 1 − s_i f_i), scikit-learn's primal of one binary problem."""
    return 0.5 * float(weights @ weights) + c * float(np.maximum(0.0, 1.0 - signs * (features @ weights + bias)).sum())


def _polish_binary(features, signs, weights, bias, c, mu, max_rounds=20):
    """The exact minimiser of one binary problem on ``features``, from a smoothed one's partition.

    At the minimum of ``½‖w‖² + C Σ max(0, 1 − s_i f_i)`` with a free intercept, w = Σ a_i φ_i
    with a_i = s_i β_i, Σ a_i = 0, and each row is bound (margin short of 1, β = C), free
    (margin exactly 1, 0 ≤ β ≤ C) or outside (margin beyond 1, β = 0). Given which rows are
    which, the free rows' a and b solve one linear system, ``[G_FF 1; 1ᵀ 0] [a_F; b] =
    [s_F − G_FB a_B; −Σ a_B]`` with G = ΦΦᵀ, the kernel. The smoothed solution's Huber zones
    (margin within μ of the kink) give the first guess; rows that break the conditions move
    set and the system is solved again (a primal–dual active-set step), until none does. A
    first-order solver in float32 stops where the objective no longer resolves, ~1e-5
    relative, which on 10 overlapping classes still moved 0.5 % of the argmax decisions; this
    step is exact in float64. Returns ``(weights, bias)``, or None if it did not settle in
    ``max_rounds`` (the active-set iteration can cycle; the caller keeps the smoothed solution).
    """
    from scipy.linalg import LinAlgError, LinAlgWarning, solve

    margin = 1.0 - signs * (features @ weights + bias)
    free = (margin > 0.0) & (margin < mu)
    bound = margin >= mu
    for _ in range(max_rounds):
        a_bound = c * signs * bound
        rows = features[free]
        system = np.ones((free.sum() + 1, free.sum() + 1))
        system[:-1, :-1] = rows @ rows.T
        system[-1, -1] = 0.0
        rhs = np.append(signs[free] - rows @ (features.T @ a_bound), -a_bound.sum())
        try:
            with warnings.catch_warnings():  # near-duplicate rows: the checks below judge the result
                warnings.simplefilter("ignore", LinAlgWarning)
                solution = solve(system, rhs, check_finite=False)
        except LinAlgError:
            return None
        a = a_bound.copy()
        a[free] = solution[:-1]
        weights, bias = features.T @ a, float(solution[-1])
        margin = 1.0 - signs * (features @ weights + bias)
        beta, slack = signs * a, 1e-9 * max(1.0, c)
        to_outside = free & (beta < -slack)
        to_bound = free & (beta > c + slack)
        to_free = (~free & ~bound & (margin > 1e-9)) | (bound & (margin < -1e-9))
        if not (to_outside.any() or to_bound.any() or to_free.any()):
            return weights, bias
        free = (free & ~to_outside & ~to_bound) | to_free
        bound = (bound & ~to_free) | to_bound
    return None


def fit_kernel_svm(x, y, *, gamma, c, loss="hinge", landmarks=None, tol=1e-4, seed=0, max_steps=5000):
    """Train a Keras model that is the RBF SVM of (x, y) at γ = ``gamma`` and C = ``c``.

    ``loss="hinge"``: one-vs-rest, each class against the rest, each a binary SVM with
    scikit-learn's C = ``c`` and a free (unpenalised) intercept, as
    ``OneVsRestClassifier(SVC(kernel="rbf", gamma=gamma, C=c))``; two classes give one
    output, ``SVC``'s decision value (positive: class 1). ``loss="categorical_hinge"``:
    Crammer–Singer with C = ``c``, K outputs also for K = 2. ``y`` holds labels 0..K−1.

    ``landmarks=None`` is exact: the kernel layer holds the training rows that
    :func:`exact_kernel_features` keeps (all of them but those already in the others' span
    to float32 resolution). An int m is a Nyström approximation on m rows drawn with ``seed``
    (``NystroemFeatures.from_data``). ``tol`` and ``max_steps`` are ``fit_to_convergence``'s:
    the smoothing is divided by 10 until the true objective falls by at most ``tol``
    (relative) from one stage to the next.

    Returns ``(model, info)``: ``model`` maps rows to decision values, ``Input →
    NystroemFeatures(whiten=False) → Dense`` (the Dense kernel is α, its bias b), uncompiled;
    ``info`` holds ``objective`` (scikit-learn's primal at the solution: for ``hinge`` the
    sum over the binary problems, whose values are in ``objectives``), ``converged``,
    ``message``, ``seconds`` (features and fit), ``landmarks`` (how many) and
    ``landmark_rows`` (which rows of x), ``steps``, ``polished`` (how many outputs the exact
    active-set step settled; the others keep the smoothed solution) and the solver's own
    ``fit`` info. ``converged`` is true when every output was settled exactly, or else when
    ``fit_to_convergence`` says so.
    """
    from helpers import models

    start = time.perf_counter()
    x, y, n_classes = _check_data(x, y)
    gamma = _check_positive_number("gamma", gamma)
    c = _check_positive_number("c", c)
    if loss not in LOSSES:
        raise ValueError(f"`loss` must be one of {LOSSES}. Received: loss={loss!r}")
    if landmarks is not None and (
        isinstance(landmarks, bool) or not isinstance(landmarks, (int, np.integer))
        or not 0 < landmarks <= len(x)
    ):
        raise ValueError(
            f"`landmarks` must be None (every training row) or an int from 1 to the number of "
            f"rows of `x` ({len(x)}). Received: landmarks={landmarks!r}"
        )
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"`seed` must be a non-negative integer. Received: seed={seed!r}")

    if landmarks is None:
        features, rows, whitening = exact_kernel_features(x, gamma)
    else:
        rows = np.sort(np.random.default_rng(int(seed)).choice(len(x), size=int(landmarks), replace=False))
        layer = NystroemFeatures(len(rows), gamma=gamma, landmarks=x[rows])
        layer.build((None, x.shape[1]))
        features = nystroem_features(layer, x).astype(np.float64)
    targets, n_outputs = _labels_for(loss, y, n_classes)
    # Keras' objective is 2λ × scikit-learn's at C = 1/(2λnK) (K = outputs for hinge's mean
    # over them, 1 for Crammer–Singer): helpers.svm.c_from_l2.
    l2 = svm.l2_from_c(c, len(x), n_outputs if loss == "hinge" else 1)
    linear = models.build_linear_svm(features.shape[1], n_outputs, l2=l2, loss=loss, seed=int(seed))
    fit = models.fit_to_convergence(linear, features, targets, tol=tol, max_steps=max_steps)
    head = linear.layers[-1]
    kernel, bias = (np.asarray(keras.ops.convert_to_numpy(w), dtype=np.float64) for w in head.weights)
    polished = 0
    if loss == "hinge":  # each output's binary problem, made exact where the active set settles
        for k in range(n_outputs):
            signs = 2.0 * targets[:, k] - 1.0
            exact = _polish_binary(features, signs, kernel[:, k], bias[k], c, fit["stages"][-1]["mu"])
            if exact is not None and _binary_objective(features, signs, *exact, c) <= _binary_objective(
                features, signs, kernel[:, k], bias[k], c
            ):
                kernel[:, k], bias[k] = exact
                polished += 1
    if loss == "hinge":  # one binary problem per output
        objectives = [_binary_objective(features, 2.0 * targets[:, k] - 1.0, kernel[:, k], bias[k], c)
                      for k in range(n_outputs)]
    else:
        objectives = [svm.crammer_singer_objective(kernel.T, bias, features, y, c)]
    exact = loss == "hinge" and polished == n_outputs
    if landmarks is None:
        kernel_layer = NystroemFeatures(len(rows), gamma=gamma, landmarks=x[rows], whiten=False)
        dense = keras.layers.Dense(n_outputs)
        model = keras.Sequential([keras.Input(shape=(x.shape[1],)), kernel_layer, dense], name="kernel_svm")
        dense.set_weights([(whitening @ kernel).astype(np.float32), bias.astype(np.float32)])  # α, b
    else:
        head.set_weights([kernel.astype(np.float32), bias.astype(np.float32)])
        model = fold_nystroem(layer, head, name="kernel_svm")
    return model, dict(
        objective=float(sum(objectives)),
        objectives=objectives,
        converged=bool(fit["converged"] or exact),
        message=("the optimality conditions hold exactly (active set settled) for every output"
                 if exact else fit["message"]),
        seconds=time.perf_counter() - start,
        landmarks=len(rows),
        landmark_rows=np.asarray(rows),
        steps=fit["steps"],
        polished=polished,
        loss=loss,
        gamma=gamma,
        c=c,
        fit=fit,
    )


def libsvm_objective(estimator, x, y):
    """scikit-learn's primal at a fitted RBF ``SVC`` (two classes) or ``OneVsRestClassifier(SVC)``.

    For each binary SVC, from its dual coefficients a (``dual_coef_``, a_i = s_i β_i on the
    support vectors): ``½ aᵀ K_SV a + C Σ_i max(0, 1 − s_i f(x_i))``, f its decision function
    on the training rows (x, y); summed over the one-vs-rest problems, as
    :func:`fit_kernel_svm`'s ``info["objective"]``.
    """
    from sklearn.multiclass import OneVsRestClassifier

    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y)
    if isinstance(estimator, OneVsRestClassifier) and len(estimator.estimators_) == 1:
        pairs = [(estimator.estimators_[0], y == estimator.classes_[1])]  # two classes: one problem
    elif isinstance(estimator, OneVsRestClassifier):
        pairs = [(binary, y == label) for binary, label in zip(estimator.estimators_, estimator.classes_)]
    else:
        if len(getattr(estimator, "classes_", ())) != 2:
            raise ValueError("`estimator` must be a fitted two-class SVC or a OneVsRestClassifier of SVCs")
        pairs = [(estimator, y == estimator.classes_[1])]
    total = 0.0
    for binary, positive in pairs:
        if getattr(binary, "kernel", None) != "rbf":
            raise ValueError(f"Expected RBF SVCs. Received kernel={getattr(binary, 'kernel', None)!r}")
        vectors, coef = binary.support_vectors_, binary.dual_coef_[0]
        penalty = 0.5 * coef @ _rbf(vectors, vectors, binary._gamma) @ coef  # the γ libsvm used
        signs = np.where(positive, 1.0, -1.0)
        total += penalty + binary.C * np.maximum(0.0, 1.0 - signs * binary.decision_function(x)).sum()
    return float(total)
