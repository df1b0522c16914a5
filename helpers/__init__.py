"""Shared code for the "SVMs in Keras" notebooks.

One module per concern, each small enough to read whole:

- ``helpers.layers``: a Keras 3 ``RandomFourierFeatures`` layer (any backend).
- ``helpers.models``: builders for the Quasi-SVM, the linear SVM and the deep hinge model.
- ``helpers.svm``: the SVM arithmetic (L2 factor <-> C, RBF gamma <-> RFF scale, agreement).
- ``helpers.data``: MNIST / Fashion-MNIST loaders that work offline, the 4-class CSV loader.
- ``helpers.plots``: the figures the notebooks draw.
- ``helpers.bench``: the benchmark harness (``python -m helpers.bench``).
"""

import os

# TensorFlow's C++ start-up logs ("Could not find cuda drivers", "failed call to cuInit", ...)
# land in notebook outputs as pink stderr blocks. They must be silenced before TensorFlow
# loads, so this is set on importing helpers, which every notebook does first. An explicit
# TF_CPP_MIN_LOG_LEVEL of your own still wins; Python exceptions are never hidden.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

__version__ = "0.1.0"
