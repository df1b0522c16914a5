"""OrthogonalRandomFeatures and NystroemFeatures: kernel error against scikit-learn, round trips, bad arguments.

Runs under any Keras backend (TensorFlow and JAX: ``KERAS_BACKEND=jax``).
"""

import json

import numpy as np
import pytest
from scipy import stats
from sklearn.kernel_approximation import Nystroem
from sklearn.metrics.pairwise import rbf_kernel

import keras
from helpers.approximations import (
    NystroemFeatures,
    OrthogonalGaussianInitializer,
    OrthogonalRandomFeatures,
    fold_nystroem,
    inverse_sqrt_psd,
    kernel_estimate,
    nystroem_features,
)
from helpers.layers import RandomFourierFeaturesSinCos, feature_kernel
from helpers.svm import gamma_from_scale

D_IN = 16
SCALE = 4.0  # sqrt(D_IN): ||x - y||² ≈ 2·D_IN for Gaussian points, so k ≈ e^{-1} ≈ 0.37, mid-range
GAMMA = gamma_from_scale(SCALE)


def _points(n=40, d=D_IN, seed=0):
    return np.random.default_rng(seed).normal(size=(n, d)).astype("float32")


def _np(tensor):
    return keras.ops.convert_to_numpy(tensor)


def _off_diagonal(matrix):
    return matrix[np.triu_indices(len(matrix), 1)]


def _mean_abs_error(layer, x):
    return np.abs(_off_diagonal(kernel_estimate(layer, x) - rbf_kernel(x, gamma=GAMMA))).mean()


def _rff_mean_abs_error_theory(x, frequencies):
    """Expected |error| of the sin/cos RFF estimate, the mean of F draws of cos(w·(x - y)).

    Var cos(w·Δ) = ½(1 + k(2Δ)) - k(Δ)² with k(2Δ) = k(Δ)⁴ for the Gaussian kernel; the
    estimate is near-normal, whose mean |error| is sqrt(2/π) standard deviations.
    """
    k = _off_diagonal(rbf_kernel(x, gamma=GAMMA))
    std = np.sqrt((0.5 * (1.0 + k**4) - k**2) / frequencies)
    return np.sqrt(2.0 / np.pi) * std.mean()


# ---------------------------------------------------------------------------------------------
# OrthogonalRandomFeatures


def _frequencies(output_dim, d=D_IN, seed=0):
    layer = OrthogonalRandomFeatures(output_dim, scale=SCALE, seed=seed)
    layer.build((None, d))
    return _np(layer.unscaled_kernel)


def test_frequencies_are_orthogonal_within_each_block_only():
    w = _frequencies(2 * 40)  # 40 frequencies in 16 dimensions: blocks of 16, 16 and 8
    assert w.shape == (D_IN, 40)
    gram = w.T @ w
    norms = np.sqrt(np.diag(gram))
    cosines = gram / np.outer(norms, norms)
    for block in (slice(0, 16), slice(16, 32), slice(32, 40)):
        inside = cosines[block, block] - np.eye(block.stop - block.start)
        assert np.abs(inside).max() < 1e-5
    # Independent blocks: across them the cosines are those of random directions, ~1/sqrt(16).
    assert np.abs(cosines[:16, 16:32]).max() > 0.3


def test_each_frequency_is_marginally_standard_gaussian():
    w = _frequencies(2 * 4096, d=8)  # 512 independent blocks of 8
    # Lengths: chi(8), so squared lengths follow chi²(8); one coordinate: N(0, 1).
    assert stats.kstest((w**2).sum(axis=0), stats.chi2(df=8).cdf).pvalue > 1e-3
    assert stats.kstest(w[0], stats.norm.cdf).pvalue > 1e-3
    assert np.var(w) == pytest.approx(1.0, abs=0.05)


def test_initializer_draws_orthogonal_gaussian_blocks_alone():
    w = _np(OrthogonalGaussianInitializer(seed=3)((5, 5)))
    gram = w.T @ w
    np.testing.assert_allclose(gram - np.diag(np.diag(gram)), 0.0, atol=1e-5)
    np.testing.assert_array_equal(w, _np(OrthogonalGaussianInitializer(seed=3)((5, 5))))


def test_a_seed_gives_the_same_frequencies_on_every_backend():
    # Drawn with numpy: these values were recorded on TensorFlow and on JAX alike.
    w = _np(OrthogonalGaussianInitializer(seed=0)((3, 4)))
    np.testing.assert_allclose(w[0], [0.10793, 0.12451, 1.16469, -0.48489], atol=1e-5)


def test_outputs_are_cos_and_sin_of_the_scaled_projection():
    x = _points(10)
    layer = OrthogonalRandomFeatures(64, scale=SCALE, seed=1)
    out = _np(layer(x))
    projection = x @ _np(layer.unscaled_kernel) / SCALE
    np.testing.assert_allclose(out, np.concatenate([np.cos(projection), np.sin(projection)], 1), atol=1e-5)
    # The project's tools for the sin/cos layer apply unchanged.
    from helpers import models

    np.testing.assert_allclose(models.rff_features(layer, x), out, atol=1e-5)
    np.testing.assert_allclose(kernel_estimate(layer, x), _np(feature_kernel(out, out)), atol=1e-6)


def test_gamma_and_scale_are_the_same_kernel_width():
    x = _points(6)
    by_gamma = OrthogonalRandomFeatures(32, gamma=GAMMA, seed=5)
    by_scale = OrthogonalRandomFeatures(32, scale=SCALE, seed=5)
    np.testing.assert_allclose(_np(by_gamma(x)), _np(by_scale(x)), atol=1e-6)
    assert by_gamma.gamma == pytest.approx(GAMMA)
    default = OrthogonalRandomFeatures(8)
    default.build((None, 10))
    assert default.scale == pytest.approx(np.sqrt(5.0)) and default.gamma == pytest.approx(0.1)


def test_orf_approximates_the_exact_kernel():
    x = _points()
    # 2048 frequencies: plain RFF would err by 0.0104 on average (theory); ORF measured
    # 0.0051 to 0.0062 over these seeds.
    expected_rff = _rff_mean_abs_error_theory(x, 2048)
    assert 0.009 < expected_rff < 0.012
    errors = [_mean_abs_error(OrthogonalRandomFeatures(4096, scale=SCALE, seed=s), x) for s in range(3)]
    assert max(errors) < expected_rff


def test_orf_has_lower_error_than_rff_at_the_same_dimension():
    # Measured while writing this test (d = 16, D = 512, 5 seeds): ORF 0.0156, RFF 0.0307
    # (TensorFlow) and 0.0287 (JAX), every ORF seed below every RFF seed. 0.8 leaves room for
    # the seeds' spread (~10 % of the mean) without letting an ORF no better than RFF pass.
    x = _points()
    orf = np.mean([_mean_abs_error(OrthogonalRandomFeatures(512, scale=SCALE, seed=s), x) for s in range(5)])
    rff = np.mean([_mean_abs_error(RandomFourierFeaturesSinCos(512, scale=SCALE, seed=s), x) for s in range(5)])
    # The RFF error is the one theory predicts, so the comparison is against a sound baseline.
    assert rff == pytest.approx(_rff_mean_abs_error_theory(x, 256), rel=0.25)
    assert orf < 0.8 * rff


def test_orf_seed_makes_features_reproducible():
    x = _points(5)
    a, b, c = (OrthogonalRandomFeatures(32, seed=s) for s in (7, 7, 8))
    np.testing.assert_array_equal(_np(a(x)), _np(b(x)))
    assert not np.allclose(_np(a(x)), _np(c(x)))


def test_orf_weights_are_fixed():
    layer = OrthogonalRandomFeatures(8)
    layer.build((None, 3))
    assert layer.trainable_weights == []
    trainable = OrthogonalRandomFeatures(8, trainable=True)
    trainable.build((None, 3))
    assert [w.name for w in trainable.trainable_weights] == ["kernel_scale"]


def test_orf_config_round_trip():
    layer = OrthogonalRandomFeatures(12, gamma=0.3, seed=4, name="orf")
    config = layer.get_config()
    assert "kernel_initializer" not in config and config["scale"] == pytest.approx(np.sqrt(1 / 0.6))
    clone = OrthogonalRandomFeatures.from_config(config)
    assert clone.get_config() == config
    x = _points(4, 3)
    np.testing.assert_array_equal(_np(clone(x)), _np(layer(x)))  # the seed rebuilds the same weights


def test_orf_saved_model_loads_and_predicts_identically(tmp_path):
    model = keras.Sequential(
        [keras.Input((5,)), OrthogonalRandomFeatures(64, scale=2.0, seed=0), keras.layers.Dense(3)]
    )
    x = _points(8, 5)
    path = tmp_path / "orf.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded.layers[0], OrthogonalRandomFeatures)
    np.testing.assert_array_equal(_np(loaded(x)), _np(model(x)))


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"output_dim": 0}, "output_dim"),
        ({"output_dim": 7}, "even"),
        ({"output_dim": "64"}, "output_dim"),
        ({"output_dim": 8, "gamma": 0.0}, "gamma"),
        ({"output_dim": 8, "scale": -1.0}, "scale"),
        ({"output_dim": 8, "gamma": 0.1, "scale": 1.0}, "not both"),
        ({"output_dim": 8, "seed": -1}, "seed"),
        ({"output_dim": 8, "seed": 1.5}, "seed"),
    ],
)
def test_orf_rejects_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        OrthogonalRandomFeatures(**kwargs)


def test_orf_rejects_input_that_is_not_rank_2():
    with pytest.raises(ValueError, match="rank of the input"):
        OrthogonalRandomFeatures(8).build((None, 4, 4))


# ---------------------------------------------------------------------------------------------
# NystroemFeatures


def _train(n=600, d=D_IN, seed=1):
    return _points(n, d, seed)


def test_landmarks_are_distinct_training_rows_drawn_with_the_seed():
    train = _train()
    a, b, c = (NystroemFeatures.from_data(train, 50, gamma=GAMMA, seed=s) for s in (3, 3, 4))
    for layer in (a, b, c):
        layer.build((None, D_IN))
    landmarks = _np(a.landmarks)
    assert len({row.tobytes() for row in landmarks}) == 50
    assert all((train == row).all(axis=1).any() for row in landmarks)
    np.testing.assert_array_equal(_np(b.landmarks), landmarks)
    assert not np.array_equal(_np(c.landmarks), landmarks)


def test_nystroem_is_exact_on_the_landmarks():
    layer = NystroemFeatures.from_data(_train(), 100, gamma=GAMMA, seed=0)
    layer.build((None, D_IN))
    landmarks = _np(layer.landmarks)
    np.testing.assert_allclose(kernel_estimate(layer, landmarks), rbf_kernel(landmarks, gamma=GAMMA), atol=2e-5)
    assert layer.dropped_eigenvalues == 0


def test_nystroem_features_are_scikit_learns():
    train, x = _train(), _points()
    reference = Nystroem(gamma=GAMMA, n_components=120, random_state=0).fit(train)
    layer = NystroemFeatures(120, gamma=GAMMA, landmarks=reference.components_)
    # Both are K(x, L) K_LL^{-1/2} with the same symmetric K_LL^{-1/2}: equal, not just rotated.
    np.testing.assert_allclose(_np(layer(x)), reference.transform(x), atol=2e-5)


def test_nystroem_approximates_the_exact_kernel_and_improves_with_landmarks():
    train, x = _train(), _points()
    exact = rbf_kernel(x, gamma=GAMMA)
    errors = {}
    for m in (25, 100, 400):
        layer = NystroemFeatures.from_data(train, m, gamma=GAMMA, seed=0)
        errors[m] = np.abs(_off_diagonal(kernel_estimate(layer, x) - exact)).mean()
        # The expected scale is float64 Nyström's own error with the same landmarks (0.033,
        # 0.0097, 0.0019 here): ours must be that, up to float32 rounding.
        features = Nystroem(gamma=GAMMA, n_components=m).fit(_np(layer.landmarks)).transform(x)
        expected = np.abs(_off_diagonal(features @ features.T - exact)).mean()
        assert errors[m] == pytest.approx(expected, rel=1e-2, abs=1e-5)
    assert errors[25] > 2 * errors[100] > 4 * errors[400]  # measured: 3.4× and 5.2× smaller
    assert errors[400] < 0.003


def test_nystroem_beats_random_features_of_the_same_dimension_on_this_data():
    # 16-dim Gaussian data, 200 features: Nyström ≈ 0.005, ORF ≈ 0.026 (measured, 2 seeds each).
    train, x = _train(), _points()
    nystroem = max(_mean_abs_error(NystroemFeatures.from_data(train, 200, gamma=GAMMA, seed=s), x) for s in range(2))
    orf = min(_mean_abs_error(OrthogonalRandomFeatures(200, gamma=GAMMA, seed=s), x) for s in range(2))
    assert nystroem < orf / 2


def test_repeated_landmarks_give_finite_exact_features():
    landmarks = np.repeat(_points(10), 2, axis=0)  # K_LL is singular: 10 zero eigenvalues
    layer = NystroemFeatures(20, gamma=GAMMA, landmarks=landmarks)
    out = _np(layer(landmarks))
    assert layer.dropped_eigenvalues == 10
    # Raising the zero eigenvalues to a floor instead (scikit-learn's way) errs by 3e-4 here
    # in float32 at the same floor, by 0.26 at scikit-learn's 1e-12.
    np.testing.assert_allclose(out @ out.T, rbf_kernel(landmarks, gamma=GAMMA), atol=1e-5)


def test_inverse_sqrt_psd():
    a = np.random.default_rng(0).normal(size=(6, 6))
    spd = a @ a.T + np.eye(6)
    root, clipped = inverse_sqrt_psd(spd)
    np.testing.assert_allclose(root @ spd @ root, np.eye(6), atol=1e-10)
    assert clipped == 0
    singular = a[:, :4] @ a[:, :4].T  # rank 4: a pseudo-inverse square root, 2 directions dropped
    root, dropped = inverse_sqrt_psd(singular)
    assert dropped == 2 and np.isfinite(root).all()
    np.testing.assert_allclose(singular @ root @ root @ singular, singular, atol=1e-8)


def test_gamma_from_scale_or_default():
    assert NystroemFeatures(4, scale=SCALE).gamma == pytest.approx(GAMMA)
    layer = NystroemFeatures.from_data(_train(20, 8), 4)
    layer.build((None, 8))
    assert layer.gamma == pytest.approx(1 / 8)  # scikit-learn's default


def test_layer_without_landmarks_or_weights_outputs_nan():
    layer = NystroemFeatures(5, gamma=0.5)
    assert np.isnan(_np(layer(_points(3, 4)))).all()


def test_nystroem_config_round_trip_holds_no_arrays():
    layer = NystroemFeatures.from_data(_train(), 30, gamma=0.2, seed=0, name="nys")
    x = _points(5)
    before = _np(layer(x))
    config = layer.get_config()
    assert len(json.dumps(config)) < 1000
    clone = NystroemFeatures.from_config(config)
    assert clone.get_config() == config
    clone.build((None, D_IN))
    clone.set_weights(layer.get_weights())  # the weights carry the landmarks
    np.testing.assert_array_equal(_np(clone(x)), before)


def test_nystroem_weights_are_fixed():
    layer = NystroemFeatures.from_data(_train(), 10, seed=0)
    layer.build((None, D_IN))
    assert layer.trainable_weights == []
    assert {w.name for w in layer.non_trainable_weights} == {"landmarks", "normalization"}


def test_nystroem_saved_model_reloads_without_the_data(tmp_path):
    train = _train()
    model = keras.Sequential(
        [keras.Input((D_IN,)), NystroemFeatures.from_data(train, 40, gamma=GAMMA, seed=0), keras.layers.Dense(3)]
    )
    x = _points(8)
    path = tmp_path / "nystroem.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)  # rebuilt from config and weights alone
    assert isinstance(loaded.layers[0], NystroemFeatures)
    np.testing.assert_array_equal(_np(loaded.layers[0].landmarks), _np(model.layers[0].landmarks))
    np.testing.assert_array_equal(_np(loaded(x)), _np(model(x)))


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"n_landmarks": 0}, "n_landmarks"),
        ({"n_landmarks": 2.5}, "n_landmarks"),
        ({"n_landmarks": True}, "n_landmarks"),
        ({"n_landmarks": 3, "gamma": -1.0}, "gamma"),
        ({"n_landmarks": 3, "gamma": float("nan")}, "gamma"),
        ({"n_landmarks": 3, "scale": 0}, "scale"),
        ({"n_landmarks": 3, "gamma": 0.1, "scale": 1.0}, "not both"),
        ({"n_landmarks": 3, "landmarks": np.zeros((4, 2))}, "landmarks"),
        ({"n_landmarks": 3, "landmarks": np.zeros(3)}, "landmarks"),
        ({"n_landmarks": 1, "landmarks": [[0.0, np.inf]]}, "landmarks"),
    ],
)
def test_nystroem_rejects_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        NystroemFeatures(**kwargs)


@pytest.mark.parametrize(
    "x, kwargs, name",
    [
        (np.zeros((5, 2)), {"n_landmarks": 6}, "n_landmarks.*at most"),
        (np.zeros(5), {"n_landmarks": 2}, "`x`"),
        (np.zeros((5, 2)), {"n_landmarks": 2, "seed": "0"}, "seed"),
    ],
)
def test_from_data_rejects_bad_arguments(x, kwargs, name):
    with pytest.raises(ValueError, match=name):
        NystroemFeatures.from_data(x, **kwargs)


def test_nystroem_rejects_input_of_another_width():
    layer = NystroemFeatures(3, landmarks=np.zeros((3, 4)))
    with pytest.raises(ValueError, match="landmarks.*4 features.*input has 5"):
        layer.build((None, 5))


# --------------------------------------------------------------------------- folding Nyström's head


def test_unwhitened_layer_outputs_the_exact_kernel_against_the_landmarks():
    train = _train()
    layer = NystroemFeatures.from_data(train, 30, gamma=GAMMA, seed=0, whiten=False)
    x = _points(8, seed=5)
    out = _np(layer(x))
    np.testing.assert_allclose(out, rbf_kernel(x, _np(layer.landmarks), gamma=GAMMA), atol=1e-5)
    assert [w.name for w in layer.weights] == ["landmarks"]  # no m x m matrix kept
    assert layer.get_config()["whiten"] is False


def test_whiten_must_be_a_bool():
    with pytest.raises(ValueError, match="whiten"):
        NystroemFeatures(3, whiten="no")


def test_chunked_numpy_features_equal_the_layers():
    train = _train()
    layer = NystroemFeatures.from_data(train, 30, gamma=GAMMA, seed=0)
    x = _points(50, seed=6)
    np.testing.assert_allclose(nystroem_features(layer, x, chunk_rows=7), _np(layer(x)), atol=1e-5)
    with pytest.raises(ValueError, match="whiten"):
        nystroem_features(NystroemFeatures.from_data(train, 30, gamma=GAMMA, seed=0, whiten=False), x)


def test_folded_model_predicts_the_scores_of_features_then_head():
    train = _train()
    layer = NystroemFeatures.from_data(train, 30, gamma=GAMMA, seed=0)
    layer.build((None, D_IN))
    head = keras.layers.Dense(4)
    head.build((None, 30))
    rng = np.random.default_rng(1)
    head.set_weights([rng.normal(size=(30, 4)).astype("float32"), rng.normal(size=4).astype("float32")])
    x = _points(20, seed=7)
    expected = _np(head(3.0 * layer(x)))
    folded = fold_nystroem(layer, head, feature_scale=3.0)
    assert isinstance(folded.layers[0], NystroemFeatures) and not folded.layers[0].whiten
    np.testing.assert_allclose(_np(folded(x)), expected, rtol=1e-4, atol=1e-4)
