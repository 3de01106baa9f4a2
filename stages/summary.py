"""Stage ``summary``: the run summary from the upstream stage reports."""

from __future__ import annotations

from d3.catalog import path_template
from d3.core.runner import StageIO
from d3.importer.report import REPORT_NAME, import_record
from d3.io.audit import declared_artefacts, sha256sums_text, upstream_md5
from d3.io.hashing import sha256_file
from d3.io.writers import write_json, write_text_atomic
from d3.registry import STAGES, VALIDATED
from d3.report.run_summary import run_summary, run_summary_markdown


def validated_sha256(io: StageIO) -> dict[str, str]:
    """SHA-256 of each validated input file, keyed by its path below the output directory."""
    return {io.dep(name).relative_to(io.roots.out).as_posix(): sha256_file(io.dep(name))
            for name in VALIDATED}


def run(io: StageIO) -> None:
    def doc(name: str):
        # A line left out with --pipelines leaves its outputs absent.
        artefact = io.load(name, optional=True)
        return getattr(artefact, "doc", artefact)

    summary = run_summary(doc("validation_report"), doc("plan"), doc("variables_report"),
                          doc("public_cost_rows"), doc("public_price_card"), doc("acceptance"),
                          validated_sha256(io))
    upstream = [st for st in STAGES if st.name != io.stage.name]
    imported = io.roots.inputs.parent / REPORT_NAME  # beside inputs/ after d3 import-draft
    if imported.is_file():
        summary["import_report"] = import_record(imported.read_bytes())
    summary["dvc_md5"] = upstream_md5(upstream, io.roots)
    own = [io.out(name).relative_to(io.roots.out).as_posix() for name in io.stage.outs]
    # The import report is an artefact only of a run that imported a draft (d3 run copies it
    # into the output); a stray one in outputs/ is not.
    extra = (REPORT_NAME,) if imported.is_file() else ()
    # The per-sample series an audit asked for (--keep-samples) are artefacts of this run.
    audit = [io.roots.resolve(path_template(name)).relative_to(io.roots.out).as_posix()
             for st in upstream for name in st.audit_outs] if io.options.keep_samples else []
    summary["artefacts"] = sorted({*declared_artefacts(upstream, io.roots, extra=(*extra, *audit)),
                                   *own})
    write_json(io.out("run_summary"), summary)
    write_text_atomic(io.out("run_summary_md"), run_summary_markdown(summary))
    # Last: the sums cover every artefact, the run summary included.
    write_text_atomic(io.out("sha256sums"), sha256sums_text(
        io.roots.out, [a for a in summary["artefacts"]
                       if io.roots.out / a != io.out("sha256sums")]))
    io.emitter.emit("summary_written", **summary["warning_count"])


def main() -> None:
    from d3.cli import stage_main

    stage_main("summary")


if __name__ == "__main__":
    main()
