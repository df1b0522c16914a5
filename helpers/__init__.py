"""Shared code for the "SVMs in Keras" notebooks.

One module per concern, each small enough to read whole:

- ``helpers.layers``: a Keras 3 ``RandomFourierFeatures`` layer (any backend).
- ``helpers.models``: builders for the Quasi-SVM, the linear SVM and the deep hinge model.
- ``helpers.svm``: the SVM arithmetic (L2 factor <-> C, RBF gamma <-> RFF scale, agreement).
- ``helpers.data``: MNIST / Fashion-MNIST loaders that work offline, the 4-class CSV loader.
- ``helpers.plots``: the figures the notebooks draw.
- ``helpers.bench``: the benchmark harness (``python -m helpers.bench``).
"""

__version__ = "0.1.0"
