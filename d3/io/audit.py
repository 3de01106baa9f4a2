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


def sha256sums_text(out_dir: Path, exclude: Sequence[str] = ("SHA256SUMS",)) -> str:
    """``sha256sum``-compatible lines for every artefact below ``out_dir`` (sorted; hidden files
    and the sums file itself excluded), so ``sha256sum -c SHA256SUMS`` passes there."""
    lines = []
    for path in sorted(p for p in out_dir.rglob("*") if p.is_file()):
        rel = path.relative_to(out_dir).as_posix()
        if rel in exclude or any(part.startswith(".") for part in rel.split("/")):
            continue
        lines.append(f"{sha256_file(path)}  {rel}")
    return "\n".join(lines) + "\n"
