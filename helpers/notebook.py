"""Small utilities every notebook uses: parameter checks, the device report, the results file.

- ``require_int``, ``require_positive_int``, ``require_positive_number``, ``require_fraction``, ``require_file``, ``require_choice``,
  ``require_bool``: stop a notebook at once with a ``ValueError`` that names the parameter.
- ``require_known_parameters``: stop when papermill passed a name the ``parameters`` cell lacks
  (papermill itself only warns, and the notebook would run its default).
- ``require_tabular``: load the CSV parameter, errors naming ``data_path``/``label_column``;
  ``require_rows_per_class``: enough training rows in every class after the test split.
- ``smoke_size``: the full value, or a tiny one in smoke mode.
- ``env_flag``, ``env_size``: defaults from environment variables (CI's smoke switch, Binder's sizes),
  read after the ``parameters`` cell so that cell stays plain literals papermill can parse.
- ``device_summary``: the Keras backend, the versions and the device, with a clear warning on CPU.
- ``write_results``: the notebook's key figures as JSON, written atomically.
- ``in_colab``: whether we run on Google Colab; ``quiet_logs``: mute TensorFlow's Python warnings.
- ``import_keras``: import Keras without the backend's native start-up lines on stderr.

Nothing here imports TensorFlow at import time; backends are asked lazily.
"""

from __future__ import annotations

import ast
import contextlib
import difflib
import json
import math
import os
import platform
import sys
import tempfile
from pathlib import Path

import numpy as np

NO_GPU_WARNING = (
    "No GPU found: running on CPU. Everything here runs on a CPU; "
    "the timings will be CPU timings."
)


# --------------------------------------------------------------------------- parameters

# Names papermill may inject besides the notebook's own (its --inject-paths options).
PAPERMILL_NAMES = frozenset({"PAPERMILL_INPUT_PATH", "PAPERMILL_OUTPUT_PATH"})
INJECTED_CELL_START = "# Parameters\n"  # how papermill's Python translator opens the injected cell


def describe_unknown(unknown, known):
    """'`epoch` (did you mean `epochs`?)' for each unknown name, then the known ones."""
    parts = []
    for name in sorted(unknown):
        close = difflib.get_close_matches(name, sorted(known), n=1)
        parts.append(f"`{name}`" + (f" (did you mean `{close[0]}`?)" if close else ""))
    return f"{', '.join(parts)}; known parameters: {', '.join(sorted(known))}"


def injected_parameter_names(inputs):
    """The names the last cell papermill injected assigns, from the kernel's inputs; None if none."""
    for source in reversed(list(inputs)):
        if isinstance(source, str) and source.startswith(INJECTED_CELL_START):
            tree = ast.parse(source)
            return {target.id for node in tree.body if isinstance(node, ast.Assign)
                    for target in node.targets if isinstance(target, ast.Name)}
    return None


def require_known_parameters(namespace=None):
    """Stop with a ``ValueError`` if papermill injected a parameter the ``parameters`` cell lacks.

    Call it in the cell after the ``parameters`` cell. The known names are the annotated ones
    (``seed: int = 0`` puts ``seed`` in ``__annotations__``); the injected ones are read from the
    kernel's input history (``In``), where papermill's cell starts with ``# Parameters``. A
    misspelled ``-p epoch 3`` would otherwise only be a papermill warning, and the run would use
    the default ``epochs``. Outside papermill (no injected cell) it checks nothing.
    """
    if namespace is None:
        try:
            from IPython import get_ipython
        except ImportError:
            return
        shell = get_ipython()
        if shell is None:
            return
        namespace = shell.user_ns
    known = set(namespace.get("__annotations__", {}))
    injected = injected_parameter_names(namespace.get("In", []))
    if not known or injected is None:
        return
    unknown = injected - known - PAPERMILL_NAMES
    if unknown:
        raise ValueError(
            f"Unknown parameter(s) {describe_unknown(unknown, known)}. This notebook has no such "
            "parameter, so the value would be ignored: fix the name.")


def require_bool(name, value):
    """``value`` must be True or False (papermill passes real booleans)."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"Parameter `{name}` must be True or False. Received: {name}={value!r}")
    return bool(value)


def require_int(name, value, minimum=0):
    """``value`` must be an int >= ``minimum`` (bools are refused: ``True`` is not a count)."""
    if (
        isinstance(value, (bool, np.bool_))
        or not isinstance(value, (int, np.integer))
        or value < minimum
    ):
        kind = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(f"Parameter `{name}` must be {kind}. Received: {name}={value!r}")
    return int(value)


def require_positive_int(name, value):
    """``value`` must be an int >= 1, e.g. an epoch count or a batch size."""
    return require_int(name, value, minimum=1)


def require_positive_number(name, value):
    """``value`` must be a number > 0 (e.g. an RFF scale); returns it as a float."""
    if (
        isinstance(value, (bool, np.bool_))
        or not isinstance(value, (int, float, np.integer, np.floating))
        or not float(value) > 0.0
    ):
        raise ValueError(f"Parameter `{name}` must be a positive number. Received: {name}={value!r}")
    return float(value)


def require_fraction(name, value):
    """``value`` must be a number strictly between 0 and 1 (e.g. a test-set share)."""
    if (
        isinstance(value, (bool, np.bool_))
        or not isinstance(value, (int, float, np.integer, np.floating))
        or not 0.0 < float(value) < 1.0
    ):
        raise ValueError(
            f"Parameter `{name}` must be a number between 0 and 1 (exclusive). "
            f"Received: {name}={value!r}"
        )
    return float(value)


def require_file(name, path):
    """``path`` must name an existing file; returns it as a ``Path``."""
    if path is None or str(path) == "":
        raise ValueError(f"Parameter `{name}` must be a path to a file. Received: {name}={path!r}")
    path = Path(path).expanduser()
    if not path.is_file():
        raise ValueError(
            f"Parameter `{name}`: file not found: {path} (working directory {Path.cwd()})"
        )
    return path


def require_choice(name, value, choices):
    """``value`` must be one of ``choices``."""
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(
            f"Parameter `{name}` must be one of {list(choices)}. Received: {name}={value!r}"
        )
    return value


def require_optional_path(name, path):
    """``path`` is None or a string/Path where a file can be written (its folder must exist)."""
    if path is None:
        return None
    if not isinstance(path, (str, os.PathLike)) or str(path) == "":
        raise ValueError(f"Parameter `{name}` must be None or a file path. Received: {name}={path!r}")
    path = Path(path).expanduser()
    if not path.parent.is_dir():
        raise ValueError(f"Parameter `{name}`: folder {path.parent} does not exist")
    return path


def require_tabular(data_path, label_column=None):
    """Load the CSV of parameter ``data_path`` with ``helpers.data.load_tabular``.

    Any problem (missing file, unknown label column, text features, ...) becomes a
    ``ValueError`` that names the parameters, so the notebook stops at its first cell.
    """
    from helpers.data import load_tabular

    path = require_file("data_path", data_path)
    if label_column is not None and not isinstance(label_column, (str, int)):
        raise ValueError(
            f"Parameter `label_column` must be None or a column name. Received: {label_column!r}"
        )
    try:
        return load_tabular(path, label_column=label_column)
    except ValueError as err:
        raise ValueError(f"Parameters `data_path`/`label_column`: {err}") from None


def require_rows_per_class(y, class_names, *, test_size, seed, minimum, why):
    """Stop unless the stratified test split leaves every class at least ``minimum`` training rows.

    The split is the one the notebook makes next (``train_test_split`` with ``stratify=y`` and
    ``random_state=seed``; it depends on the labels only), so the check is exact, and a table
    with tiny classes stops here instead of deep in a cross-validation. ``why`` says what needs them.
    """
    from sklearn.model_selection import train_test_split

    y = np.asarray(y)
    try:
        y_train = train_test_split(np.arange(len(y)), y, test_size=test_size, stratify=y, random_state=seed)[2]
    except ValueError as err:
        raise ValueError(f"Parameters `data_path`/`test_size`: the stratified split of {len(y)} rows "
                         f"(test_size={test_size}) is impossible: {err}") from None
    counts = np.bincount(y_train, minlength=len(class_names))
    small = [(name, int(n)) for name, n in zip(class_names, counts) if n < minimum]
    if small:
        shown = ", ".join(f"{name!r}: {n}" for name, n in small[:10]) + (", ..." if len(small) > 10 else "")
        raise ValueError(
            f"Parameter `data_path`: {len(small)} of {len(class_names)} classes have fewer than {minimum} training "
            f"rows after the test split (test_size={test_size}) of the {len(y)} rows used ({shown}); this notebook "
            f"needs at least {minimum} per class: {why}. Merge or drop the small classes, add rows, or lower `test_size`.")


def env_flag(variable):
    """True when environment ``variable`` is "1", "true" or "yes" (e.g. ``SVM_TUTORIAL_SMOKE=1`` in CI)."""
    return os.environ.get(variable, "").strip().lower() in ("1", "true", "yes")


def env_size(name, value, variable):
    """``value`` if the notebook was given one, else the positive integer in ``variable``, else None.

    Binder's ``start`` script sets smaller MNIST sizes this way; a papermill parameter still wins.
    """
    if value is not None:
        return value
    text = os.environ.get(variable, "").strip()
    if not text:
        return None
    try:
        return require_positive_int(name, int(text))
    except ValueError as err:
        raise ValueError(f"Environment variable {variable} (the default of `{name}`) must be a positive integer. Received: {text!r}") from err


def smoke_size(full, smoke_value, smoke):
    """``smoke_value`` in smoke mode, else ``full``: keeps the switch in one readable place."""
    return smoke_value if smoke else full


# --------------------------------------------------------------------------- environment


def in_colab():
    """True when running inside Google Colab."""
    return "google.colab" in sys.modules


def gpu_names():
    """Model names of the accelerators the active Keras backend sees (only that backend is imported)."""
    keras = import_keras()

    backend = keras.backend.backend()
    try:
        if backend == "tensorflow":
            import tensorflow as tf

            return [
                str(tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name))
                for gpu in tf.config.list_physical_devices("GPU")
            ]
        if backend == "jax":
            import jax

            return [str(d.device_kind) for d in jax.devices() if d.platform != "cpu"]
        if backend == "torch":
            import torch

            if torch.cuda.is_available():
                return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    except Exception:  # a broken driver must not stop a CPU run
        return []
    return []


def versions():
    """Versions of Python, Keras, NumPy, scikit-learn and the active backend's library."""
    keras = import_keras()
    import sklearn

    found = {
        "python": platform.python_version(),
        "keras": keras.__version__,
        "numpy": np.__version__,
        "sklearn": sklearn.__version__,
    }
    # Only the active backend's library: Keras may import TensorFlow even on JAX.
    backend = keras.backend.backend()
    module = sys.modules.get(backend)
    if module is not None and hasattr(module, "__version__"):
        found[backend] = module.__version__
    return found


@contextlib.contextmanager
def native_stderr_silenced():
    """Point file descriptor 2 at /dev/null while the block runs.

    Compiled libraries (TensorFlow's CUDA stub, for one) write to the descriptor directly,
    before any Python logging is set up, and Jupyter copies what they write into the
    notebook. Python-level warnings and exceptions do not go through the descriptor here
    (Jupyter gives ``sys.stderr`` its own stream), so they stay visible.
    """
    with contextlib.suppress(Exception):
        sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_keras():
    """Import Keras and its backend, keeping the backend's native start-up lines off stderr.

    On a machine without CUDA, the TensorFlow wheel prints "Could not find cuda drivers on
    your machine" while it loads, whatever ``TF_CPP_MIN_LOG_LEVEL`` says; that is noise in
    a notebook. Later imports of ``keras`` reuse the loaded module.
    """
    if "keras" not in sys.modules:
        with native_stderr_silenced():
            import keras  # noqa: F401
    return sys.modules["keras"]


def quiet_logs():
    """Silence TensorFlow's Python-side warnings (e.g. retracing notes during cross-validation)."""
    import logging

    for name in ("tensorflow", "absl"):
        logging.getLogger(name).setLevel(logging.ERROR)


def device_summary(file=None):
    """Print the Keras backend, library versions and the device; return them as a dict.

    Warns in one clear line when no GPU is found. Only the active backend is imported.
    """
    keras = import_keras()

    backend = keras.backend.backend()
    info = {**versions(), "backend": backend, "cpu_count": os.cpu_count(), "colab": in_colab()}
    info["gpus"] = gpu_names()
    lines = [
        f"Python {info['python']} | Keras {info['keras']} (backend: {backend})"
        + (f" | {backend} {info[backend]}" if backend in info else "")
        + f" | scikit-learn {info['sklearn']} | NumPy {info['numpy']}",
        f"CPU cores: {info['cpu_count']}" + (" | on Google Colab" if info["colab"] else ""),
    ]
    if info["gpus"]:
        lines.append("GPU: " + ", ".join(info["gpus"]))
    else:
        lines.append(NO_GPU_WARNING)
    print("\n".join(lines), file=file or sys.stdout)
    return info


# --------------------------------------------------------------------------- results


def to_jsonable(value):
    """Turn numpy scalars/arrays, tuples, Paths and dict keys into plain JSON types.

    NaN and infinities become None (JSON has no such numbers).
    """
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, os.PathLike):
        return str(value)
    if value is None or isinstance(value, (int, str)):
        return value
    raise TypeError(f"Cannot write {type(value).__name__} to JSON: {value!r}")


def write_results(path, results):
    """Write ``results`` as JSON to ``path`` (no-op when ``path`` is None); returns None.

    Nothing is returned on purpose: it is a notebook's last line, and a returned path would
    be displayed there, in reports too, where it names a staging folder that is gone when
    the run ends.

    ``peak_rss_mb``, the kernel's peak resident memory so far, is added: it is the figure
    that says whether a notebook fits Binder's 2 GB. The file is written to a temporary
    name in the same folder and renamed, so a reader never sees half a file.
    """
    if path is None:
        return None
    path = Path(path)
    results = {**results, "peak_rss_mb": peak_rss_mb()}
    text = json.dumps(to_jsonable(results), indent=2, sort_keys=True) + "\n"
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        # mkstemp creates the file private (0600); a results file is as readable as any other.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return None


def peak_rss_bytes():
    """This process' peak resident memory in bytes (Linux reports ru_maxrss in KiB, macOS in bytes)."""
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def peak_rss_mb():
    """This process' peak resident memory in MB (2**20 bytes), to one decimal."""
    return round(peak_rss_bytes() / 2**20, 1)
