"""The figures the notebooks draw: one function per figure, each returning its ``Figure``.

Nothing here calls ``plt.show()``: Jupyter shows a returned figure by itself, and scripts
or tests (Agg backend) can save or inspect it. Every function takes an optional ``ax``
where one panel makes sense, so figures can be combined.

- ``hinge_losses``: 0-1, hinge and squared hinge loss against the margin y·f(x).
- ``decision_boundaries``: several classifiers' boundaries over a 2-D data set.
- ``kernel_error_vs_dim``: random-feature kernel error against D, with the 1/√D trend.
- ``learning_curves``: loss and metrics per epoch from a Keras ``History`` (or a dict).
- ``confusion``: a confusion-matrix heatmap.
- ``accuracy_bars``: a bar chart of one score per model (optionally grouped), for benchmarks.
- ``parameter_sweep``: a score against one parameter, one line per value of another.
- ``accuracy_over_time``: test accuracy against training seconds, with reference points.
- ``timing_bars``: fit and predict seconds per model (log scale), side by side.
- ``margins``: binary SVMs' boundary, margins f = ±1 and circled support vectors, panels side by side;
  ``boundary_length`` measures how long (how wiggly) such a boundary is in the same window.
"""

from __future__ import annotations

import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.lines import Line2D
from sklearn.metrics import confusion_matrix

from helpers.svm import as_labels

_LINESTYLES = ("-", "--", ":", "-.")


def _figure(ax, figsize):
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
        return fig, ax
    return ax.figure, ax


def predict_labels(model, x):
    """Class labels from a callable, a scikit-learn estimator or a Keras model (scores → argmax)."""
    if callable(model) and not hasattr(model, "predict"):
        out = model(x)
    elif type(model).__module__.startswith("keras"):
        out = model.predict(x, verbose=0)
    else:
        out = model.predict(x)
    return as_labels(np.asarray(out))


def hinge_losses(margin_range=(-2.0, 3.0), ax=None):
    """Zero-one, hinge and squared-hinge loss as functions of the margin m = y·f(x)."""
    fig, ax = _figure(ax, (5.5, 3.5))
    m = np.linspace(*margin_range, 400)
    ax.plot(m, (m <= 0).astype(float), label="0-1 loss: [m ≤ 0]", color="grey")
    ax.plot(m, np.maximum(0.0, 1.0 - m), label="hinge: max(0, 1 − m)")
    ax.plot(m, np.maximum(0.0, 1.0 - m) ** 2, label="squared hinge: max(0, 1 − m)²", ls="--")
    ax.axvline(1.0, color="black", lw=0.8, ls=":")
    ax.set(xlabel="margin m = y·f(x)", ylabel="loss", ylim=(-0.1, 4.0), title="Hinge losses")
    ax.legend(frameon=False)
    return fig


def decision_boundaries(models, x, y, ax=None, grid_points=200, padding=0.5, title=None):
    """Draw every model's decision boundary over the same 2-D scatter of ``(x, y)``.

    ``models`` maps a name to a classifier (callable returning labels or scores, a
    scikit-learn estimator, or a Keras model). The first model's regions are shaded;
    every model's boundaries are drawn as lines, one style per model, so disagreements
    show up as lines that do not overlap.
    """
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"decision_boundaries needs 2-D inputs (n, 2). Received shape {x.shape}")
    if not models:
        raise ValueError("decision_boundaries needs at least one model")
    fig, ax = _figure(ax, (6, 4.5))
    lo, hi = x.min(axis=0) - padding, x.max(axis=0) + padding
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], grid_points), np.linspace(lo[1], hi[1], grid_points))
    grid = np.c_[gx.ravel(), gy.ravel()].astype(np.float32)
    classes = np.unique(y)
    levels = np.arange(classes.min(), classes.max() + 2) - 0.5
    handles = []
    for i, (name, model) in enumerate(models.items()):
        z = predict_labels(model, grid).reshape(gx.shape)
        color = f"C{i}"
        if i == 0:
            ax.contourf(gx, gy, z, levels=levels, cmap="Pastel1", alpha=0.5)
        ax.contour(gx, gy, z, levels=levels[1:-1], colors=[color], linewidths=2,
                   linestyles=_LINESTYLES[i % len(_LINESTYLES)])
        handles.append(Line2D([], [], color=color, lw=2, ls=_LINESTYLES[i % len(_LINESTYLES)], label=name))
    ax.scatter(x[:, 0], x[:, 1], c=np.asarray(y), cmap="Set1", s=12, edgecolors="k", linewidths=0.3)
    ax.set(xlim=(lo[0], hi[0]), ylim=(lo[1], hi[1]), xlabel="$x_1$", ylabel="$x_2$")
    if title:
        ax.set_title(title)
    ax.legend(handles=handles, loc="best", frameon=True)
    return fig


def kernel_error_vs_dim(dims, errors, ax=None, label="RFF kernel error", ylabel=None):
    """Kernel approximation error against the number of random features D (log-log).

    A dashed line shows the c/√D trend the Monte-Carlo argument predicts, anchored at
    the first point.
    """
    dims, errors = np.asarray(dims, dtype=float), np.asarray(errors, dtype=float)
    if dims.shape != errors.shape or dims.size == 0:
        raise ValueError(f"dims and errors must have the same non-zero length: {dims.shape} vs {errors.shape}")
    fig, ax = _figure(ax, (5.5, 3.8))
    ax.loglog(dims, errors, "o-", label=label)
    ax.loglog(dims, errors[0] * np.sqrt(dims[0] / dims), "k--", lw=1, label=r"$\propto 1/\sqrt{D}$")
    ax.set(xlabel="number of random features D", ylabel=ylabel or "error", title="Kernel approximation error")
    ax.legend(frameon=False)
    return fig


def _history_frame(history):
    data = getattr(history, "history", history)
    if not isinstance(data, dict) or not data:
        raise ValueError("learning_curves needs a Keras History or a non-empty dict of lists")
    rows = []
    for key, values in data.items():
        split = "validation" if key.startswith("val_") else "training"
        metric = key[4:] if key.startswith("val_") else key
        rows += [{"epoch": e + 1, "metric": metric, "split": split, "value": float(v)}
                 for e, v in enumerate(values)]
    return pd.DataFrame(rows)


def learning_curves(history, metrics=None):
    """One panel per metric (loss, acc, ...), training and validation curves per epoch.

    ``history`` is a Keras ``History`` or its ``.history`` dict (e.g. several runs
    merged by the caller). ``metrics`` picks and orders the panels (default: all).
    """
    frame = _history_frame(history)
    names = list(dict.fromkeys(frame["metric"])) if metrics is None else list(metrics)
    unknown = set(names) - set(frame["metric"])
    if unknown:
        raise ValueError(f"Unknown metrics {sorted(unknown)}; history has {sorted(set(frame['metric']))}")
    fig, axes = plt.subplots(1, len(names), figsize=(4.5 * len(names), 3.4), squeeze=False)
    for ax, name in zip(axes[0], names):
        part = frame[frame["metric"] == name]
        sns.lineplot(data=part, x="epoch", y="value", hue="split", marker="o", ax=ax)
        ax.set(title=name, ylabel=name)
    fig.tight_layout()
    return fig


def confusion(y_true, y_pred, class_names=None, normalize=None, ax=None, title=None):
    """Confusion-matrix heatmap (rows: true class, columns: predicted class).

    ``normalize`` is passed to scikit-learn: None (counts), "true", "pred" or "all".
    """
    y_true, y_pred = np.asarray(y_true), as_labels(np.asarray(y_pred))
    labels = np.unique(np.concatenate([y_true, y_pred])) if class_names is None else np.arange(len(class_names))
    matrix = confusion_matrix(y_true, y_pred, labels=labels, normalize=normalize)
    names = [str(c) for c in (class_names if class_names is not None else labels)]
    fig, ax = _figure(ax, (1.2 * len(names) + 2.5, 1.0 * len(names) + 1.8))
    sns.heatmap(matrix, annot=True, fmt="d" if normalize is None else ".2f", cmap="Blues",
                xticklabels=names, yticklabels=names, cbar=False, ax=ax)
    ax.set(xlabel="predicted", ylabel="true", title=title or "Confusion matrix")
    return fig


def accuracy_bars(table, x="model", y="test_accuracy", hue=None, ax=None, chance=None, title=None):
    """Bar chart of one score per model, values written on the bars.

    ``table`` is a ``pandas.DataFrame`` (columns ``x``, ``y`` and optionally ``hue``, e.g.
    a data set or a device in a benchmark) or a dict ``{model: score}``. ``chance`` draws
    a dotted line at the chance level.
    """
    if isinstance(table, dict):
        table = pd.DataFrame({x: list(table), y: list(table.values())})
    missing = {c for c in (x, y, hue) if c is not None} - set(table.columns)
    if missing:
        raise ValueError(f"accuracy_bars: columns {sorted(missing)} not in the table {list(table.columns)}")
    fig, ax = _figure(ax, (max(5.0, 1.3 * table[x].nunique() + 2), 3.6))
    sns.barplot(data=table, x=x, y=y, hue=hue, ax=ax)
    for container in ax.containers:
        ax.bar_label(container, fmt="%.3f", fontsize=8, padding=2)
    if chance is not None:
        ax.axhline(chance, color="grey", ls=":", lw=1, label="chance")
    top = float(np.nanmax(table[y])) if len(table) else 1.0
    ax.set(ylim=(0, max(1.0, top) * 1.12), ylabel=y.replace("_", " "), xlabel="", title=title)
    ax.tick_params(axis="x", rotation=20)
    if hue is not None or chance is not None:
        ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


def parameter_sweep(table, x, y="test_accuracy", hue=None, logx=True, ax=None, title=None):
    """A score against one parameter (``x``), one line per value of another (``hue``).

    ``table`` is a ``pandas.DataFrame`` or a list of dicts (e.g. one per trained model).
    ``logx`` puts ``x`` on a log axis, as suits widths and sizes like an RFF ``scale``.
    """
    table = pd.DataFrame(table)
    missing = {c for c in (x, y, hue) if c is not None} - set(table.columns)
    if missing or table.empty:
        raise ValueError(f"parameter_sweep: columns {sorted(missing)} not in the table {list(table.columns)}"
                         if missing else "parameter_sweep: the table is empty")
    fig, ax = _figure(ax, (5.5, 3.6))
    palette = "tab10" if hue is not None else None
    sns.lineplot(data=table, x=x, y=y, hue=hue, style=hue, markers=True, dashes=False,
                 palette=palette, ax=ax)
    if logx:
        ax.set_xscale("log")
        values = np.sort(table[x].unique())
        ax.set_xticks(values, [f"{v:g}" for v in values])
        ax.minorticks_off()
    ax.set(xlabel=x.replace("_", " "), ylabel=y.replace("_", " "), title=title)
    if hue is not None:
        ax.legend(title=hue.replace("_", " "), frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


def accuracy_over_time(curves, points=None, ax=None, title=None):
    """Test accuracy against training seconds: one line per run, one marker per finished model.

    ``curves`` maps a name to a list of ``(seconds, accuracy)`` pairs (e.g. after each epoch);
    ``points`` maps a name to one ``(seconds, accuracy)`` pair, drawn as a marker with a
    dotted line at its accuracy, so a curve crossing it shows when that accuracy was reached.
    """
    if not curves and not points:
        raise ValueError("accuracy_over_time needs at least one curve or point")
    fig, ax = _figure(ax, (5.5, 3.6))
    for i, (name, curve) in enumerate((curves or {}).items()):
        curve = np.asarray(curve, dtype=float).reshape(-1, 2)
        ax.plot(curve[:, 0], curve[:, 1], "o-", color=f"C{i}", label=name)
    offset = len(curves or {})
    for i, (name, (seconds, accuracy)) in enumerate((points or {}).items()):
        color = f"C{offset + i}"
        ax.plot([seconds], [accuracy], marker="s", ls="none", color=color, markersize=8, label=name)
        ax.axhline(accuracy, color=color, ls=":", lw=1)
    ax.set(xlabel="training seconds", ylabel="test accuracy", title=title)
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


def timing_bars(table, x="approach", columns=("fit_seconds", "predict_seconds"), hue=None, title=None):
    """One panel per timing column (log scale), bars per ``x`` (grouped by ``hue``), values on top.

    ``table`` is a ``pandas.DataFrame`` or a list of dicts, e.g. ``helpers.bench`` records.
    Missing timings (None/NaN) are left out.
    """
    table = pd.DataFrame(table)
    columns = list(columns)
    missing = {c for c in (x, hue, *columns) if c is not None} - set(table.columns)
    if missing:
        raise ValueError(f"timing_bars: columns {sorted(missing)} not in the table {list(table.columns)}")
    width = max(4.5, 0.9 * table[x].nunique() + 2)
    fig, axes = plt.subplots(1, len(columns), figsize=(width * len(columns), 3.8), squeeze=False)
    for ax, column in zip(axes[0], columns):
        part = table.dropna(subset=[column])
        part = part.assign(**{column: part[column].astype(float)})
        sns.barplot(data=part, x=x, y=column, hue=hue, ax=ax)
        ax.set_yscale("log")
        for container in ax.containers:
            ax.bar_label(container, fmt="%.3g", fontsize=7, padding=2)
        ax.set(xlabel="", ylabel=column.replace("_", " ") + " (log)", title=title or column.replace("_", " "))
        ax.tick_params(axis="x", rotation=30)
        if hue is not None and ax.get_legend() is not None:
            ax.legend(frameon=False, fontsize=8, title=hue)
    fig.tight_layout()
    return fig


def _scores_of(decision, grid):
    """One score per row from an estimator's ``decision_function`` or from a callable."""
    if hasattr(decision, "decision_function"):
        out = decision.decision_function(grid)
    elif callable(decision):
        out = decision(grid)
    else:
        raise ValueError(f"margins: a panel's decision must be callable or have decision_function. "
                         f"Received {type(decision).__name__}")
    out = np.asarray(out, dtype=float)
    if out.ndim == 2 and out.shape[1] == 1:
        out = out[:, 0]
    if out.shape != (len(grid),):
        raise ValueError(f"margins: a panel's decision must return one score per row, shape ({len(grid)},). "
                         f"Received shape {out.shape}; for two one-vs-rest outputs pass (f1 − f0) / 2")
    return out


def _window(x, padding, grid_points):
    """The drawn window around 2-D points ``x``: its corners, the meshgrid and its rows."""
    lo, hi = x.min(axis=0) - padding, x.max(axis=0) + padding
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], grid_points), np.linspace(lo[1], hi[1], grid_points))
    return lo, hi, gx, gy, np.c_[gx.ravel(), gy.ravel()]


def margins(panels, x, y, ncols=None, grid_points=200, padding=0.5, panel_size=(4.4, 3.8), title=None):
    """The "street" of binary SVMs: boundary f = 0, margins f = ±1, support vectors circled.

    ``panels`` maps a panel title to ``(decision, support)``: ``decision`` is an estimator with
    ``decision_function`` (e.g. an ``SVC``) or a callable returning one score per row of its
    input; ``support`` is the support vectors among ``x`` (indices or a boolean mask; None:
    none circled). One panel per entry, all on the same axes limits, so side-by-side panels
    can be compared line by line; one legend for the whole figure, below the panels. The
    points are coloured by ``y`` (two classes).
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y)
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"margins needs 2-D inputs x of shape (n, 2). Received shape {x.shape}")
    if y.shape != (len(x),) or len(np.unique(y)) != 2:
        raise ValueError(f"margins needs y with one label per row of x and two classes. "
                         f"Received shape {y.shape} with classes {np.unique(y).tolist()}")
    if not panels:
        raise ValueError("margins needs at least one panel")
    ncols = min(len(panels), 3) if ncols is None else ncols
    nrows = -(-len(panels) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(panel_size[0] * ncols, panel_size[1] * nrows + 0.6),
                             sharex=True, sharey=True, squeeze=False)
    lo, hi, gx, gy, grid = _window(x, padding, grid_points)
    classes = np.unique(y)
    for ax, (name, (decision, support)) in zip(axes.flat, panels.items()):
        f = _scores_of(decision, grid).reshape(gx.shape)
        ax.contourf(gx, gy, (f > 0).astype(float), levels=[-0.5, 0.5, 1.5], colors=["#fbd5d5", "#d5e3fb"])
        ax.contour(gx, gy, f, levels=[-1, 0, 1], colors="k", linestyles=["--", "-", "--"],
                   linewidths=[1.0, 1.8, 1.0])
        for label, color in zip(classes, ("C3", "C0")):
            part = x[y == label]
            ax.scatter(part[:, 0], part[:, 1], s=14, color=color, edgecolors="k", linewidths=0.3, zorder=3)
        if support is not None:
            index = np.asarray(support)
            if index.dtype == bool:
                if index.shape != (len(x),):
                    raise ValueError(f"margins: panel {name!r}: a boolean support mask needs shape "
                                     f"({len(x)},). Received {index.shape}")
                index = np.flatnonzero(index)
            index = index.astype(int).ravel()
            if index.size and (index.min() < 0 or index.max() >= len(x)):
                raise ValueError(f"margins: panel {name!r}: support indices must lie in [0, {len(x)}). "
                                 f"Received {index.min()}..{index.max()}")
            ax.scatter(x[index, 0], x[index, 1], s=90, facecolors="none", edgecolors="k",
                       linewidths=1.1, zorder=4, gid="support vectors")
        ax.set_title(name, fontsize=10)
        ax.set(xlim=(lo[0], hi[0]), ylim=(lo[1], hi[1]))
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("$x_1$")
    for ax in axes[:, 0]:
        ax.set_ylabel("$x_2$")
    handles = [
        Line2D([], [], ls="none", marker="o", color="C3", markeredgecolor="k", label=f"class {classes[0]}"),
        Line2D([], [], ls="none", marker="o", color="C0", markeredgecolor="k", label=f"class {classes[1]}"),
        Line2D([], [], color="k", lw=1.8, label="boundary f(x) = 0"),
        Line2D([], [], color="k", lw=1.0, ls="--", label="margins f(x) = ±1"),
        Line2D([], [], ls="none", marker="o", markersize=10, markerfacecolor="none", markeredgecolor="k",
               label="support vector"),
    ]
    if title:
        fig.suptitle(title)
    with warnings.catch_warnings():
        # In JupyterLab (the browser test, 01's explorer) Matplotlib can count an axes it cannot lay out and
        # warn into the lesson's output; tight_layout then leaves that axes alone, which is all we need.
        warnings.filterwarnings("ignore", message="This figure includes Axes that are not compatible with tight_layout")
        fig.tight_layout(rect=(0, 0.6 / fig.get_figheight(), 1, 1))
    fig.legend(handles=handles, loc="lower center", ncol=5, frameon=False, fontsize=9)
    return fig


def boundary_length(decision, x, level=0.0, grid_points=200, padding=0.5):
    """Length of the curve f(x) = ``level`` inside the window ``margins`` draws around ``x``.

    A number for how wiggly a boundary is: a straight boundary across the window is as long as
    the window is wide, one that bends around single points is much longer. ``decision`` as in
    ``margins`` (an estimator with ``decision_function`` or a callable). The curve is traced on
    the same grid as the figure (contourpy, which matplotlib draws its contours with).
    """
    import contourpy

    x = np.asarray(x, dtype=float)
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"boundary_length needs 2-D inputs x of shape (n, 2). Received shape {x.shape}")
    _, _, gx, gy, grid = _window(x, padding, grid_points)
    f = _scores_of(decision, grid).reshape(gx.shape)
    lines = contourpy.contour_generator(gx, gy, f).lines(level)
    return float(sum(np.linalg.norm(np.diff(line, axis=0), axis=1).sum() for line in lines))
