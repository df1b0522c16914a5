"""Dense + L2 + hinge trained to convergence is scikit-learn's linear SVM, on any backend.

``helpers.models.fit_to_convergence`` against exact scikit-learn solutions at the C that
``helpers.svm.c_from_l2`` gives: the same objective (to 0.5 %) and the same predictions
(≥ 99 %), for 2 and for 10 classes, and for Crammer–Singer; plus the objectives themselves and
the errors for bad arguments. Runs under TensorFlow and JAX (``KERAS_BACKEND=jax``).
"""

import warnings

import numpy as np
import pytest
from sklearn.datasets import make_blobs, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.svm import SVC

import keras
from helpers import models, svm


def _fit(x, y, n_classes, l2, loss="hinge", **kwargs):
    model = models.build_linear_svm(x.shape[1], n_classes, l2=l2, loss=loss, seed=0)
    info = models.fit_to_convergence(model, x, keras.utils.to_categorical(y, n_classes), **kwargs)
    kernel, bias = (keras.ops.convert_to_numpy(w).astype(np.float64) for w in model.layers[-1].weights)
    return model, info, kernel, bias


@pytest.fixture(autouse=True)
def _no_convergence_warnings():
    # A reference that did not converge would make every comparison below meaningless.
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        yield


# --------------------------------------------------------------------------- the objectives


def test_keras_objectives_are_the_primals_times_two_lambda():
    """Keras' loss (hinge or categorical_hinge, + L2) = 2λ × scikit-learn's primal, any weights."""
    rng = np.random.default_rng(1)
    n, d, k, lam = 40, 3, 4, 0.05
    x = rng.normal(size=(n, d)).astype("float32")
    y = rng.integers(0, k, n)
    w, b = rng.normal(size=(d, k)).astype("float32"), rng.normal(size=k).astype("float32")
    for loss, c, primal in [
        ("hinge", svm.c_from_l2(lam, n, k), lambda c: svm.ovr_hinge_objectives(w.T, b, x, y, c).sum()),
        ("categorical_hinge", svm.c_from_l2(lam, n, 1),
         lambda c: svm.crammer_singer_objective(w.T, b, x, y, c, clipped=True)),
    ]:
        model = models.build_linear_svm(d, k, l2=lam, loss=loss)
        model.set_weights([w, b])
        onehot = keras.utils.to_categorical(y, k)
        keras_loss = model.evaluate(x, onehot, batch_size=n, verbose=0, return_dict=True)["loss"]
        assert keras_loss == pytest.approx(2 * lam * primal(c), rel=1e-5)
        assert models.keras_objective(model, x, onehot) == pytest.approx(keras_loss, rel=1e-5)



@pytest.mark.parametrize("loss", [keras.losses.CategoricalHinge(), keras.losses.Hinge(), keras.losses.categorical_hinge])
def test_keras_objective_whatever_form_the_compiled_loss_takes(loss):
    """A Loss instance reduces over the batch: summing its value per batch would divide by n twice."""
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(50, 3)).astype("float32"), rng.integers(0, 3, 50)
    model = models.build_linear_svm(3, 3, l2=0.05, loss="hinge", seed=0)
    model.compile(loss=loss)
    onehot = keras.utils.to_categorical(y, 3)
    keras_loss = model.evaluate(x, onehot, batch_size=50, verbose=0, return_dict=True)["loss"]
    assert keras_loss > 0.5  # random weights: far from the minimum, so a factor n would show
    assert models.keras_objective(model, x, onehot) == pytest.approx(keras_loss, rel=1e-5)

def test_categorical_hinge_is_clipped_crammer_singer_and_a_bias_shift_closes_the_gap():
    x = np.array([[0.0], [1.0], [2.0]])
    y = np.array([0, 1, 2])
    coef, intercept = np.array([[-1.0], [0.0], [1.0]]), np.array([-3.0, -3.0, -3.0])
    # Every score is negative, so the clip max(0, ·) lifts every best wrong score to 0.
    plain = svm.crammer_singer_objective(coef, intercept, x, y, c=1.0)
    clipped = svm.crammer_singer_objective(coef, intercept, x, y, c=1.0, clipped=True)
    # By hand: scores (-3,-3,-3), (-4,-3,-2), (-5,-3,-1); penalty ½(1 + 0 + 1) = 1.
    # Crammer–Singer losses 1, 2, 0; clipped 4, 4, 2.
    assert plain == pytest.approx(1.0 + 1.0 + 2.0 + 0.0)
    assert clipped == pytest.approx(1.0 + 4.0 + 4.0 + 2.0)
    shifted = svm.crammer_singer_objective(coef, intercept + 10.0, x, y, c=1.0, clipped=True)
    assert shifted == pytest.approx(plain)


# --------------------------------------------------------------------------- agreement


def test_two_classes_match_an_exact_svc():
    """Dense(2) + hinge: two mirrored one-vs-rest problems, each scikit-learn's SVC at C."""
    x, y = make_classification(
        400, 6, n_informative=4, n_redundant=0, weights=[0.7], flip_y=0.05, random_state=3
    )
    x[:, 0] *= 100.0  # features of different scales: the solver must not care
    lam = 1e-3
    c = svm.c_from_l2(lam, len(x), 2)
    model, info, kernel, bias = _fit(x, y, 2, lam)
    assert info["converged"], info["message"]

    svc = SVC(kernel="linear", C=c, tol=1e-6).fit(x, y)
    exact = 2 * lam * 2 * svm.ovr_hinge_objectives(svc.coef_, svc.intercept_, x, y, c).sum()
    assert info["objective"] == pytest.approx(exact, rel=5e-3)
    assert info["objective"] >= exact * (1 - 1e-4)  # never below the true minimum
    # The objective reported is Keras' own.
    keras_loss = model.evaluate(x, keras.utils.to_categorical(y, 2), batch_size=len(x), verbose=0)[0]
    assert info["objective"] == pytest.approx(keras_loss, rel=1e-5)

    fresh, _ = make_classification(
        2000, 6, n_informative=4, n_redundant=0, weights=[0.7], flip_y=0.05, random_state=3
    )
    fresh[:, 0] *= 100.0
    assert svm.prediction_agreement(fresh @ kernel + bias, svc.predict(fresh)) >= 0.99
    direction = kernel[:, 1] - kernel[:, 0]
    cosine = direction @ svc.coef_[0] / np.linalg.norm(direction) / np.linalg.norm(svc.coef_[0])
    assert cosine >= 0.99


def test_one_output_with_plus_minus_one_labels_is_the_binary_svm():
    x, y = make_classification(300, 4, n_informative=3, n_redundant=0, random_state=4)
    lam = 1e-3
    c = svm.c_from_l2(lam, len(x), 1)
    model = models.build_linear_svm(4, 1, l2=lam, seed=0)
    info = models.fit_to_convergence(model, x, (2 * y - 1)[:, None])  # Keras' hinge takes ±1
    assert info["converged"], info["message"]
    svc = SVC(kernel="linear", C=c, tol=1e-6).fit(x, y)
    exact = 2 * lam * svm.ovr_hinge_objectives(svc.coef_, svc.intercept_, x, y, c)[0]
    assert info["objective"] == pytest.approx(exact, rel=5e-3)
    scores = keras.ops.convert_to_numpy(model(x.astype("float32")))
    assert svm.prediction_agreement(scores, svc.predict(x)) >= 0.99


def test_ten_imbalanced_classes_match_the_one_vs_rest_reference():
    centers = np.random.default_rng(5).normal(scale=4.0, size=(10, 8))
    sizes = [300] + [60] * 9  # one class five times larger than the others
    x, y = make_blobs(sizes, centers=centers, cluster_std=2.0, random_state=5)
    lam = 1e-3
    c = svm.c_from_l2(lam, len(x), 10)
    _, info, kernel, bias = _fit(x, y, 10, lam)
    assert info["converged"], info["message"]

    coef, intercept = svm.linear_svm_reference(x, y, c)
    exact = 2 * lam * svm.ovr_hinge_objectives(coef, intercept, x, y, c).sum()
    assert info["objective"] == pytest.approx(exact, rel=5e-3)
    fresh, _ = make_blobs([1000] * 10, centers=centers, cluster_std=2.0, random_state=6)
    assert svm.prediction_agreement(fresh @ kernel + bias, fresh @ coef.T + intercept) >= 0.99
    cosine = np.sum(kernel.T * coef) / np.linalg.norm(kernel) / np.linalg.norm(coef)
    assert cosine >= 0.99


def test_categorical_hinge_matches_crammer_singer():
    x, y = make_blobs(400, 5, centers=4, cluster_std=2.5, random_state=7)
    lam = 1e-3
    c = svm.c_from_l2(lam, len(x), 1)
    _, info, kernel, bias = _fit(x, y, 4, lam, loss="categorical_hinge")
    assert info["converged"], info["message"]
    coef, intercept = svm.linear_svm_reference(x, y, c, multi_class="crammer_singer")
    exact = 2 * lam * svm.crammer_singer_objective(coef, intercept, x, y, c)
    assert info["objective"] == pytest.approx(exact, rel=5e-3)
    # After the bias shift Keras' clipped loss equals Crammer–Singer at the solution.
    assert info["objective"] == pytest.approx(
        2 * lam * svm.crammer_singer_objective(kernel.T, bias, x, y, c), rel=1e-5
    )
    assert svm.prediction_agreement(x @ kernel + bias, x @ coef.T + intercept) >= 0.99


def test_the_reference_leaves_its_intercept_free():
    """liblinear's re-centred fit equals libsvm's SVC, whose intercept is unpenalised."""
    x, y = make_blobs(300, 4, centers=3, cluster_std=2.0, random_state=2)
    x = x + 20.0  # far from the origin, where a penalised intercept would cost the most
    c = 0.01
    coef, intercept = svm.linear_svm_reference(x, y, c)
    exact_coef, exact_intercept = svm.linear_svm_reference(x, y, c, method="svc")
    ours = svm.ovr_hinge_objectives(coef, intercept, x, y, c)
    exact = svm.ovr_hinge_objectives(exact_coef, exact_intercept, x, y, c)
    np.testing.assert_allclose(ours, exact, rtol=1e-4)


def test_max_steps_stops_early_and_says_so():
    x, y = make_blobs(200, 3, centers=3, random_state=0)
    _, info, _, _ = _fit(x, y, 3, 1e-3, max_steps=5)
    assert not info["converged"]
    assert info["steps"] == 5
    assert "max_steps" in info["message"]


# --------------------------------------------------------------------------- bad arguments


def test_bad_models_are_rejected():
    x = np.zeros((4, 3))
    y = keras.utils.to_categorical([0, 1, 0, 1], 2)
    two_layers = keras.Sequential([
        keras.Input(shape=(3,)),
        keras.layers.Dense(4),
        keras.layers.Dense(2, kernel_regularizer=keras.regularizers.l2(0.01)),
    ])
    two_layers.compile(loss="hinge")
    with pytest.raises(ValueError, match="one Dense layer"):
        models.fit_to_convergence(two_layers, x, y)
    with pytest.raises(ValueError, match="loss='squared_hinge'"):
        models.fit_to_convergence(models.build_linear_svm(3, 2, loss="squared_hinge"), x, y)
    with pytest.raises(ValueError, match="λ > 0"):
        models.fit_to_convergence(models.build_linear_svm(3, 2, l2=0.0), x, y)
    plain = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="compiled"):
        models.fit_to_convergence(plain, x, y)


def test_bad_data_and_settings_are_rejected():
    model = models.build_linear_svm(3, 2)
    x = np.zeros((4, 3))
    y = keras.utils.to_categorical([0, 1, 0, 1], 2)
    with pytest.raises(ValueError, match=r"`x` must have shape \(n, 3\)"):
        models.fit_to_convergence(model, np.zeros((4, 5)), y)
    with pytest.raises(ValueError, match="finite"):
        models.fit_to_convergence(model, np.full((4, 3), np.nan), y)
    with pytest.raises(ValueError, match=r"`y_onehot` must have shape \(4, 2\)"):
        models.fit_to_convergence(model, x, np.array([0, 1, 0, 1]))
    with pytest.raises(ValueError, match="only 0 and 1"):
        models.fit_to_convergence(model, x, 2 * y)
    with pytest.raises(ValueError, match="`tol`"):
        models.fit_to_convergence(model, x, y, tol=0)
    with pytest.raises(ValueError, match="`max_steps`"):
        models.fit_to_convergence(model, x, y, max_steps=0)
    cs = models.build_linear_svm(3, 2, loss="categorical_hinge")
    with pytest.raises(ValueError, match="exactly one 1 per row"):
        models.fit_to_convergence(cs, x, np.ones((4, 2)))


def test_bad_reference_and_objective_arguments_are_rejected():
    x, y = np.zeros((4, 2)), np.array([0, 1, 0, 1])
    with pytest.raises(ValueError, match="multi_class"):
        svm.linear_svm_reference(x, y, 1.0, multi_class="ovo")
    with pytest.raises(ValueError, match="`c`"):
        svm.linear_svm_reference(x, y, 0.0)
    with pytest.raises(ValueError, match="every label"):
        svm.linear_svm_reference(x, np.array([0, 2, 0, 2]), 1.0)
    with pytest.raises(ValueError, match=r"`coef` must be \(K, 2\)"):
        svm.ovr_hinge_objectives(np.zeros((2, 3)), np.zeros(2), x, y, 1.0)
    with pytest.raises(ValueError, match="K ≥ 2"):
        svm.crammer_singer_objective(np.zeros((1, 2)), np.zeros(1), x, y, 1.0)
