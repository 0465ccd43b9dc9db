"""The hunt's half of the demo (hepbump.hunt.demo.run_hunt_demo): a short EPO hunt with the shipped weights on
freshly simulated events; the Fig. 2 figure, a consistent summary, the printed lines, reproducibility."""

from __future__ import annotations

import json
import math

import pytest
import torch

from hepbump.errors import InputError
from hepbump.hunt.demo import run_hunt_demo

torch.set_num_threads(1)


def test_hunt_demo(tmp_path):
    r = run_hunt_demo(tmp_path / "a", seed=2, n_experiments=300, pool_size=150)
    s = r.summary
    assert (tmp_path / "a" / "hunt.png").stat().st_size > 0 and r.png_file.endswith("hunt.png")
    assert s["n_events"] == s["n_signal"] + s["n_background"] == len(s["m_gg_gev"])
    assert s["n_signal"] == 4 and len(s["signal_events"]) == 4 and s["resolution"] == "good-ref"
    assert s["TS"] == len(s["retained"]) == s["n_signal_retained"] + s["n_background_retained"]
    assert sorted(s["retained"] + s["removed"]) == list(range(s["n_events"]))
    assert 0.0 <= s["p_value"] <= 1.0 and (s["Z"] is None or math.isfinite(s["Z"]))
    e = s["mass_estimate"]
    assert e["mass_low_gev"] <= e["mass_gev"] <= e["mass_high_gev"]
    json.dumps(s)  # JSON-able
    text = r.text()
    assert "retained events" in text and "TS = " in text and "m_a = " in text
    again = run_hunt_demo(tmp_path / "b", seed=2, n_experiments=300, pool_size=150)
    assert {k: v for k, v in again.summary.items() if k != "figure"} == {k: v for k, v in s.items() if k != "figure"}


def test_hunt_demo_rejects_bad_settings(tmp_path):
    with pytest.raises(InputError):
        run_hunt_demo(tmp_path, seed=0, n_signal=0)
    with pytest.raises(InputError):
        run_hunt_demo(tmp_path, seed=0, mu_background=-1.0)
