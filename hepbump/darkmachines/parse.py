"""Vectorised tokenizer and validator of the Dark Machines CSV format (internal to :mod:`hepbump.darkmachines.format`).

One event per line: ``event ID; process ID; weight; MET; METphi; code,E,pt,eta,phi; code,E,pt,eta,phi; ...``
with E, pt and MET in MeV. A chunk of whole lines is parsed with numpy and pyarrow over the full byte buffer,
with no Python loop over lines:

1. every byte is classified through a 256-entry lookup table (printable, whitespace, ``;``, ``,``, newline,
   invalid); whitespace next to a separator or at a line end is dropped, whitespace *inside* a field is an error;
2. the separators cut the buffer into tokens; each token knows its line and its position in the line, from which
   the expected separator after it follows (``;`` after header fields and after objects, ``,`` inside objects);
3. the tokens, laid end to end, are exactly the buffer without separators, so they become one Arrow string array
   without copying; numbers are parsed by ``pyarrow.compute.cast`` (other tokens masked as null), object codes
   (one or two bytes) by table look-up.

Validation is vectorised too; only lines found bad are described in Python, by their index, so the error names
the file, the line number, the field and the problem. Besides the syntax, unphysical values are refused: E below
pt (beyond the relative tolerance :data:`REL_TOLERANCE` of the ~6 significant digits of the files), |eta| above
:data:`MAX_ABS_ETA`, an angle (object phi, METphi) outside [-pi, pi] beyond the same tolerance, an empty process
name. Values are returned in the file's units (MeV).
"""

from __future__ import annotations

import functools
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

# Byte classes.
_PRINT, _WS, _SEMI, _COMMA, _NL, _BAD = 0, 1, 2, 3, 4, 5
_CLASS = np.full(256, _BAD, dtype=np.uint8)
_CLASS[33:127] = _PRINT
_CLASS[[ord(" "), ord("\t"), ord("\r"), 11, 12]] = _WS
_CLASS[ord(";")] = _SEMI
_CLASS[ord(",")] = _COMMA
_CLASS[ord("\n")] = _NL
_SEMI_B, _COMMA_B, _NL_B = np.uint8(ord(";")), np.uint8(ord(",")), np.uint8(ord("\n"))
#: Stand-in for invalid bytes after whitespace removal (a printable byte cannot serve: it could be data).
_INVALID_B = np.uint8(0)
_IS_SEP = np.zeros(256, dtype=bool)
_IS_SEP[[ord(";"), ord(","), ord("\n")]] = True

# Token roles.
_R_NONE, _R_EVENT, _R_PROCESS, _R_WEIGHT, _R_MET, _R_METPHI, _R_CODE, _R_E, _R_PT, _R_ETA, _R_PHI = range(11)
_NONNEGATIVE_ROLES = np.array([_R_MET, _R_E, _R_PT])

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


def _first_per_line(token_idx: np.ndarray, token_line: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lines having at least one of the (sorted) tokens, and the first such token of each line."""
    lines, first = np.unique(token_line[token_idx], return_index=True)
    return lines, token_idx[first]


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

    def add_tokens(self, bad_tokens: np.ndarray, token_line: np.ndarray, code: int) -> None:
        if bad_tokens.size:
            lines, first = _first_per_line(np.sort(bad_tokens), token_line)
            self.add_lines(lines, code, first)


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


@functools.lru_cache(maxsize=8)
def _position_tables(n_max: int) -> tuple[np.ndarray, np.ndarray]:
    """Role and expected following separator of the token at each position in a line (0 .. n_max - 1)."""
    size = max(n_max, 5) + 5
    j = np.arange(size)
    obj_pos = (j - 5) % 5
    role = np.where(j < 5, j + 1, _R_CODE + obj_pos).astype(np.int8)
    expected = np.where(j < 5, _SEMI_B, np.where(obj_pos < 4, _COMMA_B, _SEMI_B)).astype(np.uint8)
    return role, expected


def _code_tables() -> tuple[np.ndarray, np.ndarray]:
    one = np.full(256, -1, dtype=np.int8)
    two = np.full(256 * 256, -1, dtype=np.int8)
    for i, name in enumerate(OBJECT_CODES):
        b = name.encode()
        if len(b) == 1:
            one[b[0]] = i
        else:
            two[b[0] * 256 + b[1]] = i
    return one, two


_CODE_ONE, _CODE_TWO = _code_tables()


def _decode_codes(chars: np.ndarray, start: np.ndarray, length: np.ndarray) -> np.ndarray:
    """Index in :data:`OBJECT_CODES` of each code token (given by ``start``, ``length`` in ``chars``), -1 if none.
    All codes are one or two bytes long, so two table look-ups decode them."""
    code = np.full(start.size, -1, dtype=np.int8)
    last = max(chars.size - 1, 0)
    c0 = chars[np.minimum(start, last)].astype(np.int64)
    c1 = chars[np.minimum(start + 1, last)].astype(np.int64)
    one, two = length == 1, length == 2
    code[one] = _CODE_ONE[c0[one]]
    code[two] = _CODE_TWO[c0[two] * 256 + c1[two]]
    return code


def _strings(n: int, offsets: pa.Buffer, data: pa.Buffer, valid: np.ndarray | None = None) -> pa.Array:
    """Arrow string array over the token buffers; tokens outside ``valid`` are null (skipped by kernels)."""
    bitmap = None if valid is None else pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.StringArray.from_buffers(n, offsets, data, bitmap)


def _parse_floats(
    n: int, offsets: pa.Buffer, data: pa.Buffer, mask: np.ndarray, path: object
) -> tuple[np.ndarray, np.ndarray]:
    """Float value of every token in ``mask`` (NaN elsewhere) and the indices of tokens that are not numbers."""
    try:
        return pc.cast(_strings(n, offsets, data, mask), pa.float64()).to_numpy(zero_copy_only=False), np.zeros(0, int)
    except pa.ArrowInvalid:
        pass
    ok = pc.match_substring_regex(_strings(n, offsets, data, mask), _FLOAT_RE).fill_null(False)
    ok = ok.to_numpy(zero_copy_only=False).astype(bool)
    try:
        values = pc.cast(_strings(n, offsets, data, mask & ok), pa.float64()).to_numpy(zero_copy_only=False)
    except pa.ArrowInvalid as exc:  # a token matching the number grammar that Arrow still rejects
        raise InputError(f"{path}: cannot parse numbers: {exc}") from exc
    return values, np.flatnonzero(mask & ~ok)


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
    raw = np.frombuffer(data, dtype=np.uint8)
    n_lines = data.count(b"\n")
    if n_lines == 0:
        return _empty_chunk()
    errors = _Errors(n_lines)

    # 1. Whitespace and invalid bytes (slow path only when the chunk has any byte outside '!'..'~' but '\n').
    n_nonprint = int(np.count_nonzero((raw - np.uint8(33)) > np.uint8(93)))
    buf = raw
    if n_nonprint != n_lines:
        buf = _drop_whitespace(raw, errors)

    # 2. Tokens between separators; void tokens (blank lines, the empty token after a trailing ';') ignored.
    is_sep = (buf == _SEMI_B) | (buf == _COMMA_B) | (buf == _NL_B)
    sep = np.flatnonzero(is_sep)
    end_kind = buf[sep]
    n_tok = int(sep.size)
    length = np.diff(sep, prepend=-1) - 1
    line_end = np.flatnonzero(end_kind == _NL_B)  # index of each line's last token
    ntok_all = np.diff(line_end, prepend=-1)
    first_tok = line_end - ntok_all + 1
    line = np.repeat(np.arange(n_lines), ntok_all)
    empty_end = line_end[length[line_end] == 0]
    prev = np.maximum(empty_end - 1, 0)
    void_idx = empty_end[(empty_end == first_tok[line[empty_end]]) | (end_kind[prev] == _SEMI_B)]
    trailing = void_idx[void_idx != first_tok[line[void_idx]]]
    end_kind[trailing - 1] = _NL_B
    offsets = np.zeros(n_tok + 1, dtype=np.int32)
    np.cumsum(length, out=offsets[1:])
    chars = np.ascontiguousarray(buf[~is_sep])
    offsets_buf, data_buf = pa.py_buffer(offsets), pa.py_buffer(chars)
    if buf is not raw:
        bad_char = np.flatnonzero(chars == _INVALID_B)
        if bad_char.size:
            tok = np.searchsorted(offsets, bad_char, side="right") - 1
            errors.add_lines(np.unique(line[tok]), _E_CHAR)

    # 3. Field layout per line: 5 header fields then groups of 5; ';' after header fields and objects, ',' inside.
    ntok = ntok_all - np.bincount(line[void_idx], minlength=n_lines)
    j = np.arange(n_tok, dtype=np.int64) - np.repeat(first_tok, ntok_all)
    role_lut, expected_lut = _position_tables(int(ntok_all.max()))
    mismatch = (end_kind != _NL_B) & (end_kind != expected_lut[j])
    bad_layout = (ntok > 0) & ((ntok < 5) | ((ntok - 5) % 5 != 0))
    bad_layout[line[mismatch]] = True
    errors.add_lines(np.flatnonzero(bad_layout), _E_STRUCT)

    # 4. Token roles (on lines with a valid layout) and values.
    role = role_lut[j]
    role[np.repeat(bad_layout, ntok_all)] = _R_NONE
    role[void_idx] = _R_NONE
    float_mask = (role >= _R_WEIGHT) & (role != _R_CODE)
    values, notnum = _parse_floats(n_tok, offsets_buf, data_buf, float_mask, path)
    if notnum.size:
        isnan = pc.match_substring_regex(_strings(n_tok, offsets_buf, data_buf).take(pa.array(notnum)), _NAN_RE)
        isnan = isnan.to_numpy(zero_copy_only=False).astype(bool)
        errors.add_tokens(notnum[~isnan], line, _E_NUMBER)
        errors.add_tokens(notnum[isnan], line, _E_NAN)
    nonfinite = np.flatnonzero(float_mask & ~np.isfinite(values))
    if nonfinite.size:
        nan_tok = np.isnan(values[nonfinite])
        errors.add_tokens(nonfinite[nan_tok & ~np.isin(nonfinite, notnum)], line, _E_NAN)
        errors.add_tokens(nonfinite[~nan_tok], line, _E_INF)
    negative = np.flatnonzero(values < 0)
    errors.add_tokens(negative[np.isin(role[negative], _NONNEGATIVE_ROLES)], line, _E_NEGATIVE)

    # Unphysical values (NaN compares false, so tokens already reported above are not reported twice).
    idx_proc = np.flatnonzero(role == _R_PROCESS)
    errors.add_tokens(idx_proc[length[idx_proc] == 0], line, _E_PROCESS)
    idx_e = np.flatnonzero(role == _R_E)  # the pt token follows each E token
    errors.add_tokens(idx_e[values[idx_e] < values[idx_e + 1] * (1.0 - REL_TOLERANCE)], line, _E_BELOW_PT)
    idx_eta = np.flatnonzero(role == _R_ETA)
    errors.add_tokens(idx_eta[np.abs(values[idx_eta]) > MAX_ABS_ETA], line, _E_ETA)
    idx_phi = np.flatnonzero((role == _R_PHI) | (role == _R_METPHI))
    errors.add_tokens(idx_phi[np.abs(values[idx_phi]) > _PHI_LIMIT], line, _E_PHI)

    tokens = _strings(n_tok, offsets_buf, data_buf)
    idx_event = np.flatnonzero(role == _R_EVENT)
    ev_vals, ev_ok = _cast_checked(tokens.take(pa.array(idx_event)), pa.int64(), _INT_RE)
    errors.add_tokens(idx_event[~ev_ok], line, _E_INT)

    idx_code = np.flatnonzero(role == _R_CODE)
    code = _decode_codes(chars, offsets[idx_code], length[idx_code])
    errors.add_tokens(idx_code[code < 0], line, _E_CODE)

    # 5. Report.
    bad = np.flatnonzero(errors.code)
    n_bad = int(bad.size)
    reported: list[BadLine] = []
    if n_bad:
        for i in bad[: max_reported if skip_bad_lines else 1]:
            reported.append(BadLine(first_line + int(i), _reason(data, errors, int(i), tokens, j)))
        if not skip_bad_lines:
            raise InputError(reported[0].message(path))

    # 6. Columns of the good lines.
    good = (ntok > 0) & (errors.code == 0)
    good_lines = np.flatnonzero(good)
    head = first_tok[good_lines]
    keep_obj = good[line[idx_code]]
    obj = idx_code[keep_obj]
    proc = pc.dictionary_encode(tokens.take(pa.array(head + 1)))
    return ParsedChunk(
        event=np.asarray(ev_vals[np.searchsorted(idx_event, head)], dtype=np.int64),
        process_index=proc.indices.to_numpy(zero_copy_only=False).astype(np.int64),
        process_names=proc.dictionary.to_pylist(),
        weight=values[head + 2],
        met=values[head + 3],
        metphi=values[head + 4],
        counts=(ntok[good_lines] - 5) // 5,
        code=code[keep_obj],
        energy=values[obj + 1],
        pt=values[obj + 2],
        eta=values[obj + 3],
        phi=values[obj + 4],
        n_lines=n_lines,
        bad_lines=reported,
        n_bad_lines=n_bad,
    )


def _drop_whitespace(raw: np.ndarray, errors: _Errors) -> np.ndarray:
    """Remove whitespace around separators and line ends; flag whitespace inside a field. Invalid bytes
    (control characters, non-ASCII) are mapped to a marker byte that the caller reports."""
    cls = _CLASS[raw]
    ws = cls == _WS
    newline_pos = np.flatnonzero(raw == _NL_B)
    if ws.any():
        idx = np.flatnonzero(ws)
        gap = np.diff(idx) > 1
        run_start = idx[np.r_[True, gap]]
        run_end = idx[np.r_[gap, True]] + 1
        left_sep = (run_start == 0) | _IS_SEP[raw[np.maximum(run_start - 1, 0)]]
        right_sep = (run_end >= raw.size) | _IS_SEP[raw[np.minimum(run_end, raw.size - 1)]]
        inner = run_start[~(left_sep | right_sep)]
        errors.add_lines(np.unique(np.searchsorted(newline_pos, inner)), _E_SPACE)
    out = np.where(cls == _BAD, _INVALID_B, raw).astype(np.uint8)
    return out[~ws]


def _empty_chunk() -> ParsedChunk:
    f, i = np.zeros(0), np.zeros(0, dtype=np.int64)
    return ParsedChunk(i, i, [], f, f, f, i, np.zeros(0, dtype=np.int8), f, f, f, f, 0, [], 0)


def _reason(data: bytes, errors: _Errors, i: int, tokens: pa.Array, j: np.ndarray) -> str:
    """Describe what is wrong with line ``i`` of the chunk (called only for bad lines)."""
    newline_pos = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == _NL_B)
    start = 0 if i == 0 else int(newline_pos[i - 1]) + 1
    text = data[start : int(newline_pos[i])].decode("utf-8", errors="replace").rstrip("\r")
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
