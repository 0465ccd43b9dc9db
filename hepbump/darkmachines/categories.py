"""Event categories of the Dark Machines analysis (BumpNet paper, section 2.2.2).

1. Exclusive *base* categories by the counts of e, mu, gamma, Z, V_h, top and HM (non-Z leptons); exactly two
   non-Z leptons are split into opposite-sign (``OS``) and same-sign (``SS``).
2. Kinematic subdivisions with lower thresholds (:data:`hepbump.constants.CATEGORY_MIN_BJETS`,
   ``CATEGORY_MIN_MET_GEV``, ``CATEGORY_MIN_LEAD_PT_GEV``) on the number of b-tagged standard jets, MET and the
   pT of the leading category object. They are inclusive: a category with a higher threshold is nested in the one
   with the next lower threshold (:meth:`Category.parents`).
3. Exclusive standard-jet-multiplicity subcategories ``0j, 1j, ..., (K-1)j`` and the merged tail ``geKj``, with
   ``K`` the highest multiplicity whose tail still has at least ``CATEGORY_MIN_EVENTS`` (effective) events
   (:func:`jet_multiplicity_cap`), decided on the whole dataset.

Keys are readable and parse back (:meth:`Category.from_key`)::

    2mu_OS_1b_met150_3j      two non-Z muons of opposite sign, >= 1 b-jet, MET >= 150 GeV, exactly 3 jets
    1e_1gamma_1Z_pt250_ge4j  one electron, one photon, one Z, leading object pT >= 250 GeV, >= 4 jets
    0obj_met300              no e/mu/gamma/Z/V_h/top/HM, MET >= 300 GeV, any number of jets

Events are classified with array operations (:func:`classify_events`); each event lands in one *cell* of the
grid (b-jet threshold index, MET index, leading-pT index, jet multiplicity), from which every nested kinematic
category and jet subcategory is a sum of cells (:class:`CellGrid`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

import awkward as ak
import numpy as np

from hepbump import constants as C
from hepbump.darkmachines.objects import OBJECT_TYPES
from hepbump.errors import InputError

__all__ = ["Category", "CellGrid", "EventClasses", "classify_events", "jet_multiplicity_cap", "effective_events"]

_COUNT_RE = re.compile(r"^(\d+)(" + "|".join(OBJECT_TYPES) + r")$")
_CHARGES = ("OS", "SS")
#: Bits per object count in the integer code of a base category (counts <= 20 in DM files).
_COUNT_BITS = 5


@dataclass(frozen=True)
class Category:
    """A category: object counts, lepton charge split, kinematic thresholds and jet multiplicity.

    ``counts`` are the numbers of (e, mu, gamma, Z, Vh, top, HM); ``charge`` is ``"OS"``/``"SS"`` exactly when
    there are two non-Z leptons. ``min_met`` and ``min_lead_pt`` in GeV. ``n_jets`` ``None`` means any number of
    standard jets; with ``jets_inclusive`` it is a lower bound (the merged tail).

    >>> c = Category.from_key("2mu_OS_1b_met150_3j")
    >>> c.counts, c.charge, c.min_b, c.min_met, c.min_lead_pt, c.n_jets, c.jets_inclusive
    ((0, 2, 0, 0, 0, 0, 0), 'OS', 1, 150, 0, 3, False)
    >>> c.key == "2mu_OS_1b_met150_3j", c.kinematic.key, c.base.key
    (True, '2mu_OS_1b_met150', '2mu_OS')
    """

    counts: tuple[int, ...]
    charge: str | None = None
    min_b: int = 0
    min_met: int = 0
    min_lead_pt: int = 0
    n_jets: int | None = None
    jets_inclusive: bool = False

    def __post_init__(self) -> None:
        counts = tuple(int(n) for n in self.counts)
        object.__setattr__(self, "counts", counts)
        if len(counts) != len(OBJECT_TYPES) or any(n < 0 for n in counts):
            raise InputError(f"category counts must be {len(OBJECT_TYPES)} non-negative integers, got {counts}")
        n_leptons = counts[0] + counts[1]
        if (n_leptons == 2) != (self.charge is not None) or self.charge not in (None, *_CHARGES):
            raise InputError(
                f"category {counts}: charge must be 'OS' or 'SS' exactly when there are two non-Z leptons, "
                f"got {self.charge!r}"
            )
        for name in ("min_b", "min_met", "min_lead_pt"):
            if int(getattr(self, name)) < 0:
                raise InputError(f"category threshold {name} must be >= 0")
        if self.n_jets is None and self.jets_inclusive:
            raise InputError("jets_inclusive needs n_jets")
        if self.n_jets is not None and self.n_jets < 0:
            raise InputError("n_jets must be >= 0")

    # --- keys ---------------------------------------------------------------------------------------------------
    @property
    def key(self) -> str:
        parts = []
        for n, name in zip(self.counts[:2], OBJECT_TYPES[:2]):
            if n:
                parts.append(f"{n}{name}")
        if self.charge:
            parts.append(self.charge)
        for n, name in zip(self.counts[2:], OBJECT_TYPES[2:]):
            if n:
                parts.append(f"{n}{name}")
        if not parts:
            parts.append("0obj")
        if self.min_b:
            parts.append(f"{self.min_b}b")
        if self.min_met:
            parts.append(f"met{self.min_met}")
        if self.min_lead_pt:
            parts.append(f"pt{self.min_lead_pt}")
        if self.n_jets is not None:
            parts.append(f"{'ge' if self.jets_inclusive else ''}{self.n_jets}j")
        return "_".join(parts)

    @classmethod
    def from_key(cls, key: str) -> Category:
        """Parse a key made by :attr:`key`; anything else raises ``ValueError`` naming the offending part."""
        counts = dict.fromkeys(OBJECT_TYPES, 0)
        kwargs: dict[str, Any] = {}
        tokens = key.split("_") if isinstance(key, str) and key else []
        if not tokens:
            raise InputError(f"invalid category key {key!r}: empty")
        for token in tokens:
            m = _COUNT_RE.match(token)
            if token == "0obj":
                continue
            if m:
                counts[m.group(2)] = int(m.group(1))
            elif token in _CHARGES:
                kwargs["charge"] = token
            elif re.fullmatch(r"\d+b", token):
                kwargs["min_b"] = int(token[:-1])
            elif re.fullmatch(r"met\d+", token):
                kwargs["min_met"] = int(token[3:])
            elif re.fullmatch(r"pt\d+", token):
                kwargs["min_lead_pt"] = int(token[2:])
            elif re.fullmatch(r"(ge)?\d+j", token):
                kwargs["jets_inclusive"] = token.startswith("ge")
                kwargs["n_jets"] = int(token[2:-1] if token.startswith("ge") else token[:-1])
            else:
                raise InputError(f"invalid category key {key!r}: unknown part {token!r}")
        try:
            cat = cls(tuple(counts[t] for t in OBJECT_TYPES), **kwargs)
        except ValueError as exc:
            raise InputError(f"invalid category key {key!r}: {exc}") from None
        if cat.key != key:
            raise InputError(f"invalid category key {key!r}: not in canonical form (expected {cat.key!r})")
        return cat

    # --- structure ----------------------------------------------------------------------------------------------
    @property
    def base(self) -> Category:
        """The exclusive object-count category (no kinematic thresholds, any number of jets)."""
        return Category(self.counts, self.charge)

    @property
    def kinematic(self) -> Category:
        """This category without its jet-multiplicity split."""
        return replace(self, n_jets=None, jets_inclusive=False)

    def parents(
        self,
        min_bjets: tuple[int, ...] = C.CATEGORY_MIN_BJETS,
        min_met: tuple[int, ...] = C.CATEGORY_MIN_MET_GEV,
        min_lead_pt: tuple[int, ...] = C.CATEGORY_MIN_LEAD_PT_GEV,
    ) -> list[Category]:
        """Immediate kinematic parents: one threshold lowered to the previous value of its list.

        >>> [p.key for p in Category.from_key("1e_1b_met300").parents()]
        ['1e_met300', '1e_1b_met150']
        """
        out = []
        for name, values in (("min_b", min_bjets), ("min_met", min_met), ("min_lead_pt", min_lead_pt)):
            value = getattr(self, name)
            lower = [v for v in values if v < value]
            if value and lower:
                out.append(replace(self.kinematic, **{name: max(lower)}))
        return out

    def selection(self) -> dict[str, Any]:
        """The cuts of this category as a JSON-serialisable dict (GeV)."""
        sel: dict[str, Any] = {f"n_{t}": n for t, n in zip(OBJECT_TYPES, self.counts)}
        sel.update(
            lepton_charge=self.charge,
            min_bjets=self.min_b,
            min_met_GeV=self.min_met,
            min_lead_pt_GeV=self.min_lead_pt,
            n_jets=self.n_jets,
            n_jets_is_lower_bound=self.jets_inclusive,
        )
        return sel

    # --- integer code of a base category (used while filling) --------------------------------------------------
    @property
    def base_code(self) -> int:
        code = 0
        for i, n in enumerate(self.counts):
            code |= min(n, 2**_COUNT_BITS - 1) << (_COUNT_BITS * i)
        charge = 0 if self.charge is None else 1 + _CHARGES.index(self.charge)
        return code | (charge << (_COUNT_BITS * len(OBJECT_TYPES)))

    @classmethod
    def from_base_code(cls, code: int) -> Category:
        mask = 2**_COUNT_BITS - 1
        counts = tuple((int(code) >> (_COUNT_BITS * i)) & mask for i in range(len(OBJECT_TYPES)))
        charge = (int(code) >> (_COUNT_BITS * len(OBJECT_TYPES))) & 3
        return cls(counts, None if charge == 0 else _CHARGES[charge - 1])


@dataclass(frozen=True)
class CellGrid:
    """The grid of exclusive cells: (b-jet threshold index, MET index, leading-pT index, jet multiplicity).

    An event's index along each threshold axis is that of the highest threshold it passes; its multiplicity is
    clipped at ``njets_max``. Thresholds start with 0 (no cut) and increase.

    >>> g = CellGrid()
    >>> int(g.cell(np.array([1]), np.array([160.0]), np.array([90.0]), np.array([12]))[0]) == g.index(1, 1, 0, 10)
    True
    """

    min_bjets: tuple[int, ...] = C.CATEGORY_MIN_BJETS
    min_met: tuple[int, ...] = C.CATEGORY_MIN_MET_GEV
    min_lead_pt: tuple[int, ...] = C.CATEGORY_MIN_LEAD_PT_GEV
    njets_max: int = C.CATEGORY_NJETS_FILL_MAX

    def __post_init__(self) -> None:
        for name in ("min_bjets", "min_met", "min_lead_pt"):
            values = tuple(int(v) for v in getattr(self, name))
            object.__setattr__(self, name, values)
            if not values or values[0] != 0 or any(b <= a for a, b in zip(values, values[1:])):
                raise InputError(f"CellGrid.{name} must start at 0 and increase strictly, got {values}")
        if self.njets_max < 0:
            raise InputError("CellGrid.njets_max must be >= 0")

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return (len(self.min_bjets), len(self.min_met), len(self.min_lead_pt), self.njets_max + 1)

    @property
    def n_cells(self) -> int:
        return int(np.prod(self.shape))

    def index(self, ib: int, imet: int, ipt: int, nj: int) -> int:
        return int(np.ravel_multi_index((ib, imet, ipt, nj), self.shape))

    def cell(self, n_b: np.ndarray, met: np.ndarray, lead_pt: np.ndarray, n_jets: np.ndarray) -> np.ndarray:
        """Cell index of each event (arrays of equal length)."""
        ib = np.searchsorted(self.min_bjets, n_b, side="right") - 1
        imet = np.searchsorted(self.min_met, met, side="right") - 1
        ipt = np.searchsorted(self.min_lead_pt, lead_pt, side="right") - 1
        nj = np.minimum(n_jets, self.njets_max)
        return np.ravel_multi_index((ib, imet, ipt, nj), self.shape).astype(np.int64)

    def decode(self, cells: np.ndarray) -> tuple[np.ndarray, ...]:
        """``(ib, imet, ipt, nj)`` index arrays of cell indices."""
        return np.unravel_index(np.asarray(cells, dtype=np.int64), self.shape)

    def variant(self, base: Category, ib: int, imet: int, ipt: int) -> Category:
        """The kinematic category of ``base`` with the thresholds of indices ``(ib, imet, ipt)``."""
        return replace(base, min_b=self.min_bjets[ib], min_met=self.min_met[imet], min_lead_pt=self.min_lead_pt[ipt])

    def inclusive_sums(self, per_cell: np.ndarray) -> np.ndarray:
        """Sums over the nested thresholds: ``out[ib, im, ip, nj] = sum(per_cell[ib:, im:, ip:, nj])``.

        ``per_cell`` has shape :attr:`shape` (plus trailing axes, e.g. several columns).
        """
        out = np.asarray(per_cell, dtype=float)
        for axis in range(3):
            out = np.flip(np.cumsum(np.flip(out, axis=axis), axis=axis), axis=axis)
        return out


@dataclass
class EventClasses:
    """Per-event classification arrays (numpy, one entry per event)."""

    base_code: np.ndarray
    cell: np.ndarray
    n_b: np.ndarray
    n_jets: np.ndarray
    met: np.ndarray
    lead_pt: np.ndarray
    counts: np.ndarray = field(repr=False)


def _max_pt(collections: list[ak.Array]) -> ak.Array:
    return ak.max(ak.concatenate([c.pt for c in collections], axis=1), axis=1)


def classify_events(objects: ak.Array, grid: CellGrid | None = None) -> EventClasses:
    """Base category code and grid cell of every event of :func:`hepbump.darkmachines.objects.build_objects` output.

    >>> from hepbump.darkmachines.categories import Category
    >>> Category.from_base_code(Category.from_key("1e_1mu_SS_2Z").base_code).key
    '1e_1mu_SS_2Z'
    """
    grid = grid or CellGrid()
    counts = np.stack([ak.to_numpy(ak.num(objects[t], axis=1)) for t in OBJECT_TYPES], axis=1).astype(np.int64)
    n_leptons = counts[:, 0] + counts[:, 1]
    charges = ak.concatenate([objects["e"].charge, objects["mu"].charge], axis=1)
    product = ak.to_numpy(ak.fill_none(ak.prod(ak.values_astype(charges, np.int64), axis=1), 1))
    charge_flag = np.where(n_leptons == 2, np.where(product < 0, 1, 2), 0)
    code = np.zeros(len(counts), dtype=np.int64)
    for i in range(len(OBJECT_TYPES)):
        code |= np.minimum(counts[:, i], 2**_COUNT_BITS - 1) << (_COUNT_BITS * i)
    code |= charge_flag.astype(np.int64) << (_COUNT_BITS * len(OBJECT_TYPES))

    jets = objects["j"]
    n_jets = ak.to_numpy(ak.num(jets, axis=1)).astype(np.int64)
    n_b = ak.to_numpy(ak.sum(jets.btag, axis=1)).astype(np.int64)
    met = ak.to_numpy(objects["MET"].pt).astype(float)
    lead = _max_pt([objects[t] for t in OBJECT_TYPES])
    lead = ak.where(ak.is_none(lead), ak.max(jets.pt, axis=1), lead)
    lead_pt = ak.to_numpy(ak.fill_none(lead, 0.0)).astype(float)
    cell = grid.cell(n_b, met, lead_pt, n_jets)
    return EventClasses(code, cell, n_b, n_jets, met, lead_pt, counts)


def effective_events(sumw, sumw2) -> np.ndarray:
    """Effective number of events ``(sum w)^2 / sum w^2`` (the event count for unit weights; 0 when empty).

    >>> effective_events(np.array([4.0, 0.0]), np.array([4.0, 0.0])).tolist()
    [4.0, 0.0]
    """
    sumw = np.asarray(sumw, dtype=float)
    sumw2 = np.asarray(sumw2, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(sumw2 > 0, sumw**2 / np.where(sumw2 > 0, sumw2, 1.0), 0.0)


def jet_multiplicity_cap(sumw_by_nj, sumw2_by_nj, min_events: float = C.CATEGORY_MIN_EVENTS) -> int:
    """Highest multiplicity ``K`` whose tail (``>= K`` jets) still has ``min_events`` effective events; else 0.

    Arrays are indexed by the number of standard jets (the last entry may hold a merged tail).

    >>> jet_multiplicity_cap([500, 300, 150, 60, 30], [500, 300, 150, 60, 30])  # tails 1040, 540, 240, 90, 30
    2
    >>> jet_multiplicity_cap([50, 20], [50, 20])
    0
    """
    sumw = np.asarray(sumw_by_nj, dtype=float)
    sumw2 = np.asarray(sumw2_by_nj, dtype=float)
    tail_w = np.cumsum(sumw[::-1])[::-1]
    tail_w2 = np.cumsum(sumw2[::-1])[::-1]
    passing = np.flatnonzero(effective_events(tail_w, tail_w2) >= min_events)
    return int(passing[-1]) if passing.size else 0
