"""Each figure function returns a Figure with the expected panels and artists, on tiny data."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from sklearn.svm import SVC  # noqa: E402

from helpers import plots  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _toy(n=40, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2)).astype("float32")
    return x, (x[:, 0] + x[:, 1] > 0).astype(int)


def test_hinge_losses_draws_three_curves():
    fig = plots.hinge_losses()
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    assert len(fig.axes[0].get_lines()) == 4  # three losses and the margin line at m = 1


def test_decision_boundaries_one_legend_entry_per_model():
    x, y = _toy()
    svc = SVC(kernel="linear").fit(x, y)
    fig = plots.decision_boundaries(
        {"sklearn": svc, "callable": lambda g: (g[:, 0] > 0).astype(int), "scores": lambda g: np.c_[-g[:, 0], g[:, 0]]},
        x, y, grid_points=30,
    )
    ax = fig.axes[0]
    assert len(ax.get_legend().get_texts()) == 3
    assert len(ax.collections) >= 4  # filled regions, three boundaries, the scatter


def test_decision_boundaries_rejects_non_2d_inputs():
    with pytest.raises(ValueError, match="2-D"):
        plots.decision_boundaries({"m": lambda g: g[:, 0] > 0}, np.zeros((5, 3)), np.zeros(5))


def test_decision_boundaries_accepts_a_keras_model():
    keras = pytest.importorskip("keras")
    from helpers import models

    x, y = _toy()
    model = models.build_linear_svm(2, 2, seed=0)
    fig = plots.decision_boundaries({"keras": model}, x, y, grid_points=20)
    assert isinstance(fig, Figure)
    assert keras.__version__


def test_kernel_error_vs_dim_has_data_and_trend():
    fig = plots.kernel_error_vs_dim([16, 64, 256], [0.2, 0.1, 0.05])
    lines = fig.axes[0].get_lines()
    assert len(lines) == 2
    np.testing.assert_allclose(lines[1].get_ydata(), [0.2, 0.1, 0.05])  # the 1/√D reference


def test_kernel_error_vs_dim_checks_lengths():
    with pytest.raises(ValueError):
        plots.kernel_error_vs_dim([1, 2], [0.1])


def test_learning_curves_one_panel_per_metric():
    history = {"loss": [1.0, 0.5], "acc": [0.5, 0.8], "val_loss": [1.1, 0.7], "val_acc": [0.4, 0.7]}
    fig = plots.learning_curves(history)
    assert len(fig.axes) == 2
    assert [ax.get_title() for ax in fig.axes] == ["loss", "acc"]
    assert all(len(ax.get_lines()) >= 2 for ax in fig.axes)  # training and validation


def test_learning_curves_accepts_a_history_object_and_picks_metrics():
    class History:
        history = {"loss": [1.0, 0.5, 0.4], "acc": [0.2, 0.3, 0.4]}

    fig = plots.learning_curves(History(), metrics=["acc"])
    assert len(fig.axes) == 1
    with pytest.raises(ValueError, match="Unknown metrics"):
        plots.learning_curves(History(), metrics=["auc"])


def test_confusion_heatmap_annotates_every_cell():
    fig = plots.confusion([0, 1, 2, 2], [0, 2, 2, 2], class_names=["a", "b", "c"])
    ax = fig.axes[0]
    assert len(ax.texts) == 9
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]
    assert ax.texts[8].get_text() == "2"  # true c, predicted c


def test_confusion_accepts_scores():
    fig = plots.confusion([0, 1], np.array([[0.9, 0.1], [0.2, 0.8]]), normalize="true")
    assert [t.get_text() for t in fig.axes[0].texts] == ["1.00", "0.00", "0.00", "1.00"]


def test_accuracy_bars_from_dict_and_grouped_table():
    fig = plots.accuracy_bars({"svc": 0.9, "quasi": 0.85, "linear": 0.6}, chance=0.25)
    ax = fig.axes[0]
    assert len(ax.patches) == 3
    assert len(ax.texts) == 3
    table = pd.DataFrame(
        {"model": ["a", "b", "a", "b"], "device": ["cpu", "cpu", "gpu", "gpu"], "test_accuracy": [0.1, 0.2, 0.3, 0.4]}
    )
    fig = plots.accuracy_bars(table, hue="device")
    assert len([p for p in fig.axes[0].patches if p.get_height() > 0]) == 4
    with pytest.raises(ValueError, match="columns"):
        plots.accuracy_bars(table, y="seconds")


def test_parameter_sweep_one_line_per_hue_value():
    rows = [{"scale": s, "output_dim": d, "test_accuracy": 0.5 + 0.01 * s + d / 1e5}
            for s in (5.0, 10.0, 20.0) for d in (1024, 4096)]
    fig = plots.parameter_sweep(rows, x="scale", hue="output_dim")
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    data_lines = [line for line in ax.get_lines() if len(line.get_xdata()) == 3]
    assert len(data_lines) == 2
    with pytest.raises(ValueError, match="columns"):
        plots.parameter_sweep(rows, x="gamma")


def test_accuracy_over_time_curves_and_points():
    fig = plots.accuracy_over_time({"fast": [(1.0, 0.9), (2.0, 0.95)]}, points={"seed": (10.0, 0.93)})
    ax = fig.axes[0]
    assert len(ax.get_legend().get_texts()) == 2
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), [0.9, 0.95])
    with pytest.raises(ValueError):
        plots.accuracy_over_time({})


def test_timing_bars_one_log_panel_per_column_and_skips_missing():
    records = [
        {"approach": "a", "dataset": "x", "fit_seconds": 1.0, "predict_seconds": 0.1},
        {"approach": "b", "dataset": "x", "fit_seconds": 10.0, "predict_seconds": None},
        {"approach": "a", "dataset": "y", "fit_seconds": 2.0, "predict_seconds": 0.2},
    ]
    fig = plots.timing_bars(records, hue="dataset")
    assert len(fig.axes) == 2
    assert all(ax.get_yscale() == "log" for ax in fig.axes)
    assert len([p for p in fig.axes[0].patches if p.get_height() > 0]) == 3
    assert len([p for p in fig.axes[1].patches if p.get_height() > 0]) == 2
    with pytest.raises(ValueError, match="columns"):
        plots.timing_bars(records, columns=("warmup_seconds",))


def _support_circles(ax):
    return [c for c in ax.collections if c.get_gid() == "support vectors"]


def test_margins_one_panel_per_model_with_its_support_vectors_circled():
    x, y = _toy(60)
    svc = SVC(kernel="linear", C=1.0).fit(x, y)
    mask = np.isin(np.arange(len(x)), svc.support_)
    fig = plots.margins({"svc": (svc, svc.support_), "callable": (svc.decision_function, mask),
                         "none": (svc, None)}, x, y, grid_points=40)
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in axes] == ["svc", "callable", "none"]
    for ax in axes[:2]:
        (circles,) = _support_circles(ax)
        np.testing.assert_allclose(np.sort(circles.get_offsets()[:, 0]), np.sort(x[svc.support_, 0]))
    assert _support_circles(axes[2]) == []
    assert axes[0].get_xlim() == axes[1].get_xlim() and axes[0].get_ylim() == axes[2].get_ylim()
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "margins f(x) = ±1" in texts and "support vector" in texts


def test_margins_draws_the_boundary_and_both_margins_where_the_svm_puts_them():
    x, y = _toy(60)
    svc = SVC(kernel="linear", C=1.0).fit(x, y)
    fig = plots.margins({"svc": (svc, svc.support_)}, x, y, grid_points=60)
    (contour,) = [c for c in fig.axes[0].collections if hasattr(c, "levels") and not c.filled]
    np.testing.assert_allclose(contour.levels, [-1, 0, 1])
    for level, paths in zip(contour.levels, contour.allsegs):
        points = np.concatenate(paths)
        np.testing.assert_allclose(svc.decision_function(points), level, atol=0.05)


def test_margins_grid_hides_unused_axes():
    x, y = _toy(40)
    svc = SVC(kernel="linear").fit(x, y)
    fig = plots.margins({f"p{i}": (svc, svc.support_) for i in range(4)}, x, y, ncols=3, grid_points=20)
    assert sum(ax.get_visible() for ax in fig.axes) == 4 and len(fig.axes) == 6


def test_margins_rejects_bad_inputs_naming_them():
    x, y = _toy(30)
    svc = SVC(kernel="linear").fit(x, y)
    with pytest.raises(ValueError, match=r"2-D inputs x of shape \(n, 2\)"):
        plots.margins({"m": (svc, None)}, np.zeros((5, 3)), np.r_[0, 0, 1, 1, 1])
    with pytest.raises(ValueError, match="two classes"):
        plots.margins({"m": (svc, None)}, x, np.zeros(len(x)))
    with pytest.raises(ValueError, match="one score per row"):
        plots.margins({"m": (lambda g: np.c_[g, g], None)}, x, y, grid_points=10)
    with pytest.raises(ValueError, match=r"support indices must lie in \[0, 30\)"):
        plots.margins({"m": (svc, [0, 30])}, x, y, grid_points=10)
    with pytest.raises(ValueError, match="boolean support mask"):
        plots.margins({"m": (svc, np.ones(3, dtype=bool))}, x, y, grid_points=10)
    with pytest.raises(ValueError, match="at least one panel"):
        plots.margins({}, x, y)


def test_boundary_length_of_a_straight_boundary_is_the_chord_of_the_window():
    x = np.array([[0.0, 0.0], [4.0, 2.0]])
    # f = x1 - 2: a vertical line across the window [-0.5, 4.5] × [-0.5, 2.5], 3 long.
    vertical = plots.boundary_length(lambda g: g[:, 0] - 2.0, x, grid_points=50)
    assert vertical == pytest.approx(3.0, rel=1e-6)
    # f = x1 - x2 - 0.5: a diagonal from (0, -0.5) to (3, 2.5), √18 long.
    diagonal = plots.boundary_length(lambda g: g[:, 0] - g[:, 1] - 0.5, x, grid_points=50)
    assert diagonal == pytest.approx(np.sqrt(18.0), rel=1e-6)
    assert plots.boundary_length(lambda g: g[:, 0] + 100.0, x, grid_points=20) == 0.0  # no boundary in the window
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        plots.boundary_length(lambda g: g[:, 0], np.zeros((4, 3)))


def test_boundary_length_grows_with_a_wigglier_rbf_svm():
    from sklearn.datasets import make_moons

    x, y = make_moons(200, noise=0.2, random_state=0)
    smooth = plots.boundary_length(SVC(gamma=0.5).fit(x, y), x, grid_points=80)
    wiggly = plots.boundary_length(SVC(gamma=50.0, C=100.0).fit(x, y), x, grid_points=80)
    assert wiggly > 1.5 * smooth
