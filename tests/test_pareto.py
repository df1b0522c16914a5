"""The approximation study (helpers.pareto): records, skips, the time budget, the figure, bad input."""

import json

import pytest

from helpers import pareto


@pytest.fixture(scope="module")
def study(tiny_mnist, tmp_path_factory):
    out = tmp_path_factory.mktemp("pareto") / "records.json"
    result = pareto.run_pareto(
        "mnist", dims=(64, 128), max_landmarks=64, mnist_path=str(tiny_mnist), predict_repeats=2, out=out,
        verbose=False,
    )
    return result, out


def test_every_method_and_size_is_measured_against_the_svc(study):
    result, out = study
    saved = json.loads(out.read_text())["points"]
    assert [(p["method"], p["output_dim"], p.get("test_accuracy")) for p in saved] == [
        (p["method"], p["output_dim"], p.get("test_accuracy")) for p in result["points"]
    ]
    ref = result["reference"]
    assert ref["test_accuracy"] > 0.9 and ref["blas_equals_libsvm"] == 1.0 and ref["support_vectors"] > 0
    # One protocol for every competitor, recorded: the SVC's two predictions as often as each model's.
    assert result["protocol"] == {"fit": "once, after 1 warm-up", "predict": "best of 2, after 1 warm-up"}
    assert (ref["fit_protocol"], ref["predict_protocol"]) == (result["protocol"]["fit"], result["protocol"]["predict"])
    for how in ("libsvm", "blas"):
        repeats = ref[f"predict_seconds_{how}_repeats"]
        assert len(repeats) == 2 and ref[f"predict_seconds_{how}"] == min(repeats) > 0
    measured = [(p["method"], p["output_dim"]) for p in result["points"] if "skipped" not in p]
    assert measured == [(m, d) for m in pareto.METHODS for d in (64, 128) if (m, d) != ("nystroem", 128)]
    for p in result["points"]:
        if "skipped" in p:
            continue
        assert p["test_accuracy"] > 0.5  # ten classes: chance is 0.1
        assert p["agreement_floor"] <= p["agreement_with_svc"] <= 1.0
        assert p["predict_seconds"] > 0 and p["fit_seconds"] >= p["feature_seconds"] > 0
        assert p["params"]["feature_map"] == p["method"] and p["params"]["gamma_factor"] == 1.0
        assert len(p["predict_seconds_repeats"]) == 2 and p["predict_seconds"] == min(p["predict_seconds_repeats"])
        assert (p["fit_protocol"], p["predict_protocol"]) == (ref["fit_protocol"], ref["predict_protocol"])
    assert result["stopped"] is None


def test_landmarks_past_the_cap_are_recorded_as_skipped(study):
    result, _ = study
    skipped = [p for p in result["points"] if "skipped" in p]
    assert [(p["method"], p["output_dim"]) for p in skipped] == [("nystroem", 128)]
    assert "max_landmarks=64" in skipped[0]["skipped"]


def test_time_budget_stops_and_keeps_the_reference(tiny_mnist, tmp_path):
    out = tmp_path / "stopped.json"
    result = pareto.run_pareto("mnist", dims=(64,), mnist_path=str(tiny_mnist), time_budget=1e-9,
                               out=out, verbose=False)
    saved = json.loads(out.read_text())
    assert saved["points"] == [] and "rff_cos D=64" in saved["stopped"]
    assert saved["reference"]["test_accuracy"] == result["reference"]["test_accuracy"]


def test_plot_writes_a_png(study, tmp_path):
    result, records = study
    png = tmp_path / "pareto.png"
    pareto.main(["--plot", str(png), str(records)])
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("kwargs, message", [
    ({"methods": ("rff", "fourier")}, "methods"),
    ({"methods": ()}, "methods"),
    ({"dims": (100, 3)}, "dims"),
    ({"dims": ()}, "dims"),
    ({"gamma_factor": 0}, "gamma_factor"),
    ({"predict_repeats": 0}, "predict_repeats"),
])
def test_bad_options_name_the_option(kwargs, message):
    with pytest.raises(ValueError, match=message):
        pareto.run_pareto("mnist", **kwargs)


def test_cli_rejects_bad_dims(capsys):
    with pytest.raises(SystemExit):
        pareto.main(["--dims", "1k,2k"])
    assert "--dims" in capsys.readouterr().err
