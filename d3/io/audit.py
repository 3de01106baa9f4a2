"""The audit trail: DVC md5 of every upstream stage's deps and outs, and SHA256SUMS."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from d3.catalog import path_template
from d3.io.hashing import dvc_md5, dvcignore_patterns, sha256_file
from d3.registry import DVC_ROOTS, PROJECT_ROOT, RAW_INPUTS, Roots, Stage


def _dvc_key(template: str) -> str:
    return template.format(**DVC_ROOTS)


def upstream_md5(stages: Sequence[Stage], roots: Roots) -> dict[str, dict]:
    """``{stage: {"deps": {path: md5}, "outs": {path: md5}}}`` with DVC's hashing rules; the
    paths are the ones dvc.lock uses, the files those of this run. Missing paths (a line left
    out with --pipelines) are null."""
    ignore = dvcignore_patterns(PROJECT_ROOT)
    # The raw inputs are not the summary's deps (a comment-only edit reruns validate alone):
    # their md5 stays in dvc.lock, not in a summary that would go stale.
    raw_inputs = {path_template(name) for name in RAW_INPUTS}
    out = {}
    for st in stages:
        def md5(template: str) -> str | None:
            path = roots.resolve(template)
            return dvc_md5(path, ignore)["md5"] if path.exists() else None
        out[st.name] = {
            "deps": {_dvc_key(t): md5(t) for t in (*st.code_deps, *st.data_deps)
                     if t not in raw_inputs},
            "outs": {_dvc_key(t): md5(t) for t in st.out_paths},
        }
    return out


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


def sha256sums_text(out_dir: Path, artefacts: Sequence[str]) -> str:
    """``sha256sum``-compatible lines for ``artefacts`` (paths relative to ``out_dir``, in the
    given order), so ``sha256sum -c SHA256SUMS`` passes in ``out_dir``."""
    return "".join(f"{sha256_file(out_dir / rel)}  {rel}\n" for rel in artefacts)
