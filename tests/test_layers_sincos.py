"""RandomFourierFeaturesSinCos: paired cos/sin features of the same kernels, any backend."""

import numpy as np
import pytest
from sklearn.metrics.pairwise import rbf_kernel

import keras
from helpers import models, svm
from helpers.layers import RandomFourierFeatures, RandomFourierFeaturesSinCos, feature_kernel


def test_shape_weights_and_config_round_trip():
    layer = RandomFourierFeaturesSinCos(output_dim=64, scale=2.0, seed=1)
    out = layer(np.zeros((3, 5), "float32"))
    assert tuple(out.shape) == (3, 64)
    assert tuple(layer.unscaled_kernel.shape) == (5, 32)  # 32 frequencies, a cos and a sin each
    config = layer.get_config()
    assert set(RandomFourierFeatures(8).get_config()) == set(config)
    clone = RandomFourierFeaturesSinCos.from_config(config)
    assert (clone.output_dim, clone.scale, clone.seed) == (64, 2.0, 1)


def test_odd_output_dim_is_rejected():
    with pytest.raises(ValueError, match="even"):
        RandomFourierFeaturesSinCos(output_dim=7)


def test_approximates_the_rbf_kernel_better_than_phase_cosines_at_equal_cost():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 6)).astype("float32")
    scale = 2.0
    exact = rbf_kernel(x, gamma=svm.gamma_from_scale(scale))
    errors = {}
    # Equal cost: 2048 frequencies each (one matrix product of the same size).
    for cls, dim in ((RandomFourierFeatures, 2048), (RandomFourierFeaturesSinCos, 4096)):
        phi = cls(output_dim=dim, scale=scale, seed=0)(x)
        approx = keras.ops.convert_to_numpy(feature_kernel(phi, phi))
        errors[cls.__name__] = np.abs(approx - exact).mean()
    assert errors["RandomFourierFeaturesSinCos"] < 0.02
    assert errors["RandomFourierFeaturesSinCos"] < errors["RandomFourierFeatures"]


@pytest.mark.parametrize("cls", [RandomFourierFeatures, RandomFourierFeaturesSinCos])
def test_cached_numpy_features_match_the_layer(cls):
    x = np.random.default_rng(1).random((50, 9)).astype("float32")
    layer = cls(output_dim=128, scale=1.5, seed=3)
    expected = keras.ops.convert_to_numpy(layer(x))
    np.testing.assert_allclose(models.rff_features(layer, x, chunk_rows=16), expected, atol=1e-4)


def test_saved_model_round_trip(tmp_path):
    model = keras.Sequential(
        [keras.Input((4,)), RandomFourierFeaturesSinCos(16, seed=0), keras.layers.Dense(2)]
    )
    x = np.random.default_rng(2).random((5, 4)).astype("float32")
    path = tmp_path / "m.keras"
    model.save(path)
    again = keras.models.load_model(path)
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-5)


def test_fit_quasi_svm_learns_and_predicts_on_raw_inputs():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 2)).astype("float32")
    y = (np.hypot(x[:, 0], x[:, 1]) > 1.1).astype(int)  # a ring: not linearly separable
    model, info = models.fit_quasi_svm(
        x, keras.utils.to_categorical(y, 2), output_dim=512, epochs=20, batch_size=64,
        learning_rate=1e-2, monitor=(x, y), return_info=True,
    )
    assert isinstance(model.layers[0], RandomFourierFeaturesSinCos)
    assert np.mean(model.predict(x, verbose=0).argmax(1) == y) > 0.9
    assert len(info["curve"]) == 20 and info["feature_seconds"] > 0 and info["train_seconds"] > 0
    assert svm.count_params(model) == 512 * 2 + 2


def test_fit_quasi_svm_applies_the_l2_penalty_of_its_c():
    """The head is built before the penalty is known: the penalty must still reach its kernel.

    Keras 3 attaches a regularizer to a weight when it is created, so setting the layer's
    attribute afterwards alone trained without any penalty (bit-identical weights for any C).
    """
    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 3)).astype("float32")
    y = keras.utils.to_categorical((x[:, 0] * x[:, 1] > 0).astype(int), 2)
    settings = dict(output_dim=256, epochs=3, batch_size=64, learning_rate=1e-2, seed=0, warmup=False)
    norms = {}
    for c in (None, 1e-3):
        model = models.fit_quasi_svm(x, y, c=c, **settings)
        norms[c] = float(np.linalg.norm(keras.ops.convert_to_numpy(model.layers[-1].kernel)))
    assert norms[1e-3] < 0.5 * norms[None]  # C = 0.001 is a strong penalty: far smaller weights
    assert model.losses == []  # the returned model predicts; its penalty is gone


@pytest.mark.parametrize("feature_map, layer_name", [
    ("rff", "RandomFourierFeaturesSinCos"), ("rff_cos", "RandomFourierFeatures"),
    ("orf", "OrthogonalRandomFeatures"), ("nystroem", "NystroemFeatures"),
])
def test_fit_quasi_svm_learns_with_every_feature_map(feature_map, layer_name):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 2)).astype("float32")
    y = (np.hypot(x[:, 0], x[:, 1]) > 1.1).astype(int)  # a ring: no linear model gets past ~0.6
    model, info = models.fit_quasi_svm(
        x, keras.utils.to_categorical(y, 2), output_dim=128, epochs=20, batch_size=64,
        learning_rate=1e-2, feature_map=feature_map, return_info=True, warmup=False,
    )
    assert type(model.layers[0]).__name__ == layer_name and info["feature_map"] == feature_map
    assert np.mean(model.predict(x, verbose=0).argmax(1) == y) > 0.9


def test_nystroem_quasi_svm_is_folded_and_saves(tmp_path):
    """The returned Nyström model skips the m x m whitening at prediction, and reloads alone."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(300, 3)).astype("float32")
    y = keras.utils.to_categorical((x[:, 0] * x[:, 1] > 0).astype(int), 2)
    model = models.fit_quasi_svm(x, y, output_dim=64, epochs=2, feature_map="nystroem", warmup=False)
    assert not model.layers[0].whiten and svm.count_params(model) == 64 * 2 + 2
    path = tmp_path / "nystroem_quasi_svm.keras"
    model.save(path)
    again = keras.models.load_model(path, compile=False)  # the predicting model; no optimizer state to restore
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-5)


@pytest.mark.parametrize("kwargs, message", [
    ({"feature_map": "fourier"}, "feature_map"),
    ({"feature_map": "nystroem", "output_dim": 500}, "output_dim"),
])
def test_fit_quasi_svm_rejects_bad_feature_maps(kwargs, message):
    x = np.random.default_rng(0).normal(size=(100, 2)).astype("float32")
    y = keras.utils.to_categorical(np.arange(100) % 2, 2)
    with pytest.raises(ValueError, match=message):
        models.fit_quasi_svm(x, y, **kwargs)
