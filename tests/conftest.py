"""Shared test setup: quiet logs, the Keras backend under test in the header, a tiny MNIST-like file."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402


def pytest_report_header(config):
    return f"keras {keras.__version__}, backend {keras.backend.backend()}"


@pytest.fixture(scope="session")
def tiny_mnist(tmp_path_factory):
    """A learnable MNIST look-alike in Keras' npz layout: each digit is a bright square."""
    rng = np.random.default_rng(0)

    def images(n):
        labels = np.arange(n) % 10
        x = rng.integers(0, 60, size=(n, 28, 28))
        for i, label in enumerate(labels):
            row, col = divmod(int(label), 5)
            x[i, 4 + 10 * row : 12 + 10 * row, 1 + 5 * col : 6 + 5 * col] += 180
        return x.astype(np.uint8), labels.astype(np.uint8)

    (x_train, y_train), (x_test, y_test) = images(300), images(100)
    path = tmp_path_factory.mktemp("mnist") / "mnist.npz"
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return path
