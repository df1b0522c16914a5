"""A Keras 3 ``RandomFourierFeatures`` layer, written with ``keras.ops`` only.

Keras 2 shipped this layer as ``tf.keras.layers.experimental.RandomFourierFeatures``;
Keras 3 dropped it, which breaks the keras.io recipe "A Quasi-SVM in Keras". This is a
drop-in replacement: same constructor, same weights in the same order, same outputs
``cos(x @ W / scale + b)``, same ``get_config`` keys. It adds a ``seed`` for reproducible
features and runs on the TensorFlow, JAX and PyTorch backends.

Why it works (Rahimi & Recht, 2007): for w ~ N(0, I/scale²) and b ~ U(0, 2π),
``E[2 cos(w·x + b) cos(w·y + b)] = exp(-||x - y||² / (2 scale²))``. So with D features,
``(2/D) φ(x)·φ(y)`` approximates the Gaussian (RBF) kernel, and a linear model on φ(x)
approximates a kernel machine. Cauchy-distributed w gives the Laplacian kernel
``exp(-||x - y||₁ / scale)`` instead.
"""

import math

import keras
from keras import ops

SUPPORTED_KERNELS = ("gaussian", "laplacian")


@keras.saving.register_keras_serializable(package="helpers")
class CauchyInitializer(keras.initializers.Initializer):
    """Samples a standard Cauchy distribution: the spectral density of the Laplacian kernel."""

    def __init__(self, seed=None):
        self.seed = seed

    def __call__(self, shape, dtype=None):
        # Keep u away from 0 and 1, where tan(π(u - ½)) is infinite.
        eps = 1e-7
        u = keras.random.uniform(shape, minval=eps, maxval=1.0 - eps, dtype=dtype, seed=self.seed)
        return ops.tan(math.pi * (u - 0.5))

    def get_config(self):
        return {"seed": self.seed}


def default_scale(kernel_initializer, input_dim):
    """The legacy layer's default scale: sqrt(d/2) for 'gaussian', 1.0 otherwise."""
    if isinstance(kernel_initializer, str) and kernel_initializer.lower() == "gaussian":
        return math.sqrt(input_dim / 2.0)
    return 1.0


def _frequency_initializer(kernel_initializer, seed):
    if not isinstance(kernel_initializer, str):
        return keras.initializers.get(kernel_initializer)
    name = kernel_initializer.lower()
    if name == "gaussian":
        return keras.initializers.RandomNormal(mean=0.0, stddev=1.0, seed=seed)
    return CauchyInitializer(seed=seed)


@keras.saving.register_keras_serializable(package="helpers")
class RandomFourierFeatures(keras.layers.Layer):
    """Maps x to ``cos(x @ W / scale + b)``: random features of a shift-invariant kernel.

    Args:
        output_dim: D, the number of random features.
        kernel_initializer: "gaussian" (RBF kernel), "laplacian" (Laplacian kernel), or a
            Keras initializer for the unscaled frequencies W.
        scale: the kernel width σ. Gaussian: k(x, y) = exp(-||x-y||²/(2σ²)), i.e. an RBF
            γ of 1/(2σ²). Default as in Keras 2: sqrt(d/2) for gaussian, 1.0 otherwise.
        trainable: whether ``kernel_scale`` is learned (W and b never are).
        seed: makes W and b reproducible (not in the Keras 2 layer).
    """

    def __init__(
        self,
        output_dim,
        kernel_initializer="gaussian",
        scale=None,
        trainable=False,
        name=None,
        seed=None,
        **kwargs,
    ):
        if isinstance(output_dim, bool) or not isinstance(output_dim, int) or output_dim <= 0:
            raise ValueError(
                f"`output_dim` should be a positive integer. Received: output_dim={output_dim!r}"
            )
        if isinstance(kernel_initializer, str) and kernel_initializer.lower() not in SUPPORTED_KERNELS:
            raise ValueError(
                f"Unsupported `kernel_initializer`: {kernel_initializer!r}. "
                f"Expected one of {SUPPORTED_KERNELS} or a Keras initializer."
            )
        if scale is not None and not scale > 0.0:
            raise ValueError(f"`scale` should be a positive float. Received: scale={scale!r}")
        super().__init__(trainable=trainable, name=name, **kwargs)
        self.output_dim = output_dim
        self.kernel_initializer = kernel_initializer
        self.scale = scale
        self.seed = seed

    def build(self, input_shape):
        if len(input_shape) != 2:
            raise ValueError(
                "The rank of the input to `RandomFourierFeatures` should be 2 "
                f"(batch, features). Received input shape: {tuple(input_shape)}"
            )
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(
                "The last dimension of the input to `RandomFourierFeatures` should be "
                f"defined. Received input shape: {tuple(input_shape)}"
            )
        self.input_spec = keras.layers.InputSpec(ndim=2, axes={-1: input_dim})
        # W and b draw from one seed generator; offsetting the bias seed keeps them independent.
        bias_seed = None if self.seed is None else self.seed + 1
        # The order below (trainable kernel_scale listed first by Keras) matches the
        # Keras 2 layer's get_weights(), so weights copy across with set_weights().
        self.unscaled_kernel = self.add_weight(
            name="unscaled_kernel",
            shape=(input_dim, self.output_dim),
            dtype="float32",
            initializer=_frequency_initializer(self.kernel_initializer, self.seed),
            trainable=False,
        )
        self.bias = self.add_weight(
            name="bias",
            shape=(self.output_dim,),
            dtype="float32",
            initializer=keras.initializers.RandomUniform(0.0, 2.0 * math.pi, seed=bias_seed),
            trainable=False,
        )
        if self.scale is None:
            self.scale = default_scale(self.kernel_initializer, input_dim)
        self.kernel_scale = self.add_weight(
            name="kernel_scale",
            shape=(1,),
            dtype="float32",
            initializer=keras.initializers.Constant(self.scale),
            trainable=True,
            constraint="non_neg",
        )

    def call(self, inputs):
        inputs = ops.cast(inputs, "float32")
        # (1/scale)·W rather than W/scale: the legacy layer's rounding, so outputs match it.
        kernel = (1.0 / self.kernel_scale) * self.unscaled_kernel
        return ops.cos(ops.matmul(inputs, kernel) + self.bias)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.output_dim)

    def get_config(self):
        kernel_initializer = self.kernel_initializer
        if not isinstance(kernel_initializer, str):
            kernel_initializer = keras.initializers.serialize(kernel_initializer)
        config = super().get_config()
        config.update(
            {
                "output_dim": self.output_dim,
                "kernel_initializer": kernel_initializer,
                "scale": None if self.scale is None else float(self.scale),
                "seed": self.seed,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("kernel_initializer"), dict):
            config["kernel_initializer"] = keras.initializers.deserialize(config["kernel_initializer"])
        return cls(**config)


def feature_kernel(features_x, features_y):
    """Approximate kernel matrix (2/D)·φ(X)φ(Y)ᵀ from two batches of RFF outputs."""
    dim = ops.shape(features_x)[-1]
    return ops.matmul(features_x, ops.transpose(features_y)) * (2.0 / dim)


@keras.saving.register_keras_serializable(package="helpers")
class RandomFourierFeaturesSinCos(RandomFourierFeatures):
    """Maps x to ``[cos(x @ W / scale), sin(x @ W / scale)]``: paired random Fourier features.

    Same constructor, same kernels and same ``(2/D) φ(x)·φ(y)`` kernel estimate as
    :class:`RandomFourierFeatures`, but it draws ``output_dim // 2`` frequencies and returns
    a cosine and a sine of each instead of ``output_dim`` phase-shifted cosines. Since
    ``cos a cos b + sin a sin b = cos(a - b)``, each pair gives the kernel's Fourier term
    exactly, with no random phase: a lower-variance kernel estimate, and half the matrix
    product of the cosine layer for the same number of features (so twice as fast to
    predict). ``output_dim`` must be even. The layer keeps the parent's weights (the bias
    is created for a uniform weight layout but unused).
    """

    def __init__(self, output_dim, *args, **kwargs):
        if isinstance(output_dim, int) and not isinstance(output_dim, bool) and output_dim % 2:
            raise ValueError(
                f"`output_dim` should be even (cos and sin pairs). Received: output_dim={output_dim!r}"
            )
        super().__init__(output_dim, *args, **kwargs)

    def build(self, input_shape):
        # The parent builds W with output_dim columns; the pairs need only half of them.
        full = self.output_dim
        self.output_dim = full // 2
        try:
            super().build(input_shape)
        finally:
            self.output_dim = full

    def call(self, inputs):
        inputs = ops.cast(inputs, "float32")
        kernel = (1.0 / self.kernel_scale) * self.unscaled_kernel
        projection = ops.matmul(inputs, kernel)
        return ops.concatenate([ops.cos(projection), ops.sin(projection)], axis=-1)
