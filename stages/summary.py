"""Stage ``summary``: the run summary from the upstream stage reports."""

from __future__ import annotations

import os
from collections.abc import Mapping

from d3.catalog import path_template
from d3.core.runner import StageIO
from d3.importer.report import REPORT_NAME, import_record
from d3.io.audit import (
    Md5Source,
    artefact_sha256,
    declared_artefacts,
    dvc_lock_of_this_run,
    read_dvc_lock,
    sha256sums_text,
    upstream_md5,
)
from d3.io.writers import write_json, write_text_atomic
from d3.registry import STAGES, VALIDATED
from d3.report.run_summary import run_summary, run_summary_markdown


def validated_sha256(io: StageIO, sha256: Mapping[str, str]) -> dict[str, str]:
    """SHA-256 of each validated input file, keyed by its path below the output directory
    (taken from ``sha256``, the artefacts' digests: every validated file is one)."""
    return {rel: sha256[rel] for rel in
            (io.dep(name).relative_to(io.roots.out).as_posix() for name in VALIDATED)}


def md5_source(io: StageIO) -> Md5Source:
    """Where the upstream md5s come from: dvc.lock when DVC runs this stage on the default
    paths (it wrote every upstream stage's entry before this one started), else hashing."""
    lock = dvc_lock_of_this_run(io.roots, os.environ, io.stage.name)
    return Md5Source(io.roots, read_dvc_lock(lock) if lock else None)


def run(io: StageIO) -> None:
    def doc(name: str):
        # A line left out with --pipelines leaves its outputs absent.
        artefact = io.load(name, optional=True)
        return getattr(artefact, "doc", artefact)

    upstream = [st for st in STAGES if st.name != io.stage.name]
    imported = io.roots.inputs.parent / REPORT_NAME  # beside inputs/ after d3 import-draft
    # The import report is an artefact only of a run that imported a draft (d3 run copies it
    # into the output); a stray one in outputs/ is not.
    extra = (REPORT_NAME,) if imported.is_file() else ()
    # The per-sample series an audit asked for (--keep-samples) are artefacts of this run.
    extra += tuple(io.roots.resolve(path_template(name)).relative_to(io.roots.out).as_posix()
                   for st in upstream for name in st.audit_outs) if io.options.keep_samples \
        else ()
    # Each upstream artefact is read once: for SHA256SUMS and the validated inputs' sha256.
    sha256 = artefact_sha256(io.roots.out, declared_artefacts(upstream, io.roots, extra=extra))
    summary = run_summary(doc("validation_report"), doc("plan"), doc("variables_report"),
                          doc("public_cost_rows"), doc("public_price_card"), doc("acceptance"),
                          validated_sha256(io, sha256))
    if imported.is_file():
        summary["import_report"] = import_record(imported.read_bytes())
    source = md5_source(io)
    summary["dvc_md5"] = upstream_md5(upstream, source)
    io.emitter.emit("dvc_md5_recorded", from_lock=source.from_lock, hashed=source.hashed)
    own = [io.out(name).relative_to(io.roots.out).as_posix() for name in io.stage.outs]
    summary["artefacts"] = sorted({*sha256, *own})
    write_json(io.out("run_summary"), summary)
    write_text_atomic(io.out("run_summary_md"), run_summary_markdown(summary))
    # Last: the sums cover every artefact, the run summary included.
    sums_file = io.out("sha256sums").relative_to(io.roots.out).as_posix()
    sha256 |= artefact_sha256(io.roots.out, [a for a in own if a != sums_file])
    write_text_atomic(io.out("sha256sums"), sha256sums_text(
        {a: sha256[a] for a in summary["artefacts"] if a != sums_file}))
    io.emitter.emit("summary_written", **summary["warning_count"])


def main() -> None:
    from d3.cli import stage_main

    stage_main("summary")


if __name__ == "__main__":
    main()
