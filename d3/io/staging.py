"""All-or-nothing output directories for ``d3 run`` (issue 12).

A run writes into a temporary sibling of ``--out`` (same parent, so the final step is a rename on
one file system) and, only when every stage succeeded, swaps it in for ``--out`` whole: files of
an earlier run never survive beside the new ones, and a failed or interrupted run leaves
``--out`` exactly as it was. A sibling lock file, held with ``fcntl.flock`` for the whole run,
keeps two runs from writing into one ``--out``; the OS drops the lock when its holder dies, so a
crashed run never blocks the next one. Leftovers of a killed run (its temporary directory) are
removed by the next run, under the lock.

Every problem with the ``--out`` path itself is a :class:`~d3.core.errors.ValidationError`
(exit 2), found before any work starts. DVC stages (``python -m stages.X``) never come here:
they keep their per-file atomic writes.
"""

from __future__ import annotations

import errno
import fcntl
import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from d3.catalog import ENTRIES
from d3.core.errors import Issue, ValidationError
from d3.core.interrupts import interrupts_ignored
from d3.registry import STAGES

LOCK_SUFFIX = ".d3-lock"
STAGING_MARK = ".d3-tmp-"
ASIDE_MARK = ".d3-old-"
WHERE = "(--out)"

_held_lock_fds: set[int] = set()
# Written by ``d3 run`` beside the registry's outs: the import report of a draft tree
# (docs/DECISIONS.md, "Importing the original draft").
EXTRA_FILES = ("IMPORT_REPORT.md",)


def _close_inherited_locks() -> None:
    """In a forked child (a worker of the process pool): close the copies of the run's lock
    descriptors. ``flock`` locks belong to the open file, which a fork shares, so a worker that
    outlived a killed run would otherwise keep ``--out`` locked."""
    for fd in _held_lock_fds:
        with suppress(OSError):
            os.close(fd)
    _held_lock_fds.clear()


os.register_at_fork(after_in_child=_close_inherited_locks)


def out_issue(out: Path, message: str, hint: str) -> ValidationError:
    return ValidationError([Issue(str(out), WHERE, message, hint)])


def shown(path: Path, out: Path) -> str:
    """``path`` as the user would write it: relative when ``--out`` was given relative."""
    return str(path) if out.is_absolute() else os.path.relpath(path)


def artefact_names() -> frozenset[str]:
    """Top-level names a run writes below ``--out`` (files and directories of the registry)."""
    names = {"SHA256SUMS", *EXTRA_FILES}
    for stage in STAGES:
        for template in stage.out_paths:
            if template.startswith("{out}/"):
                names.add(template.removeprefix("{out}/").split("/")[0])
    return frozenset(names)


def artefact_paths() -> tuple[frozenset[str], tuple[str, ...]]:
    """(file paths, directory paths) below ``--out`` that a run writes, from the registry."""
    files, dirs = {"SHA256SUMS", *EXTRA_FILES}, []
    for stage in STAGES:
        for template in stage.out_paths:
            if template.startswith("{out}/"):
                rel = template.removeprefix("{out}/")
                (dirs.append(rel) if rel in DIRECTORY_OUTS else files.add(rel))
    return frozenset(files), tuple(dirs)


# Registry outs that are directories (of charts), from the catalog's formats.
DIRECTORY_OUTS = frozenset(e.path.removeprefix("{out}/") for e in ENTRIES
                           if e.format == "png-dir" and e.path.startswith("{out}/"))


def foreign_entries(directory: Path) -> list[str]:
    """Paths below ``directory`` (at any depth) that no d3 run writes: replacing the
    directory would delete them (a user's ``logs/diary.txt`` is not a d3 log)."""
    known = artefact_names()
    files, dirs = artefact_paths()
    foreign = [p.name for p in directory.iterdir() if p.name not in known]
    for path in sorted(directory.rglob("*")):
        rel = path.relative_to(directory).as_posix()
        if path.is_dir() or rel.split("/")[0] not in known:
            continue
        if rel not in files and not any(rel.startswith(d + "/") for d in dirs):
            foreign.append(rel)
    return sorted(foreign)


def target_dir(out: Path) -> Path:
    """The absolute directory a run replaces: ``--out``, or the directory it links to."""
    return out.resolve() if out.is_symlink() else Path(os.path.abspath(out))


def checked_target(out: Path) -> Path:
    """:func:`target_dir` of ``out`` after every check that can be made before the run; its
    parent exists afterwards (created when missing). Raises ValidationError (exit 2)."""
    try:
        return _checked_target(out)
    except OSError as exc:  # e.g. a parent that may not be searched
        raise out_issue(out, f"cannot be inspected ({os.strerror(exc.errno or errno.EIO).lower()})",
                        "choose a --out in a directory you can read and write") from None


def _checked_target(out: Path) -> Path:
    target = target_dir(out)
    if target.exists() and not target.is_dir():
        raise out_issue(out, "is a file, not a directory",
                        "pass a directory path (it is created if missing)")
    if Path.cwd() == target or target in Path.cwd().parents:
        raise out_issue(out, "is the current directory or contains it",
                        "a run replaces --out whole; pass a directory below the current one")
    if target.is_dir() and os.path.ismount(target):
        raise out_issue(out, "is a mount point, which cannot be replaced by a rename",
                        "pass a directory inside it, e.g. --out <mount>/outputs")
    if target.is_dir() and not os.access(target, os.W_OK | os.X_OK):
        raise out_issue(out, "is not writable",
                        "make it writable (chmod u+w) or choose another --out")
    if target.is_dir():
        foreign = foreign_entries(target)
        if foreign:
            listed = ", ".join(foreign[:3]) + (", …" if len(foreign) > 3 else "")
            what = "an entry" if len(foreign) == 1 else f"{len(foreign)} entries"
            raise out_issue(out, f"holds {what} d3 does not write ({listed})",
                            "a run replaces --out whole; move them away or choose another --out")
    parent = target.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        blocker = next((p for p in (parent, *parent.parents) if p.is_file()), None)
        why = (f"{shown(blocker, out)} is a file" if blocker is not None
               else os.strerror(exc.errno or errno.EIO).lower())
        raise out_issue(out, f"cannot create its parent directory {shown(parent, out)} ({why})",
                        "choose a --out whose parent exists or can be created") from None
    if not os.access(parent, os.W_OK | os.X_OK):
        raise out_issue(out, f"cannot write in its parent directory {shown(parent, out)}",
                        "choose a --out in a directory you can write to")
    return target


def lock_path(target: Path) -> Path:
    return target.with_name(target.name + LOCK_SUFFIX)


def _lock_holder(fd: int) -> str:
    """``pid N`` from the lock file (its holder writes its pid), or ``another process``."""
    text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    return f"pid {text}" if text.isdigit() else "another process"


def _is_current(fd: int, path: Path) -> bool:
    """Whether ``fd`` is still the file at ``path`` (the previous holder unlinks it on release,
    so a lock taken on an unlinked file guards nothing)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return False
    fs = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (fs.st_dev, fs.st_ino)


@contextmanager
def out_lock(target: Path, out: Path) -> Iterator[Path]:
    """Hold ``<out>.d3-lock`` exclusively for the block; a second run is refused (exit 2)."""
    path = lock_path(target)
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as exc:
            raise out_issue(out, f"cannot create the lock {shown(path, out)} "
                            f"({os.strerror(exc.errno or errno.EIO).lower()})",
                            "choose a --out in a directory you can write to") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _lock_holder(fd)
            os.close(fd)
            raise out_issue(out, f"another d3 run is writing here (lock {shown(path, out)} held "
                            f"by {holder})", "wait for it or choose another --out") from None
        if _is_current(fd, path):
            break
        os.close(fd)
    _held_lock_fds.add(fd)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        yield path
    finally:
        path.unlink(missing_ok=True)  # while still held: the next run creates a fresh one
        _held_lock_fds.discard(fd)
        os.close(fd)


def siblings(target: Path, mark: str) -> list[Path]:
    """``.<name><mark>*`` directories beside ``target`` (staging or set-aside copies)."""
    prefix = f".{target.name}{mark}"
    return sorted(p for p in target.parent.iterdir() if p.name.startswith(prefix))


def recovered_leftovers(target: Path) -> None:
    """Under the lock: undo what a killed run left. A set-aside copy with no ``--out`` is the
    previous content of a swap cut between its two renames, so it goes back; the rest (staging
    directories, set-aside copies of finished swaps) is deleted."""
    aside = siblings(target, ASIDE_MARK)
    if aside and not os.path.lexists(target):
        os.rename(aside.pop(), target)
    for path in (*aside, *siblings(target, STAGING_MARK)):
        shutil.rmtree(path, ignore_errors=True)


def default_dir_mode() -> int:
    """0777 less the umask: ``mkdtemp`` creates 0700, which would hide the outputs from their
    readers once the staging directory becomes ``--out``."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o777 & ~mask


def staging_dir(target: Path) -> Path:
    """A new, empty ``.<name>.d3-tmp-<random>`` beside ``target``, with ``target``'s mode."""
    path = target.with_name(f".{target.name}{STAGING_MARK}{secrets.token_hex(4)}")
    path.mkdir()
    mode = (target.stat().st_mode & 0o7777) if target.is_dir() else default_dir_mode()
    os.chmod(path, mode)
    return path


def swapped_in(staged: Path, target: Path) -> Path | None:
    """Put ``staged`` in place of ``target`` by two renames; returns where the old ``target``
    went (None if there was none), for the caller to delete."""
    aside = None
    if os.path.lexists(target):
        aside = target.with_name(f".{target.name}{ASIDE_MARK}{secrets.token_hex(4)}")
        os.rename(target, aside)
    try:
        os.rename(staged, target)
    except BaseException:
        if aside is not None:
            os.rename(aside, target)
        raise
    return aside


@contextmanager
def staged_output(out: Path) -> Iterator[Path]:
    """The directory a run writes into; ``out`` is replaced by it only when the block ends
    without an exception. On any failure or interrupt ``out`` is left as it was and the staging
    directory is removed."""
    target = checked_target(out)
    with out_lock(target, out):
        recovered_leftovers(target)
        staged = staging_dir(target)
        try:
            yield staged
            with interrupts_ignored():  # committed: an interrupt now must not cut it short
                aside = swapped_in(staged, target)
                if aside is not None:
                    shutil.rmtree(aside, ignore_errors=True)
        finally:
            shutil.rmtree(staged, ignore_errors=True)  # a no-op after the swap
