"""Tokenizer and validator of the Dark Machines CSV format (internal to :mod:`hepbump.darkmachines.format`).

One event per line: ``event ID; process ID; weight; MET; METphi; code,E,pt,eta,phi; code,E,pt,eta,phi; ...``
with E, pt and MET in MeV. A chunk of whole lines is parsed with ``pyarrow.compute``, with no Python loop over
lines:

1. ``split_pattern`` cuts the chunk into lines, each line into ``;`` fields and each field into ``,`` tokens; the
   list offsets give the layout of every line (5 one-token header fields, then objects of 5 tokens; a last field
   that is one empty token, as after a trailing ``;`` or on a blank line, is ignored), checked with numpy;
2. only when the chunk has any byte other than printable ASCII and newlines: lines with a byte that is neither
   printable ASCII nor whitespace are invalid (and blanked before the split), ``ascii_trim_whitespace`` drops
   whitespace around every token, and whitespace left inside a token is an error;
3. numbers are parsed by ``cast`` (the header and object values are taken into one array), object codes by
   ``index_in``, process names by ``dictionary_encode``.

Validation is vectorised too; only lines found bad are described in Python, by their index, so the error names
the file, the line number, the field and the problem. Besides the syntax, unphysical values are refused: E below
pt (beyond the relative tolerance :data:`REL_TOLERANCE` of the ~6 significant digits of the files), |eta| above
:data:`MAX_ABS_ETA`, an angle (object phi, METphi) outside [-pi, pi] beyond the same tolerance, an empty process
name. Values are returned in the file's units (MeV).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from hepbump.errors import InputError

__all__ = ["OBJECT_CODES", "HEADER_FIELDS", "OBJECT_FIELDS", "ParsedChunk", "BadLine", "parse_chunk"]

#: Object codes of the Dark Machines format (index = integer code used internally).
OBJECT_CODES = ("j", "b", "e-", "e+", "m-", "m+", "g")
#: Names of the five header fields and of the five fields of an object, for messages.
HEADER_FIELDS = ("event ID", "process ID", "event weight", "MET", "METphi")
OBJECT_FIELDS = ("code", "E", "pt", "eta", "phi")

_CODES = pa.array(OBJECT_CODES)
# Printable ASCII bytes; whitespace (trimmed around tokens) and newline; an invalid byte; whitespace.
_PRINTABLE = bytes(range(33, 127))
_SPACE_NL = b" \t\r\x0b\x0c\n"
_BAD_CHAR_RE = "[^ -~\t\r\x0b\x0c]"
_SPACE_RE = "[ \t\r\x0b\x0c]"

# Line error codes (lower = reported first when a line has several problems).
_E_CHAR, _E_SPACE, _E_STRUCT, _E_CODE, _E_INT, _E_NUMBER, _E_NAN, _E_INF, _E_NEGATIVE = range(1, 10)
_E_PROCESS, _E_BELOW_PT, _E_ETA, _E_PHI = range(10, 14)

#: Relative tolerance of the physical checks: the files hold about 6 significant digits, so E may fall below pt
#: and |phi| exceed pi by rounding.
REL_TOLERANCE = 1e-5
#: Largest |eta| accepted: beyond any detector; a larger value is a corrupted field, not a particle.
MAX_ABS_ETA = 10.0
_PHI_LIMIT = np.pi * (1.0 + REL_TOLERANCE)

_FLOAT_RE = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$"
_INT_RE = r"^-?[0-9]+$"
_NAN_RE = r"^[+-]?(?i:nan)$"
_INF_RE = r"^[+-]?(?i:inf|infinity)$"


@dataclass(frozen=True)
class BadLine:
    """A malformed line: 1-based ``line`` number in the file and what is wrong with it."""

    line: int
    reason: str

    def message(self, path: str | os.PathLike[str]) -> str:
        return f"{path}, line {self.line}: {self.reason}"


@dataclass
class ParsedChunk:
    """Columns of the valid events of one chunk (file units: MeV, radians).

    ``process_index`` indexes ``process_names`` (chunk-local dictionary); ``counts`` is the number of objects
    per event and ``code`` the integer object code (index into :data:`OBJECT_CODES`) of each object.
    """

    event: np.ndarray
    process_index: np.ndarray
    process_names: list[str]
    weight: np.ndarray
    met: np.ndarray
    metphi: np.ndarray
    counts: np.ndarray
    code: np.ndarray
    energy: np.ndarray
    pt: np.ndarray
    eta: np.ndarray
    phi: np.ndarray
    n_lines: int
    bad_lines: list[BadLine]
    n_bad_lines: int


class _Errors:
    """Per-line error code and offending token, keeping the highest-priority (lowest) code per line."""

    def __init__(self, n_lines: int) -> None:
        self.code = np.zeros(n_lines, dtype=np.int8)
        self.token = np.full(n_lines, -1, dtype=np.int64)

    def add_lines(self, lines: np.ndarray, code: int, tokens: np.ndarray | None = None) -> None:
        if lines.size == 0:
            return
        current = self.code[lines]
        better = (current == 0) | (current > code)
        lines = lines[better]
        self.code[lines] = code
        self.token[lines] = -1 if tokens is None else tokens[better]

    def add_tokens(self, bad_tokens: np.ndarray, line_tok: np.ndarray, code: int) -> None:
        """Flag the lines of ``bad_tokens`` (token indices; ``line_tok`` = first token of each line), keeping the
        first bad token of each line."""
        if bad_tokens.size:
            bad_tokens = np.sort(bad_tokens)
            lines, first = np.unique(np.searchsorted(line_tok, bad_tokens, side="right") - 1, return_index=True)
            self.add_lines(lines, code, bad_tokens[first])


def _cast_checked(strings: pa.Array, target: pa.DataType, regex: str) -> tuple[np.ndarray, np.ndarray]:
    """Parse ``strings`` as ``target``; return (values, ok mask). Unparseable entries are located by ``regex``."""
    try:
        values = pc.cast(strings, target).to_numpy(zero_copy_only=False)
        return values, np.ones(len(strings), dtype=bool)
    except pa.ArrowInvalid:
        pass
    ok = pc.match_substring_regex(strings, regex).to_numpy(zero_copy_only=False).astype(bool)
    fill = np.nan if pa.types.is_floating(target) else 0
    values = np.full(len(strings), fill, dtype=target.to_pandas_dtype())
    try:
        values[ok] = pc.cast(strings.filter(pa.array(ok)), target).to_numpy(zero_copy_only=False)
    except pa.ArrowInvalid:
        # Well-formed but out of range (e.g. an event ID beyond int64): locate in blocks, then singly.
        ok_idx = np.flatnonzero(ok)
        for start in range(0, ok_idx.size, 4096):
            part = ok_idx[start : start + 4096]
            try:
                values[part] = pc.cast(strings.take(pa.array(part)), target).to_numpy(zero_copy_only=False)
            except pa.ArrowInvalid:
                for i in part:
                    try:
                        values[i] = pc.cast(strings.take(pa.array([i])), target).to_numpy(zero_copy_only=False)[0]
                    except pa.ArrowInvalid:
                        ok[i] = False
    return values, ok


def _describe_structure(text: str) -> str:
    """Human description of a line whose field layout is wrong (used only for reporting)."""
    body = text.strip()
    if body.endswith(";"):
        body = body[:-1]
    fields = [f.strip() for f in body.split(";")]
    if len(fields) < len(HEADER_FIELDS):
        return (
            f"wrong field count: {len(fields)} ';'-separated fields, but a line needs the 5 header fields "
            "(event ID; process ID; event weight; MET; METphi) followed by objects"
        )
    for name, field in zip(HEADER_FIELDS, fields):
        if "," in field:
            return f"wrong field count: header field {name} {field!r} contains ','"
    for k, field in enumerate(fields[len(HEADER_FIELDS) :], start=1):
        n = len(field.split(",")) if field else 0
        if n != len(OBJECT_FIELDS):
            return (
                f"wrong field count: object {k} {field!r} has {n} comma-separated values, "
                "expected 5 (code,E,pt,eta,phi)"
            )
    return "wrong field count"


def _field_name(j: int) -> str:
    if j < len(HEADER_FIELDS):
        return HEADER_FIELDS[j]
    k, f = divmod(j - len(HEADER_FIELDS), len(OBJECT_FIELDS))
    return f"object {k + 1} {OBJECT_FIELDS[f]}"


def _offsets(array: pa.Array) -> np.ndarray:
    """Offsets of a list or string array, starting at 0."""
    if isinstance(array, pa.ListArray):
        off = array.offsets.to_numpy()
    else:
        off = np.frombuffer(array.buffers()[1], dtype=np.int32, count=len(array) + 1, offset=4 * array.offset)
    return off - off[0]


def parse_chunk(
    data: bytes,
    *,
    path: str | os.PathLike[str],
    first_line: int = 1,
    skip_bad_lines: bool = False,
    max_reported: int = 20,
) -> ParsedChunk:
    """Parse whole lines of Dark Machines CSV (``data`` must end with a newline).

    ``first_line`` is the 1-based file line number of the chunk's first line. A malformed or unphysical line
    raises :class:`~hepbump.errors.InputError` naming ``path``, the line, the field and the problem, unless
    ``skip_bad_lines`` is true: then bad lines are dropped and returned in ``bad_lines`` (the first
    ``max_reported``) and ``n_bad_lines``.
    """
    if data and not data.endswith(b"\n"):
        raise ValueError(f"{path}: internal error: a parsed chunk must end with a newline")
    n_lines = data.count(b"\n")
    if n_lines == 0:
        return _empty_chunk()
    errors = _Errors(n_lines)
    # Bytes other than printable ASCII: only the newlines in a clean chunk (no whitespace to trim, no invalid byte).
    other = data.translate(None, _PRINTABLE)
    clean = len(other) == n_lines

    # 1. Lines (invalid ones blanked), ';' fields, ',' tokens (whitespace trimmed).
    lines = pc.split_pattern(pa.array([data], pa.binary()), "\n").flatten().slice(0, n_lines)
    ascii_lines = lines
    if other.translate(None, _SPACE_NL):
        bad_char = pc.match_substring_regex(lines, _BAD_CHAR_RE)
        errors.add_lines(np.flatnonzero(bad_char.to_numpy(zero_copy_only=False)), _E_CHAR)
        ascii_lines = pc.if_else(bad_char, pa.scalar(b"", pa.binary()), lines)
    fields = pc.split_pattern(ascii_lines.view(pa.string()), ";")
    parts = pc.split_pattern(fields.flatten(), ",")
    tokens = parts.flatten()
    if not clean:
        tokens = pc.ascii_trim_whitespace(tokens)
    f_off, p_off, t_off = _offsets(fields), _offsets(parts), _offsets(tokens)
    line_tok = p_off[f_off]  # first token of each line (every line has one, maybe empty); last entry = n_tok

    def add_tokens(bad: np.ndarray, code: int) -> None:
        errors.add_tokens(bad, line_tok, code)

    chars = tokens.buffers()[2]
    if not clean and chars is not None and np.frombuffer(chars, dtype=np.uint8).min(initial=33) < 33:
        inner_space = pc.match_substring_regex(tokens, _SPACE_RE).to_numpy(zero_copy_only=False)
        add_tokens(np.flatnonzero(inner_space), _E_SPACE)

    # 2. Field layout: 5 one-token header fields, then objects of 5 tokens; a last field that is one empty token is
    # void (blank line, trailing ';').
    n_fields = int(f_off[-1])
    n_split = np.diff(f_off)
    npart = np.diff(p_off)
    first_field, last_field = f_off[:-1], f_off[1:] - 1
    last_tok = p_off[last_field]
    void = (npart[last_field] == 1) & (t_off[last_tok + 1] == t_off[last_tok])
    n_field = n_split - void
    has5 = n_field >= 5
    header = np.minimum(first_field[:, None] + np.arange(5), n_fields - 1)
    header_ok = (npart[header] == 1).all(axis=1)
    cum5 = np.zeros(n_fields + 1, dtype=np.int64)
    np.cumsum(npart == 5, out=cum5[1:])
    obj_ok = cum5[first_field + np.where(has5, n_field, 0)] - cum5[first_field + np.where(has5, 5, 0)] == n_field - 5
    bad_layout = (n_field > 0) & ~(has5 & header_ok & obj_ok)
    errors.add_lines(np.flatnonzero(bad_layout), _E_STRUCT)

    # 3. Tokens of the events (lines with a valid layout): header at head + 0..4, object codes, then the values.
    ev_lines = np.flatnonzero(has5 & ~bad_layout)
    head = line_tok[ev_lines]
    n_obj = n_field[ev_lines] - 5
    obj_start = np.zeros(ev_lines.size + 1, dtype=np.int64)
    np.cumsum(n_obj, out=obj_start[1:])
    obj_field = np.repeat(first_field[ev_lines] + 5 - obj_start[:-1], n_obj) + np.arange(obj_start[-1])
    code_tok = p_off[obj_field]
    nv, no = head.size, code_tok.size
    float_tok = np.concatenate([head + 2, head + 3, head + 4, code_tok + 1, code_tok + 2, code_tok + 3, code_tok + 4])
    float_strings = tokens.take(pa.array(float_tok))
    values, ok = _cast_checked(float_strings, pa.float64(), _FLOAT_RE)
    if not ok.all():
        notnum = np.flatnonzero(~ok)
        strings = float_strings.take(pa.array(notnum))
        isnan = pc.match_substring_regex(strings, _NAN_RE).to_numpy(zero_copy_only=False).astype(bool)
        isinf = pc.match_substring_regex(strings, _INF_RE).to_numpy(zero_copy_only=False).astype(bool)
        add_tokens(float_tok[notnum[isnan]], _E_NAN)
        add_tokens(float_tok[notnum[isinf]], _E_INF)
        add_tokens(float_tok[notnum[~(isnan | isinf)]], _E_NUMBER)
    nonfinite = np.flatnonzero(ok & ~np.isfinite(values))
    if nonfinite.size:
        nan_tok = np.isnan(values[nonfinite])
        add_tokens(float_tok[nonfinite[nan_tok]], _E_NAN)
        add_tokens(float_tok[nonfinite[~nan_tok]], _E_INF)
    weight, met, metphi = values[:nv], values[nv : 2 * nv], values[2 * nv : 3 * nv]
    energy, pt, eta, phi = (values[3 * nv + k * no : 3 * nv + (k + 1) * no] for k in range(4))
    negative = [(head + 3)[met < 0], (code_tok + 1)[energy < 0], (code_tok + 2)[pt < 0]]
    add_tokens(np.concatenate(negative), _E_NEGATIVE)

    # Unphysical values (NaN compares false, so tokens already reported above are not reported twice).
    add_tokens((head + 1)[t_off[head + 2] == t_off[head + 1]], _E_PROCESS)
    add_tokens((code_tok + 1)[energy < pt * (1.0 - REL_TOLERANCE)], _E_BELOW_PT)
    add_tokens((code_tok + 3)[np.abs(eta) > MAX_ABS_ETA], _E_ETA)
    add_tokens((head + 4)[np.abs(metphi) > _PHI_LIMIT], _E_PHI)
    add_tokens((code_tok + 4)[np.abs(phi) > _PHI_LIMIT], _E_PHI)
    ev_vals, ev_ok = _cast_checked(tokens.take(pa.array(head)), pa.int64(), _INT_RE)
    add_tokens(head[~ev_ok], _E_INT)
    code = pc.index_in(tokens.take(pa.array(code_tok)), value_set=_CODES).fill_null(-1)
    code = code.to_numpy(zero_copy_only=False).astype(np.int8)
    add_tokens(code_tok[code < 0], _E_CODE)

    # 4. Report.
    bad = np.flatnonzero(errors.code)
    n_bad = int(bad.size)
    reported: list[BadLine] = []
    if n_bad:
        j = np.arange(len(tokens), dtype=np.int64) - np.repeat(line_tok[:-1], np.diff(line_tok))  # place in line
        for i in bad[: max_reported if skip_bad_lines else 1]:
            text = lines[int(i)].as_py().decode("utf-8", errors="replace").rstrip("\r")
            reported.append(BadLine(first_line + int(i), _reason(text, errors, int(i), tokens, j)))
        if not skip_bad_lines:
            raise InputError(reported[0].message(path))

    # 5. Columns of the good lines.
    good = errors.code[ev_lines] == 0
    keep_obj = np.repeat(good, n_obj)
    proc = pc.dictionary_encode(tokens.take(pa.array(head[good] + 1)))
    return ParsedChunk(
        event=np.asarray(ev_vals[good], dtype=np.int64),
        process_index=proc.indices.to_numpy(zero_copy_only=False).astype(np.int64),
        process_names=proc.dictionary.to_pylist(),
        weight=weight[good],
        met=met[good],
        metphi=metphi[good],
        counts=n_obj[good].astype(np.int64),
        code=code[keep_obj],
        energy=energy[keep_obj],
        pt=pt[keep_obj],
        eta=eta[keep_obj],
        phi=phi[keep_obj],
        n_lines=n_lines,
        bad_lines=reported,
        n_bad_lines=n_bad,
    )


def _empty_chunk() -> ParsedChunk:
    f, i = np.zeros(0), np.zeros(0, dtype=np.int64)
    return ParsedChunk(i, i, [], f, f, f, i, np.zeros(0, dtype=np.int8), f, f, f, f, 0, [], 0)


def _reason(text: str, errors: _Errors, i: int, tokens: pa.Array, j: np.ndarray) -> str:
    """Describe what is wrong with line ``i`` of the chunk, whose text is ``text`` (called only for bad lines)."""
    code = int(errors.code[i])
    if code == _E_CHAR:
        return "non-ASCII or control character in the line"
    if code == _E_SPACE:
        return f"whitespace inside a field: {text[:120]!r}"
    if code == _E_STRUCT:
        return _describe_structure(text)
    tok = int(errors.token[i])
    field = _field_name(int(j[tok]))
    value = tokens[tok].as_py()
    if code == _E_CODE:
        return f"{field}: unknown object code {value!r} (known: {', '.join(OBJECT_CODES)})"
    if code == _E_INT:
        return f"{field}: {value!r} is not an integer"
    if code == _E_NUMBER:
        return f"{field}: {value!r} is not a number"
    if code == _E_NAN:
        return f"{field}: NaN value {value!r}"
    if code == _E_INF:
        return f"{field}: infinite value {value!r}"
    if code == _E_NEGATIVE:
        return f"{field}: negative value {value!r} (energies, momenta and MET must be >= 0)"
    if code == _E_PROCESS:
        return f"{field}: empty process name"
    if code == _E_BELOW_PT:
        return f"{field}: E = {value} MeV is below pt = {tokens[tok + 1].as_py()} MeV (E >= pt is required)"
    if code == _E_ETA:
        return f"{field}: {value} is beyond |eta| = {MAX_ABS_ETA:g} (a corrupted value, not a particle)"
    return f"{field}: {value} is outside [-pi, pi]"
