"""The draft's CSV tables and fact YAMLs → D3's catalogue and facts tables.

Each function returns the D3 rows of one output file (cells as text) and records in the
ledger every column, every dropped row and every row whose values were converted.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from d3.core.names import gpu_class
from d3.importer import mapping as m
from d3.importer.convert import Context
from d3.importer.emit import decimal, number_text
from d3.importer.source import SourceTable, shown

HEADERS = {
    "inputs/operator/curated_gpu.csv": (
        "provider", "gpu_model", "gpu_vram_gb", "num_gpus", "price_per_gpu_hr", "price_usd_hr"),
    "inputs/operator/curated_public_tap_models.csv": (
        "Model", "Variant", "hf_id", "params_b", "active_params_b", "architecture",
        "quantization", "vram_needed_gb", "context_k", "license", "source"),
    "inputs/facts/tps_model_gpu.csv": (
        "model", "hf_id", "gpu", "gpu_count", "measurement_type", "throughput_tokens_per_s",
        "batch_slots", "source"),
    "inputs/facts/gpu_specs.csv": (
        "gpu", "vram_gb", "mem_bandwidth_gb_s", "baseline_tps_8b", "source"),
    "inputs/facts/ads_channels.csv": (
        "channel_id", "name", "billing", "currency", "cost_per_click", "cpm", "ctr_frac",
        "cvr_click_to_customer_frac", "source"),
    "inputs/facts/agency_fees.csv": (
        "agency_id", "service", "fee_type", "fee_eur", "fee_pct", "source"),
    "inputs/facts/insurances.csv": (
        "insurer_id", "product", "annual_premium_eur", "coverage_eur", "source"),
}
Rows = list[list[str]]


def _columns(ctx: Context, table: SourceTable, rules: dict[str, m.Rule]) -> None:
    for name in table.header:
        rule = rules.get(name)
        if rule is None:
            ctx.ledger.dropped(table.file, f"column {name}", "not a column of the draft format "
                               "(not in the import mapping table)")
        else:
            ctx.ledger.rule(table.file, f"column {name}", rule)
    for line, text in table.comments:
        ctx.ledger.comment(table.file, line, text)
    ctx.ledger.blank_lines[table.file] += table.blank_lines


def _table(ctx: Context, rel: str) -> SourceTable | None:
    table = ctx.tree.tables.get(rel)
    if table is not None:
        _columns(ctx, table, m.COLUMNS[rel])
    return table


# --- operator/curated_gpu.csv -----------------------------------------------------------------

@dataclass(frozen=True)
class GpuClass:
    name: str  # as first written in curated_gpu.csv
    vram_gb: str
    line: int


def curated_gpu(ctx: Context) -> tuple[Rows, dict[str, GpuClass]]:
    """The offers (D3 columns only) and the GPU classes they name, in file order."""
    table = _table(ctx, "operator/curated_gpu.csv")
    rows, classes = [], {}
    for line, record, _ in table.records() if table else ():
        ctx.row_from("inputs/operator/curated_gpu.csv", table.file, f"row {line} "
                     f"({record.get('provider', '?')}/{record.get('gpu_model', '?')})")
        rows.append([record.get(c, "") for c in HEADERS["inputs/operator/curated_gpu.csv"]])
        name = record.get("gpu_model", "")
        if name and gpu_class(name) not in classes and decimal(record.get("gpu_vram_gb")):
            classes[gpu_class(name)] = GpuClass(name, record["gpu_vram_gb"], line)
    return rows, classes


# --- operator/curated_public_tap_models.csv ---------------------------------------------------

_VRAM = re.compile(r"^[~<≤≈]?\s*(\d+(?:\.\d+)?)(?:\s*[-–]\s*(\d+(?:\.\d+)?))?\s*(?:GB)?$",
                   re.IGNORECASE)
_VARIANT = re.compile(r"^(\d+(?:\.\d+)?)\s*B$", re.IGNORECASE)


def note_number(notes: str, name: str) -> Decimal | None:
    match = re.search(rf"\b{name}\s*=\s*(\d+(?:\.\d+)?)", notes)
    return Decimal(match.group(1)) if match else None


def vram_upper_gb(cell: str) -> Decimal | None:
    """``"~4-6"`` → 6, ``"16"`` → 16, ``"<6"`` → 6; None when the cell is not a range."""
    match = _VRAM.match(cell.strip())
    return Decimal(match.group(2) or match.group(1)) if match else None


@dataclass(frozen=True)
class ModelSize:
    params_b: Decimal
    active_params_b: Decimal | None
    moe: bool
    said: str  # where params_b came from


def model_size(r: dict[str, str]) -> ModelSize | None:
    """Parameters from ``total_params_b=`` in the notes, else the Variant ("7.3B" → 7.3);
    ``active_params_b=`` or the word MoE in the notes make it a mixture of experts."""
    notes, variant = r.get("Notes", ""), r.get("Variant", "")
    total, match = note_number(notes, "total_params_b"), _VARIANT.match(variant)
    params = total if total is not None else Decimal(match.group(1)) if match else None
    if params is None:
        return None
    active = note_number(notes, "active_params_b")
    moe = active is not None or re.search(r"\bmoe\b", notes, re.IGNORECASE) is not None
    said = (f"notes total_params_b={number_text(total)}" if total is not None
            else f"Variant {variant}")
    return ModelSize(params, active, moe, said)


def model_vram(r: dict[str, str]) -> tuple[Decimal, str, bool] | None:
    """``(GB, how, fallback)``: the upper end of the typical-VRAM cell, else the 4-bit weights
    × 1.2 (``fallback`` true), else None."""
    cell = r.get("Typical_VRAM_for_4bit_or_MXFP4_GB", "")
    vram = vram_upper_gb(cell)
    if vram is not None:
        return vram, f"VRAM {cell!r} → upper end", False
    weights = decimal(r.get("weights_vram_4bit_gb_est"))
    if weights is None:
        return None
    return (weights * Decimal(m.WEIGHTS_TO_SERVING_VRAM), f"VRAM {cell!r} unreadable → "
            f"weights_vram_4bit_gb_est {number_text(weights)} × {m.WEIGHTS_TO_SERVING_VRAM} =",
            True)


def _model_row(r: dict[str, str], size: ModelSize, vram: Decimal) -> dict[str, str]:
    context = decimal(r.get("Context_Length_Tokens"))
    return {"Model": r["Model"], "Variant": r.get("Variant", ""), "hf_id": r.get("Download", ""),
            "params_b": number_text(size.params_b),
            "active_params_b": number_text(size.active_params_b) if size.active_params_b
            is not None else "",
            "architecture": "moe" if size.moe else "dense",
            "quantization": ("mxfp4" if "MXFP4" in r.get("Quantization/Runtime", "").upper()
                             else "4bit"),
            "vram_needed_gb": number_text(vram),
            "context_k": number_text(context / 1000) if context is not None else "",
            "license": r.get("License", ""), "source": ""}


def curated_models(ctx: Context) -> Rows:
    table = _table(ctx, "operator/curated_public_tap_models.csv")
    rows = []
    for line, r, _ in table.records() if table else ():
        name = " ".join(f"{r.get('Model', '')} {r.get('Variant', '')}".split())
        where = f"row {line} ({name})"
        size, vram = model_size(r), model_vram(r)
        if not r.get("Model") or size is None:
            ctx.ledger.dropped(table.file, where, f"no parameter count: Variant "
                               f"{r.get('Variant', '')!r} is not like 7B and the notes give no "
                               "total_params_b=")
            continue
        if vram is None:
            ctx.ledger.dropped(table.file, where, "no VRAM figure: Typical_VRAM "
                               f"{r.get('Typical_VRAM_for_4bit_or_MXFP4_GB', '')!r} is not a "
                               "number or range and weights_vram_4bit_gb_est is empty")
            continue
        gb, how, fallback = vram
        if fallback:
            ctx.ledger.warn(table.file, where, f"Typical_VRAM "
                            f"{r.get('Typical_VRAM_for_4bit_or_MXFP4_GB', '')!r} cannot be read; "
                            f"vram_needed_gb = weights × {m.WEIGHTS_TO_SERVING_VRAM} = "
                            f"{number_text(gb)} GB", "check the model's serving VRAM")
        out = _model_row(r, size, gb)
        ctx.row_from("inputs/operator/curated_public_tap_models.csv", table.file, where)
        rows.append([out[c] for c in HEADERS["inputs/operator/curated_public_tap_models.csv"]])
        ctx.ledger.converted(table.file, where, "inputs/operator/curated_public_tap_models.csv", (
            f"{size.said} → params_b {out['params_b']}"
            + (f", active_params_b {out['active_params_b']}" if out["active_params_b"] else "")
            + f", architecture {out['architecture']}; {how} {out['vram_needed_gb']} GB, "
            f"quantization {out['quantization']}"
            + (f"; {r['Context_Length_Tokens']} tokens → context_k {out['context_k']}"
               if out["context_k"] else "")))
    return rows


# --- facts/tps_model_gpu.csv and tps_sources.yaml ---------------------------------------------

def _valid_tps(record: dict[str, str]) -> bool:
    count, tps = decimal(record.get("gpu_count")), decimal(record.get("throughput_tokens_per_sec"))
    return bool(record.get("model_name") and record.get("gpu") and record.get("source_tag")
                and record.get("measurement_type") in m.MEASUREMENT_TYPES
                and count is not None and count >= 1 and count == count.to_integral_value()
                and tps is not None and tps > 0)


def aligned_record(header: tuple[str, ...], cells: tuple[str, ...],
                   valid: Callable[[dict[str, str]], bool]) -> tuple[dict[str, str], str] | None:
    """A row short of cells, read the only valid way: the missing cells inserted at every
    position, the readings that pass ``valid`` must all be the same record (the missing cells
    sit among empty ones). ``(record, which columns may hold them)`` or None."""
    missing = len(header) - len(cells)
    readings: dict[tuple, list[str]] = {}
    for p in range(len(cells) + 1):
        filled = cells[:p] + ("",) * missing + cells[p:]
        record = {h: c for h, c in zip(header, filled, strict=True) if c != ""}
        if valid(record):
            readings.setdefault(tuple(sorted(record.items())), []).append(header[p])
    if len(readings) != 1:
        return None
    (items, columns), = readings.items()
    return dict(items), ", ".join(columns)


def _tps_source(ctx: Context, tag: str, file: str, where: str, used: set[str]) -> str:
    sources = ctx.tree.docs.get("facts/tps_sources.yaml", {})
    info = sources.get(tag)
    if isinstance(info, dict) and (info.get("name") or info.get("url")):
        used.add(tag)
        name, url = str(info.get("name") or tag), info.get("url")
        return f"{name} ({url})" if url else name
    ctx.ledger.warn(file, where, f"source_tag {tag!r} is not described in tps_sources.yaml",
                    "add it there; the tag is written as the source")
    return f"source_tag {tag}"


def _tps_record(ctx: Context, table: SourceTable, line: int, record: dict[str, str],
                cells: tuple[str, ...]) -> tuple[dict[str, str] | None, str]:
    """``(record, where)`` of a measurement row read to the header, or ``(None, where)`` when
    it was dropped (recorded in the ledger)."""
    where = f"row {line} ({record.get('model_name', '?')}/{record.get('gpu', '?')})"
    n, columns = len(cells), len(table.header)
    if n > columns:
        ctx.ledger.dropped(table.file, where, f"{n} cells for {columns} columns (an unquoted "
                           "comma?)")
        return None, where
    if n < columns:
        aligned = aligned_record(table.header, cells, _valid_tps)
        if aligned is None:
            ctx.ledger.dropped(table.file, where, f"{n} cells for {columns} columns, and no "
                               "single reading of them gives a measurement")
            return None, where
        record, gap = aligned
        where = f"row {line} ({record.get('model_name')}/{record.get('gpu')})"
        ctx.ledger.converted(table.file, where, "inputs/facts/tps_model_gpu.csv", (
            f"a row of {n} cells to the {columns} columns: the only reading with a known "
            "measurement type, a GPU count and a throughput puts the missing empty cell in "
            f"{gap} (the same record either way)"))
    return record, where


def _measurement_issue(record: dict[str, str]) -> str | None:
    """Why a (complete) row is not a D3 measurement, or None."""
    written = record.get("measurement_type", "")
    if written not in m.MEASUREMENT_TYPES:
        return (f"measurement_type {written or '(empty)'!r} is none of "
                f"{', '.join(m.MEASUREMENT_TYPES)}")
    if m.MEASUREMENT_TYPES[written] is None:
        return (f"measurement_type {written}: one stream's speed under load is neither one "
                "request alone (single_stream) nor the total (aggregate), and the concurrency "
                "needed to total it is not given")
    if not _valid_tps(record):
        return ("not a measurement: model_name, gpu, gpu_count ≥ 1, throughput > 0, a known "
                "measurement_type and source_tag are needed")
    return None


def tps_rows(ctx: Context) -> Rows:
    table = _table(ctx, "facts/tps_model_gpu.csv")
    rows, used = [], set()
    for line, raw, cells in table.records() if table else ():
        record, where = _tps_record(ctx, table, line, raw, cells)
        issue = _measurement_issue(record) if record is not None else None
        if issue is not None:
            ctx.ledger.dropped(table.file, where, issue)
        if record is None or issue is not None:
            continue
        kind = m.MEASUREMENT_TYPES[record["measurement_type"]]
        batch = decimal(record.get("batch"))
        slots = (number_text(batch) if kind in ("aggregate", "batched_online") and batch
                 and batch == batch.to_integral_value() else "")
        ctx.row_from("inputs/facts/tps_model_gpu.csv", table.file, where)
        rows.append([record["model_name"], record.get("model_id", ""), record["gpu"],
                     number_text(decimal(record["gpu_count"])), kind,
                     record["throughput_tokens_per_sec"], slots,
                     _tps_source(ctx, record["source_tag"], table.file, where, used)])
    _tps_sources(ctx, used)
    return rows


def _tps_sources(ctx: Context, used: set[str]) -> None:
    rel = "facts/tps_sources.yaml"
    for tag, info in ctx.tree.docs.get(rel, {}).items():
        for field in (info if isinstance(info, dict) else [""]):
            key = f"{tag}.{field}" if field else str(tag)
            rule = m.rule_for(m.TPS_SOURCES, key)
            if rule is None:
                ctx.ledger.dropped(shown(rel), key, "not a field of a source (name, url, notes)")
            elif rule.kind != "dropped" and tag not in used:
                ctx.ledger.dropped(shown(rel), key, "no imported measurement uses this "
                                   "source_tag")
            else:
                ctx.ledger.rule(shown(rel), key, rule)


# --- facts/gpu_specs.csv from gpu_baselines.yaml + curated VRAM + datasheets --------------------

def bandwidth_key(name: str) -> str:
    """D3 GPU class with memory written NNGB (``A100 80G`` → ``A100 80GB``)."""
    return re.sub(r"\b(\d+)G\b", r"\1GB", gpu_class(name))


def first_pattern(baselines: dict, name: str) -> str | None:
    """The draft's rule: the first key (file order) contained in the GPU name, ignoring case."""
    return next((str(k) for k in baselines if str(k).strip().lower() in name.lower()), None)


def gpu_specs(ctx: Context, classes: dict[str, GpuClass]) -> Rows:
    rel = "facts/gpu_baselines.yaml"
    baselines = ctx.tree.docs.get(rel, {})
    rows, used = [], {}
    gpu_file = shown("operator/curated_gpu.csv")
    for gpu in classes.values():
        key = bandwidth_key(gpu.name)
        bandwidth = m.MEM_BANDWIDTH_GB_S.get(key)
        if bandwidth is None:
            why = (f"which of {m.AMBIGUOUS_GPU[key]} is meant" if key in m.AMBIGUOUS_GPU
                   else "its memory bandwidth (not in the import's datasheet table)")
            ctx.ledger.warn(gpu_file, f"row {gpu.line} ({gpu.name})", f"no facts/gpu_specs.csv "
                            f"row for GPU class {gpu_class(gpu.name)}: the import cannot tell "
                            f"{why}", "add the row (vram_gb, mem_bandwidth_gb_s, source) by hand")
            continue
        pattern = first_pattern(baselines, gpu.name)
        baseline = decimal(baselines.get(pattern)) if pattern is not None else None
        source = f"vram_gb: curated_gpu.csv; mem_bandwidth_gb_s: {m.MEM_BANDWIDTH_SOURCE}"
        if baseline is not None and baseline > 0:
            used.setdefault(pattern, []).append(gpu.name)
            source += (f"; baseline_tps_8b: gpu_baselines.yaml {pattern!r} (the draft's "
                       "tokens/s per instance, taken as an 8B dense model)")
        rows.append([gpu.name, number_text(decimal(gpu.vram_gb)), str(bandwidth),
                     number_text(baseline) if pattern in used else "", source])
    for pattern, value in baselines.items():
        pattern = str(pattern)
        if pattern in used:
            ctx.ledger.rule(shown(rel), pattern, m.GPU_BASELINES["*"],
                            detail=f"{value} tokens/s for {', '.join(used[pattern])}")
            continue
        shadowed = [g.name for g in classes.values() if pattern.lower() in g.name.lower()]
        reason = (f"shadowed for {', '.join(shadowed)} by an earlier pattern (the draft takes "
                  "the first match in file order)" if shadowed else
                  "matches no GPU of curated_gpu.csv (D3 keeps specs per offered GPU class)")
        if decimal(value) is None or decimal(value) <= 0:
            reason = f"{value!r} is not a positive number of tokens/s"
        ctx.ledger.dropped(shown(rel), pattern, reason)
    return rows


# --- facts/ads_channels.csv, agency_fees.csv, insurances.csv ----------------------------------

def ads_channels(ctx: Context) -> Rows:
    """Header only: without conversion rates no channel CAC exists (mapping.NO_CONVERSION_RATES)."""
    table = _table(ctx, "facts/ads_channels.csv")
    for line, record, _ in table.records() if table else ():
        ctx.ledger.dropped(table.file, f"row {line} ({record.get('channel_id', '?')})",
                           m.NO_CONVERSION_RATES)
    return []


def agency_fees(ctx: Context) -> Rows:
    table = _table(ctx, "facts/agency_fees.csv")
    rows = []
    for line, r, _ in table.records() if table else ():
        aid = r.get("agency_id", "?")
        where = f"row {line} ({aid})"
        fee_type = m.AGENCY_FEE_MODELS.get((r.get("fee_model", ""), r.get("unit", "")))
        value = decimal(r.get("value"))
        reason = (f"fee model {r.get('fee_model')} ({r.get('unit')}) has no exact D3 fee type "
                  "(monthly, one_off, pct_of_spend)" if fee_type is None
                  else f"currency {r.get('currency')}, D3 fees are EUR"
                  if r.get("currency", "EUR") != "EUR"
                  else "no fee value" if value is None or "agency_id" not in r else None)
        if reason is not None:
            ctx.ledger.dropped(table.file, where, reason)
            continue
        service = ": ".join(x for x in (r.get("agency_name"), r.get("service_type")) if x)
        source, url_in_notes = r.get("source_url"), False
        if source is None and r.get("notes", "").startswith("http"):
            source, url_in_notes = r["notes"], True  # the row's URL sits one cell early
        source = (source or "agency_fees.csv of the draft") + (
            f" ({r['source_date']})" if r.get("source_date") else "")
        ctx.row_from("inputs/facts/agency_fees.csv", table.file, where)
        rows.append([aid, service or aid, fee_type, number_text(value), "", source])
        if url_in_notes:
            ctx.ledger.converted(table.file, where, "source", (
                "an empty source_url with a URL in the notes cell to that URL as the source"))
        setup = decimal(r.get("setup_fee_value"))
        if setup is not None and r.get("setup_fee_currency", "EUR") == "EUR":
            ctx.row_from("inputs/facts/agency_fees.csv", table.file, f"{where} (its setup fee)")
            rows.append([f"{aid}_setup", f"{service or aid} (setup)", "one_off",
                         number_text(setup), "", source])
            ctx.ledger.converted(table.file, where, "inputs/facts/agency_fees.csv", (
                f"one row with a setup fee to two: {aid} {fee_type} {number_text(value)} EUR "
                f"and {aid}_setup one_off {number_text(setup)} EUR"))
        elif setup is not None:
            ctx.ledger.warn(table.file, where, f"setup fee in {r.get('setup_fee_currency')} "
                            "not imported", "D3 fees are EUR")
    return rows


def insurances(ctx: Context) -> tuple[Rows, frozenset[str]]:
    table = _table(ctx, "facts/insurances.csv")
    rows, kept = [], []
    for line, r, _ in table.records() if table else ():
        iid = r.get("insurer_id", "?")
        where = f"row {line} ({iid})"
        monthly = decimal(r.get("example_premium_eur_per_month"))
        if monthly is None or "insurer_id" not in r:
            ctx.ledger.dropped(table.file, where, "no premium (example_premium_eur_per_month "
                               "is empty), so no annual_premium_eur")
            continue
        annual = monthly * 12
        coverage = decimal(r.get("example_limit_eur"))
        product = ": ".join(x for x in (r.get("insurer_name"), r.get("product")) if x) or iid
        ctx.row_from("inputs/facts/insurances.csv", table.file, where)
        rows.append([iid, product, number_text(annual),
                     number_text(coverage) if coverage is not None else "",
                     r.get("source_url", "insurances.csv of the draft")])
        kept.append(iid)
        ctx.ledger.converted(table.file, where, "annual_premium_eur", (
            f"EUR {number_text(monthly)} per month to EUR {number_text(annual)} per year "
            f"(12 × {number_text(monthly)})"))
    return rows, frozenset(kept)
