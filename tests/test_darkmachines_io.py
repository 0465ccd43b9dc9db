"""Dark Machines event I/O: CSV parsing (hand-checked values, variants, bad input), conversion to ROOT/Parquet."""

from __future__ import annotations

import os

import awkward as ak
import numpy as np
import pytest
import uproot
from typer.testing import CliRunner

from hepbump.cli import app, main
from hepbump.darkmachines.format import (
    PROCESS_NAMES,
    ParseReport,
    ProcessTable,
    build_events,
    iter_csv,
    read_csv,
    to_collections,
)
from hepbump.darkmachines.read import read_events, read_process_names, read_provenance
from hepbump.darkmachines.write import EventWriter, convert, format_csv, write_events

LINE_TTBAR = (
    "94;ttbar;1;112288;1.74766;b,331927,147558,-1.44969,-1.76399;j,100406,85589,-0.568259,-1.17144;"
    "b,55808.8,54391.4,-0.198215,1.726"
)
LINE_TTBARGAM = (
    "57;ttbarGam;1;66814.7;0.820827;j,807565,119079,2.6017,3.02583;b,204221,49828.9,2.0879,-0.469806;"
    "j,120426,45285.9,1.6327,-1.18;g,52303.8,22421.9,1.4907,-0.156513;"
)
LINE_LEPTONS = "7;z_jets;1;20500;0.5;m-,50000,45000,0.1,1;e+,30000,28000,-0.3,-2;m+,48000,46000,-0.3,-2"


def _write(tmp_path, text: str, name: str = "dm.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def approx(values):
    return pytest.approx(values, rel=1e-12, abs=1e-12)


def test_real_lines_hand_checked_in_gev(tmp_path):
    ev = read_csv(_write(tmp_path, LINE_TTBAR + "\n" + LINE_TTBARGAM + "\n"))
    assert ev.event.tolist() == [94, 57]
    assert ev.process.tolist() == ["ttbar", "ttbarGam"]
    assert ev.weight.tolist() == [1.0, 1.0]
    assert ev.MET.tolist() == approx([112.288, 66.8147])  # MeV -> GeV
    assert ev.METphi.tolist() == approx([1.74766, 0.820827])
    o = ev.objects
    assert o["type"].tolist() == [["b", "j", "b"], ["j", "b", "j", "g"]]
    assert o.charge.tolist() == [[0, 0, 0], [0, 0, 0, 0]]
    assert o.E.tolist()[0] == approx([331.927, 100.406, 55.8088])
    assert o.pt.tolist()[0] == approx([147.558, 85.589, 54.3914])
    assert o.eta.tolist()[0] == approx([-1.44969, -0.568259, -0.198215])
    assert o.phi.tolist()[0] == approx([-1.76399, -1.17144, 1.726])
    assert o.E.tolist()[1] == approx([807.565, 204.221, 120.426, 52.3038])
    assert o.pt.tolist()[1] == approx([119.079, 49.8289, 45.2859, 22.4219])
    assert o.eta.tolist()[1] == approx([2.6017, 2.0879, 1.6327, 1.4907])
    assert o.phi.tolist()[1] == approx([3.02583, -0.469806, -1.18, -0.156513])


def test_lepton_charges_and_codes(tmp_path):
    ev = read_csv(_write(tmp_path, LINE_LEPTONS + "\n"))
    assert ev.objects["type"].tolist() == [["m-", "e+", "m+"]]
    assert ev.objects.charge.tolist() == [[-1, 1, 1]]
    assert str(ak.type(ev.objects.charge)).endswith("int8")


@pytest.mark.parametrize(
    "variant",
    [
        LINE_TTBAR + ";\n" + LINE_TTBARGAM + "\n",  # trailing ';' on both
        LINE_TTBAR.replace(";", "; ") + "\n" + LINE_TTBARGAM.replace(";", "; ") + "\n",  # spaces after ';'
        LINE_TTBAR.replace(",", " , ") + "\r\n" + LINE_TTBARGAM + "\r\n",  # spaces around ',' and CRLF
        "\n  \n" + LINE_TTBAR + "  \n\t\n" + LINE_TTBARGAM,  # blank lines, trailing blanks, no final newline
        LINE_TTBAR + "\n" + LINE_TTBARGAM.rstrip(";") + ";  \n",
        "\ufeff" + LINE_TTBAR + "\n" + LINE_TTBARGAM + "\n",  # UTF-8 byte-order mark
    ],
)
def test_whitespace_and_trailing_semicolon_variants(tmp_path, variant):
    expected = read_csv(_write(tmp_path, LINE_TTBAR + "\n" + LINE_TTBARGAM + "\n", "ref.csv"))
    got = read_csv(_write(tmp_path, variant))
    assert got.tolist() == expected.tolist()


def test_chunked_reading_equals_whole_file(tmp_path):
    text = "".join(f"{i}" + LINE_LEPTONS[1:] + "\n" + LINE_TTBARGAM + "\n" for i in range(40))
    path = _write(tmp_path, text)
    whole = read_csv(path)
    chunks = list(iter_csv(path, chunk_bytes=100))
    assert len(chunks) > 10
    assert ak.concatenate(chunks).tolist() == whole.tolist()
    assert read_csv(path, chunk_bytes=77).tolist() == whole.tolist()


GOOD = "5;ok;1;2000;3;j,30000,25000,0.5,1\n"


@pytest.mark.parametrize(
    "bad,message",
    [
        ("1;a;1;2;3;j,1,2,3\n", "object 1 'j,1,2,3' has 4 comma-separated values"),
        ("1;a;1;2\n", "wrong field count: 4 ';'-separated fields"),
        ("1;a;1;2;3;;\n", "wrong field count"),
        ("1;a,b;1;2;3\n", "header field process ID 'a,b' contains ','"),
        ("1;a;1;2;3;x,1,2,3,4\n", "object 1 code: unknown object code 'x'"),
        ("1;a;1;2;3;j,1,2,zz,4\n", "object 1 eta: 'zz' is not a number"),
        ("1;a;1;2;3;j,1,2,,4\n", "object 1 eta: '' is not a number"),
        ("1;a;1;2;3;j,1,nan,3,4\n", "object 1 pt: NaN value 'nan'"),
        ("1;a;1;2;NaN;\n", "METphi: NaN value 'NaN'"),
        ("1;a;1;2;inf;\n", "METphi: infinite value 'inf'"),
        ("1;a;1;2;3;j,-1,2,3,4\n", "object 1 E: negative value '-1'"),
        ("1;a;1;2;3;j,1,-2,3,4\n", "object 1 pt: negative value '-2'"),
        ("1;a;1;-2;3\n", "MET: negative value '-2'"),
        ("1;a;1;2 3;3\n", "whitespace inside a field"),
        ("1.5;a;1;2;3\n", "event ID: '1.5' is not an integer"),
        ("1;a;1;2;3;j,1,2,3,4;g,1,2,3,4;b,1,2,3\n", "object 3 'b,1,2,3' has 4"),
        ("1;a;1;2;3;j,1,2,3,\u00e94\n", "non-ASCII or control character"),
    ],
)
def test_bad_line_names_file_line_and_problem(tmp_path, bad, message):
    path = _write(tmp_path, GOOD + "\n" + bad + GOOD)  # the bad line is line 3 (line 2 is blank)
    with pytest.raises(ValueError) as exc:
        read_csv(path)
    text = str(exc.value)
    assert str(path) in text and "line 3:" in text and message in text, text


def test_bad_line_number_across_chunks(tmp_path):
    lines = [GOOD.strip()] * 57 + ["1;a;1;2;3;j,1,2,3,oops"] + [GOOD.strip()] * 10
    path = _write(tmp_path, "\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=r"line 58: object 1 phi: 'oops' is not a number"):
        read_csv(path, chunk_bytes=50)


def test_skip_bad_lines_counts_and_reports(tmp_path):
    path = _write(tmp_path, GOOD + "1;a;1;2;3;q,1,2,3,4\n" + GOOD + "x;a;1;2;3\n" + LINE_TTBAR + "\n")
    events, report = read_csv(path, skip_bad_lines=True, return_report=True)
    assert isinstance(report, ParseReport)
    assert report.n_events == 3 and report.n_bad_lines == 2
    assert [b.line for b in report.bad_lines] == [2, 4]
    assert "unknown object code 'q'" in report.bad_lines[0].reason
    assert "is not an integer" in report.bad_lines[1].reason
    assert events.event.tolist() == [5, 5, 94]
    with pytest.raises(ValueError, match="no valid events: all 2 non-empty lines are malformed"):
        read_csv(_write(tmp_path, "a;b\nc;d\n", "allbad.csv"), skip_bad_lines=True)


def test_empty_missing_and_directory_inputs(tmp_path):
    with pytest.raises(ValueError, match="no events"):
        read_csv(_write(tmp_path, ""))
    with pytest.raises(ValueError, match="no events"):
        read_csv(_write(tmp_path, "\n  \n\n", "blank.csv"))
    with pytest.raises(FileNotFoundError, match="no such Dark Machines CSV file"):
        read_csv(tmp_path / "missing.csv")
    with pytest.raises(ValueError, match="not a regular file"):
        read_csv(tmp_path)


def test_to_collections_orders_by_pt_and_maps_codes(tmp_path):
    ev = read_csv(_write(tmp_path, LINE_TTBAR + "\n" + LINE_LEPTONS + "\n"))
    flat = to_collections(ev)
    assert flat.processID.tolist() == [PROCESS_NAMES.index("ttbar"), PROCESS_NAMES.index("z_jets")]
    assert flat.nJet.tolist() == [3, 0]
    assert flat.Jet_pt.tolist()[0] == pytest.approx([147.558, 85.589, 54.3914], rel=1e-6)
    assert flat.Jet_btag.tolist() == [[True, False, True], []]
    assert flat.Muon_pt.tolist() == [[], pytest.approx([46.0, 45.0])]
    assert flat.Muon_charge.tolist() == [[], [1, -1]]
    assert flat.Electron_charge.tolist() == [[], [1]]
    assert flat.nPhoton.tolist() == [0, 0]
    assert flat.MET_pt.tolist() == pytest.approx([112.288, 20.5], rel=1e-6)
    # E^2 - p^2 >= 0: the jets keep a mass
    e, pt, eta = (np.asarray(ak.flatten(flat[f"Jet_{k}"])) for k in ("E", "pt", "eta"))
    assert np.all(e**2 - (pt * np.cosh(eta)) ** 2 > 0)


def test_process_table_assigns_codes_to_unknown_names():
    table = ProcessTable()
    codes = table.codes(["zz", "my_signal", "other", "my_signal"]).tolist()
    assert codes == [PROCESS_NAMES.index("zz"), len(PROCESS_NAMES), len(PROCESS_NAMES) + 1, len(PROCESS_NAMES)]


@pytest.mark.parametrize("suffix", [".root", ".parquet"])
def test_round_trip_csv_to_file_and_back(tmp_path, suffix):
    csv = _write(tmp_path, LINE_TTBAR + "\n" + LINE_TTBARGAM + "\n" + LINE_LEPTONS.replace("z_jets", "my_bsm") + "\n")
    out = tmp_path / f"events{suffix}"
    report = convert(csv, out)
    assert report.n_events == 3
    back = read_events(out)
    expected = to_collections(read_csv(csv))
    assert sorted(back.fields) == sorted(expected.fields)
    for field in expected.fields:
        assert back[field].tolist() == expected[field].tolist(), field
    names = read_process_names(out)
    assert names[back.processID[2]] == "my_bsm" and names[back.processID[0]] == "ttbar"
    assert read_provenance(out)["converted_from"] == "dm.csv"


def test_coffea_reads_both_formats_with_base_schema(tmp_path):
    from coffea.nanoevents import BaseSchema, NanoEventsFactory

    csv = _write(tmp_path, LINE_TTBAR + "\n" + LINE_LEPTONS + "\n")
    convert(csv, tmp_path / "e.root")
    convert(csv, tmp_path / "e.parquet")
    root = NanoEventsFactory.from_root(
        {str(tmp_path / "e.root"): "Events"}, schemaclass=BaseSchema, mode="eager"
    ).events()
    pq = NanoEventsFactory.from_parquet(str(tmp_path / "e.parquet"), schemaclass=BaseSchema, mode="eager").events()
    assert root.nMuon.tolist() == pq.nMuon.tolist() == [0, 2]
    assert root.Jet_btag.tolist() == pq.Jet_btag.tolist() == [[True, False, True], []]


def test_read_events_errors(tmp_path):
    csv = _write(tmp_path, LINE_TTBAR + "\n")
    convert(csv, tmp_path / "e.root")
    with pytest.raises(KeyError, match="no TTree named 'Foo'.*Events"):
        read_events(tmp_path / "e.root", tree="Foo")
    (tmp_path / "fake.root").write_text("not root")
    with pytest.raises(ValueError, match="not a readable ROOT file"):
        read_events(tmp_path / "fake.root")
    with pytest.raises(FileNotFoundError):
        read_events(tmp_path / "none.parquet")
    (tmp_path / "e.txt").write_text("x")
    with pytest.raises(ValueError, match="unknown event-file type"):
        read_events(tmp_path / "e.txt")


def test_failed_conversion_leaves_no_output(tmp_path):
    lines = [GOOD.strip()] * 200 + ["1;a;1;2;3;j,1,2,3,bad"]
    csv = _write(tmp_path, "\n".join(lines) + "\n")
    for suffix in (".root", ".parquet"):
        out = tmp_path / f"out{suffix}"
        with pytest.raises(ValueError, match="line 201"):
            convert(csv, out, chunk_bytes=256)  # earlier chunks were already written to the temporary file
        assert not out.exists()
    assert sorted(os.listdir(tmp_path)) == ["dm.csv"]


def test_writer_failure_inside_block_leaves_nothing(tmp_path):
    ev = read_csv(_write(tmp_path, LINE_TTBAR + "\n"))
    with pytest.raises(RuntimeError, match="boom"):
        with EventWriter(tmp_path / "w.csv", provenance={"a": 1}) as w:
            w.write(ev)
            raise RuntimeError("boom")
    assert sorted(os.listdir(tmp_path)) == ["dm.csv"]


def test_csv_writer_reproduces_the_dm_format(tmp_path):
    ev = read_csv(_write(tmp_path, LINE_TTBAR + "\n" + LINE_TTBARGAM + "\n"))
    assert format_csv(ev).decode() == LINE_TTBAR + ";\n" + LINE_TTBARGAM + "\n"
    write_events(ev, tmp_path / "again.csv", provenance={"note": "x"})
    assert read_csv(tmp_path / "again.csv").tolist() == ev.tolist()
    assert read_provenance(tmp_path / "again.csv") == {"note": "x"}


def test_csv_writer_rounds_to_six_significant_digits(tmp_path):
    rng = np.random.default_rng(7)
    n = 300
    counts = rng.integers(0, 6, n)
    m = int(counts.sum())
    pt, eta = rng.exponential(60, m) + 20, rng.normal(0, 1.5, m)  # physical: E = pt cosh(eta) >= pt
    ev = build_events(
        event=np.arange(n),
        process_index=rng.integers(0, 2, n),
        process_names=["ttbar", "zz"],
        weight=np.ones(n),
        met=rng.exponential(80, n),
        metphi=rng.uniform(-3, 3, n),
        counts=counts,
        code=rng.integers(0, 7, m),
        energy=pt * np.cosh(eta),
        pt=pt,
        eta=eta,
        phi=rng.uniform(-3, 3, m),
    )
    write_events(ev, tmp_path / "r.csv")
    back = read_csv(tmp_path / "r.csv")
    assert back.process.tolist() == ev.process.tolist()
    assert back.objects["type"].tolist() == ev.objects["type"].tolist()
    for field in ("E", "pt", "eta", "phi"):
        np.testing.assert_allclose(ak.flatten(back.objects[field]), ak.flatten(ev.objects[field]), rtol=5.1e-6)
    np.testing.assert_allclose(back.MET, ev.MET, rtol=5.1e-6)


runner = CliRunner()


def test_cli_convert(tmp_path):
    csv = _write(tmp_path, LINE_TTBAR + "\n" + "2;z;1;2;3;q,1,2,3,4\n")
    r = runner.invoke(app, ["dm", "convert", str(csv), "--to", "parquet", "--skip-bad-lines"])
    assert r.exit_code == 0, r.output
    assert "wrote 1 events" in r.output and "skipped 1 malformed lines (first: line 2" in r.output
    assert read_events(tmp_path / "dm.parquet").event.tolist() == [94]
    r = runner.invoke(app, ["dm", "convert", str(csv), "--out", str(tmp_path / "x.root"), "--skip-bad-lines"])
    assert r.exit_code == 0 and uproot.open(tmp_path / "x.root")["Events"].num_entries == 1


@pytest.mark.parametrize(
    "args,message",
    [
        (["dm", "convert", "{dir}/missing.csv"], "no such Dark Machines CSV file"),
        (["dm", "convert", "{dir}/bad.csv", "--to", "root"], "line 2: object 1 code: unknown object code 'q'"),
        (["dm", "convert", "{dir}/bad.csv", "--to", "hdf5"], "--to must be one of root, parquet"),
    ],
)
def test_cli_convert_errors_are_one_line(tmp_path, monkeypatch, capsys, args, message):
    _write(tmp_path, LINE_TTBAR + "\n" + "2;z;1;2;3;q,1,2,3,4\n", "bad.csv")
    monkeypatch.setattr("sys.argv", ["hepbump", *[a.replace("{dir}", str(tmp_path)) for a in args]])
    with pytest.raises(SystemExit) as exc:
        main()
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "bad.root").exists()
