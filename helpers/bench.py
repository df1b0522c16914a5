"""The benchmark harness: every approach on every dataset, timed the same way.

Run it from a shell (``python -m helpers.bench --help``) or from a notebook::

    from helpers.bench import run_benchmark, records_table
    records = run_benchmark(datasets=("four_class",), approaches=("quasi_svm", "sklearn_svc"))
    records_table(records)

The scaling study (``python -m helpers.bench --scaling``, ``run_scaling``) is a separate mode:
the exact RBF SVC against ``quasi_svm`` at growing training sizes, with fitted power-law slopes
and the sizes where ``quasi_svm`` becomes the cheaper to fit and to predict (see ``run_scaling``).

One record (a dict) per dataset × approach. What is timed, and how:

- ``fit_seconds`` and ``predict_seconds`` are wall-clock times (``time.perf_counter``)
  around ``model.fit`` / ``model.predict`` on the whole test set, and nothing else.
  Keras models predict in batches of ``PREDICT_BATCH_SIZE`` (1024) rows.
- Compilation is not timed. Before the timed fit, each Keras model runs one warm-up
  ``fit`` (one epoch on ``batch_size + remainder`` rows, so both the full-batch and the
  last, partial-batch shapes get traced and XLA-compiled) and one warm-up ``predict`` of
  the same kind. Then its weights *and* its optimizer state (Adam's step count and
  moments) are put back to what they were before the warm-up, so the timed fit starts
  from the same point as an un-warmed one. The warm-up's cost is reported as
  ``warmup_seconds``. scikit-learn has nothing to compile and gets no warm-up.
- ``load_seconds`` (reading and preparing the data) is reported per dataset, apart.
- ``quasi_svm`` trains its linear head on random features computed once and cached
  (``helpers.models.fit_quasi_svm``). Computing them is real training work, so it is
  reported as ``feature_seconds`` *and included* in its ``fit_seconds``;
  ``train_seconds`` is the part spent in Keras' ``fit``. ``seconds_per_epoch`` is
  ``train_seconds / epochs`` for it, ``fit_seconds / epochs`` for the others.
- ``seconds_to_seed_accuracy`` (``quasi_svm`` only): feature time plus training time
  until the first epoch whose test accuracy reaches the seed recipe's final test accuracy
  in the same call (or the keras.io reference figure, 0.958 on MNIST, when the seed did not
  run; ``seed_accuracy_target`` and ``seed_accuracy_source`` say which). The test
  accuracy after each epoch is measured on cached test features with the clock stopped,
  and kept as ``test_accuracy_curve``. The test set is only watched, never used to choose
  anything. ``test_accuracy_curve_seconds`` holds the clock at those points: feature time
  plus training time to that epoch's end, on the clock of ``fit_seconds``; its last point is
  ``fit_seconds`` less what Keras' ``fit`` spends outside its epochs (taking in the feature
  array before the first, finishing after the last). Neither holds the warm-up
  (``warmup_seconds``) nor the test features the curve is measured on.
- ``seed_quasi_svm`` is the keras.io recipe unchanged, including ``validation_split=0.2``:
  it trains on the first 80 % of the training rows only. Its ``n_train`` says so.
- ``linear_svm`` and ``sklearn_linear_svc`` are one SVM solved twice: the one-vs-rest
  linear SVM with hinge loss, a free (unpenalised) intercept and C =
  ``svm.c_from_l2(LINEAR_L2, n, K)``. ``linear_svm`` is Keras' ``Dense(K)`` +
  ``l2(LINEAR_L2)`` + ``hinge``, trained to the minimum of its own objective by
  ``models.fit_to_convergence`` (full-batch smoothed L-BFGS in ``keras.ops``; no epochs,
  ``fit_seconds`` is that solve). ``sklearn_linear_svc`` is ``svm.linear_svm_reference``
  (liblinear, refitted until its penalised intercept is about 0). Both records hold
  ``svm_objective``, Keras' objective (mean hinge + λ‖W‖², = 2λ × scikit-learn's primal
  summed over the K problems) computed the same way for both, and ``agreement_with_pair``,
  the share of test predictions equal to the other's.
- ``agreement_with_svc``: the share of test predictions equal to those of ``sklearn_svc``
  (exact RBF SVC) when that ran in the same call, else ``None``. Two accurate classifiers
  agree often whatever they are, so two baselines come with it (``helpers.compare``):
  ``agreement_floor`` = max(0, acc + acc_svc − 1), the least agreement that two models of
  these accuracies can have, and ``agreement_on_svc_errors``, on the test rows the SVC gets
  wrong, the share where the model gives the SVC's (wrong) answer.
- ``data``: what was loaded, in words (``helpers.data.describe_images`` for image sets:
  the offline MNIST file holds the first 22,699 of the 60,000 official training images).
- ``peak_rss_mb``: the process' peak resident memory so far (``ru_maxrss``), when the
  record was made, in MiB (2^20 bytes, despite the name); it only grows, so the last
  record holds the run's peak.
"""

import argparse
import datetime
import json
import math
import os
import time
from pathlib import Path

import numpy as np

# Keras (and helpers.models, which imports it) is imported inside the functions that train:
# loading a backend takes seconds, and `--help` or a bad option should not pay for it.
from helpers import compare, flops, svm
from helpers import data as hdata
from helpers.notebook import gpu_names, peak_rss_mb, versions

APPROACHES = (
    "seed_quasi_svm",
    "quasi_svm",
    "linear_svm",
    "deep_hinge",
    "sklearn_svc",
    "sklearn_linear_svc",
)
DATASETS = ("mnist", "fashion_mnist", "four_class")

# The keras.io recipe "A Quasi-SVM in Keras", unchanged.
SEED_RECIPE = dict(
    output_dim=4096, scale=10.0, epochs=20, batch_size=128, learning_rate=1e-3,
    loss="hinge", validation_split=0.2,
)
# Defaults of deep_hinge (the builder's own defaults for the rest).
BASELINE_EPOCHS = 20
BASELINE_BATCH_SIZE = 128
SVC_C = 5.0
# The L2 factor of linear_svm (the common recipe's l2(0.01)); sklearn_linear_svc uses its C.
LINEAR_L2 = 0.01
# The linear pair: each is the other's reference.
PAIRS = {"linear_svm": "sklearn_linear_svc", "sklearn_linear_svc": "linear_svm"}
# Keras predicts in batches of this size (the same for every Keras model).
PREDICT_BATCH_SIZE = 1024
# The seed recipe's test accuracy on MNIST (keras.io recipe, this project's reference run).
SEED_REFERENCE_ACCURACY = {"mnist": 0.958}

RECORD_KEYS = (
    "dataset", "approach", "backend", "device", "n_train", "n_test", "n_features", "n_classes",
    "epochs", "batch_size", "fit_seconds", "predict_seconds", "seconds_per_epoch",
    "feature_seconds", "train_seconds", "warmup_seconds", "load_seconds", "trainable_params",
    "test_accuracy", "agreement_with_svc", "agreement_floor", "agreement_on_svc_errors",
    "svm_objective", "agreement_with_pair", "seconds_to_seed_accuracy", "seed_accuracy_target",
    "seed_accuracy_source", "test_accuracy_curve", "test_accuracy_curve_seconds",
    "fit_multiply_adds", "fit_gflops", "train_gflops", "matmul_gflops", "matmul_load_average",
    "load_average", "peak_rss_mb", "data", "params", "notes", "versions", "date",
)
TABLE_COLUMNS = (
    "dataset", "approach", "n_train", "n_test", "epochs", "fit_seconds", "predict_seconds",
    "seconds_per_epoch", "feature_seconds", "seconds_to_seed_accuracy", "trainable_params",
    "test_accuracy", "agreement_with_svc", "agreement_floor", "agreement_on_svc_errors",
    "peak_rss_mb",
)


# --------------------------------------------------------------------------- environment


def device_name():
    """``"cpu"``, or the accelerator's model name, asked of the active backend only."""
    gpus = gpu_names()
    return gpus[0] if gpus else "cpu"


# --------------------------------------------------------------------------- data


def _check_name(kind, name, allowed):
    if name not in allowed:
        raise ValueError(f"Unknown {kind} {name!r}. Expected one of {list(allowed)}.")


def _is_csv(name):
    return str(name).lower().endswith(".csv") or Path(str(name)).is_file()


def load_dataset(name, *, n_train=None, n_test=None, seed=0, mnist_path=None):
    """``dict(x_train, y_train, x_test, y_test, n_classes, load_seconds, description)``.

    Features are float32. Images are flattened to 784 values in [0, 1]; tables are
    standardized with a ``StandardScaler`` fitted on the training rows. ``n_train``/``n_test``
    subsample (class-balanced, ``helpers.data.subsample``). ``description`` names what was
    loaded and used, in words.
    """
    start = time.perf_counter()
    if name in hdata.IMAGE_DATASETS:
        (x_train, y_train), (x_test, y_test) = hdata.load_images(name, mnist_path if name == "mnist" else None)
        x_train, x_test = hdata.flatten_images(x_train), hdata.flatten_images(x_test)
        description = hdata.describe_images(name, len(x_train), len(x_test))
    elif name == "four_class" or _is_csv(name):
        from sklearn.model_selection import train_test_split
        from sklearn.preprocessing import StandardScaler

        if name == "four_class":
            (x_train, y_train), (x_test, y_test), _ = hdata.four_class_split(seed=seed)
        else:
            table = hdata.load_tabular(name)
            x_train, x_test, y_train, y_test = train_test_split(
                table.x, table.y, test_size=0.25, random_state=seed, stratify=table.y
            )
        source = "data/four_class.csv" if name == "four_class" else str(name)
        description = (
            f"{source}: {len(x_train) + len(x_test):,} rows, split {len(x_train):,} training / "
            f"{len(x_test):,} test (stratified, seed {seed})"
        )
        scaler = StandardScaler().fit(x_train)
        x_train = scaler.transform(x_train).astype(np.float32)
        x_test = scaler.transform(x_test).astype(np.float32)
    else:
        raise ValueError(
            f"Unknown dataset {name!r}. Expected one of {list(DATASETS)} or a path to a .csv file."
        )
    available = len(x_train), len(x_test)
    x_train, y_train = hdata.subsample(x_train, y_train, n_train, seed=seed)
    x_test, y_test = hdata.subsample(x_test, y_test, n_test, seed=seed)
    if (len(x_train), len(x_test)) != available:
        description += f"; of these, {len(x_train):,} training and {len(x_test):,} test rows are used"
    y_train, y_test = np.asarray(y_train, np.int64), np.asarray(y_test, np.int64)
    n_classes = int(max(y_train.max(), y_test.max()) + 1)
    return dict(
        x_train=np.ascontiguousarray(x_train, np.float32), y_train=y_train,
        x_test=np.ascontiguousarray(x_test, np.float32), y_test=y_test,
        n_classes=n_classes, load_seconds=time.perf_counter() - start, description=description,
    )


# --------------------------------------------------------------------------- timing helpers


def _n_fit(n, validation_split):
    """Rows Keras trains on with ``validation_split`` (the first floor(n(1-s)) rows)."""
    return int(math.floor(n * (1.0 - validation_split))) if validation_split else n


def _warm_up_keras(model, x, y, batch_size, validation_split=0.0, predict_rows=None):
    """Compile ``model``'s train and predict steps before the clock starts (weights restored)."""
    from helpers import timing

    start = time.perf_counter()
    # The warm-up every timed Keras fit gets (helpers.timing): the fit's own batch shapes, validation included.
    timing.warm_up_keras_fit(model, x, y, batch_size=batch_size, validation_split=validation_split)
    _warm_up_predict(model, x, predict_rows or len(x))
    return time.perf_counter() - start


def _warm_up_predict(model, x, predict_rows):
    """Compile the predict step for the full and the last, partial batch of ``predict_rows`` rows."""
    # Fewer rows than one batch: the timed predict is one batch of exactly that many rows.
    rows = predict_rows if predict_rows < PREDICT_BATCH_SIZE else PREDICT_BATCH_SIZE + predict_rows % PREDICT_BATCH_SIZE
    # Fewer training rows than that (the scaling study's small sizes): repeat them to the same shapes.
    sample = x[:rows] if len(x) >= rows else np.resize(x, (rows,) + tuple(x.shape[1:]))
    model.predict(sample, batch_size=PREDICT_BATCH_SIZE, verbose=0)


def _timed_predict(model, x):
    start = time.perf_counter()
    scores = model.predict(x, batch_size=PREDICT_BATCH_SIZE, verbose=0)
    return np.asarray(scores).argmax(axis=1), time.perf_counter() - start


# --------------------------------------------------------------------------- approaches


def _run_keras(approach, data, *, epochs, batch_size, output_dim, scale, seed):
    import keras

    from helpers import models

    x, y = data["x_train"], data["y_train"]
    n_features, n_classes = x.shape[1], data["n_classes"]
    y_onehot = keras.utils.to_categorical(y, n_classes)
    validation_split = 0.0
    notes = ""
    if approach == "seed_quasi_svm":
        recipe = dict(SEED_RECIPE)
        epochs = epochs or recipe["epochs"]
        batch_size = batch_size or recipe["batch_size"]
        params = dict(
            output_dim=output_dim or recipe["output_dim"],
            scale=scale or recipe["scale"],
            learning_rate=recipe["learning_rate"],
            loss=recipe["loss"],
        )
        model = models.build_quasi_svm(n_features, n_classes, seed=seed, **params)
        validation_split = recipe["validation_split"]
        notes = (
            "keras.io recipe unchanged, incl. validation_split=0.2: trains on the first 80% "
            "of the training rows"
        )
    else:  # deep_hinge
        epochs, batch_size = epochs or BASELINE_EPOCHS, batch_size or BASELINE_BATCH_SIZE
        model = models.build_deep_hinge(n_features, n_classes, seed=seed)
        params = dict(hidden_units=[128, 64, 32, 16], l2=0.01, loss="hinge", learning_rate=1e-3)
        notes = "MLP with an L2 hinge head (builder defaults); learned features, not a kernel SVM"
    params.update(epochs=epochs, batch_size=batch_size, validation_split=validation_split)
    warmup = _warm_up_keras(
        model, x, y_onehot, batch_size, validation_split, predict_rows=len(data["x_test"])
    )
    start = time.perf_counter()
    model.fit(
        x, y_onehot, epochs=epochs, batch_size=batch_size, validation_split=validation_split,
        verbose=0,
    )
    fit_seconds = time.perf_counter() - start
    predictions, predict_seconds = _timed_predict(model, data["x_test"])
    n_fit = _n_fit(len(x), validation_split)
    multiply_adds = flops.fit_multiply_adds(
        _matrix_products(model), n_fit, epochs, validation_rows=len(x) - n_fit
    )
    return dict(
        n_train=n_fit, fit_multiply_adds=multiply_adds, fit_gflops=flops.gflops(multiply_adds, fit_seconds),
        epochs=epochs, batch_size=batch_size, fit_seconds=fit_seconds,
        predict_seconds=predict_seconds, seconds_per_epoch=fit_seconds / epochs,
        warmup_seconds=warmup, trainable_params=svm.count_params(model), params=params,
        notes=notes,
    ), predictions


def _matrix_products(model):
    """One row's forward pass of a ``Sequential`` Keras model as ``flops.fit_multiply_adds`` takes
    it: each 2-D weight (a ``Dense`` kernel, a random-feature projection) with whether it is trained.

    Only matrices count as trained: a trained scale or bias under an untrained projection (none in
    the harness: its random-feature layers train nothing) would need input gradients not counted.
    """
    products = []
    for layer in model.layers:
        trained = {id(w) for w in layer.trainable_weights}
        products += [(w.shape[0], w.shape[1], id(w) in trained) for w in layer.weights if len(w.shape) == 2]
    return products


def _linear_objective(coef, intercept, data):
    """Keras' objective of ``linear_svm`` for (coef (K, d), intercept (K,)): 2λ × sklearn's primal."""
    c = svm.c_from_l2(LINEAR_L2, len(data["x_train"]), data["n_classes"])
    primal = svm.ovr_hinge_objectives(coef, intercept, data["x_train"], data["y_train"], c)
    return 2.0 * LINEAR_L2 * float(np.sum(primal))


def _run_linear_svm(data, *, seed):
    """Keras' Dense + l2 + hinge, trained to its objective's minimum (no epochs, no batches)."""
    import keras

    from helpers import models

    x, y = data["x_train"], data["y_train"]
    n_classes = data["n_classes"]
    model = models.build_linear_svm(x.shape[1], n_classes, l2=LINEAR_L2, loss="hinge", seed=seed)
    start = time.perf_counter()
    info = models.fit_to_convergence(model, x, keras.utils.to_categorical(y, n_classes))
    fit_seconds = time.perf_counter() - start
    # The solver runs eagerly (nothing to compile); only the predict step is warmed up.
    start = time.perf_counter()
    _warm_up_predict(model, x, len(data["x_test"]))
    warmup = time.perf_counter() - start
    predictions, predict_seconds = _timed_predict(model, data["x_test"])
    dense = [layer for layer in model.layers if layer.weights][0]
    coef = keras.ops.convert_to_numpy(dense.kernel).T
    intercept = keras.ops.convert_to_numpy(dense.bias)
    params = dict(
        l2=LINEAR_L2, c=svm.c_from_l2(LINEAR_L2, len(x), n_classes), loss="hinge",
        solver="models.fit_to_convergence", tol=info["tol"], steps=info["steps"],
        converged=info["converged"],
    )
    notes = (
        "Dense(K) + l2 + hinge on the raw features, trained to the minimum of Keras' objective "
        f"(fit_to_convergence: {info['message']}); the same SVM as sklearn_linear_svc"
    )
    if not info["converged"]:
        notes += "; DID NOT CONVERGE"
    return dict(
        n_train=len(x), epochs=None, batch_size=None, fit_seconds=fit_seconds,
        predict_seconds=predict_seconds, seconds_per_epoch=None, warmup_seconds=warmup,
        trainable_params=svm.count_params(model),
        svm_objective=_linear_objective(coef, intercept, data), params=params, notes=notes,
    ), predictions


def _run_quasi_svm(data, *, epochs, batch_size, output_dim, scale, seed, seed_target,
                   feature_map=None, gamma_factor=None, predict_repeats=1):
    import keras

    from helpers import models

    x, y = data["x_train"], data["y_train"]
    overrides = {
        key: value
        for key, value in dict(
            epochs=epochs, batch_size=batch_size, output_dim=output_dim, scale=scale,
            gamma_factor=gamma_factor,
        ).items()
        if value is not None
    }
    recipe = dict(models.QUASI_SVM_RECIPE, **overrides)
    model, info = models.fit_quasi_svm(
        x, keras.utils.to_categorical(y, data["n_classes"]), seed=seed,
        monitor=(data["x_test"], data["y_test"]), return_info=True,
        feature_map=feature_map or "rff", **recipe,
    )
    # Warm up the full model's predict step (raw inputs -> features -> scores) too.
    start = time.perf_counter()
    _warm_up_predict(model, x, len(data["x_test"]))
    info["warmup_seconds"] += time.perf_counter() - start
    predictions, predict_seconds = _timed_predict(model, data["x_test"])
    # On a shared machine one timing can double; the fastest of several is the model's own cost.
    repeats = [predict_seconds] + [_timed_predict(model, data["x_test"])[1] for _ in range(predict_repeats - 1)]
    predict_seconds = min(repeats)
    curve = info["curve"]
    to_target = None
    if seed_target is not None:
        reached = [seconds for _, seconds, acc in curve if acc >= seed_target]
        to_target = info["feature_seconds"] + reached[0] if reached else None
    if scale is not None:
        recipe.pop("gamma_factor", None)  # a given scale is used as is
    # The cached features (once), then the head's epochs; the monitor's test features are off the clock.
    n_classes, output_dim = data["n_classes"], recipe["output_dim"]
    feature_multiply_adds = flops.feature_multiply_adds(info["feature_map"], len(x), x.shape[1], output_dim)
    head_multiply_adds = flops.fit_multiply_adds([(output_dim, n_classes, True)], len(x), recipe["epochs"])
    fit_seconds = info["feature_seconds"] + info["train_seconds"]
    recipe.update(
        feature_map=info["feature_map"],
        scale=info["scale"], gamma=svm.gamma_from_scale(info["scale"]),
        sklearn_scale_gamma=svm.gamma_scale_heuristic(x), l2=info["l2"],
        learning_rate=info["learning_rate"],
    )
    return dict(
        n_train=len(x), epochs=recipe["epochs"], batch_size=recipe["batch_size"],
        fit_seconds=fit_seconds, fit_multiply_adds=feature_multiply_adds + head_multiply_adds,
        fit_gflops=flops.gflops(feature_multiply_adds + head_multiply_adds, fit_seconds),
        train_gflops=flops.gflops(head_multiply_adds, info["train_seconds"]),
        predict_seconds=predict_seconds, predict_seconds_repeats=repeats,
        seconds_per_epoch=info["train_seconds"] / recipe["epochs"],
        feature_seconds=info["feature_seconds"], train_seconds=info["train_seconds"],
        warmup_seconds=info["warmup_seconds"], trainable_params=svm.count_params(model),
        seconds_to_seed_accuracy=to_target,
        test_accuracy_curve=[round(acc, 4) for _, _, acc in curve],
        test_accuracy_curve_seconds=[info["feature_seconds"] + seconds for _, seconds, _ in curve],
        params=recipe,
        notes=f"{info['feature_map']} features cached once (feature_seconds, included in fit_seconds); "
        "Dense head trained by Keras on them; the returned model predicts on raw inputs. "
        "gamma = gamma_factor x sklearn's 'scale' (sklearn_svc uses 1x), l2 from C",
    ), predictions


def _run_sklearn(approach, data):
    from sklearn.svm import SVC

    x, y = data["x_train"], data["y_train"]
    if approach == "sklearn_linear_svc":
        return _run_linear_reference(data)
    model = SVC(kernel="rbf", gamma="scale", C=SVC_C)
    params = dict(kernel="rbf", gamma="scale", C=SVC_C)
    notes = "exact RBF SVC (libsvm, one-vs-one)"
    start = time.perf_counter()
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(x, y)
    fit_seconds = time.perf_counter() - start
    if any(issubclass(w.category, ConvergenceWarning) for w in caught):
        notes += "; did not converge (ConvergenceWarning)"
    start = time.perf_counter()
    predictions = model.predict(data["x_test"])
    predict_seconds = time.perf_counter() - start
    stored = model.dual_coef_.size + model.intercept_.size
    params["n_support_vectors"] = int(model.n_support_.sum())
    return dict(
        n_train=len(x), epochs=None, batch_size=None, fit_seconds=fit_seconds,
        predict_seconds=predict_seconds, seconds_per_epoch=None, trainable_params=int(stored),
        params=params, notes=notes + "; trainable_params = fitted coefficients + intercepts",
    ), np.asarray(predictions)


def _run_linear_reference(data):
    """scikit-learn's exact one-vs-rest linear SVM, free intercept, at linear_svm's C."""
    x, y = data["x_train"], data["y_train"]
    c = svm.c_from_l2(LINEAR_L2, len(x), data["n_classes"])
    start = time.perf_counter()
    coef, intercept = svm.linear_svm_reference(x, y, c)
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    predictions = np.argmax(data["x_test"] @ coef.T.astype(np.float32) + intercept.astype(np.float32), axis=1)
    predict_seconds = time.perf_counter() - start
    return dict(
        n_train=len(x), epochs=None, batch_size=None, fit_seconds=fit_seconds,
        predict_seconds=predict_seconds, seconds_per_epoch=None,
        trainable_params=int(coef.size + intercept.size),
        svm_objective=_linear_objective(coef, intercept, data),
        params=dict(C=c, l2=LINEAR_L2, loss="hinge", multi_class="ovr",
                    solver="svm.linear_svm_reference (liblinear)"),
        notes="exact one-vs-rest linear SVM, free intercept (liblinear refitted until its "
        "penalised intercept is about 0), C = c_from_l2(l2, n, K): the same SVM as linear_svm; "
        "predicts with one matrix product; trainable_params = coefficients + intercepts",
    ), predictions


# --------------------------------------------------------------------------- the harness


def _positive_int_or_none(name, value):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"`{name}` must be a positive integer or None. Received: {name}={value!r}")
    return int(value)


def run_benchmark(
    datasets=("mnist",),
    approaches=APPROACHES,
    *,
    epochs=None,
    batch_size=None,
    output_dim=None,
    scale=None,
    n_train=None,
    n_test=None,
    seed=0,
    mnist_path=None,
    out=None,
    verbose=True,
    feature_map=None,
    gamma_factor=None,
):
    """Run each approach on each dataset; return one record (dict) per pair.

    ``datasets``: names from ``DATASETS`` or paths to CSV files (label in the last column).
    ``approaches``: names from ``APPROACHES``. ``epochs``/``batch_size`` override the default
    of every Keras approach trained by epochs (not ``linear_svm``, which is trained to
    convergence), ``output_dim``/``scale`` both RFF approaches' (``None``: each approach's
    own). ``feature_map`` and ``gamma_factor`` override ``quasi_svm``'s kernel approximation
    and γ factor (``helpers.models.fit_quasi_svm``; ``gamma_factor=1`` is the exact SVC's γ).
    ``out``: a path to write the records to as JSON. ``verbose``: print a line per
    record and the table at the end. See the module docstring for what is timed.
    """
    if isinstance(datasets, str):
        datasets = (datasets,)
    if isinstance(approaches, str):
        approaches = (approaches,)
    datasets, approaches = list(datasets), list(approaches)
    if not datasets or not approaches:
        raise ValueError("`datasets` and `approaches` must name at least one each.")
    for name in approaches:
        _check_name("approach", name, APPROACHES)
    for name in datasets:
        if name not in DATASETS and not _is_csv(name):
            raise ValueError(
                f"Unknown dataset {name!r}. Expected one of {list(DATASETS)} or a path to a .csv file."
            )
    epochs = _positive_int_or_none("epochs", epochs)
    batch_size = _positive_int_or_none("batch_size", batch_size)
    output_dim = _positive_int_or_none("output_dim", output_dim)
    n_train = _positive_int_or_none("n_train", n_train)
    n_test = _positive_int_or_none("n_test", n_test)
    if scale is not None and not scale > 0:
        raise ValueError(f"`scale` must be a positive number or None. Received: scale={scale!r}")
    if gamma_factor is not None and not gamma_factor > 0:
        raise ValueError(f"`gamma_factor` must be a positive number or None. Received: gamma_factor={gamma_factor!r}")
    if feature_map is not None:
        from helpers.models import FEATURE_MAPS

        _check_name("feature_map", feature_map, FEATURE_MAPS)
    # sklearn_svc first (its predictions are the agreement reference), seed before quasi_svm
    # (its accuracy is quasi_svm's time-to-accuracy target); otherwise the order given.
    order = sorted(approaches, key=lambda a: {"sklearn_svc": 0, "seed_quasi_svm": 1}.get(a, 2))

    import keras

    keras.utils.set_random_seed(seed)
    backend, device, found_versions = keras.backend.backend(), device_name(), versions()
    # The machine's own float32 matrix-product rate, the yardstick of every fit's fit_gflops.
    matmul_load_average = os.getloadavg()[0]
    matmul_rate = flops.matmul_gflops()
    date = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    records = []
    for dataset in datasets:
        data = load_dataset(dataset, n_train=n_train, n_test=n_test, seed=seed, mnist_path=mnist_path)
        predictions, by_approach = {}, {}
        for approach in order:
            keras.utils.set_random_seed(seed)
            if approach == "quasi_svm":
                seed_record = by_approach.get("seed_quasi_svm")
                if seed_record is not None:
                    target, source = seed_record["test_accuracy"], "seed_quasi_svm in this run"
                else:
                    target = SEED_REFERENCE_ACCURACY.get(dataset)
                    source = "keras.io reference figure" if target is not None else None
                result, predicted = _run_quasi_svm(
                    data, epochs=epochs, batch_size=batch_size, output_dim=output_dim,
                    scale=scale, seed=seed, seed_target=target, feature_map=feature_map,
                    gamma_factor=gamma_factor,
                )
                result.update(seed_accuracy_target=target, seed_accuracy_source=source)
            elif approach.startswith("sklearn"):
                result, predicted = _run_sklearn(approach, data)
            elif approach == "linear_svm":
                result, predicted = _run_linear_svm(data, seed=seed)
            else:
                result, predicted = _run_keras(
                    approach, data, epochs=epochs, batch_size=batch_size,
                    output_dim=output_dim, scale=scale, seed=seed,
                )
            predictions[approach] = predicted
            record = dict.fromkeys(RECORD_KEYS)
            record.update(
                dataset=str(dataset), approach=approach, backend=backend, device=device,
                n_test=len(data["y_test"]), n_features=int(data["x_train"].shape[1]),
                n_classes=data["n_classes"], load_seconds=data["load_seconds"],
                data=data["description"], versions=found_versions, date=date,
                matmul_gflops=matmul_rate, matmul_load_average=matmul_load_average,
                load_average=os.getloadavg()[0],
            )
            record.update(result)
            record["test_accuracy"] = float(np.mean(predicted == data["y_test"]))
            if "sklearn_svc" in predictions:
                reference = predictions["sklearn_svc"]
                record["agreement_with_svc"] = compare.agreement(predicted, reference)
                record["agreement_floor"] = compare.agreement_floor(
                    record["test_accuracy"], float(np.mean(reference == data["y_test"]))
                )
                errors = compare.agreement_on_errors(predicted, reference, data["y_test"])
                record["agreement_on_svc_errors"] = None if np.isnan(errors) else errors
            pair = PAIRS.get(approach)
            if pair in predictions:  # the second of the pair to run fills in both records
                agreement = compare.agreement(predicted, predictions[pair])
                record["agreement_with_pair"] = agreement
                by_approach[pair]["agreement_with_pair"] = agreement
            record["peak_rss_mb"] = peak_rss_mb()
            by_approach[approach] = record
            if verbose:
                print(
                    f"{dataset} {approach}: acc {record['test_accuracy']:.4f}, fit "
                    f"{record['fit_seconds']:.1f}s, predict {record['predict_seconds']:.2f}s, "
                    f"peak RSS {record['peak_rss_mb']:.0f} MB",
                    flush=True,
                )
        records.extend(by_approach[a] for a in approaches)
    records = [_jsonable(r) for r in records]
    if out is not None:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps(records, indent=2) + "\n")
    if verbose:
        import pandas as pd

        with pd.option_context("display.width", 200, "display.max_columns", 30):
            table = records_table(records)[[c for c in TABLE_COLUMNS]]
            print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    return records


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float):
        # 8 significant digits, not decimals: C = 2.2027e-4 and an objective's 1e-6 differences
        # must survive, and times need no more.
        return float(f"{value:.8g}")
    return value


def records_table(records):
    """The records as a ``pandas.DataFrame``, one row each, the main columns first."""
    import pandas as pd

    frame = pd.DataFrame(list(records))
    first = [c for c in TABLE_COLUMNS if c in frame.columns]
    return frame[first + [c for c in frame.columns if c not in first]]


# --------------------------------------------------------------------------- scaling study

SCALING_SIZES = (1000, 2000, 5000, 10000, 20000)
SCALING_DATASETS = ("mnist", "fashion_mnist", "four_class")
SCALING_KEYS = (
    "dataset", "n_train", "n_test", "svc_fit_seconds", "svc_predict_libsvm_seconds",
    "svc_predict_libsvm_rows", "svc_predict_libsvm_seconds_full_test", "svc_predict_blas_seconds",
    "blas_equals_libsvm", "svc_support_vectors", "svc_test_accuracy", "svc_converged",
    "quasi_fit_seconds", "quasi_feature_seconds", "quasi_train_seconds", "quasi_warmup_seconds",
    "quasi_predict_seconds", "quasi_trainable_params", "quasi_test_accuracy",
    "quasi_agreement_with_svc", "agreement_floor", "peak_rss_mb", "load_average",
    "elapsed_seconds",
)


def fit_power_law(n, seconds):
    """``(k, a)`` with ``seconds ≈ a · n**k``: least squares on log(seconds) against log(n).

    The slope k of a log-log plot is the exponent of the cost's growth: 1 is linear, 2 is
    quadratic. Needs at least two distinct n and positive times.
    """
    n, seconds = np.asarray(n, dtype=float), np.asarray(seconds, dtype=float)
    if n.shape != seconds.shape or n.ndim != 1:
        raise ValueError(f"`n` and `seconds` must be 1-D of one length. Received: {n.shape}, {seconds.shape}")
    if len(np.unique(n)) < 2:
        raise ValueError(f"`n` must hold at least two distinct sizes. Received: n={n.tolist()}")
    if np.any(n <= 0) or np.any(seconds <= 0):
        raise ValueError("`n` and `seconds` must be positive (a power law is fitted to their logs).")
    k, log_a = np.polyfit(np.log(n), np.log(seconds), 1)
    return float(k), float(np.exp(log_a))


def power_law_crossover(slow, fast):
    """The n where ``fast = (k, a)`` becomes cheaper than ``slow = (k, a)``, or ``None``.

    ``None`` when ``fast`` does not grow more slowly (same or larger slope): then it never
    overtakes ``slow`` as n grows.
    """
    (k_slow, a_slow), (k_fast, a_fast) = slow, fast
    if k_slow <= k_fast:
        return None
    return float((a_fast / a_slow) ** (1.0 / (k_slow - k_fast)))


def _cheaper_from(sizes, slow, fast):
    """The smallest measured n from which ``fast`` is below ``slow`` at every larger measured n."""
    found = None
    for n, s, f in reversed(list(zip(sizes, slow, fast))):
        if f < s:
            found = n
        else:
            break
    return found


SCALING_SERIES = {
    "svc_fit": "svc_fit_seconds",
    "quasi_fit": "quasi_fit_seconds",
    "svc_predict_libsvm": "svc_predict_libsvm_seconds_full_test",
    "svc_predict_blas": "svc_predict_blas_seconds",
    "quasi_predict": "quasi_predict_seconds",
}


def scaling_summary(records):
    """Slopes (``time ∝ n^k``) of each cost, and where ``quasi_svm`` becomes the cheaper one.

    ``crossovers[...]["fitted_n"]`` is where the fitted lines cross (``None`` if they do not
    cross with quasi_svm growing slower); ``extrapolated`` says whether that n lies outside the
    measured sizes; ``measured_from_n`` is the smallest measured n from which quasi_svm was
    cheaper at every larger measured size (``None``: never at the largest).
    """
    sizes = [r["n_train"] for r in records]
    summary = dict(sizes=sizes, slopes={}, prefactors={}, crossovers={})
    if len(set(sizes)) < 2:
        return summary
    lines = {}
    for name, key in SCALING_SERIES.items():
        k, a = fit_power_law(sizes, [r[key] for r in records])
        lines[name] = (k, a)
        summary["slopes"][name] = k
        summary["prefactors"][name] = a
    for label, slow, fast in (
        ("fit", "svc_fit", "quasi_fit"),
        ("predict_libsvm", "svc_predict_libsvm", "quasi_predict"),
        ("predict_blas", "svc_predict_blas", "quasi_predict"),
    ):
        crossing = power_law_crossover(lines[slow], lines[fast])
        summary["crossovers"][label] = dict(
            fitted_n=crossing,
            extrapolated=None if crossing is None else not (min(sizes) <= crossing <= max(sizes)),
            measured_from_n=_cheaper_from(
                sizes, [r[SCALING_SERIES[slow]] for r in records],
                [r[SCALING_SERIES[fast]] for r in records],
            ),
        )
    return summary


def fit_reference_svc(x, y, x_test, libsvm_rows=None):
    """The harness' exact SVC (``sklearn_svc``: gamma='scale', C=SVC_C), fitted and timed, with
    its prediction timed twice: libsvm's own (on the first ``libsvm_rows`` test rows; None: all)
    and the same SVC by matrix products (``svm.rbf_svc_predict``, all rows). Returns a dict:
    ``model``, ``fit_seconds``, ``converged``, ``libsvm_rows``, ``libsvm_labels``,
    ``libsvm_seconds``, ``blas_labels``, ``blas_seconds``."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.svm import SVC

    model = SVC(kernel="rbf", gamma="scale", C=SVC_C)
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(x, y)
    fit_seconds = time.perf_counter() - start
    rows = len(x_test) if libsvm_rows is None else min(libsvm_rows, len(x_test))
    start = time.perf_counter()
    libsvm_labels = np.asarray(model.predict(x_test[:rows]))
    libsvm_seconds = time.perf_counter() - start
    start = time.perf_counter()
    blas_labels = svm.rbf_svc_predict(model, x_test)
    blas_seconds = time.perf_counter() - start
    return dict(
        model=model, fit_seconds=fit_seconds,
        converged=not any(issubclass(w.category, ConvergenceWarning) for w in caught),
        libsvm_rows=rows, libsvm_labels=libsvm_labels, libsvm_seconds=libsvm_seconds,
        blas_labels=blas_labels, blas_seconds=blas_seconds,
    )


def _scaling_point(data, n, *, seed, libsvm_rows, quasi_overrides):
    """Fit the exact SVC and quasi_svm on the first ``n`` rows of ``data`` (already nested)."""
    x, y = data["x_train"][:n], data["y_train"][:n]
    x_test, y_test = data["x_test"], data["y_test"]
    svc = fit_reference_svc(x, y, x_test, libsvm_rows)
    model, rows, blas_labels, libsvm_seconds = (
        svc["model"], svc["libsvm_rows"], svc["blas_labels"], svc["libsvm_seconds"]
    )
    sub = {"x_train": x, "y_train": y, "x_test": x_test, "y_test": y_test,
           "n_classes": data["n_classes"]}
    quasi, quasi_labels = _run_quasi_svm(
        sub, seed=seed, seed_target=None, epochs=quasi_overrides.get("epochs"),
        batch_size=quasi_overrides.get("batch_size"), output_dim=quasi_overrides.get("output_dim"),
        scale=None,
    )
    svc_acc = float(np.mean(blas_labels == y_test))
    quasi_acc = float(np.mean(quasi_labels == y_test))
    return dict(
        n_train=int(n), n_test=int(len(y_test)), svc_fit_seconds=svc["fit_seconds"],
        svc_predict_libsvm_seconds=libsvm_seconds, svc_predict_libsvm_rows=int(rows),
        # libsvm's predict is one independent loop per row: its time is linear in the rows.
        svc_predict_libsvm_seconds_full_test=libsvm_seconds * len(y_test) / rows,
        svc_predict_blas_seconds=svc["blas_seconds"],
        blas_equals_libsvm=float(np.mean(blas_labels[:rows] == svc["libsvm_labels"])),
        svc_support_vectors=int(model.n_support_.sum()), svc_test_accuracy=svc_acc,
        svc_converged=svc["converged"], svc_gamma=float(model._gamma), svc_c=SVC_C,
        quasi_fit_seconds=quasi["fit_seconds"], quasi_feature_seconds=quasi["feature_seconds"],
        quasi_train_seconds=quasi["train_seconds"], quasi_warmup_seconds=quasi["warmup_seconds"],
        quasi_predict_seconds=quasi["predict_seconds"],
        quasi_trainable_params=quasi["trainable_params"], quasi_test_accuracy=quasi_acc,
        quasi_params=quasi["params"],
        quasi_agreement_with_svc=compare.agreement(quasi_labels, blas_labels),
        agreement_floor=compare.agreement_floor(quasi_acc, svc_acc),
    )


_COST_PARTS = ("svc_fit_seconds", "svc_predict_libsvm_seconds", "svc_predict_blas_seconds",
               "quasi_fit_seconds", "quasi_predict_seconds")


def _estimate_seconds(done, n):
    """Seconds the next size ``n`` should take, extrapolated part by part from the sizes done.

    Each timed part (and the untimed rest) grows from its value at the last size with its own
    slope between the last two sizes, never less than 1: a fit over all sizes is flattened by
    the small sizes' fixed costs and would promise too much (the exact SVC's fit on
    Fashion-MNIST went from slope 1.6 over all sizes to 2.3 between 10,000 and 20,000). With one
    size done, the SVC's fit is taken to grow like n² and the rest like n.
    """
    last = done[-1]
    ratio = n / last["n_train"]
    total = 0.0
    for key in _COST_PARTS:
        k = 2.0 if key == "svc_fit_seconds" else 1.0
        if len(done) >= 2 and done[-2][key] > 0 and last[key] > 0:
            k = max(1.0, math.log(last[key] / done[-2][key]) / math.log(last["n_train"] / done[-2]["n_train"]))
        total += last[key] * ratio ** k
    rest = max(0.0, last["point_seconds"] - sum(last[key] for key in _COST_PARTS))
    return total + rest * ratio


def run_scaling(
    dataset="mnist",
    sizes=None,
    *,
    time_budget=None,
    n_test=None,
    libsvm_predict_rows=None,
    seed=0,
    mnist_path=None,
    out=None,
    quasi_overrides=None,
    verbose=True,
):
    """The scaling study: exact RBF SVC against ``quasi_svm`` as the training set grows.

    For each n in ``sizes`` (default ``SCALING_SIZES`` then every training row), both are
    fitted on the first n rows of one class-balanced shuffle of the training set
    (``helpers.data.subsample`` with ``seed``: the rows of each size contain those of every
    smaller size) and predict the test set. Per size, one record: fit seconds, libsvm's
    predict seconds (on the first ``libsvm_predict_rows`` test rows, scaled to the full test
    set in ``svc_predict_libsvm_seconds_full_test``; its time is linear in the rows), the same
    SVC's prediction by matrix products (``svm.rbf_svc_predict``, the full test set), support
    vectors, accuracies, agreement with the SVC and its floor. The SVC is the harness'
    ``sklearn_svc`` (gamma='scale', C=``SVC_C``), ``quasi_svm`` the harness' recipe.

    ``time_budget`` (seconds): before each size, the time it should take is extrapolated from
    the sizes done; when the run would pass the budget it stops there, and ``stopped`` says at
    which n and why. The result (written to ``out`` after every size, so an interrupted run
    keeps what it measured) is ``dict(meta, records, summary, stopped)``; ``summary`` holds the
    fitted slopes and crossovers (``scaling_summary``).
    """
    _check_name("dataset", dataset, SCALING_DATASETS)
    if time_budget is not None and not time_budget > 0:
        raise ValueError(f"`time_budget` must be a positive number of seconds or None. Received: {time_budget!r}")
    libsvm_predict_rows = _positive_int_or_none("libsvm_predict_rows", libsvm_predict_rows)
    n_test = _positive_int_or_none("n_test", n_test)
    quasi_overrides = dict(quasi_overrides or {})
    bad = set(quasi_overrides) - {"epochs", "batch_size", "output_dim"}
    if bad:
        raise ValueError(f"`quasi_overrides` may set epochs, batch_size, output_dim. Received: {sorted(bad)}")
    started = time.perf_counter()
    import keras

    data = load_dataset(dataset, n_test=n_test, seed=seed, mnist_path=mnist_path)
    # One class-balanced shuffle of all rows; "the first n" of it is nested in n.
    order = hdata.balanced_order(data["y_train"], seed)
    data["x_train"], data["y_train"] = data["x_train"][order], data["y_train"][order]
    available = len(data["y_train"])
    if sizes is None:
        sizes = [s for s in SCALING_SIZES if s < available] + [available]
    sizes = sorted({int(_positive_int_or_none("sizes", s)) for s in sizes})
    too_big = [s for s in sizes if s > available]
    if too_big:
        raise ValueError(f"`sizes` {too_big} exceed the {available:,} training rows of {dataset}.")
    meta = dict(
        dataset=dataset, data=data["description"], sizes=sizes, n_test=len(data["y_test"]),
        sample="class-balanced shuffle of the training rows (helpers.data.subsample order, "
        f"seed {seed}); size n uses its first n rows, so each size contains the smaller ones",
        libsvm_predict_rows=libsvm_predict_rows, time_budget_seconds=time_budget,
        load_seconds=data["load_seconds"], backend=keras.backend.backend(), device=device_name(),
        cpu_count=os.cpu_count(), versions=versions(), quasi_overrides=quasi_overrides,
        date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        svc=dict(kernel="rbf", gamma="scale", C=SVC_C),
    )
    result = dict(meta=meta, records=[], summary=scaling_summary([]), stopped=None)

    def write():
        if out is not None:
            Path(out).parent.mkdir(parents=True, exist_ok=True)
            Path(out).write_text(json.dumps(_jsonable(result), indent=2) + "\n")

    for n in sizes:
        elapsed = time.perf_counter() - started
        if time_budget is not None and result["records"]:
            estimate = _estimate_seconds(result["records"], n)
            if elapsed + estimate > time_budget:
                result["stopped"] = dict(
                    before_n=n, elapsed_seconds=elapsed, estimated_seconds=estimate,
                    reason=f"n={n:,} would take about {estimate:.0f} s (extrapolated from the "
                    f"sizes done) and the budget of {time_budget:.0f} s has {time_budget - elapsed:.0f} s left",
                )
                if verbose:
                    print(f"{dataset}: stopped before n={n}: {result['stopped']['reason']}", flush=True)
                break
        keras.utils.set_random_seed(seed)
        point_start = time.perf_counter()
        record = dict(dataset=dataset)
        record.update(_scaling_point(data, n, seed=seed, libsvm_rows=libsvm_predict_rows,
                                     quasi_overrides=quasi_overrides))
        record.update(
            point_seconds=time.perf_counter() - point_start, peak_rss_mb=peak_rss_mb(),
            load_average=os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
            elapsed_seconds=time.perf_counter() - started,
        )
        result["records"].append(record)
        result["summary"] = scaling_summary(result["records"])
        write()
        if verbose:
            print(
                f"{dataset} n={n}: SVC fit {record['svc_fit_seconds']:.1f}s, predict libsvm "
                f"{record['svc_predict_libsvm_seconds_full_test']:.1f}s / BLAS "
                f"{record['svc_predict_blas_seconds']:.2f}s, {record['svc_support_vectors']} SVs, "
                f"acc {record['svc_test_accuracy']:.4f}; quasi_svm fit {record['quasi_fit_seconds']:.1f}s, "
                f"predict {record['quasi_predict_seconds']:.2f}s, acc {record['quasi_test_accuracy']:.4f}, "
                f"agreement {record['quasi_agreement_with_svc']:.4f}",
                flush=True,
            )
    write()
    return _jsonable(result)


def plot_scaling(results, path=None):
    """Log-log panels (fit, predict) per dataset: measured times as points, fitted lines dashed."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, NullFormatter

    if isinstance(results, dict):
        results = [results]
    fig, axes = plt.subplots(len(results), 2, figsize=(11, 4.2 * len(results)), squeeze=False)
    styles = {
        "svc_fit": ("exact SVC (libsvm)", "C0", "o"),
        "quasi_fit": ("quasi_svm", "C1", "s"),
        "svc_predict_libsvm": ("exact SVC, libsvm predict", "C0", "o"),
        "svc_predict_blas": ("exact SVC, BLAS predict", "C2", "^"),
        "quasi_predict": ("quasi_svm", "C1", "s"),
    }
    for row, result in zip(axes, results):
        records, summary = result["records"], result["summary"]
        sizes = np.array([r["n_train"] for r in records], dtype=float)
        grid = np.geomspace(sizes.min(), sizes.max(), 50)
        for ax, names, what in (
            (row[0], ("svc_fit", "quasi_fit"), "fit"),
            (row[1], ("svc_predict_libsvm", "svc_predict_blas", "quasi_predict"), "predict the test set"),
        ):
            for name in names:
                label, color, marker = styles[name]
                ax.loglog(sizes, [r[SCALING_SERIES[name]] for r in records], marker, color=color)
                if name in summary["slopes"]:
                    k, a = summary["slopes"][name], summary["prefactors"][name]
                    ax.loglog(grid, a * grid ** k, "--", color=color, label=f"{label}: slope {k:.2f}")
            # Plain tick labels: log axes default to mathtext (10^k), whose font lookups print
            # "findfont" warnings into notebook outputs where the STIX/Computer Modern fonts are missing.
            for axis in (ax.xaxis, ax.yaxis):
                axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
                axis.set_minor_formatter(NullFormatter())
            ax.set_xlabel("training rows n")
            ax.set_ylabel("seconds")
            ax.set_title(f"{result['meta']['dataset']}: {what}")
            ax.legend(fontsize=8)
            ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=110)
    return fig


def _sizes(text):
    return [_positive_int(part) for part in text.replace(",", " ").split() if part]


# --------------------------------------------------------------------------- CLI


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {value}")
    return value


def _names(text):
    return [name for name in text.replace(",", " ").split() if name]


def _unwritable_reason(path):
    """Why a file could not be written at ``path`` (None if it could), found without writing anything."""
    path = Path(path).expanduser().absolute()
    if path.is_dir():
        return f"{path} is a folder; give a file name"
    if path.exists():
        return None if os.access(path, os.W_OK) else f"{path} is not writable"
    folder = path.parent
    while not folder.exists():  # the first folder that exists must hold the ones to create
        folder = folder.parent
    if not folder.is_dir():
        return f"{folder} is a file, so the folder {path.parent} cannot be created"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"cannot write in {folder}"
    return None


def _check_inputs(parser, args):
    """Every path and dataset the run will need, checked before the first fit (which may be hours in)."""
    outputs = [("--out", args.out)]
    if args.scaling_plot:
        outputs.append(("--scaling-plot", args.scaling_plot[0]))
        missing = [f for f in args.scaling_plot[1:] if not Path(f).is_file()]
        if missing:
            parser.error(f"argument --scaling-plot: records file(s) not found: {missing}")
    for option, path in outputs:
        reason = path is not None and _unwritable_reason(path)
        if reason:
            parser.error(f"argument {option}: {reason}")
    datasets = [args.dataset] if args.scaling else [] if args.scaling_plot else args.datasets
    mnist_path = args.mnist_path or os.environ.get("MNIST_NPZ")
    if "mnist" in datasets and mnist_path and not Path(mnist_path).is_file():
        where = "--mnist-path" if args.mnist_path else "$MNIST_NPZ"
        parser.error(f"dataset mnist: {where} names {mnist_path}, which is not a file")
    fashion_dir = os.environ.get("FASHION_MNIST_DIR")
    if "fashion_mnist" in datasets and fashion_dir and not Path(fashion_dir).is_dir():
        parser.error(f"dataset fashion_mnist: $FASHION_MNIST_DIR names {fashion_dir}, which is not a folder")
    for name in datasets:
        if name not in DATASETS:  # a CSV: read it now, so that a bad table stops the run here
            try:
                hdata.load_tabular(name)
            except (OSError, ValueError) as err:
                parser.error(f"argument --datasets: {err}")


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m helpers.bench",
        description="Benchmark the Keras SVM approximations against scikit-learn's exact SVMs.",
    )
    parser.add_argument(
        "--datasets", type=_names, default=["mnist"],
        help=f"comma-separated: {', '.join(DATASETS)}, or CSV paths (default: mnist)",
    )
    parser.add_argument(
        "--approaches", type=_names, default=list(APPROACHES),
        help=f"comma-separated subset of: {', '.join(APPROACHES)} (default: all)",
    )
    parser.add_argument(
        "--epochs", type=_positive_int,
        help="override the epochs of every Keras approach but linear_svm (trained to convergence)",
    )
    parser.add_argument(
        "--batch-size", type=_positive_int,
        help="override the batch size of every Keras approach but linear_svm",
    )
    parser.add_argument("--output-dim", type=_positive_int, help="RFF output_dim for both RFF approaches")
    parser.add_argument("--scale", type=_positive_float, help="RFF scale for both RFF approaches")
    parser.add_argument(
        "--feature-map", choices=("rff", "rff_cos", "orf", "nystroem"),
        help="quasi_svm's kernel approximation (default rff: sin/cos random Fourier features)",
    )
    parser.add_argument(
        "--gamma-factor", type=_positive_float,
        help="quasi_svm's gamma as a multiple of the exact SVC's (default 1.5; 1 = the same gamma)",
    )
    parser.add_argument("--n-train", type=_positive_int, help="subsample the training set")
    parser.add_argument("--n-test", type=_positive_int, help="subsample the test set")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--mnist-path", help="Keras-layout mnist.npz (default: $MNIST_NPZ, then Keras)")
    parser.add_argument("--out", help="write the records here as JSON")
    parser.add_argument("--quiet", action="store_true", help="print only the final table")
    scaling = parser.add_argument_group(
        "scaling study (--scaling): exact SVC against quasi_svm as n grows (run_scaling)"
    )
    scaling.add_argument("--scaling", action="store_true", help="run the scaling study instead")
    scaling.add_argument(
        "--sizes", type=_sizes,
        help=f"training sizes, comma-separated (default: {', '.join(map(str, SCALING_SIZES))}, then all rows)",
    )
    scaling.add_argument(
        "--dataset", default="mnist", choices=SCALING_DATASETS, help="the dataset (default: mnist)",
    )
    scaling.add_argument(
        "--time-budget", type=_positive_float,
        help="seconds: stop before a size that would pass this (extrapolated), keep what was measured",
    )
    scaling.add_argument(
        "--libsvm-predict-rows", type=_positive_int,
        help="time libsvm's own predict on this many test rows (scaled to the full test set)",
    )
    scaling.add_argument(
        "--scaling-plot", nargs="+", metavar=("PNG", "RECORDS"),
        help="draw the log-log figure of scaling records (JSON files written by --scaling) into PNG",
    )
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    for option, names, allowed in (("--approaches", args.approaches, APPROACHES),):
        unknown = [n for n in names if n not in allowed]
        if unknown:
            parser.error(f"argument {option}: unknown {unknown}; choose from {list(allowed)}")
    unknown = [n for n in args.datasets if n not in DATASETS and not _is_csv(n)]
    if unknown:
        parser.error(
            f"argument --datasets: unknown {unknown}; choose from {list(DATASETS)} or a .csv path"
        )
    _check_inputs(parser, args)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # Each approach builds a new model, so TensorFlow counts every first predict as a
    # "retracing" and warns; nothing is traced twice for one model (pure noise here).
    from helpers.notebook import quiet_logs

    quiet_logs()
    if args.scaling_plot:
        if len(args.scaling_plot) < 2:
            parser.error("argument --scaling-plot: give the PNG to write, then one or more records files")
        png, *files = args.scaling_plot
        plot_scaling([json.loads(Path(f).read_text()) for f in files], png)
        print(f"wrote {png}")
        return None
    if args.scaling:
        result = run_scaling(
            args.dataset, args.sizes, time_budget=args.time_budget, n_test=args.n_test,
            libsvm_predict_rows=args.libsvm_predict_rows, seed=args.seed,
            mnist_path=args.mnist_path, out=args.out, verbose=not args.quiet,
        )
        print(json.dumps(result["summary"], indent=2))
        return result
    records = run_benchmark(
        datasets=args.datasets, approaches=args.approaches, epochs=args.epochs,
        batch_size=args.batch_size, output_dim=args.output_dim, scale=args.scale,
        n_train=args.n_train, n_test=args.n_test, seed=args.seed, mnist_path=args.mnist_path,
        out=args.out, verbose=True, feature_map=args.feature_map, gamma_factor=args.gamma_factor,
    )
    return records


if __name__ == "__main__":
    main()
