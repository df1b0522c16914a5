"""The exact linear SVM by plain ``model.fit``: a step size that converges, and how close it got.

``helpers.models.fit_to_convergence`` is a solver, not Keras training: it smooths the hinge and
runs a float64 L-BFGS on the host. This module is the path a learner can take with Keras' own
``model.fit``: ``Dense(K, kernel_regularizer=l2(λ))`` + ``hinge`` trained by an optimizer whose
step shrinks (``PegasosSchedule`` for plain SGD, or Adam under Keras' ``PolynomialDecay`` to 0),
and ``ExactGapHistory``, which records after each epoch how far the model is from the exact SVM.
"""

import keras
import numpy as np
import pandas as pd

from helpers import svm
from helpers.models import keras_objective


@keras.saving.register_keras_serializable(package="helpers")
class PegasosSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """Plain SGD's step for Keras' hinge + ``l2(λ)``: η(s) = η₀ / (1 + 2λ η₀ s) = 1 / (2λ (s + s₀)).

    Keras' objective, mean hinge + λ‖W‖², is 2λ-strongly convex in the kernel, and SGD on a
    μ-strongly convex objective converges at the rate O(log T / T) with the step 1/(μ t)
    (Pegasos, which writes the objective with λ/2, so its 1/(λt) is this 1/(2λt)). ``s`` is
    Keras' step counter (0 for the first update) and s₀ = 1/(2λ η₀). ``initial_learning_rate``
    = 1/(2λ) is Pegasos' own start; a smaller η₀ delays the decay (Bottou's SGD-SVM), which
    the bias needs, as no penalty holds it: Pegasos' first step of 1/(2λ) sends it far away.
    """

    def __init__(self, l2, initial_learning_rate):
        for name, value in (("l2", l2), ("initial_learning_rate", initial_learning_rate)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"`{name}` must be a positive number. Received: {name}={value!r}")
        self.l2 = float(l2)
        self.initial_learning_rate = float(initial_learning_rate)

    def __call__(self, step):
        step = keras.ops.cast(step, "float32")
        rate = 2.0 * self.l2 * self.initial_learning_rate
        return self.initial_learning_rate / (1.0 + rate * step)

    def get_config(self):
        return {"l2": self.l2, "initial_learning_rate": self.initial_learning_rate}


def hinge_objective(coef, intercept, x, y, l2):
    """Keras' objective for ``Dense(K, l2(λ))`` + ``hinge``, mean hinge + λ‖W‖², of a linear model.

    ``coef`` (K, d) and ``intercept`` (K,) in scikit-learn's layout (a Keras kernel is
    ``coef.T``), ``y`` integer labels; float64. It is 2λ times the sum of scikit-learn's K
    one-vs-rest primals at C = 1/(2λnK) (``helpers.svm.c_from_l2``), so an exact SVM's
    minimum can be compared with what ``model.fit`` reaches, in the units Keras reports.
    """
    c = svm.c_from_l2(l2, len(x), max(np.atleast_2d(coef).shape[0], 1))
    return 2.0 * l2 * float(svm.ovr_hinge_objectives(coef, intercept, x, y, c).sum())


class ExactGapHistory(keras.callbacks.Callback):
    """After each epoch: Keras' objective on the training rows, its gap to the exact minimum, agreement.

    ``gap`` is (objective − minimum) / minimum, relative; ``agreement`` the share of
    ``x_eval`` rows on which the model predicts the class ``reference_labels`` gives (the
    exact SVM's predictions). The objective is the model's own loss and penalty
    (``helpers.models.keras_objective``), summed in float64. ``table()`` gives the records.
    """

    def __init__(self, x, y_onehot, minimum, x_eval, reference_labels, batch_size=8192):
        super().__init__()
        if not (isinstance(minimum, (int, float, np.floating)) and np.isfinite(minimum) and minimum > 0):
            raise ValueError(f"`minimum` must be a positive number (the exact objective). "
                             f"Received: minimum={minimum!r}")
        reference_labels = np.asarray(reference_labels)
        if reference_labels.shape != (len(x_eval),):
            raise ValueError(f"`reference_labels` must hold one label per row of `x_eval` "
                             f"({len(x_eval)}). Received shape {reference_labels.shape}")
        if len(y_onehot) != len(x):
            raise ValueError(f"`y_onehot` has {len(y_onehot)} rows, `x` has {len(x)}")
        self.x, self.y_onehot, self.minimum = x, y_onehot, float(minimum)
        self.x_eval, self.reference_labels, self.batch_size = x_eval, reference_labels, batch_size
        self.records = []

    def on_epoch_end(self, epoch, logs=None):
        objective = keras_objective(self.model, self.x, self.y_onehot)
        # Called directly, not by predict(), which costs a fixed ~0.1 s per call on small data.
        scores = np.concatenate([
            keras.ops.convert_to_numpy(self.model(np.asarray(self.x_eval[i:i + self.batch_size],
                                                             dtype="float32"), training=False))
            for i in range(0, len(self.x_eval), self.batch_size)])
        self.records.append({
            "epoch": epoch + 1,
            "objective": objective,
            "gap": (objective - self.minimum) / self.minimum,
            "agreement": svm.prediction_agreement(scores, self.reference_labels),
        })

    def table(self):
        """The records as a DataFrame indexed by epoch: objective, gap, agreement."""
        return pd.DataFrame(self.records, columns=["epoch", "objective", "gap", "agreement"]).set_index("epoch")
