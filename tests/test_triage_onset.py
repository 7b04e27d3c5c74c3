import numpy as np

from warroom.triage.onset import error_signal, fit_change, latency_signal, traffic_signal


def test_step_is_found_at_its_index_and_is_significant():
    rng = np.random.default_rng(0)
    y = np.r_[rng.normal(1, 0.1, 60), rng.normal(2, 0.1, 30)]
    fit = fit_change(np.arange(90.0), y, model="step")
    assert fit is not None and fit.index == 60 and fit.p_value < 1e-10


def test_creep_is_found_at_its_start_with_the_ramp_model():
    rng = np.random.default_rng(1)
    x = np.arange(120.0)
    y = 1 + np.where(x >= 70, (x - 70) * 0.05, 0) + rng.normal(0, 0.05, 120)
    fit = fit_change(x, y, model="ramp")
    assert fit is not None and abs(fit.index - 70) <= 2


def test_noise_gives_no_signal():
    rng = np.random.default_rng(2)
    req = rng.poisson(200, 180).astype(float)
    err = rng.binomial(req.astype(int), 0.005).astype(float)
    p95 = rng.lognormal(np.log(150), 0.1, 180)
    assert error_signal("*", req, err) is None
    assert latency_signal("*", p95, req) is None
    assert traffic_signal("*", req) is None


def test_error_rise_gives_a_signal_with_before_and_after_levels():
    rng = np.random.default_rng(3)
    req = rng.poisson(200, 120).astype(float)
    rate = np.where(np.arange(120) >= 90, 0.3, 0.005)
    err = rng.binomial(req.astype(int), rate).astype(float)
    sig = error_signal("/checkout", req, err)
    assert sig is not None and sig.index == 90
    assert sig.before < 0.01 and 0.25 < sig.after < 0.35
