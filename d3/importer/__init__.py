"""``d3 import-draft``: the original draft's input tree → a D3 inputs tree, ``params.yaml`` and
``IMPORT_REPORT.md`` (docs/INPUTS.md, "Importing the original draft").

:func:`draft_import` is pure (source tree → file texts + ledger); :func:`write_import` puts the
files on disk. Importing the same tree twice gives byte-identical files.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from d3.core.errors import Issue, ValidationError
from d3.importer import facts
from d3.importer.convert import Context, convert_doc, new_documents
from d3.importer.emit import yaml_text
from d3.importer.ledger import Ledger
from d3.importer.origins import Origins
from d3.importer.report import REPORT_NAME, report_markdown
from d3.importer.source import is_draft_tree, read_draft, shown
from d3.importer.variables import COLUMNS as VARIABLE_COLUMNS
from d3.importer.variables import convert_variables
from d3.io.loader import numbered_rows
from d3.io.writers import csv_text, write_text_atomic

__all__ = ["DraftImport", "Origins", "checked_destination", "draft_import", "is_draft_tree",
           "write_import", "REPORT_NAME"]

HEADER = "Imported from the original draft by `d3 import-draft`; see IMPORT_REPORT.md."


@dataclass(frozen=True)
class DraftImport:
    files: dict[str, str]  # path below DEST → text
    ledger: Ledger
    origins: Origins  # where each imported file, row and key came from in the draft

    @property
    def warnings(self) -> list[Issue]:
        return self.ledger.warnings


def draft_import(src: Path) -> DraftImport:
    """Convert the draft tree at ``src``; ValidationError when it is not one."""
    tree = read_draft(src)
    ctx = Context(tree, Ledger(), new_documents())
    insurance_rows, ctx.kept_insurers = facts.insurances(ctx)
    for rel in ("simulation.yaml", "operator/general.yaml", "operator/public_tap.yaml",
                "operator/private_tap.yaml", "facts/market_env.yaml"):
        convert_doc(ctx, rel)
    gpu_rows, classes = facts.curated_gpu(ctx)
    tables = {
        "inputs/operator/curated_gpu.csv": gpu_rows,
        "inputs/operator/curated_public_tap_models.csv": facts.curated_models(ctx),
        "inputs/facts/tps_model_gpu.csv": facts.tps_rows(ctx),
        "inputs/facts/gpu_specs.csv": facts.gpu_specs(ctx, classes),
        "inputs/facts/ads_channels.csv": facts.ads_channels(ctx),
        "inputs/facts/agency_fees.csv": facts.agency_fees(ctx),
        "inputs/facts/insurances.csv": insurance_rows,
    }
    files = {name: csv_text(facts.HEADERS[name], rows) for name, rows in tables.items()}
    for name, rows in convert_variables(ctx).items():
        files[name] = csv_text(VARIABLE_COLUMNS, rows)
    for name, doc in ctx.out.items():
        files[name] = yaml_text(doc, HEADER)
    files[REPORT_NAME] = report_markdown(ctx.ledger, tree.missing)
    return DraftImport(dict(sorted(files.items())), ctx.ledger, origins_of(ctx, files))


# Imported file → the draft file it is written from (None: the import writes it alone).
SOURCE_FILE: dict[str, str | None] = {
    "params.yaml": "simulation.yaml",
    "inputs/facts/gpu_specs.csv": None,  # from curated_gpu.csv, gpu_baselines.yaml, datasheets
    "inputs/facts/ads_channels.csv": None,  # header only: the draft has no conversion rates
}


def origins_of(ctx: Context, files: dict[str, str]) -> Origins:
    """The import's :class:`Origins`: the draft file of every imported file, the draft row of
    every imported CSV row (numbered as D3's reader numbers them) and the draft key of every
    written key."""
    origins = ctx.origins
    for name in files:
        if name == REPORT_NAME:
            continue
        rel = SOURCE_FILE.get(name, name.removeprefix("inputs/"))
        origins.files[name] = shown(rel) if rel is not None else None
    for name, sources in ctx.row_sources.items():
        lines = [line for line, _ in numbered_rows(files[name])[1:]]
        if len(lines) != len(sources):  # every written row records its source
            raise AssertionError(f"{name}: {len(lines)} rows, {len(sources)} sources")
        origins.rows.update({(name, line): src for line, src in zip(lines, sources, strict=True)})
    return origins


def checked_destination(dest: Path) -> None:
    """Refuse (ValidationError) a ``dest`` that holds someone's own inputs tree or plan — a
    previous import there (its IMPORT_REPORT.md beside them) may be replaced. Checked before
    any work, so a refusal comes before the import's output."""
    if dest.exists() and not dest.is_dir():
        raise ValidationError([Issue(str(dest), "(--to)", "is a file, not a directory",
                                     "choose a directory (it is created if missing)")])
    earlier = (dest / REPORT_NAME).is_file()
    for taken in (dest / "inputs", dest / "params.yaml"):
        if taken.exists() and not earlier:
            # Someone's own inputs tree or plan: never overwritten.
            raise ValidationError([Issue(str(taken), "(--to)", "exists and is not from an "
                                         "earlier import (no IMPORT_REPORT.md beside it)",
                                         "choose an empty --to directory")])


def write_import(result: DraftImport, dest: Path) -> None:
    """Write the imported tree below ``dest``. A previous import there is replaced; any other
    existing ``dest/inputs`` is refused (ValidationError), never overwritten."""
    inputs = dest / "inputs"
    checked_destination(dest)
    if inputs.exists():
        shutil.rmtree(inputs)
    for name, text in result.files.items():
        write_text_atomic(dest / name, text)
