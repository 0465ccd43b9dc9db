"""The Global Analysis Algorithm on hand-made scan tables: each rule forms or rejects families; the CLI; and the
end-to-end leptoquark search through the command line (needs the shipped BumpNet weights)."""

import json
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from hepbump.bumpnet.gaa import GAAConfig, describe, find_families, run_gaa
from hepbump.bumpnet.scan import ScanTable, read_scan
from hepbump.cli import app, main

runner = CliRunner()
EDGES = np.linspace(100.0, 1100.0, 51)  # 20 GeV bins; bin 25 is 600-620 GeV


def table(rows, edges=EDGES):
    """A ranked scan table from ``(name, z_max, bin[, metadata[, source[, edges]]])`` rows."""
    names, z, bins, meta, sources, all_edges = [], [], [], [], [], []
    for row in rows:
        name, zmax, b, *rest = row
        names.append(name)
        z.append(zmax)
        bins.append(b)
        meta.append(rest[0] if len(rest) > 0 else {})
        sources.append(rest[1] if len(rest) > 1 else "f.root")
        all_edges.append(rest[2] if len(rest) > 2 else edges)
    n = len(rows)
    return ScanTable(
        tuple(names),
        tuple(sources),
        np.array(z, dtype=float),
        np.array(bins),
        np.zeros(n, dtype=int),
        tuple(np.zeros(len(e) - 1) for e in all_edges),
        tuple(np.ones(len(e) - 1) for e in all_edges),
        tuple(all_edges),
        tuple(meta),
    ).ranked()


def names(families):
    return [set(f.names) for f in families]


def test_two_independent_jet_bins_form_a_family():
    t = table([("2mu_OS_1b_2j__mu0_b0", 7.0, 25), ("2mu_OS_1b_3j__mu0_b0", 6.0, 26), ("2mu_OS_1b_4j__mu0_b0", 1.0, 25)])
    (fam,) = find_families(t)
    assert set(fam.names) == {"2mu_OS_1b_2j__mu0_b0", "2mu_OS_1b_3j__mu0_b0"}
    assert fam.seed.name == "2mu_OS_1b_2j__mu0_b0" and fam.mass == pytest.approx(610.0)
    assert fam.signature == "jet+lepton" and fam.mass_window == (560.0, 660.0)
    assert fam.members[0].rank == 1 and fam.members[0].z_max == 7.0


def test_thresholds():
    rows = [("2mu_OS_1b_2j__mu0_b0", 6.0, 25), ("2mu_OS_1b_3j__mu0_b0", 4.9, 25)]
    assert find_families(table(rows)) == []  # the second is below the member threshold
    assert names(find_families(table(rows), GAAConfig(member_threshold=4.5))) == [{r[0] for r in rows}]
    low = [("2mu_OS_1b_2j__mu0_b0", 4.9, 25), ("2mu_OS_1b_3j__mu0_b0", 4.9, 25)]
    assert find_families(table(low)) == []  # no seed
    assert len(find_families(table(low), GAAConfig(seed_threshold=4.8, member_threshold=4.8))) == 1
    result = run_gaa(table(rows))
    assert result.n_seeds == 1 and result.n_candidates == 1 and len(result.rejected) == 1


@pytest.mark.parametrize("offset, joins", [(0, True), (2, True), (-2, True), (3, False), (-3, False)])
def test_mass_window_of_two_bins(offset, joins):
    t = table([("2mu_OS_1b_2j__mu0_b0", 7.0, 25), ("2mu_OS_1b_3j__mu0_b0", 6.0, 25 + offset)])
    assert bool(find_families(t)) is joins
    wider = find_families(t, GAAConfig(mass_tolerance_bins=3))
    assert len(wider) == 1


def test_mass_window_in_the_seeds_binning():
    fine = np.linspace(100.0, 1100.0, 201)  # 5 GeV bins
    seed = ("2mu_OS_1b_2j__mu0_b0", 7.0, 100, {}, "f.root", fine)  # 600-605 GeV: window 590-615 GeV
    inside = ("2mu_OS_1b_3j__mu0_b0", 6.0, 25)  # centre 610 GeV
    outside = ("2mu_OS_1b_4j__mu0_b0", 6.0, 26)  # centre 630 GeV
    (fam,) = find_families(table([seed, inside, outside]))
    assert set(fam.names) == {seed[0], inside[0]} and fam.mass_window == (590.0, 615.0)


def test_majority_object_combination_and_lepton_jet_equivalences():
    rows = [
        ("2mu_OS_1b_2j__mu0_b0", 9.0, 25),
        ("2e_OS_1b_3j__e0_j1", 6.5, 25),  # electrons ~ muons, generic jets ~ b-jets
        ("1e_1mu_OS_1b_2j__mu0_lj0", 6.0, 24),  # light jets too
        ("2mu_OS_1b_3j__mu0_mu1_m106up", 8.0, 25),  # lepton+lepton: not the majority
        ("2mu_OS_1b_4j__mu0_b0_MET", 7.0, 25),  # with MET: another combination
    ]
    result = run_gaa(table(rows))
    (fam,) = result.families
    assert set(fam.names) == {"2mu_OS_1b_2j__mu0_b0", "2e_OS_1b_3j__e0_j1", "1e_1mu_OS_1b_2j__mu0_lj0"}
    assert fam.signature == "jet+lepton"
    rejected = {m.name: m.signature for m in fam.rejected_combination}
    assert rejected == {"2mu_OS_1b_3j__mu0_mu1_m106up": "lepton+lepton", "2mu_OS_1b_4j__mu0_b0_MET": "jet+lepton+MET"}
    # without the equivalences each histogram is alone in its combination
    assert find_families(table(rows), GAAConfig(object_classes=())) == []


def test_rejected_combinations_can_form_their_own_family():
    rows = [
        ("2mu_OS_1b_2j__mu0_b0", 9.0, 25),
        ("2mu_OS_1b_3j__mu0_b0", 8.5, 25),
        ("2mu_OS_2j__mu0_mu1_m106up", 8.0, 25),
        ("2mu_OS_3j__mu0_mu1_m106up", 7.5, 25),
    ]
    fams = find_families(table(rows))
    assert [f.signature for f in fams] == ["jet+lepton", "lepton+lepton"]
    assert names(fams)[1] == {"2mu_OS_2j__mu0_mu1_m106up", "2mu_OS_3j__mu0_mu1_m106up"}


def test_nested_selections_keep_the_most_significant():
    rows = [
        ("2mu_OS_1b_3j__mu0_b0", 6.0, 25),
        ("2mu_OS_1b_met150_3j__mu0_b0", 8.0, 25),  # nested in 2mu_OS_1b_3j: correlated
        ("2mu_OS_3j__mu0_j0", 7.0, 25),  # 2mu_OS_1b_3j is nested in it
    ]
    result = run_gaa(table(rows))
    assert result.families == ()  # one independent histogram only
    (rej,) = result.rejected
    assert rej.names == ("2mu_OS_1b_met150_3j__mu0_b0",)
    assert {(m.name, w) for m, w in rej.rejected_correlated} == {
        ("2mu_OS_1b_3j__mu0_b0", "2mu_OS_1b_met150_3j__mu0_b0"),
        ("2mu_OS_3j__mu0_j0", "2mu_OS_1b_met150_3j__mu0_b0"),
    }
    # with an independent jet bin the family survives, with one histogram per set of nested selections
    (fam,) = find_families(table([*rows, ("2mu_OS_1b_2j__mu0_b0", 5.5, 25)]))
    assert set(fam.names) == {"2mu_OS_1b_met150_3j__mu0_b0", "2mu_OS_1b_2j__mu0_b0"}
    assert len(fam.rejected_correlated) == 2


def test_jet_multiplicity_overlaps():
    tail_vs_bin = [("2mu_OS_ge2j__mu0_j0", 7.0, 25), ("2mu_OS_1b_3j__mu0_b0", 6.0, 25)]  # 3 jets are in >= 2
    assert find_families(table(tail_vs_bin)) == []
    tail_vs_lower = [("2mu_OS_ge3j__mu0_j0", 7.0, 25), ("2mu_OS_1b_2j__mu0_b0", 6.0, 25)]
    assert len(find_families(table(tail_vs_lower))) == 1
    inclusive = [("2mu_OS__mu0_j0", 7.0, 25), ("2mu_OS_1b_2j__mu0_b0", 6.0, 25)]  # no jet split: any number
    assert find_families(table(inclusive)) == []


def test_independent_files_channels_and_base_categories():
    same = ("2mu_OS_1b_3j__mu0_b0", 7.0, 25)
    two_files = [same, (same[0], 6.0, 25, {}, "other.root")]
    assert len(find_families(table(two_files))) == 1
    channels = [(*same, {"channel": "2b"}), (same[0], 6.0, 25, {"channel": "3"})]
    assert len(find_families(table(channels))) == 1
    bases = [same, ("1e_1mu_OS_1b_3j__mu0_b0", 6.0, 25)]
    assert len(find_families(table(bases))) == 1


def test_same_combination_only_option():
    rows = [("2mu_OS_1b_3j__mu0_b0", 7.0, 25), ("2mu_OS_1b_3j__mu1_b0", 6.0, 25)]  # same events
    assert find_families(table(rows)) == []
    (fam,) = find_families(table(rows), GAAConfig(correlated_same_combination_only=True))
    assert fam.size == 2
    nested = [("2mu_OS_1b_3j__mu0_b0", 7.0, 25), ("2mu_OS_1b_pt100_3j__mu0_b0", 6.0, 25)]
    assert find_families(table(nested), GAAConfig(correlated_same_combination_only=True)) == []


def test_families_of_one_are_dropped_and_histograms_used_once():
    rows = [
        ("2mu_OS_1b_2j__mu0_b0", 9.0, 25),
        ("2mu_OS_1b_3j__mu0_b0", 8.0, 26),
        ("2mu_OS_1b_4j__mu0_b0", 7.0, 27),  # 2 bins from the seed
        ("2e_OS_2j__e0_e1_m106up", 8.5, 5),  # alone at 210 GeV
        ("2e_OS_2j__e0_j0", 6.0, 45),  # alone at 1010 GeV
    ]
    result = run_gaa(table(rows))
    (fam,) = result.families
    assert fam.size == 3
    assert [r.seed.name for r in result.rejected] == ["2e_OS_2j__e0_e1_m106up", "2e_OS_2j__e0_j0"]
    assert all(r.size == 1 and not r.accepted for r in result.rejected)
    assert result.n_family_histograms == 3 and result.n_seeds == 5
    assert find_families(table([("2mu_OS_1b_2j__mu0_b0", 9.0, 25)]), GAAConfig(min_family_size=1))[0].size == 1


def test_metadata_takes_precedence_over_the_name():
    meta = {
        "category": "2mu_OS_1b_3j",
        "base_category": "2mu_OS",
        "objects": ["mu0", "b0"],
        "with_met": True,
        "combination": "mu0_b0_MET",
        "selection": {"n_jets": 3, "n_jets_is_lower_bound": True},
        "channel": "2b",
    }
    info = describe("custom_name", meta)
    assert (info.objects, info.with_met, info.base, info.jets, info.channel) == (
        ("mu0", "b0"),
        True,
        "2mu_OS",
        (3.0, float("inf")),
        "2b",
    )
    unknown = describe("mjj", {})
    assert unknown.objects == () and unknown.base is None
    # histograms without any information: one signature 'unknown', never correlated
    (fam,) = find_families(table([("mjj", 7.0, 25), ("mjj_2", 6.0, 25)]))
    assert fam.signature == "unknown"


def test_config_is_validated():
    from hepbump.errors import InputError

    for bad in ({"mass_tolerance_bins": -1}, {"min_family_size": 0}, {"seed_threshold": float("nan")}):
        with pytest.raises(InputError):
            GAAConfig(**bad)


def test_cli_gaa(tmp_path):
    rows = [("2mu_OS_1b_2j__mu0_b0", 7.0, 25), ("2mu_OS_1b_3j__mu0_b0", 6.0, 26), ("2e_OS_2j__e0_e1", 8.0, 5)]
    table(rows).write(tmp_path / "scan.parquet")
    out, plot = tmp_path / "families.json", tmp_path / "map.png"
    r = runner.invoke(app, ["bumpnet", "gaa", str(tmp_path / "scan.parquet"), "-o", str(out), "--plot", str(plot)])
    assert r.exit_code == 0, r.output
    assert "1 families (2 histograms)" in r.output and "family 1: m = 610 GeV" in r.output
    record = json.loads(out.read_text())
    assert record["n_families"] == 1 and record["config"]["seed_threshold"] == 5.0
    assert {m["name"] for m in record["families"][0]["members"]} == {r[0] for r in rows[:2]}
    assert record["rejected_families"][0]["seed"] == "2e_OS_2j__e0_e1"
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    r = runner.invoke(
        app, ["bumpnet", "gaa", str(tmp_path / "scan.parquet"), "-o", str(out), "--member-threshold", "7"]
    )
    assert r.exit_code == 0 and "0 families" in r.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["{d}/missing.parquet", "-o", "{d}/f.json"], "no such scan file"),
        (["{d}/other.parquet", "-o", "{d}/f.json"], "not a BumpNet scan table"),
        (["{d}/scan.parquet", "-o", "{d}"], "is a directory"),
    ],
)
def test_cli_gaa_errors_are_one_line(args, message, tmp_path, monkeypatch, capsys):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"x": [1]}), tmp_path / "other.parquet")
    table([("2mu_OS_1b_2j__mu0_b0", 7.0, 25)]).write(tmp_path / "scan.parquet")
    monkeypatch.setattr("sys.argv", ["hepbump", "bumpnet", "gaa", *[a.replace("{d}", str(tmp_path)) for a in args]])
    with pytest.raises(SystemExit) as exc:
        main()
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


# --- end to end: the injected leptoquark through the command line ------------------------------------------------

SHIPPED = Path(str(resources.files("hepbump.data"))) / "bumpnet" / "bumpnet.pt"
needs_weights = pytest.mark.skipif(not SHIPPED.exists(), reason="the shipped BumpNet weights are not installed")


def _pipeline(tmp_path, signal, model=None):
    """``dm generate`` -> ``dm histograms`` -> ``bumpnet scan`` -> ``bumpnet gaa`` on a CI-sized 2b sample
    (``model``: weights other than the shipped ones)."""
    events, hists = tmp_path / "events.root", tmp_path / "h.root"
    scan, families = tmp_path / "scan.parquet", tmp_path / "families.json"
    generate = ["dm", "generate", "--channel", "2b", "--events", "5000", "--seed", "1", "--no-progress"]
    steps = [
        [*generate, *(["--signal", signal] if signal else []), "-o", str(events)],
        ["dm", "histograms", str(events), "-o", str(hists), "--no-progress"],
        ["bumpnet", "scan", str(hists), "-o", str(scan), "--no-progress", *(["--model", str(model)] if model else [])],
        ["bumpnet", "gaa", str(scan), "-o", str(families)],
    ]
    for args in steps:
        result = runner.invoke(app, args)
        assert result.exit_code == 0, (args, result.output)
    return read_scan(scan), json.loads(families.read_text())


@needs_weights
def test_end_to_end_leptoquark_family(tmp_path, model=None):
    """600 GeV leptoquarks (pair produced, each -> b mu) injected in a 2b sample: the GAA keeps a family at
    ~600 GeV in lepton + jet masses of 2mu_OS categories with a b-jet."""
    _, record = _pipeline(tmp_path, "lq600_bmu:80", model)
    lq = [
        f
        for f in record["families"]
        if abs(f["mass"] - 600.0) < 60.0
        and f["signature"] == "jet+lepton"
        and any(m["category"].startswith("2mu_OS") for m in f["members"])
    ]
    assert lq, record["families"]
    assert any("b0" in m["combination"] or "_1b" in m["category"] for m in lq[0]["members"])
    assert lq[0]["size"] >= 2


@needs_weights
def test_end_to_end_background_only_few_families(tmp_path, model=None):
    table, record = _pipeline(tmp_path, None, model)
    n_seeds = int((table.z_max >= 5.0).sum())
    assert record["n_families"] <= 2, record["families"]
    assert record["n_family_histograms"] <= max(n_seeds, 4)
    assert not any(abs(f["mass"] - 600.0) < 60.0 and f["signature"] == "jet+lepton" for f in record["families"])
