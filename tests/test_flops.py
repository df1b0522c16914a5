import numpy as np
import pytest

from helpers import flops


def test_fit_multiply_adds_matches_a_hand_count():
    # A 3 -> 4 fixed projection, then a trained Dense(2): per row and epoch, forward 3·4 + 4·2 = 20,
    # weight gradient of the Dense 4·2 = 8, no input gradient (nothing trained below the Dense).
    assert flops.fit_multiply_adds([(3, 4, False), (4, 2, True)], rows=5, epochs=2) == 2 * 5 * 28
    # Both trained: forward 20, weight gradients 12 + 8, input gradient of the top product 8 = 48;
    # 7 validation rows add their forward pass (20) each epoch.
    assert flops.fit_multiply_adds([(3, 4, True), (4, 2, True)], rows=5, epochs=2, validation_rows=7) == (
        2 * (5 * 48 + 7 * 20)
    )
    assert flops.fit_multiply_adds([(3, 4, False)], rows=5) == 5 * 12  # nothing trained: forward only


def test_fit_multiply_adds_counts_what_back_propagation_multiplies():
    """The same count, read off the shapes of the products a numpy training step really does."""
    rng = np.random.default_rng(0)
    x, w1, w2 = rng.normal(size=(5, 3)), rng.normal(size=(3, 4)), rng.normal(size=(4, 2))
    done = []

    def matmul(a, b):
        done.append(a.shape[0] * a.shape[1] * b.shape[1])
        return a @ b

    hidden = matmul(x, w1)
    delta_out = matmul(hidden, w2) - 1.0  # the output gradient of a squared loss
    matmul(hidden.T, delta_out)  # gradient of w2
    delta_hidden = matmul(delta_out, w2.T)
    matmul(x.T, delta_hidden)  # gradient of w1
    assert sum(done) == flops.fit_multiply_adds([(3, 4, True), (4, 2, True)], rows=5)


def test_feature_multiply_adds_by_map():
    assert flops.feature_multiply_adds("rff", 10, 784, 8192) == 10 * 784 * 4096
    assert flops.feature_multiply_adds("rff_cos", 10, 784, 8192) == 10 * 784 * 8192
    assert flops.feature_multiply_adds("nystroem", 10, 5, 3) == 3 * 3 * 5 + 10 * (5 * 3 + 3 * 3)
    with pytest.raises(ValueError, match="feature_map"):
        flops.feature_multiply_adds("fourier", 10, 5, 3)


def test_gflops_and_matmul_rate():
    assert flops.gflops(5e9, 2.0) == pytest.approx(5.0)
    with pytest.raises(ValueError, match="seconds"):
        flops.gflops(1, 0.0)
    assert 0.05 < flops.matmul_gflops(size=256, repeats=2) < 1e5  # a real, finite rate
    with pytest.raises(ValueError, match="size"):
        flops.matmul_gflops(size=0)
