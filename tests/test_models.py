"""Model builders: the sources' shapes and parameter counts, the right metric, real learning."""

import numpy as np
import pytest
from sklearn.svm import SVC

import keras
from helpers import models, svm
from helpers.layers import RandomFourierFeatures


def test_quasi_svm_matches_the_keras_io_recipe():
    model = models.build_quasi_svm(784, 10)
    rff = model.layers[0]
    assert isinstance(rff, RandomFourierFeatures)
    assert (rff.output_dim, rff.scale, rff.kernel_initializer) == (4096, 10.0, "gaussian")
    # The Stack Overflow answer's count: only the Dense head trains.
    assert svm.count_params(model) == 40_970
    assert model.loss == "hinge"
    assert float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)) == pytest.approx(1e-3)


def test_deep_hinge_matches_the_answer():
    model = models.build_deep_hinge(784, 10)
    assert svm.count_params(model) == 111_514
    head = model.layers[-1]
    assert head.kernel_regularizer.get_config()["l2"] == pytest.approx(0.01)


def test_metric_is_categorical_accuracy_not_binary():
    # A model that is always wrong on 10 classes: binary accuracy would read 0.8.
    model = models.build_linear_svm(2, 10)
    model.set_weights([np.zeros((2, 10), "float32"), -np.ones(10, "float32")])
    x = np.zeros((10, 2), "float32")
    y = keras.utils.to_categorical(np.arange(10), 10)
    result = model.evaluate(x, y, verbose=0, return_dict=True)
    assert result["acc"] == pytest.approx(0.1)


@pytest.mark.parametrize("loss", models.HINGE_LOSSES)
def test_every_hinge_loss_compiles(loss):
    assert models.build_linear_svm(3, 2, loss=loss).loss == loss


def test_unknown_loss_and_bad_sizes_are_rejected():
    with pytest.raises(ValueError, match="loss"):
        models.build_linear_svm(3, 2, loss="hingee")
    with pytest.raises(ValueError, match="n_classes"):
        models.build_quasi_svm(3, 0)


def _two_moons_like(n=300, seed=0):
    rng = np.random.default_rng(seed)
    angle = rng.uniform(0, np.pi, n)
    label = rng.integers(0, 2, n)
    x = np.c_[np.cos(angle) + label, np.sin(angle) * (1 - 2 * label) + 0.5 * label]
    return (x + rng.normal(scale=0.1, size=x.shape)).astype("float32"), label


def test_quasi_svm_learns_a_non_linear_boundary():
    x, y = _two_moons_like()
    model = models.build_quasi_svm(2, 2, output_dim=512, scale=0.5, learning_rate=1e-2, seed=0)
    model.fit(x, keras.utils.to_categorical(y, 2), epochs=30, batch_size=32, verbose=0)
    accuracy = np.mean(model.predict(x, verbose=0).argmax(1) == y)
    assert accuracy > 0.95


def test_keras_linear_svm_agrees_with_sklearn_at_the_matching_c():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(200, 2)).astype("float32")
    y = (x[:, 0] + 0.5 * x[:, 1] + rng.normal(scale=0.3, size=200) > 0).astype(int)
    lam = 0.01
    model = models.build_linear_svm(2, 2, l2=lam, learning_rate=0.05, seed=0)
    # 300 full-batch steps in one epoch: the same updates as 300 epochs, without per-epoch overhead.
    steps = 300
    targets = keras.utils.to_categorical(y, 2)
    model.fit(np.tile(x, (steps, 1)), np.tile(targets, (steps, 1)), batch_size=200, shuffle=False, verbose=0)
    reference = SVC(kernel="linear", C=svm.c_from_l2(lam, 200, 2)).fit(x, y)
    agreement = svm.prediction_agreement(model.predict(x, verbose=0), reference.predict(x))
    assert agreement >= 0.98
    # Keras' two one-vs-rest outputs mirror each other; their difference is 2× sklearn's w.
    w = model.get_weights()[0]
    np.testing.assert_allclose((w[:, 1] - w[:, 0]) / 2, reference.coef_[0], rtol=0.15, atol=0.05)


def test_keras_classifier_trains_on_one_hot_targets_in_a_grid_search():
    pytest.importorskip("scikeras")
    from sklearn.base import clone
    from sklearn.model_selection import GridSearchCV

    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 2)).astype("float32")
    y = np.where(x[:, 0] > 0, 2, 0) + (x[:, 1] > 0)  # 4 classes, linearly separable
    clf = models.keras_classifier(models.build_linear_svm, model__input_dim=2, model__n_classes=4,
                                    model__learning_rate=0.05, model__seed=0, epochs=30, batch_size=32)
    clone(clf)
    search = GridSearchCV(clf, {"model__l2": [1e-4, 1e-2]}, cv=2).fit(x, y)
    assert search.best_score_ > 0.8
    assert set(search.predict(x)) <= {0, 1, 2, 3}
