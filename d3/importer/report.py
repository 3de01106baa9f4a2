"""``IMPORT_REPORT.md``: counts per outcome, then every source key, column and row with what
became of it; and the record of it a run summary keeps."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from d3.importer.ledger import Ledger
from d3.importer.mapping import KINDS
from d3.importer.source import shown

REPORT_NAME = "IMPORT_REPORT.md"
FILE_ORDER = (
    "simulation.yaml", "operator/general.yaml", "operator/public_tap.yaml",
    "operator/private_tap.yaml", "operator/curated_gpu.csv",
    "operator/curated_public_tap_models.csv", "variables/general.csv",
    "variables/public_tap.csv", "variables/private_tap.csv", "facts/market_env.yaml",
    "facts/tps_model_gpu.csv", "facts/tps_sources.yaml", "facts/gpu_baselines.yaml",
    "facts/ads_channels.csv", "facts/agency_fees.csv", "facts/insurances.csv",
)
NOTES = (
    "Outcomes: **mapped** — copied unchanged (same meaning and unit) to a D3 key, possibly "
    "renamed; **converted** — written in D3's unit or form (from what to what is said); "
    "**modelled** — carried by a D3 feature rather than a one-to-one key; **dropped** — not "
    "imported, with the reason (each also a WARNING on stderr).",
    "`finance.fixed_costs_monthly_eur.personal` stays a fixed cost: the draft does not say it is "
    "a salary. If it is one, move it to `finance.salaries_monthly_eur`, which adds employer "
    "social security (`tax.social_security_pct`).",
    "`facts/gpu_specs.csv`: `vram_gb` from curated_gpu.csv, `mem_bandwidth_gb_s` from NVIDIA "
    "datasheets (table in d3/importer/mapping.py), `baseline_tps_8b` from gpu_baselines.yaml, "
    "whose per-instance tokens/s the draft applied to every model: D3 takes it as the figure of "
    "an 8B dense model and scales it by active parameters (a last-resort heuristic only).",
    "The draft gives no prepaid block size for the Private Tap: "
    "`prepaid_policy.private_tap.block_hours` keeps D3's default 0 (usage invoiced monthly on "
    "AR terms); set it to model prepaid blocks.",
    "`facts/ads_channels.csv` is written with its header only and every "
    "`acquisition.channel_allocation` is dropped: the draft has no click-to-customer conversion "
    "rates, so new customers come from `acquisition.cac_base_eur`, the draft's own fallback.",
)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _table(rows: list[tuple[str, str]], first: str) -> list[str]:
    return [f"| {first} | outcome |", "|---|---|",
            *(f"| {_cell(a)} | {_cell(b)} |" for a, b in rows)]


NO_EFFECT = "carried, no effect until"
MAX_LISTED = 3  # locations a grouped stderr line names before "…"


def check_these(ledger: Ledger) -> list[str]:
    """What a founder must look at before trusting the numbers: the WARNINGs that are not
    drops (a value taken as the nearest D3 value, a rate that looks wrong, a row validation
    will reject), then the keys carried without effect in the imported tree."""
    warned = [w.line() for w in ledger.warnings if w.code != "import_dropped"]
    inert = [f"{e.file}:{e.location}: {e.text}" for e in ledger.entries if NO_EFFECT in e.text]
    return warned + inert


def warning_lines(ledger: Ledger) -> list[str]:
    """The import's WARNINGs for stderr: those that change numbers first, then the drops, one
    line per file and reason (``N in all``: the report lists every one), so 29 identical
    drops do not bury the rest."""
    lines = [f"warning: {w.line()}" for w in ledger.warnings if w.code != "import_dropped"]
    groups: dict[tuple[str, str, str], list[str]] = {}
    for w in ledger.warnings:
        if w.code == "import_dropped":
            groups.setdefault((w.file, w.message, w.hint), []).append(w.location)
    order = {shown(rel): i for i, rel in enumerate(FILE_ORDER)}  # the report's file order
    for (file, message, reason), where in sorted(groups.items(),
                                                 key=lambda g: order.get(g[0][0], len(order))):
        if len(where) == 1:
            lines.append(f"warning: {file}:{where[0]}: {message} — {reason}")
            continue
        listed = ", ".join(where[:MAX_LISTED]) + (", …" if len(where) > MAX_LISTED else "")
        lines.append(f"warning: {file}:{listed} ({len(where)} in all, each in "
                     f"{REPORT_NAME}): {message} — {reason}")
    return lines


def report_markdown(ledger: Ledger, missing: tuple[str, ...] = ()) -> str:
    counts = ledger.counts()
    by_file = ledger.counts_by_file()
    order = [shown(f) for f in FILE_ORDER]
    files = [f for f in order if f in by_file or f in ledger.blank_lines] + sorted(
        set(by_file) - set(order))
    comments = len(ledger.comments)
    blanks = sum(ledger.blank_lines.values())
    lines = [
        "# Import report: original draft → D3",
        "",
        "Written by `d3 import-draft` (or `d3 run` on a draft tree). Every key, column and "
        "row of the draft's input tree, and what became of it.",
        "",
        "## Check these",
        "",
        "WARNINGs that change numbers or stop validation, and keys carried without effect; "
        "the drops are listed per file below.",
        "",
        *([f"- {_cell(line)}" for line in check_these(ledger)] or ["None."]),
        "",
        "## Counts",
        "",
        "| outcome | count |",
        "|---|---:|",
        *(f"| {k} | {counts[k]} |" for k in KINDS),
        f"| total | {sum(counts.values())} |",
        "",
        f"Not data: {comments} comment row(s) and {blanks} blank line(s) skipped.",
        f"WARNINGs: {len(ledger.warnings)}.",
        "",
        "| file | " + " | ".join(KINDS) + " |",
        "|---|" + "---:|" * len(KINDS),
        *(f"| {f} | " + " | ".join(str(by_file.get(f, {}).get(k, 0)) for k in KINDS) + " |"
          for f in files),
        "",
        "## Notes",
        "",
        *(f"- {note}" for note in NOTES),
        *(f"- `{shown(rel)}` is absent from the draft tree; its D3 file is written empty "
          "(header only)." for rel in missing),
    ]
    for file in files:
        key = file.endswith((".yaml", ".yml"))  # YAML keys in backticks; CSV column/row N
        rows = [(f"`{e.location}`" if key else e.location, e.text)
                for e in ledger.entries if e.file == file]
        rows += [(where, f"comment (not data): `{text}`")
                 for f, where, text in ledger.comments if f == file]
        lines += ["", f"## {file}", "", *_table(rows, "key / column / row")]
    return "\n".join(lines) + "\n"


_COUNT_ROW = re.compile(r"^\| (mapped|converted|modelled|dropped|total) \| (\d+) \|$")


def import_record(data: bytes) -> dict[str, Any]:
    """What a run summary keeps of an import report (its bytes): counts and sha256."""
    counts = {}
    for line in data.decode("utf-8").splitlines():
        match = _COUNT_ROW.match(line)
        if match and match.group(1) not in counts:
            counts[match.group(1)] = int(match.group(2))
    return {"file": REPORT_NAME, "counts": counts, "sha256": hashlib.sha256(data).hexdigest()}
