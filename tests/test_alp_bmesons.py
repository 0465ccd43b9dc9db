"""The shipped Pythia 8 B-meson table, its card, meson masses, table I/O errors and regeneration."""

from __future__ import annotations

import hashlib
import json
import math
import sys

import numpy as np
import pytest

from hepbump.alp.bmesons import (
    PYTHIA_INSTALL_HINT,
    BMesonTable,
    card_path_for,
    default_table_path,
    generate_bmeson_table,
    load_bmeson_table,
    meson_masses_gev,
    pythia_settings,
    write_bmeson_table,
)


def test_shipped_table_and_card():
    path = default_table_path()
    table = load_bmeson_table()
    assert len(table) > 100_000 and path.stat().st_size < 5_000_000
    assert set(np.unique(table.pdg_id).tolist()) == {-521, -511, 511, 521}
    card = json.loads(card_path_for(path).read_text())
    assert card["n_events"] == 100_000 and card["seed"] == 12345
    assert card["pythia_version"] == "8.317"
    assert {"Beams:frameType = 2", "HardQCD:hardbbbar = on", "PhaseSpace:pTHatMin = 0.3"} <= set(card["settings"])
    assert card["command"].startswith("hepbump alp bmesons") and card["date"]
    assert card["table_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert sum(card["n_b_mesons"].values()) == len(table)
    # ~0.8 B0/B+- per b quark, two b quarks per event
    assert 1.2 < len(table) / card["n_events"] < 2.0


def test_shipped_table_physics():
    t = load_bmeson_table()
    # neutral and charged B are produced about equally (isospin), within 10 %
    n0, nc = np.sum(np.abs(t.pdg_id) == 511), np.sum(np.abs(t.pdg_id) == 521)
    assert abs(n0 / nc - 1.0) < 0.1
    # fixed target: sqrt(s) = sqrt(2 m_p E) ~ 27.4 GeV, so every B has E_B < E_beam and moves forward
    m_b, _ = t.masses_gev()
    energy = np.sqrt(t.px**2 + t.py**2 + t.pz**2 + m_b**2)
    assert energy.max() < 400.0 and np.mean(t.pz > 0) > 0.999
    # transverse momenta of order the b mass, not of the beam: all below sqrt(s)/2
    assert np.hypot(t.px, t.py).max() < 0.5 * math.sqrt(2 * 0.938272 * 400.0 + 2 * 0.938272**2)
    # B mesons from one event share the event number; ~2 per event
    assert len(np.unique(t.event)) > 0.7 * 100_000


def test_meson_masses_from_pdg():
    m = meson_masses_gev()
    # PDG: B0 5279.72, B+ 5279.41, K0 497.611, K+ 493.677 MeV
    assert (m.b0, m.b_plus, m.k0, m.k_plus) == pytest.approx((5.27972, 5.27941, 0.497611, 0.493677), abs=2e-4)
    assert m.max_alp_mass_gev == pytest.approx(5.27972 - 0.497611, abs=2e-4)
    mb, mk = m.for_b_ids(np.array([511, -511, 521, -521]))
    assert mb.tolist() == [m.b0, m.b0, m.b_plus, m.b_plus] and mk.tolist() == [m.k0, m.k0, m.k_plus, m.k_plus]
    with pytest.raises(ValueError, match="not a B0 or B"):
        m.for_b_ids(np.array([511, 531]))


def test_pythia_settings():
    s = pythia_settings(42)
    # beam A: E = sqrt(400^2 + 0.93827^2) = 400.0011004 GeV; beam B at rest
    e_a = float(next(x for x in s if x.startswith("Beams:eA")).split("=")[1])
    assert e_a == pytest.approx(400.0011004, abs=1e-6)
    assert "Beams:eB = 0.93827208943" in s and "Random:seed = 42" in s
    with pytest.raises(ValueError, match="seed"):
        pythia_settings(-1)


def test_table_write_read_and_errors(tmp_path):
    t = BMesonTable(np.array([511, -521], np.int32), np.array([0.1, -0.2]), np.array([0.0, 0.3]),
                    np.array([80.0, 120.5]), np.array([0, 0], np.int32))  # fmt: skip
    path = tmp_path / "t.npz"
    card_path = write_bmeson_table(t, {"seed": 1}, path)
    back = load_bmeson_table(path)
    np.testing.assert_allclose(back.pz, [80.0, 120.5]) and np.testing.assert_array_equal(back.pdg_id, t.pdg_id)
    assert json.loads(card_path.read_text())["table_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(FileNotFoundError, match="nothere.npz"):
        load_bmeson_table(tmp_path / "nothere.npz")
    with pytest.raises(ValueError, match=r"\.npz"):
        write_bmeson_table(t, {}, tmp_path / "t.csv")
    np.savez(tmp_path / "nofield.npz", pdg_id=t.pdg_id, px=t.px, py=t.py, pz=t.pz)
    with pytest.raises(KeyError, match=r"nofield.npz: B-meson table lacks the field\(s\) \['event'\]"):
        load_bmeson_table(tmp_path / "nofield.npz")
    np.savez(tmp_path / "badid.npz", pdg_id=np.array([511, 211]), px=t.px, py=t.py, pz=t.pz, event=t.event)
    with pytest.raises(ValueError, match="badid.npz: field 'pdg_id' row 1 is 211"):
        load_bmeson_table(tmp_path / "badid.npz")
    np.savez(tmp_path / "nan.npz", pdg_id=t.pdg_id, px=t.px, py=t.py, pz=np.array([1.0, np.nan]), event=t.event)
    with pytest.raises(ValueError, match="nan.npz: field 'pz' row 1 is not finite"):
        load_bmeson_table(tmp_path / "nan.npz")
    (tmp_path / "junk.npz").write_bytes(b"junk")
    with pytest.raises(ValueError, match="junk.npz"):
        load_bmeson_table(tmp_path / "junk.npz")
    with pytest.raises(ValueError, match="shape"):
        BMesonTable(t.pdg_id, t.px[:1], t.py, t.pz, t.event)


def test_generation_without_pythia_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "pythia8mc", None)  # makes `import pythia8mc` fail
    with pytest.raises(RuntimeError, match=r"pip install 'hepbump\[pythia\]'"):
        generate_bmeson_table(10, seed=1)
    assert "pythia8mc==8.317.2" in PYTHIA_INSTALL_HINT


def test_small_pythia_run_and_cli(tmp_path, monkeypatch):
    pytest.importorskip("pythia8mc")
    with pytest.raises(ValueError, match="positive"):
        generate_bmeson_table(0, seed=1)
    from hepbump.cli import main

    out = tmp_path / "small.npz"
    monkeypatch.setattr("sys.argv", ["hepbump", "alp", "bmesons", "--events", "30", "--seed", "3", "--out", str(out)])
    try:
        main()
    except SystemExit as exc:
        assert exc.code in (0, None)
    table = load_bmeson_table(out)
    card = json.loads(card_path_for(out).read_text())
    assert card["n_events"] == 30 and card["seed"] == 3 and "--events 30" in card["command"]
    assert len(table) == sum(card["n_b_mesons"].values()) > 20  # ~1.6 per event
    assert np.all(np.isin(np.abs(table.pdg_id), (511, 521))) and table.event.max() < 30
