"""What a fit costs in multiply-adds, and how fast this machine multiplies matrices.

A fit's achieved rate, ``gflops(multiply_adds, seconds)`` = 2 × multiply-adds / seconds / 10⁹
(one multiply-add is two floating-point operations), set beside the machine's own float32
matrix-product rate (``matmul_gflops``) says whether a trainer is held back by arithmetic or by
something else: per-step overhead, memory traffic, small products. Only matrix products are
counted; the elementwise work (activations, cos and sin, the loss, the optimizer's update) is
small beside them and left out, as are eigendecompositions (Nyström's set-up).
"""

import time

import numpy as np


def matmul_gflops(size=2048, repeats=5, seed=0):
    """This machine's float32 matrix-product rate, GFLOP/s: the fastest of ``repeats`` products
    of two ``size`` × ``size`` matrices by NumPy's BLAS (all its threads), after one untimed.

    The fastest, not the mean: on a shared machine a slow repeat measures the other jobs.
    At 2,048 one product is 1.7·10¹⁰ FLOPs, large enough for BLAS's full rate on a CPU.
    """
    for name, value in (("size", size), ("repeats", repeats)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"`{name}` must be a positive integer. Received: {name}={value!r}")
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((size, size), dtype=np.float32)
    b = rng.standard_normal((size, size), dtype=np.float32)
    out = np.empty((size, size), dtype=np.float32)
    np.matmul(a, b, out=out)
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        np.matmul(a, b, out=out)
        best = min(best, time.perf_counter() - start)
    return gflops(size**3, best)


def gflops(multiply_adds, seconds):
    """The rate, in 10⁹ floating-point operations per second, of ``multiply_adds`` in ``seconds``."""
    if not seconds > 0:
        raise ValueError(f"`seconds` must be positive. Received: seconds={seconds!r}")
    return 2.0 * multiply_adds / seconds / 1e9


def fit_multiply_adds(products, rows, epochs=1, validation_rows=0):
    """Multiply-adds of the matrix products of ``epochs`` epochs of gradient training.

    ``products``: one row's forward pass as ``(n_in, n_out, trained)`` matrix products, first
    to last (a ``Dense(n_out)`` on ``n_in`` inputs is ``(n_in, n_out, True)``; a fixed random
    projection is ``(..., False)``). For each training row and epoch, back-propagation costs:

    - forward: ``n_in · n_out`` for every product;
    - weight gradient (inputsᵀ · output gradient): ``n_in · n_out`` for every trained product;
    - input gradient (output gradient · Wᵀ): ``n_in · n_out`` for every product that lies
      above a trained one, as the gradient must pass through it on its way down. The first
      product's input gradient (with respect to the data) is never needed.

    ``validation_rows`` are evaluated once per epoch: forward only.
    """
    forward = weight_gradient = input_gradient = 0
    first_trained = next((i for i, (_, _, trained) in enumerate(products) if trained), None)
    for i, (n_in, n_out, trained) in enumerate(products):
        size = int(n_in) * int(n_out)
        forward += size
        if trained:
            weight_gradient += size
        if first_trained is not None and i > first_trained:
            input_gradient += size
    per_epoch = rows * (forward + weight_gradient + input_gradient) + validation_rows * forward
    return int(epochs * per_epoch)


def feature_multiply_adds(feature_map, rows, input_dim, output_dim):
    """Multiply-adds of computing ``fit_quasi_svm``'s cached features of ``rows`` rows, once.

    ``rff`` and ``orf``: one ``input_dim`` × ``output_dim``/2 projection (cos and sin share it);
    ``rff_cos``: ``input_dim`` × ``output_dim``; ``nystroem`` with m = ``output_dim`` landmarks:
    the landmarks' m × m kernel (set-up), each row's kernel against them (``input_dim`` · m) and
    its whitening (m · m); the eigendecomposition is not a product and is not counted.
    """
    if feature_map in ("rff", "orf"):
        return int(rows) * input_dim * (output_dim // 2)
    if feature_map == "rff_cos":
        return int(rows) * input_dim * output_dim
    if feature_map == "nystroem":
        m = output_dim
        return m * m * input_dim + int(rows) * (input_dim * m + m * m)
    raise ValueError(f"Unknown `feature_map`: {feature_map!r}. Expected rff, rff_cos, orf or nystroem.")
