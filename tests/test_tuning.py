"""The validation study of quasi_svm's defaults: its split, its statistics, its rule, its record."""

import json

import numpy as np
import pytest

from helpers import tuning


def test_validation_split_is_stratified_and_disjoint():
    y = np.repeat(np.arange(4), 50)
    fit_rows, validation_rows = tuning.validation_split(y, 0.2, seed=0)
    assert len(validation_rows) == 40 and len(fit_rows) == 160
    assert set(fit_rows).isdisjoint(validation_rows) and len(set(fit_rows) | set(validation_rows)) == 200
    assert np.bincount(y[validation_rows]).tolist() == [10, 10, 10, 10]
    with pytest.raises(ValueError, match="fraction"):
        tuning.validation_split(y, 1.0)


def _points(accuracies_by_setting):
    points = []
    for (batch, epochs), accuracies in accuracies_by_setting.items():
        for seed, accuracy in enumerate(accuracies):
            points.append(dict(batch_size=batch, learning_rate=1e-3, epochs=epochs, c=1.0, lr_exponent=0.5,
                               seed=seed, validation_accuracy=accuracy, steps=epochs * 1000 // batch,
                               multiply_adds=epochs * 10, train_seconds=1.0, load_average=0.0))
    return points


def test_summary_and_choice_follow_the_rule():
    rows = tuning.summarize(_points({
        (128, 15): [0.970, 0.972, 0.974],  # the best mean
        (1024, 5): [0.969, 0.971, 0.973],  # 0.001 below in every seed: the paired SE is 0
        (4096, 5): [0.968, 0.973, 0.972],  # 0.001 below on average, paired SE 0.001: within 2 SE
        (1024, 10): [0.960, 0.962, 0.964],
    }))
    by = {(r["batch_size"], r["epochs"]): r for r in rows}
    assert by[(128, 15)]["is_best"] and by[(128, 15)]["mean"] == pytest.approx(0.972)
    assert by[(128, 15)]["se"] == pytest.approx(0.002 / np.sqrt(3))  # std (ddof 1) / sqrt(n)
    assert by[(1024, 5)]["gap_to_best"] == pytest.approx(0.001) and by[(1024, 5)]["gap_se"] == pytest.approx(0)
    assert not by[(1024, 5)]["within_2se"]  # always a little worse: a measurable difference
    assert by[(4096, 5)]["within_2se"] and not by[(1024, 10)]["within_2se"]
    chosen = tuning.choose(rows)
    assert (chosen["batch_size"], chosen["epochs"]) == (4096, 5)  # as cheap as (1024, 5), fewer steps


def test_learning_rate_grows_with_the_batch():
    assert tuning.learning_rate(128, 1.0) == pytest.approx(2e-4)
    assert tuning.learning_rate(1024, 0.5) == pytest.approx(2e-4 * np.sqrt(8))
    assert tuning.learning_rate(1024, 1.0, output_dim=4096) == pytest.approx(2e-4 * 2 * 8)


def test_the_cli_writes_a_complete_record(tiny_mnist, tmp_path, capsys):
    out = tmp_path / "choice.json"
    tuning.main([
        "--mnist-path", str(tiny_mnist), "--out", str(out), "--output-dim", "256", "--seeds", "0,1",
        "--c-grid", "1,100", "--batch-sizes", "64", "--epochs", "2",
    ])
    record = json.loads(out.read_text())
    assert set(record["stages"]) == {"optimizer", "c"}
    assert len(record["stages"]["optimizer"]["points"]) == 2 * 3  # reference + 2 learning-rate rules
    assert len(record["stages"]["c"]["points"]) == 2 * 2  # 2 values of C at the chosen epochs
    assert record["seeds"] == [0, 1] and record["validation_fraction"] == 0.2
    assert "the test rows are not used" in record["data"]
    # 60 validation rows of bright squares: far above chance (0.1) for the best setting.
    assert max(r["mean"] for r in record["stages"]["c"]["summary"]) > 0.5
    assert set(record["before_after"]) >= {"old", "new", "difference", "difference_se", "no_loss_beyond_noise"}
    decision = record["decision"]
    assert decision["defaults"] == record["before_after"]["new"]["setting"]
    if decision["rule_choice"]["no_loss_beyond_noise"]:  # then the rule's choice stands
        assert decision["defaults"]["c"] == record["stages"]["c"]["chosen"]["c"]
    else:  # else the best mean of the last stage
        best = max(record["stages"]["c"]["summary"], key=lambda r: r["mean"])
        assert decision["defaults"]["c"] == best["c"] and decision["defaults"]["epochs"] == best["epochs"]
    assert "stage c:" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        tuning.main(["--c-grid", "0,1"])
