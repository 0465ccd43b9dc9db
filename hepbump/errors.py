"""The exceptions of hepbump.

Every error caused by what a user gave (a file, a histogram, an option, a configuration) is a
:class:`HepbumpError`; the command line reports exactly these as one line ``hepbump: error: ...`` with exit
status 2, and lets anything else (a bug) show its traceback. Each class also derives from the built-in
exception a Python caller would expect (``ValueError``, ``FileNotFoundError``, ``KeyError``, ``OSError``), so
``except ValueError`` keeps working around library calls.

>>> try:
...     raise MissingEntryError("h.root: no histogram named 'mjj'")
... except KeyError as exc:
...     print(exc)
h.root: no histogram named 'mjj'
"""

from __future__ import annotations

__all__ = [
    "HepbumpError",
    "InputError",
    "InputNotFoundError",
    "MissingEntryError",
    "OutputError",
    "ModelFileError",
]


class HepbumpError(Exception):
    """Base class of the errors a user can fix; the message names the file, histogram, line, field or option."""


class InputError(HepbumpError, ValueError):
    """Invalid input: unreadable or malformed file content, unphysical values, or an invalid option or setting."""


class InputNotFoundError(HepbumpError, FileNotFoundError):
    """An input file (or directory) that does not exist."""


class MissingEntryError(HepbumpError, KeyError):
    """A file lacks an entry that is needed: a tree, branch, column, histogram or record."""

    def __str__(self) -> str:  # KeyError would show the repr of the message, quotes included
        return str(self.args[0]) if self.args else ""


class OutputError(HepbumpError, OSError):
    """An output that cannot be written: a directory in the way, no permission, unknown file type."""


class ModelFileError(InputError):
    """A model weights or checkpoint file that is corrupted, of another architecture or of another format version."""
