"""Kernel approximations at their limit: accuracy and agreement against prediction cost.

For each feature map of ``helpers.models.fit_quasi_svm`` (random Fourier cosines, sin/cos
pairs, orthogonal random features, Nyström) and each feature count D, the harness' ``quasi_svm``
is trained on the same rows, at the exact SVC's γ and C, and compared with that SVC on the
test set: test accuracy, agreement (with its floor and on the SVC's errors), fit and predict
seconds. The SVC is one point, its prediction timed twice: libsvm's and the same SVC by
matrix products (``helpers.svm.rbf_svc_predict``).

Every competitor is timed under one protocol (``helpers.timing``), recorded with its figures:
each fit once, after one untimed warm-up (Keras: the compile warm-up of the harness; the SVC: a
fit on the first 1,024 rows); each prediction of the test set, the approximations' and both of
the SVC's, ``predict_repeats`` times after one untimed warm-up, the fastest kept and all kept.

    python -m helpers.pareto --out benchmarks/results-pareto-mnist.json
    python -m helpers.pareto --plot benchmarks/pareto.png benchmarks/results-pareto-mnist.json

The records are written after every point, so a run stopped by ``--time-budget`` (or killed)
keeps what it measured and says where it stopped. Nyström's set-up is an m×m
eigendecomposition, O(m³): ``--max-landmarks`` caps it (default 8,192) and the skipped
points are recorded as such.
"""

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from helpers import bench, compare, svm
from helpers.timing import Timing, timed

METHODS = ("rff_cos", "rff", "orf", "nystroem")
METHOD_LABELS = {
    "rff_cos": "RFF, cosines with random phase (keras.io layer)",
    "rff": "RFF, sin/cos pairs (the recipe)",
    "orf": "orthogonal random features",
    "nystroem": "Nyström (landmarks from the training rows)",
}
DIMS = (1024, 2048, 4096, 8192, 16384)
WARMUP_ROWS = bench.PREDICT_BATCH_SIZE  # rows of the SVC's untimed warm-up fit and predictions
FIT_PROTOCOL = "once, after 1 warm-up"  # every fit: the harness times quasi_svm's so, and the SVC's here


def _check_dims(dims):
    dims = [int(d) for d in dims]
    if not dims or any(d < 2 or d % 2 for d in dims):
        raise ValueError(f"`dims` should be even feature counts of at least 2. Received: dims={dims!r}")
    return dims


def _write(result, out):
    if out is not None:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps(bench._jsonable(result), indent=2) + "\n")


def run_pareto(
    dataset="mnist",
    methods=METHODS,
    dims=DIMS,
    *,
    gamma_factor=1.0,
    max_landmarks=8192,
    n_train=None,
    n_test=None,
    seed=0,
    mnist_path=None,
    time_budget=None,
    predict_repeats=3,
    out=None,
    verbose=True,
):
    """Measure every (method, D) pair against the exact SVC; return ``{"reference", "points", ...}``.

    ``predict_repeats``: every prediction (each approximation's, and the SVC's by libsvm and by
    BLAS) is timed this many times after one untimed warm-up; the fastest is the figure (all are
    kept), so a burst of load on a shared machine does not move a point. Each fit is timed once,
    after one untimed warm-up. ``result["protocol"]`` and each record say so in words.
    """
    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods:
        raise ValueError(f"`methods` should be a non-empty subset of {METHODS}. Received: {list(methods)!r}")
    dims = _check_dims(dims)
    if isinstance(predict_repeats, bool) or not isinstance(predict_repeats, int) or predict_repeats < 1:
        raise ValueError(f"`predict_repeats` should be a positive integer. Received: predict_repeats={predict_repeats!r}")
    if not gamma_factor > 0:
        raise ValueError(f"`gamma_factor` should be positive. Received: gamma_factor={gamma_factor!r}")
    import keras

    started = time.perf_counter()
    data = bench.load_dataset(dataset, n_train=n_train, n_test=n_test, seed=seed, mnist_path=mnist_path)
    y_test = data["y_test"]
    keras.utils.set_random_seed(seed)
    x_train, y_train, x_test = data["x_train"], data["y_train"], data["x_test"]
    rows = min(WARMUP_ROWS, len(x_train))
    bench.fit_reference_svc(x_train[:rows], y_train[:rows], x_test[:WARMUP_ROWS])  # the fit's warm-up, untimed
    svc = bench.fit_reference_svc(x_train, y_train, x_test, libsvm_rows=1)  # its fit_seconds: the timed fit
    model = svc["model"]
    libsvm = timed(lambda: np.asarray(model.predict(x_test)), repeats=predict_repeats,
                   warmup=lambda: model.predict(x_test[:WARMUP_ROWS]))
    blas = timed(lambda: svm.rbf_svc_predict(model, x_test), repeats=predict_repeats,
                 warmup=lambda: svm.rbf_svc_predict(model, x_test[:WARMUP_ROWS]))
    svc_labels = libsvm.result
    svc_fit_seconds, libsvm_seconds, blas_seconds = svc["fit_seconds"], libsvm.best, blas.best
    svc_accuracy = float(np.mean(svc_labels == y_test))
    protocol = dict(fit=FIT_PROTOCOL, predict=libsvm.protocol)
    result = dict(
        dataset=dataset, data=data["description"], n_train=len(data["y_train"]), n_test=len(y_test),
        backend=keras.backend.backend(), device=bench.device_name(), versions=bench.versions(),
        date=time.strftime("%Y-%m-%d"), cpu_count=os.cpu_count(), gamma_factor=gamma_factor,
        max_landmarks=max_landmarks, time_budget=time_budget, predict_repeats=predict_repeats,
        protocol=protocol, load_average_start=os.getloadavg(),
        reference=dict(
            approach="sklearn_svc", fit_seconds=svc_fit_seconds, fit_protocol=FIT_PROTOCOL,
            predict_seconds_libsvm=libsvm_seconds, predict_seconds_libsvm_repeats=list(libsvm.seconds),
            predict_seconds_blas=blas_seconds, predict_seconds_blas_repeats=list(blas.seconds),
            predict_protocol=libsvm.protocol,
            blas_equals_libsvm=float(np.mean(blas.result == svc_labels)), converged=svc["converged"],
            support_vectors=int(model.n_support_.sum()), test_accuracy=svc_accuracy,
            gamma=float(model._gamma), c=bench.SVC_C,
        ),
        points=[], stopped=None,
    )
    if verbose:
        print(f"sklearn_svc: acc {svc_accuracy:.4f}, fit {svc_fit_seconds:.1f}s, predict "
              f"{libsvm_seconds:.1f}s (libsvm) / {blas_seconds:.2f}s (BLAS)", flush=True)
    _write(result, out)
    for method in methods:
        for dim in dims:
            point = dict(method=method, output_dim=dim)
            if method == "nystroem" and dim > max_landmarks:
                point["skipped"] = f"more than max_landmarks={max_landmarks} (O(m^3) set-up)"
                result["points"].append(point)
                continue
            if time_budget is not None and time.perf_counter() - started > time_budget:
                result["stopped"] = f"time budget {time_budget:.0f} s spent before {method} D={dim}"
                _write(result, out)
                return result
            keras.utils.set_random_seed(seed)
            record, labels = bench._run_quasi_svm(
                data, epochs=None, batch_size=None, output_dim=dim, scale=None, seed=seed,
                seed_target=None, feature_map=method, gamma_factor=gamma_factor,
                predict_repeats=predict_repeats,
            )
            accuracy = float(np.mean(labels == y_test))
            # The harness timed the prediction after its one untimed warm-up predict: the same protocol.
            predict_timing = Timing(tuple(record["predict_seconds_repeats"]), warmups=1)
            errors = compare.agreement_on_errors(labels, svc_labels, y_test)
            point.update(
                test_accuracy=accuracy, agreement_with_svc=compare.agreement(labels, svc_labels),
                agreement_floor=compare.agreement_floor(accuracy, svc_accuracy),
                agreement_on_svc_errors=None if np.isnan(errors) else errors,
                fit_seconds=record["fit_seconds"], feature_seconds=record["feature_seconds"],
                train_seconds=record["train_seconds"], predict_seconds=record["predict_seconds"],
                predict_seconds_repeats=record["predict_seconds_repeats"],
                fit_protocol=FIT_PROTOCOL, predict_protocol=predict_timing.protocol,
                load_average=os.getloadavg(),
                trainable_params=record["trainable_params"], params=record["params"],
                peak_rss_mb=bench.peak_rss_mb(),
            )
            result["points"].append(point)
            _write(result, out)
            if verbose:
                print(f"{method} D={dim}: acc {accuracy:.4f}, agreement {point['agreement_with_svc']:.4f}, "
                      f"fit {point['fit_seconds']:.1f}s, predict {point['predict_seconds']:.2f}s", flush=True)
    result["seconds"] = time.perf_counter() - started
    result["load_average_end"] = os.getloadavg()
    _write(result, out)
    return result


def plot_pareto(result, path=None):
    """Test accuracy and agreement with the SVC against prediction seconds, a line per method."""
    import matplotlib.pyplot as plt
    from matplotlib import ticker

    ref = result["reference"]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6), sharex=True)
    for ax, key, label in ((axes[0], "test_accuracy", "test accuracy"),
                           (axes[1], "agreement_with_svc", "agreement with the exact SVC")):
        for method in METHODS:
            points = [p for p in result["points"] if p["method"] == method and "skipped" not in p]
            if not points:
                continue
            xs, ys = [p["predict_seconds"] for p in points], [p[key] for p in points]
            ax.plot(xs, ys, marker="o", label=METHOD_LABELS[method])
            for p, x, y in zip(points, xs, ys):
                ax.annotate(f"{p['output_dim'] / 1024:g}k", (x, y), textcoords="offset points",
                            xytext=(4, -10), fontsize=7)
        if key == "test_accuracy":
            for seconds, how in ((ref["predict_seconds_libsvm"], "libsvm"), (ref["predict_seconds_blas"], "BLAS")):
                ax.plot([seconds], [ref["test_accuracy"]], marker="*", markersize=12, linestyle="none",
                        label=f"exact SVC, predict by {how}")
        ax.set_xscale("log")
        # Plain tick labels ("0.5", "2"): no mathtext, so no font lookups and no crowded minor labels.
        ax.xaxis.set_major_locator(ticker.FixedLocator([0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100]))
        ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda value, _: f"{value:g}"))
        ax.xaxis.set_minor_formatter(ticker.NullFormatter())
        ax.set_xlabel(f"seconds to predict {result['n_test']:,} test rows (log scale)")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8, loc="lower right")
    fig.suptitle(f"{result['dataset']}: {result['n_train']:,} training rows, the exact SVC's gamma and C; "
                 "labels: feature count D", fontsize=10)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=110)
        plt.close(fig)
    return fig


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m helpers.pareto",
        description="Kernel approximations (RFF, ORF, Nyström) against the exact RBF SVC, D from 1k to 16k.",
    )
    parser.add_argument("--dataset", default="mnist", choices=("mnist", "fashion_mnist"))
    parser.add_argument("--methods", default=",".join(METHODS), help=f"comma-separated subset of {', '.join(METHODS)}")
    parser.add_argument("--dims", default=",".join(map(str, DIMS)), help="feature counts, comma-separated")
    parser.add_argument("--gamma-factor", type=float, default=1.0, help="gamma as a multiple of the SVC's (default 1)")
    parser.add_argument("--max-landmarks", type=int, default=8192, help="largest Nyström m (O(m^3) set-up)")
    parser.add_argument("--n-train", type=int)
    parser.add_argument("--n-test", type=int)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--mnist-path", help="Keras-layout mnist.npz (default: $MNIST_NPZ)")
    parser.add_argument("--time-budget", type=float, help="seconds: start no point after this; keep what was measured")
    parser.add_argument("--predict-repeats", type=int, default=3,
                        help="time every prediction (each approximation's, the SVC's by libsvm and by BLAS) this "
                             "often after one warm-up, keep the fastest")
    parser.add_argument("--out", help="write the records here as JSON (rewritten after every point)")
    parser.add_argument("--plot", nargs=2, metavar=("PNG", "RECORDS"), help="draw the figure of a records file")
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.plot:
        png, records = args.plot
        plot_pareto(json.loads(Path(records).read_text()), png)
        print(f"wrote {png}")
        return None
    try:
        dims = [int(d) for d in args.dims.split(",")]
    except ValueError:
        parser.error(f"argument --dims: expected comma-separated integers. Received: {args.dims!r}")
    methods = [m for m in args.methods.split(",") if m]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from helpers.notebook import quiet_logs

    quiet_logs()
    try:
        return run_pareto(
            args.dataset, methods, dims, gamma_factor=args.gamma_factor, max_landmarks=args.max_landmarks,
            n_train=args.n_train, n_test=args.n_test, seed=args.seed, mnist_path=args.mnist_path,
            time_budget=args.time_budget, predict_repeats=args.predict_repeats, out=args.out,
        )
    except ValueError as error:
        parser.error(str(error))


if __name__ == "__main__":
    main()
