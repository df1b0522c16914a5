"""helpers.timing: one protocol (warm-ups untimed, repeats timed, best kept) said in words."""

import time

import pytest

from helpers.timing import timed


def test_warmups_are_not_timed_and_repeats_are():
    calls = []

    def slow_first():
        calls.append("call")
        time.sleep(0.2 if len(calls) == 1 else 0.01)
        return len(calls)

    t = timed(slow_first, repeats=3, warmups=1)
    assert calls == ["call"] * 4  # one warm-up, three timed
    assert t.repeats == 3 and t.result == 4
    assert max(t.seconds) < 0.15  # the slow first call was the untimed warm-up
    assert t.best == min(t.seconds) and t.best <= t.median
    assert t.protocol == "best of 3, after 1 warm-up"


def test_a_separate_warmup_call_and_a_single_run():
    order = []
    t = timed(lambda: order.append("fit"), warmup=lambda: order.append("tiny fit"))
    assert order == ["tiny fit", "fit"]
    assert t.protocol == "once, after 1 warm-up"
    assert timed(lambda: None).protocol == "once, no warm-up"
    assert timed(lambda: None, repeats=2, warmups=2).protocol == "best of 2, after 2 warm-ups"


@pytest.mark.parametrize("kwargs, message", [
    ({"repeats": 0}, r"`repeats` must be a positive integer\. Received repeats=0"),
    ({"repeats": True}, r"`repeats` must be a positive integer"),
    ({"repeats": 2.0}, r"`repeats` must be a positive integer"),
    ({"warmups": -1}, r"`warmups` must be an integer >= 0\. Received warmups=-1"),
])
def test_bad_protocols_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        timed(lambda: None, **kwargs)


def test_a_keras_fit_warm_up_leaves_the_weights_as_they_were():
    import keras
    import numpy as np

    from helpers.timing import warm_up_keras_fit

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer="adam", loss="hinge")
    x = np.random.default_rng(0).normal(size=(50, 3)).astype("float32")
    y = keras.utils.to_categorical(np.arange(50) % 2, 2)
    before = [w.copy() for w in model.get_weights()]
    assert warm_up_keras_fit(model, x, y, batch_size=16, validation_split=0.2) > 0
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    history = model.fit(x, y, batch_size=16, epochs=1, validation_split=0.2, verbose=0)
    assert "val_loss" in history.history  # the validation pass the warm-up compiled
