"""Plain ``model.fit`` reaches the exact linear SVM: the schedule, the objective, the per-epoch record.

The step sizes are checked value by value; training is checked against scikit-learn's exact
solution (``svm.linear_svm_reference``) at the same C: within 1 % of its objective, the target
issue 17 sets for 03's MNIST run, on a small problem. Runs under TensorFlow and JAX
(``KERAS_BACKEND=jax``).
"""

import numpy as np
import pytest
from sklearn.datasets import make_blobs

import keras
from helpers import models, sgd_svm, svm

LAM = 1e-2
N_CLASSES = 3


@pytest.fixture(scope="module")
def problem():
    """300 rows of 3 overlapping blobs in 8 standardized features, and the exact SVM at LAM's C."""
    x, y = make_blobs(n_samples=300, n_features=8, centers=N_CLASSES, cluster_std=3.0, random_state=0)
    x = ((x - x.mean(0)) / x.std(0)).astype("float32")
    coef, intercept = svm.linear_svm_reference(x, y, svm.c_from_l2(LAM, len(x), N_CLASSES))
    return x, y, coef, intercept


def _model(optimizer):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input(shape=(8,)),
        keras.layers.Dense(N_CLASSES, kernel_regularizer=keras.regularizers.l2(LAM)),
    ])
    model.compile(optimizer=optimizer, loss="hinge")
    return model


def test_pegasos_schedule_is_one_over_two_lambda_t():
    lam = 1e-3
    pegasos = sgd_svm.PegasosSchedule(lam, initial_learning_rate=1 / (2 * lam))
    later = sgd_svm.PegasosSchedule(lam, initial_learning_rate=0.5)  # s₀ = 1/(2λ·0.5) = 1000
    for step in (0, 1, 9, 999, 12_345):
        t = step + 1  # Keras counts the first update as step 0
        assert float(pegasos(step)) == pytest.approx(1 / (2 * lam * t), rel=1e-6)
        assert float(later(step)) == pytest.approx(1 / (2 * lam * (step + 1000)), rel=1e-6)


def test_pegasos_schedule_round_trips_through_keras_serialization():
    schedule = sgd_svm.PegasosSchedule(1e-4, initial_learning_rate=0.3)
    assert schedule.get_config() == {"l2": 1e-4, "initial_learning_rate": 0.3}
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(schedule))
    assert isinstance(restored, sgd_svm.PegasosSchedule)
    assert float(restored(500)) == pytest.approx(float(schedule(500)), rel=1e-7)
    optimizer = keras.optimizers.SGD(learning_rate=schedule)
    again = keras.optimizers.SGD.from_config(optimizer.get_config())
    assert float(again.learning_rate) == pytest.approx(0.3)  # the schedule at step 0: η₀


@pytest.mark.parametrize("bad", [0, -1.0, True, "0.1", None])
def test_pegasos_schedule_rejects_bad_numbers(bad):
    with pytest.raises(ValueError, match="`l2` must be a positive number"):
        sgd_svm.PegasosSchedule(bad, initial_learning_rate=0.1)
    with pytest.raises(ValueError, match="`initial_learning_rate` must be a positive number"):
        sgd_svm.PegasosSchedule(0.1, initial_learning_rate=bad)


def test_hinge_objective_is_what_keras_minimises(problem):
    x, y, coef, intercept = problem
    model = _model("sgd")
    model.set_weights([coef.T.astype("float32"), intercept.astype("float32")])
    onehot = keras.utils.to_categorical(y, N_CLASSES)
    assert sgd_svm.hinge_objective(coef, intercept, x, y, LAM) == pytest.approx(
        models.keras_objective(model, x, onehot), rel=1e-5)


def test_history_records_zero_gap_and_full_agreement_at_the_exact_solution(problem):
    x, y, coef, intercept = problem
    onehot = keras.utils.to_categorical(y, N_CLASSES)
    minimum = sgd_svm.hinge_objective(coef, intercept, x, y, LAM)
    labels = (x @ coef.T + intercept).argmax(1)
    history = sgd_svm.ExactGapHistory(x, onehot, minimum, x, labels)
    model = _model("sgd")
    history.set_model(model)
    history.on_epoch_end(0)  # the fresh model: far from the SVM
    model.set_weights([coef.T.astype("float32"), intercept.astype("float32")])
    history.on_epoch_end(1)
    table = history.table()
    assert list(table.index) == [1, 2]
    assert table.loc[1, "gap"] > 0.1 and table.loc[1, "agreement"] < 0.9
    assert abs(table.loc[2, "gap"]) < 1e-5  # float32 scores against the float64 minimum
    assert table.loc[2, "agreement"] == 1.0


def test_history_rejects_mismatched_inputs(problem):
    x, y, *_ = problem
    onehot = keras.utils.to_categorical(y, N_CLASSES)
    with pytest.raises(ValueError, match="`minimum` must be a positive number"):
        sgd_svm.ExactGapHistory(x, onehot, 0.0, x, y)
    with pytest.raises(ValueError, match="`reference_labels` must hold one label per row of `x_eval`"):
        sgd_svm.ExactGapHistory(x, onehot, 1.0, x, y[:-1])
    with pytest.raises(ValueError, match="`y_onehot` has 299 rows, `x` has 300"):
        sgd_svm.ExactGapHistory(x, onehot[:-1], 1.0, x, y)


# The issue's target for 03's MNIST run, fixed before either run: within 1 % of the exact minimum.
TARGET_GAP = 0.01
EPOCHS, BATCH = 100, 30


@pytest.mark.parametrize("name", ["adam_decayed_to_zero", "sgd_pegasos"])
def test_model_fit_reaches_the_exact_objective(problem, name):
    x, y, coef, intercept = problem
    onehot = keras.utils.to_categorical(y, N_CLASSES)
    steps = EPOCHS * int(np.ceil(len(x) / BATCH))
    if name == "adam_decayed_to_zero":
        optimizer = keras.optimizers.Adam(keras.optimizers.schedules.PolynomialDecay(1e-2, steps, 0.0))
    else:
        optimizer = keras.optimizers.SGD(sgd_svm.PegasosSchedule(LAM, initial_learning_rate=1.0))
    minimum = sgd_svm.hinge_objective(coef, intercept, x, y, LAM)
    history = sgd_svm.ExactGapHistory(x, onehot, minimum, x, (x @ coef.T + intercept).argmax(1))
    model = _model(optimizer)
    model.fit(x, onehot, epochs=EPOCHS, batch_size=BATCH, callbacks=[history], verbose=0)
    table = history.table()
    print(f"{name}: gap {table['gap'].iloc[-1]:.4%}, agreement {table['agreement'].iloc[-1]:.4f}")
    assert len(table) == EPOCHS
    assert table["gap"].iloc[0] > table["gap"].iloc[-1] >= -1e-5  # never below the minimum
    assert table["gap"].iloc[-1] <= TARGET_GAP
