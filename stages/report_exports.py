"""Stage ``report_exports``: financial_plan_v3.html (the Markdown report with its charts
embedded) and financial_plan_v3.xlsx (the report's CSV tables, the facts and the operator's
settings)."""

from __future__ import annotations

from pathlib import Path

from d3.catalog import canonical, operator_dump
from d3.core.runner import StageIO
from d3.io.writers import write_bytes_atomic, write_text_atomic
from d3.pipelines.common.catalog import catalog_document
from d3.registry import WORKBOOK_TABLES
from d3.report.html import report_html
from d3.report.workbook import (
    assumptions_table,
    operator_settings_table,
    sheet_names,
    sheet_table,
    workbook_bytes,
)


def chart_images(charts: Path, markdown: Path) -> dict[str, bytes]:
    """Every PNG chart keyed by its path as the Markdown writes it (relative to the report)."""
    return {p.relative_to(markdown.parent).as_posix(): p.read_bytes()
            for p in sorted(charts.glob("*.png"))}


def workbook_tables(io: StageIO) -> list:
    """The sheets in order: the CSV tables that exist (a line left out with ``--pipelines``
    writes none of its own), then the assumptions and the operator's settings."""
    csvs = [io.dep(name) for name in WORKBOOK_TABLES if io.dep(name).exists()]
    extra = [
        assumptions_table(io.load("market").doc,
                          canonical(catalog_document(io.load("gpu_catalog")))),
        operator_settings_table({
            "operator/general": operator_dump(io.load("operator_general")),
            "operator/public_tap": operator_dump(io.load("operator_public_tap")),
            "operator/private_tap": operator_dump(io.load("operator_private_tap"))}),
    ]
    names = sheet_names([p.stem for p in csvs] + [t.name for t in extra])[:len(csvs)]
    return [sheet_table(name, p.read_text(encoding="utf-8"))
            for name, p in zip(names, csvs, strict=True)] + extra


def run(io: StageIO) -> None:
    markdown = io.dep("financial_plan")
    images = {**chart_images(io.dep("charts"), markdown),
              **chart_images(io.dep("sensitivity_charts"), markdown)}
    write_text_atomic(io.out("report_html"), report_html(markdown.read_text(encoding="utf-8"),
                                                         images))
    write_bytes_atomic(io.out("report_workbook"), workbook_bytes(workbook_tables(io)))


def main() -> None:
    from d3.cli import stage_main

    stage_main("report_exports")


if __name__ == "__main__":
    main()
