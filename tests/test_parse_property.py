"""Property test of the Dark Machines CSV tokenizer (pyarrow.compute) against a plain per-line reference parser.

Valid lines are generated (0-20 objects of every code, random spacing after the separators, an optional
trailing ``;``, numbers in several notations) and parsed by :func:`hepbump.darkmachines.parse.parse_chunk` and
:func:`hepbump.darkmachines.format.read_csv`; both must give the same events and the same numbers as
``str.split`` + ``float``.
"""

from __future__ import annotations

import math

import awkward as ak
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hepbump.darkmachines.format import read_csv
from hepbump.darkmachines.parse import OBJECT_CODES, parse_chunk

_SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

spacing = st.sampled_from(["", "", "", " ", "  ", "\t", " \t "])
process_names = st.from_regex(r"[A-Za-z][A-Za-z0-9_+\-]{0,11}", fullmatch=True)


@st.composite
def number(draw, lo: float, hi: float) -> str:
    """A float in [lo, hi] written as Python's repr, fixed-point, exponent or %g notation."""
    x = draw(st.floats(lo, hi, allow_nan=False, allow_infinity=False))
    style = draw(st.sampled_from(["repr", "fixed", "exp", "g"]))
    if style == "repr":
        return repr(x)
    if style == "fixed":
        return f"{x:.{draw(st.integers(0, 6))}f}"
    if style == "exp":
        return f"{x:.{draw(st.integers(0, 9))}e}"
    return f"{x:g}"


#: Values as written (the constraints hold for the parsed numbers, after any rounding of the notation).
eta_values = number(-4.999, 4.999).filter(lambda e: abs(float(e)) < 5.0)
phi_values = number(-3.14159, 3.14159).filter(lambda p: abs(float(p)) <= math.pi)


@st.composite
def dm_object(draw) -> list[str]:
    code = draw(st.sampled_from(OBJECT_CODES))
    pt = draw(number(0.0, 5e6))
    energy = draw(number(float(pt), 2e7).filter(lambda e: float(e) >= float(pt)))  # E >= pt as written
    eta = draw(eta_values)
    phi = draw(phi_values)
    return [code, energy, pt, eta, phi]


@st.composite
def dm_line(draw) -> str:
    header = [
        str(draw(st.integers(0, 2**53))),
        draw(process_names),
        draw(number(-10.0, 10.0)),
        draw(number(0.0, 5e6)),
        draw(phi_values),
    ]
    objects = draw(st.lists(dm_object(), min_size=0, max_size=20))
    fields = header + [",".join(f + draw(spacing) if i < 4 else f for i, f in enumerate(o)) for o in objects]
    line = "".join(f + ";" + draw(spacing) if i < len(fields) - 1 else f for i, f in enumerate(fields))
    if draw(st.booleans()):
        line += ";"
    return line


def reference_parse(text: str) -> list[tuple]:
    """(event, process, weight, MET, METphi, [(code, E, pt, eta, phi), ...]) per non-empty line."""
    events = []
    for line in text.splitlines():
        if not line.strip():
            continue
        fields = [f.strip() for f in line.strip().split(";")]
        if fields[-1] == "":
            fields.pop()
        objects = []
        for obj in fields[5:]:
            code, *values = (v.strip() for v in obj.split(","))
            objects.append((code, *(float(v) for v in values)))
        events.append((int(fields[0]), fields[1], *(float(v) for v in fields[2:5]), objects))
    return events


@given(lines=st.lists(dm_line(), min_size=1, max_size=8))
@_SETTINGS
def test_parse_chunk_matches_reference(lines):
    text = "\n".join(lines) + "\n"
    ref = reference_parse(text)
    got = parse_chunk(text.encode(), path="generated.csv")
    assert got.n_bad_lines == 0 and got.n_lines == len(lines)
    assert got.event.tolist() == [r[0] for r in ref]
    assert [got.process_names[i] for i in got.process_index] == [r[1] for r in ref]
    for col, k in (("weight", 2), ("met", 3), ("metphi", 4)):
        assert getattr(got, col).tolist() == [r[k] for r in ref], col
    assert got.counts.tolist() == [len(r[5]) for r in ref]
    objects = [o for r in ref for o in r[5]]
    assert [OBJECT_CODES[c] for c in got.code] == [o[0] for o in objects]
    for col, k in (("energy", 1), ("pt", 2), ("eta", 3), ("phi", 4)):
        assert getattr(got, col).tolist() == [o[k] for o in objects], col


@given(lines=st.lists(dm_line(), min_size=1, max_size=8), crlf=st.booleans())
@_SETTINGS
def test_read_csv_matches_reference(tmp_path_factory, lines, crlf):
    text = ("\r\n" if crlf else "\n").join(lines) + "\n"
    path = tmp_path_factory.mktemp("dm") / "events.csv"
    path.write_bytes(text.encode())
    ref = reference_parse(text)
    events = read_csv(path)
    assert len(events) == len(ref)
    assert ak.to_list(events.event) == [r[0] for r in ref]
    assert ak.to_list(events.process) == [r[1] for r in ref]
    mev = 1000.0
    assert ak.to_list(events.weight) == [r[2] for r in ref]
    assert ak.to_list(events.MET) == [r[3] / mev for r in ref]
    assert ak.to_list(events.METphi) == [r[4] for r in ref]
    assert ak.to_list(ak.num(events.objects)) == [len(r[5]) for r in ref]
    objects = [o for r in ref for o in r[5]]
    flat = ak.flatten(events.objects)
    assert ak.to_list(flat["type"]) == [o[0] for o in objects]
    assert np.array_equal(ak.to_numpy(flat.E), np.array([o[1] / mev for o in objects], dtype=float))
    assert np.array_equal(ak.to_numpy(flat.pt), np.array([o[2] / mev for o in objects], dtype=float))
    assert ak.to_list(flat.eta) == [o[3] for o in objects]
    assert ak.to_list(flat.phi) == [o[4] for o in objects]
    assert all(abs(o[3]) < 5 and abs(o[4]) <= math.pi and o[1] >= o[2] for o in objects)
