"""The agreement baselines: exact values on small hand-made predictions."""

import math

import numpy as np
import pytest

from helpers import compare


def test_agreement_floor_is_the_overlap_of_two_accuracies():
    assert compare.agreement_floor(0.97, 0.98) == pytest.approx(0.95)
    assert compare.agreement_floor(0.3, 0.4) == 0.0
    with pytest.raises(ValueError, match="accuracy_b"):
        compare.agreement_floor(0.9, 1.2)


def test_the_floor_is_reached_by_two_classifiers_wrong_on_different_points():
    y = np.zeros(10, dtype=int)
    a = y.copy(); a[0] = 1          # 90 % accurate
    b = y.copy(); b[1] = 2          # 90 % accurate, wrong elsewhere
    assert compare.agreement(a, b) == pytest.approx(compare.agreement_floor(0.9, 0.9))


def test_agreement_on_errors_counts_copied_mistakes_only():
    y = np.array([0, 1, 2, 3, 0, 1])
    reference = np.array([1, 1, 0, 3, 2, 1])      # wrong on rows 0, 2, 4
    model = np.array([1, 0, 2, 3, 2, 1])          # copies rows 0 and 4, not row 2
    assert compare.agreement_on_errors(model, reference, y) == pytest.approx(2 / 3)
    assert math.isnan(compare.agreement_on_errors(y, y, y))
    with pytest.raises(ValueError, match="Lengths differ"):
        compare.agreement_on_errors(model[:3], reference, y)


def test_decision_correlation_ignores_scale_not_shape():
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(200, 3))
    assert compare.decision_correlation(scores, 5 * scores + 1) == pytest.approx(1.0)
    assert compare.decision_correlation(scores, -scores) == pytest.approx(-1.0)
    assert abs(compare.decision_correlation(scores, rng.normal(size=(200, 3)))) < 0.2
    with pytest.raises(ValueError, match="same shape"):
        compare.decision_correlation(scores, scores[:, :2])


def test_agreement_table_rows_and_columns():
    y = np.array([0, 1, 1, 0])
    table = compare.agreement_table({"svc": [0, 1, 0, 0], "keras": [0, 1, 0, 1]}, "svc", y)
    assert list(table.index) == ["keras"]
    row = table.loc["keras"]
    assert row["accuracy"] == 0.5 and row["agreement with svc"] == 0.75
    assert row["floor (acc₁ + acc₂ − 1)"] == pytest.approx(0.25)
    assert row["same answer on svc's errors"] == 1.0
    with pytest.raises(ValueError, match="reference_name"):
        compare.agreement_table({"a": y}, "svc", y)


def test_paired_difference_and_its_standard_error_by_hand():
    from helpers.compare import paired_difference

    # 10 points: a right on 8, b on 7; they differ on 3 of them, two in a's favour
    a = np.array([1, 1, 1, 1, 1, 1, 1, 1, 0, 0], bool)
    b = np.array([1, 1, 1, 1, 1, 0, 0, 1, 0, 1], bool)
    d = np.array([0, 0, 0, 0, 0, 1, 1, 0, 0, -1], float)  # a - b by hand
    diff, se = paired_difference(a, b)
    assert diff == pytest.approx(0.1)
    assert se == pytest.approx(np.sqrt(np.sum((d - 0.1) ** 2) / 9) / np.sqrt(10))
    assert paired_difference(a, a) == (0.0, 0.0)  # the same model: no difference, no noise
    with pytest.raises(ValueError, match=r"same length >= 2\. Received shapes \(10,\) and \(9,\)"):
        paired_difference(a, b[:9])


def test_paired_se_bound_is_never_below_the_paired_error():
    rng = np.random.default_rng(0)
    for share in (0.02, 0.1, 0.5):
        a = rng.random(1000) < 0.9
        b = np.where(rng.random(1000) < share, ~a, a)    # disagree on about `share` of the points
        _, se = compare.paired_difference(a, b)
        assert se <= compare.paired_se_bound(np.mean(a != b), 1000) + 1e-12
    # Equality when every discordant point pulls the same way and there are few of them: the bound is tight.
    a, b = np.r_[np.ones(10), np.zeros(990)], np.zeros(1000)
    assert compare.paired_se_bound(0.01, 1000) == pytest.approx(compare.paired_difference(a, b)[1], rel=0.01)
    with pytest.raises(ValueError, match="discordant"):
        compare.paired_se_bound(1.5, 100)
    with pytest.raises(ValueError, match="`n`"):
        compare.paired_se_bound(0.1, 1)


def test_bootstrap_se_of_a_mean_is_close_to_its_textbook_standard_error():
    from helpers.compare import bootstrap_se

    x = np.random.default_rng(1).normal(size=400)
    value, se = bootstrap_se(lambda rows: x[rows].mean(), len(x), draws=400, seed=0)
    assert value == pytest.approx(x.mean())
    textbook = x.std(ddof=1) / np.sqrt(len(x))  # 0.05 for unit variance
    assert abs(se - textbook) < 0.15 * textbook  # 400 draws: the SE of an SE estimate is about 4 %
    assert bootstrap_se(lambda rows: x[rows].mean(), len(x), seed=3) == bootstrap_se(
        lambda rows: x[rows].mean(), len(x), seed=3)  # seeded: the same resamples
    with pytest.raises(ValueError, match=r"`draws` must be an integer >= 2\. Received draws=1"):
        bootstrap_se(lambda rows: 0.0, 10, draws=1)
