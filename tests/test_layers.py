"""RandomFourierFeatures: legacy equivalence, kernel approximation, round trips, bad arguments.

Runs under any Keras backend (CI runs it with TensorFlow and with JAX).
"""

import numpy as np
import pytest
from sklearn.metrics.pairwise import laplacian_kernel, rbf_kernel

import keras
from helpers.layers import RandomFourierFeatures, feature_kernel
from helpers.svm import gamma_from_scale

KERNELS = ["gaussian", "laplacian"]


def _points(n=40, d=5, seed=0):
    return np.random.default_rng(seed).normal(size=(n, d)).astype("float32")


def _built(output_dim, d, **kwargs):
    layer = RandomFourierFeatures(output_dim, **kwargs)
    layer.build((None, d))
    return layer


@pytest.mark.parametrize("kernel", KERNELS)
def test_matches_legacy_tf_keras_layer(kernel):
    tf_keras = pytest.importorskip("tf_keras")
    x = _points(32, 6)
    if kernel == "laplacian":
        # Cauchy frequencies reach the hundreds; at cos(200) float32 rounding of the argument
        # alone differs by ~1e-5 between matmul kernels. Smaller inputs keep the test about the layer.
        x = x * 0.1
    np.random.seed(0)  # the legacy layer draws its Cauchy frequencies from NumPy's global state
    legacy = tf_keras.layers.experimental.RandomFourierFeatures(128, kernel_initializer=kernel, scale=2.5)
    legacy.build((None, 6))
    ours = _built(128, 6, kernel_initializer=kernel, scale=2.5, seed=3)
    # Same weights in the same order: get_weights() of one feeds set_weights() of the other.
    assert [w.shape for w in ours.get_weights()] == [w.shape for w in legacy.get_weights()]
    ours.set_weights(legacy.get_weights())
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(ours(x)), legacy(x).numpy(), atol=1e-5
    )


@pytest.mark.parametrize("kernel", KERNELS)
def test_default_scale_and_config_keys_match_legacy(kernel):
    tf_keras = pytest.importorskip("tf_keras")
    legacy = tf_keras.layers.experimental.RandomFourierFeatures(16, kernel_initializer=kernel)
    legacy.build((None, 8))
    ours = _built(16, 8, kernel_initializer=kernel)
    assert ours.scale == pytest.approx(legacy.scale)
    legacy_config = legacy.get_config()
    assert set(legacy_config) <= set(ours.get_config())
    # A config saved by the legacy layer builds ours.
    rebuilt = RandomFourierFeatures.from_config(legacy_config)
    assert rebuilt.output_dim == 16 and rebuilt.scale == pytest.approx(legacy.scale)


def test_output_is_cosine_of_scaled_projection_without_sqrt_factor():
    x = _points(10, 4)
    layer = _built(64, 4, scale=3.0, seed=1)
    w = keras.ops.convert_to_numpy(layer.unscaled_kernel)
    b = keras.ops.convert_to_numpy(layer.bias)
    expected = np.cos(x @ w / 3.0 + b)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(x)), expected, atol=1e-5)
    assert b.min() >= 0.0 and b.max() <= 2 * np.pi


def _kernel_error(kernel, output_dim, scale=2.0, seed=0):
    x, y = _points(30, 5, seed=10), _points(20, 5, seed=11)
    layer = _built(output_dim, 5, kernel_initializer=kernel, scale=scale, seed=seed)
    approx = keras.ops.convert_to_numpy(feature_kernel(layer(x), layer(y)))
    if kernel == "gaussian":
        exact = rbf_kernel(x, y, gamma=gamma_from_scale(scale))
    else:
        exact = laplacian_kernel(x, y, gamma=1.0 / scale)
    return np.abs(approx - exact)


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("output_dim", [2000, 8000])
def test_approximates_the_exact_kernel(kernel, output_dim):
    errors = _kernel_error(kernel, output_dim)
    assert errors.mean() < 0.02
    # The worst of 600 entries sits about 3 standard deviations (~sqrt(1/D)) out.
    assert errors.max() < 0.05 if output_dim >= 8000 else errors.max() < 0.1


@pytest.mark.parametrize("kernel", KERNELS)
def test_error_shrinks_as_output_dim_grows(kernel):
    # Averaged over seeds: the Monte Carlo error falls like 1/sqrt(D).
    mean_error = {
        d: np.mean([_kernel_error(kernel, d, seed=s).mean() for s in range(3)]) for d in (100, 1000, 8000)
    }
    assert mean_error[100] > mean_error[1000] > mean_error[8000]
    assert mean_error[8000] < mean_error[100] / 4


def test_seed_makes_features_reproducible():
    x = _points(5, 3)
    a, b, c = (_built(32, 3, seed=s) for s in (7, 7, 8))
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(a(x)), keras.ops.convert_to_numpy(b(x)))
    assert not np.allclose(keras.ops.convert_to_numpy(a(x)), keras.ops.convert_to_numpy(c(x)))


def test_only_kernel_scale_can_train():
    frozen = _built(8, 3)
    assert frozen.trainable_weights == []
    trainable = _built(8, 3, trainable=True)
    assert [w.name for w in trainable.trainable_weights] == ["kernel_scale"]
    assert {w.name for w in trainable.non_trainable_weights} == {"unscaled_kernel", "bias"}


def test_config_round_trip():
    layer = RandomFourierFeatures(12, kernel_initializer="laplacian", scale=0.5, seed=4, name="rff")
    clone = RandomFourierFeatures.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()


def test_custom_initializer_round_trips():
    layer = RandomFourierFeatures(6, kernel_initializer=keras.initializers.RandomUniform(-1, 1, seed=2))
    clone = RandomFourierFeatures.from_config(layer.get_config())
    clone.build((None, 3))
    assert clone.scale == 1.0


def test_saved_model_loads_and_predicts_identically(tmp_path):
    model = keras.Sequential(
        [keras.Input((5,)), RandomFourierFeatures(64, scale=2.0, seed=0), keras.layers.Dense(3)]
    )
    x = _points(8, 5)
    before = keras.ops.convert_to_numpy(model(x))
    path = tmp_path / "quasi_svm.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded.layers[0], RandomFourierFeatures)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(loaded(x)), before)


@pytest.mark.parametrize("output_dim", [0, -3, 2.5, "64", True])
def test_rejects_bad_output_dim(output_dim):
    with pytest.raises(ValueError, match="output_dim"):
        RandomFourierFeatures(output_dim)


def test_rejects_unknown_initializer_name():
    with pytest.raises(ValueError, match="kernel_initializer.*'cosine'"):
        RandomFourierFeatures(8, kernel_initializer="cosine")


@pytest.mark.parametrize("scale", [0.0, -1.0])
def test_rejects_non_positive_scale(scale):
    with pytest.raises(ValueError, match="scale"):
        RandomFourierFeatures(8, scale=scale)


def test_rejects_input_that_is_not_rank_2():
    with pytest.raises(ValueError, match="rank of the input"):
        RandomFourierFeatures(8).build((None, 4, 4))


def test_rejects_unknown_last_dimension():
    with pytest.raises(ValueError, match="last dimension"):
        RandomFourierFeatures(8).build((None, None))
