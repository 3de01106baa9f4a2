"""Hashes for the audit trail: sha256 of artefacts, and DVC's md5 of files and directories.

DVC's rules (dvc-data, used here directly so the values are the ones ``dvc.lock`` records): a
file's md5 is the md5 of its bytes; a directory's is the md5 of the JSON list of its files'
``{"md5", "relpath"}`` sorted by path, with ``.dir`` appended — after removing what
``.dvcignore`` ignores.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import pathspec
from dvc_data.hashfile.hash import file_md5
from dvc_data.hashfile.hash_info import HashInfo
from dvc_data.hashfile.tree import Tree


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def dvcignore_patterns(root: Path) -> list[str]:
    path = root / ".dvcignore"
    if not path.exists():
        return []
    return [line for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def _ignored(spec: pathspec.PathSpec, rel: str) -> bool:
    parts = rel.split("/")
    return any(spec.match_file("/".join(parts[: i + 1]) + ("/" if i < len(parts) - 1 else ""))
               for i in range(len(parts)))


def dvc_files(path: Path, ignore: Sequence[str] = ()) -> list[Path]:
    """The files DVC hashes for ``path``: the file itself, or every file below a directory that
    ``.dvcignore`` (its ``ignore`` patterns) does not exclude, sorted; [] when ``path`` is
    absent."""
    if path.is_file():
        return [path]
    spec = pathspec.PathSpec.from_lines("gitignore", ignore)
    return [file for file in sorted(p for p in path.rglob("*") if p.is_file())
            if not _ignored(spec, file.relative_to(path).as_posix())]


def dvc_md5(path: Path, ignore: Sequence[str] = ()) -> dict[str, object]:
    """``{"md5", "size"}`` (+ ``"nfiles"`` for a directory) as dvc.lock records them."""
    if path.is_file():
        return {"md5": file_md5(str(path)), "size": path.stat().st_size}
    tree = Tree()
    size = nfiles = 0
    for file in dvc_files(path, ignore):
        rel = file.relative_to(path).as_posix()
        tree.add(tuple(rel.split("/")), None, HashInfo("md5", file_md5(str(file))))
        size += file.stat().st_size
        nfiles += 1
    tree.digest()
    return {"md5": tree.hash_info.value, "size": size, "nfiles": nfiles}
