"""The SVM arithmetic: λ <-> C, γ <-> scale, parameter counts, agreement."""

import numpy as np
import pytest
from sklearn.svm import SVC

import keras
from helpers import svm
from helpers.models import build_linear_svm


def test_c_from_l2_known_value_and_inverse():
    # The Stack Overflow answer's l2(0.01) head on 60,000 MNIST images and 10 classes.
    assert svm.c_from_l2(0.01, 60_000, 10) == pytest.approx(1 / 12_000)
    assert svm.l2_from_c(svm.c_from_l2(0.003, 500, 4), 500, 4) == pytest.approx(0.003)


@pytest.mark.parametrize("bad", [0, -1.0, None, "0.1"])
def test_conversions_reject_non_positive_values(bad):
    with pytest.raises(ValueError, match="l2"):
        svm.c_from_l2(bad, 10, 2)
    with pytest.raises(ValueError, match="gamma"):
        svm.scale_from_gamma(bad)


def test_keras_loss_is_the_sklearn_primal_times_two_lambda():
    """The identity behind c_from_l2, checked on Keras' own loss for arbitrary weights."""
    rng = np.random.default_rng(0)
    n, d, k, lam = 50, 3, 4, 0.02
    x = rng.normal(size=(n, d)).astype("float32")
    y = keras.utils.to_categorical(rng.integers(0, k, n), k)
    model = build_linear_svm(d, k, l2=lam)
    w, b = rng.normal(size=(d, k)).astype("float32"), rng.normal(size=k).astype("float32")
    model.set_weights([w, b])
    keras_loss = model.evaluate(x, y, batch_size=n, verbose=0, return_dict=True)["loss"]

    c = svm.c_from_l2(lam, n, k)
    signs = 2 * y - 1
    hinge = np.maximum(0.0, 1.0 - signs * (x @ w + b))
    sklearn_primal = sum(0.5 * w[:, j] @ w[:, j] + c * hinge[:, j].sum() for j in range(k))
    assert keras_loss == pytest.approx(2 * lam * sklearn_primal, rel=1e-4)


def test_gamma_and_scale_are_inverse():
    assert svm.gamma_from_scale(10.0) == pytest.approx(0.005)
    assert svm.scale_from_gamma(svm.gamma_from_scale(3.7)) == pytest.approx(3.7)


def test_gamma_scale_heuristic_matches_sklearn():
    rng = np.random.default_rng(1)
    x = rng.uniform(size=(60, 5))
    y = (x[:, 0] > 0.5).astype(int)
    clf = SVC(gamma="scale").fit(x, y)
    assert svm.gamma_scale_heuristic(x) == pytest.approx(clf._gamma)
    with pytest.raises(ValueError, match="zero variance"):
        svm.gamma_scale_heuristic(np.ones((4, 2)))


def test_count_params_counts_trainable_weights():
    model = build_linear_svm(7, 4)
    assert svm.count_params(model) == 7 * 4 + 4
    assert svm.count_params([np.zeros((3, 2)), np.zeros(2)]) == 8


def test_prediction_agreement_on_labels_and_scores():
    assert svm.prediction_agreement([0, 1, 2, 2], [0, 1, 1, 2]) == 0.75
    scores = np.array([[0.9, 0.1], [0.2, 0.8]])
    assert svm.prediction_agreement(scores, [0, 1]) == 1.0
    assert svm.prediction_agreement(np.array([[-0.5], [2.0]]), [0, 1]) == 1.0
    with pytest.raises(ValueError, match="length"):
        svm.prediction_agreement([0, 1], [0])


@pytest.mark.parametrize("gamma", ["scale", 0.3])
def test_rbf_svc_predict_gives_libsvms_labels(gamma):
    """Five classes (ten one-vs-one pairs), string labels, chunks that split the rows unevenly."""
    from sklearn.datasets import make_blobs

    x, y = make_blobs(n_samples=400, centers=5, n_features=4, cluster_std=2.5, random_state=0)
    labels = np.array(["a", "b", "c", "d", "e"])[y]
    svc = SVC(kernel="rbf", gamma=gamma, C=2.0).fit(x[:300], labels[:300])
    expected = svc.predict(x[300:])
    assert len(set(expected)) == 5 and np.mean(expected == labels[300:]) < 1.0  # a real test: errors included
    np.testing.assert_array_equal(svm.rbf_svc_predict(svc, x[300:], chunk=37), expected)


def test_rbf_svc_predict_rejects_what_it_cannot_predict():
    x, y = np.random.default_rng(0).normal(size=(40, 3)), np.arange(40) % 2
    with pytest.raises(ValueError, match="kernel='rbf'"):
        svm.rbf_svc_predict(SVC(kernel="linear").fit(x, y), x)
    with pytest.raises(ValueError, match="kernel='rbf'"):
        svm.rbf_svc_predict(SVC(), x)  # not fitted
    svc = SVC().fit(x, y)
    with pytest.raises(ValueError, match=r"shape \(n, 3\)"):
        svm.rbf_svc_predict(svc, x[:, :2])
    with pytest.raises(ValueError, match="chunk"):
        svm.rbf_svc_predict(svc, x, chunk=0)
