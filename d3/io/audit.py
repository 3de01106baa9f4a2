"""The audit trail: DVC md5 of every upstream stage's deps and outs, and SHA256SUMS.

Under ``dvc repro`` the md5s come from ``dvc.lock``: DVC writes each stage's entry as soon as
that stage has run (or finds it unchanged), before the next stage starts, so when the summary
(the last stage) runs the lock already describes every upstream file of this run. An entry is
taken only when it still describes the file on disk (:func:`locked_entry_describes`); anything
else — ``d3 run``, a stage run by hand, a missing or stale entry — is hashed, each path once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from d3.catalog import path_template
from d3.io.hashing import dvc_files, dvc_md5, dvcignore_patterns, sha256_file
from d3.io.yaml12 import read_yaml
from d3.registry import DVC_ROOTS, PROJECT_ROOT, RAW_INPUTS, Roots, Stage

LOCK_FILE = "dvc.lock"


def _dvc_key(template: str) -> str:
    return template.format(**DVC_ROOTS)


@dataclass(frozen=True)
class DvcLock:
    """What ``dvc.lock`` records: ``stages[stage][path]`` is the entry of a dep or out
    (``{"hash": "md5", "md5", "size"}``, plus ``"nfiles"`` for a directory), paths as
    dvc.yaml writes them; ``written_ns``: the lock file's modification time (ns since the
    epoch)."""

    stages: Mapping[str, Mapping[str, Mapping[str, Any]]]
    written_ns: int


def read_dvc_lock(path: Path) -> DvcLock:
    """The deps and outs of every stage in the ``dvc.lock`` at ``path`` (params left out)."""
    written_ns = path.stat().st_mtime_ns
    doc = read_yaml(path)
    return DvcLock({name: {e["path"]: e for e in (*st.get("deps", ()), *st.get("outs", ()))}
                    for name, st in (doc.get("stages") or {}).items()}, written_ns)


def dvc_lock_of_this_run(roots: Roots, environ: Mapping[str, str],
                         stage: str = "summary") -> Path | None:
    """This project's ``dvc.lock`` when DVC itself runs ``stage`` on the default paths (then the
    lock holds the upstream stages of this run), else None. DVC sets ``DVC_STAGE`` (the
    stage's name) and ``DVC_ROOT`` (the repository) in the environment of every stage command
    (dvc/stage/run.py ``prepare_kwargs``; documented at dvc.org/doc/user-guide/env). Not when
    the stage is run by hand or in-process by ``d3 run`` (no ``DVC_STAGE``), nor for another
    repository or output directory (``d3 run --out DIR``: no lock describes DIR)."""
    root = environ.get("DVC_ROOT")
    if environ.get("DVC_STAGE") != stage or not root:
        return None
    project = PROJECT_ROOT.resolve()
    default = Roots(*(project / DVC_ROOTS[k] for k in ("inputs", "out", "params")))
    ours = Roots(roots.inputs.resolve(), roots.out.resolve(), roots.params.resolve())
    lock = project / LOCK_FILE
    if Path(root).resolve() != project or ours != default or not lock.is_file():
        return None
    return lock


@dataclass(frozen=True)
class FileStat:
    """What a cheap ``stat`` tells of a path as DVC hashes it: a directory or not, the number
    and total size (bytes) of its files, and the newest change time of any of them (ns)."""

    is_dir: bool
    nfiles: int
    size: int
    changed_ns: int


def file_stat(path: Path, ignore: Sequence[str] = ()) -> FileStat | None:
    """:class:`FileStat` of ``path`` (``.dvcignore`` applied to a directory); None if absent."""
    if not path.exists():
        return None
    stats = [f.stat() for f in dvc_files(path, ignore)]
    # ctime as well as mtime: a rename, or a copy that restores an old mtime, moves the ctime.
    return FileStat(path.is_dir(), len(stats), sum(s.st_size for s in stats),
                    max((max(s.st_mtime_ns, s.st_ctime_ns) for s in stats), default=0))


def locked_entry_describes(entry: Mapping[str, Any], stat: FileStat | None,
                           written_ns: int) -> bool:
    """Whether a dvc.lock ``entry`` still describes the path whose :class:`FileStat` is
    ``stat``: DVC 3's md5 (``hash: md5``; DVC 2's entries hashed text differently), the same
    kind, size and number of files, and no file changed after the lock was written. A file DVC
    hashed cannot have changed without one of these moving, short of an edit that keeps the
    size and lands in the same clock tick as the lock's write."""
    if stat is None or entry.get("hash") != "md5" or not isinstance(entry.get("md5"), str):
        return False
    return (("nfiles" in entry) == stat.is_dir and entry.get("size") == stat.size
            and entry.get("nfiles", stat.nfiles) == stat.nfiles
            and stat.changed_ns <= written_ns)


@dataclass
class Md5Source:
    """DVC md5s of this run's files: from ``lock`` where its entry still describes the file,
    else computed with DVC's rules — each path stat'ed and hashed at most once."""

    roots: Roots
    lock: DvcLock | None = None
    ignore: Sequence[str] = field(default_factory=lambda: dvcignore_patterns(PROJECT_ROOT))
    _stats: dict[Path, FileStat | None] = field(default_factory=dict, init=False, repr=False)
    _computed: dict[Path, str | None] = field(default_factory=dict, init=False, repr=False)
    from_lock: int = field(default=0, init=False)  # entries recorded from dvc.lock

    def md5(self, stage: str, template: str) -> str | None:
        """The md5 of ``template`` (a dep or out of ``stage``) in this run; None if absent."""
        path = self.roots.resolve(template)
        entry = self.lock.stages.get(stage, {}).get(_dvc_key(template)) if self.lock else None
        if entry is not None and locked_entry_describes(entry, self._stat(path),
                                                        self.lock.written_ns):
            self.from_lock += 1
            return entry["md5"]
        if path not in self._computed:
            self._computed[path] = dvc_md5(path, self.ignore)["md5"] if path.exists() else None
        return self._computed[path]

    def _stat(self, path: Path) -> FileStat | None:
        if path not in self._stats:
            self._stats[path] = file_stat(path, self.ignore)
        return self._stats[path]

    @property
    def hashed(self) -> int:
        """How many distinct paths were hashed (not taken from dvc.lock)."""
        return sum(md5 is not None for md5 in self._computed.values())


def recorded_paths(stage: Stage) -> dict[str, tuple[str, ...]]:
    """The path templates the summary records for ``stage``: its deps but the raw inputs (the
    summary does not depend on them, so a comment-only edit reruns validate alone and their
    md5 stays in dvc.lock, not in a summary that would go stale), and its outs."""
    raw_inputs = {path_template(name) for name in RAW_INPUTS}
    return {"deps": tuple(t for t in (*stage.code_deps, *stage.data_deps)
                          if t not in raw_inputs),
            "outs": stage.out_paths}


def upstream_md5(stages: Sequence[Stage], source: Md5Source) -> dict[str, dict]:
    """``{stage: {"deps": {path: md5}, "outs": {path: md5}}}`` with DVC's hashing rules; the
    paths are the ones dvc.lock uses, the files those of this run (``source``). Missing paths
    (a line left out with --pipelines) are null."""
    return {st.name: {kind: {_dvc_key(t): source.md5(st.name, t) for t in templates}
                      for kind, templates in recorded_paths(st).items()}
            for st in stages}


def declared_artefacts(stages: Sequence[Stage], roots: Roots,
                       extra: Sequence[str] = ()) -> list[str]:
    """The artefacts the ``stages`` declare (their outs; a directory out by the files in it)
    that exist, plus the ``extra`` names at the output root that exist, as sorted paths relative
    to ``roots.out``. Only what the pipeline wrote: a stray or stale file left in the output
    directory (an out a previous version declared, a file copied there by hand) is not an
    artefact of this run."""
    found = set()
    for path in [roots.resolve(t) for st in stages for t in st.out_paths] + [
            roots.out / name for name in extra]:
        files = sorted(path.rglob("*")) if path.is_dir() else [path]
        found.update(f.relative_to(roots.out).as_posix() for f in files
                     if f.is_file() and not f.name.startswith("."))
    return sorted(found)


def artefact_sha256(out_dir: Path, artefacts: Sequence[str]) -> dict[str, str]:
    """SHA-256 (hex) of each of ``artefacts`` (paths relative to ``out_dir``), read once."""
    return {rel: sha256_file(out_dir / rel) for rel in artefacts}


def sha256sums_text(sha256: Mapping[str, str]) -> str:
    """``sha256sum``-compatible lines for ``sha256`` (path relative to the output directory →
    hex digest, in the given order), so ``sha256sum -c SHA256SUMS`` passes there."""
    return "".join(f"{digest}  {rel}\n" for rel, digest in sha256.items())
