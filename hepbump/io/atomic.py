"""Atomic file output: write to a temporary file next to the target, then rename.

An interrupted or failing writer leaves the target untouched (no half-written output). The temporary file is
named ``.NAME.<pid>.<random>.tmp<suffix>`` after the writing process, so that the leftover of a writer killed
outright (SIGKILL, power loss) is recognisable: the next :func:`atomic_path` of the same target removes the
leftovers whose process is no longer alive. Inside :func:`atomic_group` (the command line wraps every command
in one) the renames wait until the whole group has succeeded, so a command that fails half-way leaves none
of its outputs, not even those it wrote first.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

from hepbump.errors import HepbumpError, OutputError

__all__ = ["atomic_path", "atomic_group", "check_output_path", "remove_stale_temporaries"]

log = logging.getLogger(__name__)

#: Pending renames ``(temporary, target)`` of the innermost active :func:`atomic_group`, or None outside one.
_pending: list[tuple[Path, Path]] | None = None


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _temporary_pattern(target: Path) -> re.Pattern[str]:
    return re.compile(rf"^\.{re.escape(target.name)}\.(\d+)\.[A-Za-z0-9_]+\.tmp{re.escape(target.suffix)}$")


def remove_stale_temporaries(target: str | os.PathLike[str]) -> list[Path]:
    """Remove temporary files of ``target`` left by writers that are no longer alive; return what was removed.

    Only names of the form ``.NAME.<pid>.<random>.tmp<suffix>`` next to ``target`` are considered, and only
    those whose ``<pid>`` is not a running process (a live writer's file is kept).
    """
    target = Path(target)
    directory = target.parent if str(target.parent) else Path(".")
    pattern = _temporary_pattern(target)
    removed: list[Path] = []
    try:
        names = os.listdir(directory)
    except OSError:
        return removed
    for name in names:
        m = pattern.match(name)
        if m is None or _pid_alive(int(m.group(1))):
            continue
        with contextlib.suppress(OSError):
            (directory / name).unlink()
            removed.append(directory / name)
            log.info("removed %s, left by an interrupted writer (process %s)", directory / name, m.group(1))
    return removed


def _output_error(exc: OSError, target: Path, tmp: Path | None = None) -> OutputError:
    """The OSError of writing ``target`` as an OutputError naming it (one line)."""
    if target.is_dir() or isinstance(exc, IsADirectoryError):
        return OutputError(f"{target}: is a directory; give a file name")
    reason = exc.strerror or type(exc).__name__
    if isinstance(exc, PermissionError):
        reason = "permission denied"
    return OutputError(f"{target}: cannot write the output ({reason})")


def _concerns_output(exc: BaseException, target: Path, tmp: Path) -> bool:
    """Whether an OSError raised inside the writer is about the output (not about an input it was reading)."""
    if not isinstance(exc, OSError) or isinstance(exc, HepbumpError):
        return False
    names = [n for n in (exc.filename, exc.filename2) if n is not None]
    if not names:
        return True
    ours = {str(tmp), str(target), str(target.parent), os.path.abspath(tmp), os.path.abspath(target)}
    return any(os.fspath(n) in ours or os.path.abspath(os.fspath(n)) in ours for n in names)


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path in the target's directory; on success rename it onto ``target``.

    The temporary file keeps the target's suffix so that writers which dispatch on the extension
    (uproot, pyarrow, matplotlib) behave as for the final name. On any exception (SIGTERM and Ctrl-C too,
    once the command line has turned them into exceptions) the temporary file is removed and the exception
    propagates; ``target`` is never left half written. An OSError about the output (no permission, a
    directory in the way, a full disk) becomes an :class:`~hepbump.errors.OutputError` naming ``target``.
    Inside :func:`atomic_group`, the rename waits for the end of the group.

    >>> import pathlib, tempfile
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "x.txt"
    >>> with atomic_path(out) as tmp:
    ...     _ = tmp.write_text("hello")
    >>> out.read_text()
    'hello'
    """
    target = Path(target)
    if target.is_dir():
        raise OutputError(f"{target}: is a directory; give a file name")
    directory = target.parent if str(target.parent) else Path(".")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(target)
        fd, name = tempfile.mkstemp(
            prefix=f".{target.name}.{os.getpid()}.", suffix=f".tmp{target.suffix}", dir=directory
        )
    except OSError as exc:
        raise _output_error(exc, target) from exc
    os.close(fd)
    tmp = Path(name)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the permissions of an ordinary output
        yield tmp
        if _pending is not None:
            _pending.append((tmp, target))
        else:
            os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if _concerns_output(exc, target, tmp):
            raise _output_error(exc, target, tmp) from exc  # type: ignore[arg-type]
        raise


@contextlib.contextmanager
def atomic_group() -> Iterator[None]:
    """Defer the renames of every :func:`atomic_path` inside the block until the block succeeds.

    On success the outputs appear one after the other, in the order they were written; on any exception
    (SIGTERM and Ctrl-C included) every temporary file of the group is removed and no output appears. Groups
    nest: an inner group commits with the outermost one.

    >>> import pathlib, tempfile
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> try:
    ...     with atomic_group():
    ...         with atomic_path(d / "a.txt") as tmp:
    ...             _ = tmp.write_text("first output")
    ...         raise RuntimeError("a later step fails")
    ... except RuntimeError:
    ...     pass
    >>> sorted(p.name for p in d.iterdir())
    []
    """
    global _pending
    if _pending is not None:
        yield
        return
    _pending = pending = []
    try:
        yield
    except SystemExit as exc:  # sys.exit(0) (as click does after a successful command) is a success
        _pending = None
        if exc.code in (0, None):
            _commit(pending)
        else:
            _discard(pending)
        raise
    except BaseException:
        _pending = None
        _discard(pending)
        raise
    _pending = None
    _commit(pending)


def _discard(pending: list[tuple[Path, Path]]) -> None:
    for tmp, _ in pending:
        with contextlib.suppress(OSError):
            tmp.unlink()


def _commit(pending: list[tuple[Path, Path]]) -> None:
    for k, (tmp, target) in enumerate(pending):
        try:
            os.replace(tmp, target)
        except OSError as exc:
            _discard(pending[k:])
            raise _output_error(exc, target, tmp) from exc


def check_output_path(target: str | os.PathLike[str], *, suffixes: tuple[str, ...] | None = None) -> Path:
    """Check, before any long work starts, that ``target`` can be written: OutputError naming it otherwise.

    Refuses a target that is an existing directory, a suffix not in ``suffixes`` (lower case, with the dot),
    and a parent that exists but is not a writable directory. A missing parent is fine (it is created on write).

    >>> import tempfile
    >>> check_output_path(tempfile.mkdtemp())  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    hepbump.errors.OutputError: ...: is a directory; give a file name
    """
    target = Path(target)
    if target.is_dir():
        raise OutputError(f"{target}: is a directory; give a file name")
    if suffixes is not None and target.suffix.lower() not in suffixes:
        raise OutputError(f"{target}: the output must end in {' or '.join(suffixes)}")
    parent = target.parent if str(target.parent) else Path(".")
    existing = next((p for p in (parent, *parent.parents) if p.exists()), Path("."))
    if not existing.is_dir():
        raise OutputError(f"{target}: {existing} is not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputError(f"{target}: permission denied (cannot write in {existing})")
    return target
