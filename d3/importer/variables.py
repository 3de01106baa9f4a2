"""The draft's variables CSVs → D3's (paths renamed, treatments split into treatment +
distribution, an ``sd`` column, fractions on percent keys × 100 where the draft says so)."""

from __future__ import annotations

import math
import re
from decimal import Decimal, localcontext

from d3.core.variables import ALLOWED_ROOTS
from d3.importer import mapping as m
from d3.importer.convert import DIVIDEND, REINVEST, Context, no_effect, vat_policy
from d3.importer.emit import decimal, get_path, number_text, set_path
from d3.importer.source import SourceTable, shown

COLUMNS = ("variable_id", "scope", "path", "type", "unit", "min", "max", "step", "default",
           "treatment", "distribution", "sd", "notes")
_PCT_KEY = re.compile(r"_pct(_|$)")
_FRACTION_WORDS = ("fraction", "frac")


def fraction_evidence(record: dict[str, str], operator_value: object) -> str | None:
    """Why the numbers of a row on a percent key are fractions, or None: its unit or notes say
    fraction, or its default × 100 equals the operator file's value of the same key."""
    unit = record.get("unit", "").strip().lower()
    if unit in _FRACTION_WORDS:
        return f"its unit column says {unit}"
    if "fraction" in record.get("notes", "").lower():
        return "its notes say fraction"
    default, constant = decimal(record.get("default")), decimal(operator_value)
    if default is not None and constant is not None and default * 100 == constant:
        return (f"default {number_text(default)} × 100 = {number_text(constant)}, the operator "
                "file's value of the same key")
    return None


def looks_like_fractions(record: dict[str, str]) -> bool:
    values = [decimal(record.get(c)) for c in ("min", "max", "default")]
    return all(v is not None and 0 <= v <= 1 for v in values) and any(v for v in values)


def beta_sd(default: Decimal, hi: Decimal) -> Decimal | None:
    """The sd of the draft engine's beta (mean = default, concentration k = 50, on 0..1, or on
    0..100 when max > 1): scale × √(p(1 − p) / (k + 1)), p = default / scale."""
    scale = Decimal(100) if hi > 1 else Decimal(1)
    p = default / scale
    if not 0 < p < 1:
        return None
    with localcontext() as ctx:
        ctx.prec = 28
        return scale * (p * (1 - p) / (m.DRAFT_BETA_CONCENTRATION + 1)).sqrt()


def decimal_gcd(*values: Decimal) -> Decimal:
    """Greatest common divisor of decimals (gcd(50, 199) = 1, gcd(0.5, 0.75) = 0.25)."""
    places = max(max(0, -v.normalize().as_tuple().exponent) for v in values)
    scale = Decimal(10) ** places
    return Decimal(math.gcd(*(int(abs(v) * scale) for v in values))) / scale


def significant(value: Decimal) -> str:
    return number_text(Decimal(format(value, f".{m.SD_SIGNIFICANT_DIGITS}g")))


class _Rows:
    """One draft variables file being converted."""

    def __init__(self, ctx: Context, scope: str, table: SourceTable):
        self.ctx, self.scope, self.table = ctx, scope, table
        self.file, self.rel = table.file, m.SCOPE_FILES[scope]
        self.rel_out = f"variables/{scope}.csv"
        self.keys = m.KEYS[self.rel]
        self.records = list(table.records())
        self.by_path = {r.get("path", ""): (line, r) for line, r, _ in self.records}
        self.out: list[list[str]] = []

    def drop(self, where: str, reason: str) -> None:
        self.ctx.ledger.dropped(self.file, where, reason)

    def convert(self) -> list[list[str]]:
        ledger = self.ctx.ledger
        for name in self.table.header:
            rule = m.VARIABLE_COLUMNS.get(name)
            if rule is None:
                ledger.dropped(self.file, f"column {name}", "not a variables column")
            else:
                ledger.rule(self.file, f"column {name}", rule)
        for line, text in self.table.comments:
            ledger.comment(self.file, line, text)
        ledger.blank_lines[self.file] += self.table.blank_lines
        for line, record, cells in self.records:
            self.row(line, record, cells)
        return self.out

    def emit(self, where: str, cells: dict[str, str]) -> None:
        """Write a D3 row, remembering the draft row it comes from."""
        self.out.append([cells[c] for c in COLUMNS])
        self.ctx.row_from(f"inputs/{self.rel_out}", self.file, where)

    def cut_short(self, cells: tuple[str, ...]) -> str | None:
        """Why a row with fewer or more cells than the header cannot be read, or None. Only
        a missing notes cell is harmless; any other missing cell would fail D3's validation
        later, far from the row."""
        header = self.table.header
        if any(cells[len(header):]):
            return (f"{len(cells)} cells for {len(header)} columns (an unquoted comma?) — quote "
                    "the cell that holds a comma")
        missing = [h for h in header[len(cells):] if h and h != "notes"]
        if not missing:
            return None
        return (f"has {len(cells)} of {len(header)} cells; {', '.join(missing)} "
                f"{'is' if len(missing) == 1 else 'are'} missing — complete the row")

    def why_not(self, path: str, rule: m.Rule | None) -> str | None:
        """Why a row on the draft key ``path`` cannot become a D3 variable, or None."""
        if path in m.SD_ROWS:
            mean = self.by_path.get(m.SD_ROWS[path])
            return (f"merged: its default is the sd cell of row {mean[0]} "
                    f"({mean[1].get('variable_id')})" if mean else
                    f"no {m.SD_ROWS[path]} row to carry this sd")
        if rule is None or rule.kind == "dropped":
            return f"path {path}: {rule.note if rule else 'not a key of the original draft format'}"
        if not rule.target or rule.kind == "converted":
            return f"path {path} has no variable form in D3 ({rule.describe()})"
        target = m.target_key(rule, path)
        if not target.startswith(ALLOWED_ROOTS[self.scope]):
            return (f"{target} is not a key a {self.scope} variable may override (roots "
                    f"{', '.join(ALLOWED_ROOTS[self.scope])})")
        return None

    def row(self, line: int, record: dict[str, str], cells: tuple[str, ...] = ()) -> None:
        path, written = record.get("path", ""), record.get("treatment", "fixed")
        where = f"row {line} ({record.get('variable_id', '?')})"
        short = self.cut_short(cells) if cells else None
        if short is not None:
            self.drop(where, short)
            return
        if path in m.ENUM_KEYS:
            self.enum_row(where, path, record)
            return
        rule = m.rule_for(self.keys, path)
        treatment = m.TREATMENTS.get(written.strip().lower())
        reason = self.why_not(path, rule) or (
            f"unknown treatment {written!r}" if treatment is None else None)
        if reason is not None:
            self.drop(where, reason)
            return
        target = m.target_key(rule, path)
        if target == REINVEST:
            dividend = next((f"row {line} ({r.get('variable_id', '?')})"
                             for line, r, _ in self.records if m.rule_for(self.keys, r.get(
                                 "path", "")) is not None and m.target_key(m.rule_for(
                                     self.keys, r.get("path", "")), r.get("path", "")) ==
                             DIVIDEND), None)
            if dividend is not None:
                self.drop(where, f"a variable on reinvest_pct beside the dividend_pct {dividend}:"
                          " D3 derives reinvest_pct = 100 − dividend_pct, so only the dividend "
                          "row is kept")
                return
        cells = {c: record.get(c, "") for c in COLUMNS}
        cells.update(path=target, treatment=treatment[0], distribution=treatment[1])
        changes = ([f"treatment {written} to {treatment[0]} + distribution "
                    f"{treatment[1] or 'uniform'}"] if treatment[0] != written else [])
        changes += self.percent(where, path, target, record, cells)
        changes += self.dividend_share(cells)
        changes += self.sd(record, cells)
        changes += self.fixed_step(cells)
        self.lognormal_floor(where, cells)
        self.emit(where, cells)
        detail = no_effect(self.ctx, self.rel, cells["path"])
        if changes:
            self.ctx.ledger.rule(self.file, where, m.converted(cells["path"], "; ".join(changes)),
                                 detail=detail)
        else:  # the key's own outcome: mapped, or modelled by a feature
            self.ctx.ledger.rule(self.file, where, rule, target=target, detail=detail)

    def dividend_share(self, cells: dict[str, str]) -> list[str]:
        """A row on reinvest_pct without a dividend_pct row becomes the dividend row:
        dividend = 100 − reinvest, so min and max swap (D3 derives reinvest_pct from it)."""
        if cells["path"] != REINVEST:
            return []
        values = {c: decimal(cells[c]) for c in ("min", "max", "default")}
        if None in values.values():
            return []
        cells.update(path=DIVIDEND, min=number_text(100 - values["max"]),
                     max=number_text(100 - values["min"]),
                     default=number_text(100 - values["default"]))
        return [f"reinvest_pct to dividend_pct = 100 − reinvest_pct (min {cells['min']}, max "
                f"{cells['max']}, default {cells['default']}: min and max swapped)"]

    def lognormal_floor(self, where: str, cells: dict[str, str]) -> None:
        """A WARNING for a lognormal row with min ≤ 0, which D3's validation rejects (a
        lognormal is > 0): the user's numbers are kept, the fix is theirs to choose."""
        low = decimal(cells["min"])
        if cells["distribution"] == "lognormal" and low is not None and low <= 0:
            self.ctx.ledger.warn(self.file, where, f"random_lognormal with min "
                                 f"{number_text(low)}: D3's lognormal needs min > 0, so "
                                 "validation rejects this row as imported", "raise min above 0 "
                                 "(e.g. to its step) or use random_uniform / random_normal")

    def enum_row(self, where: str, path: str, record: dict[str, str]) -> None:
        """A row on a key that is an enum in D3: its default, converted, goes to the operator
        file (the operator-file handler already used it when the file has the key)."""
        treatment = record.get("treatment", "fixed")
        general = self.ctx.out["inputs/operator/general.yaml"]
        if not get_path(self.ctx.tree.docs.get(self.rel, {}), path)[0]:
            percent = decimal(record.get("default"))
            if percent is not None:
                set_path(general, path, vat_policy(percent)[0])
        found, value = get_path(general, path)
        where_to = f"{value} in {shown(self.rel)}" if found else "nothing (no usable default)"
        self.drop(where, f"a variable on {path}, an enum in D3: its default is converted and "
                  f"written as {where_to}")
        if treatment != "fixed":
            self.ctx.ledger.warn(self.file, where, f"the {treatment} sweep over {path} is "
                                 "lost", "D3's VAT policy is an enum; vary it by hand")

    def percent(self, where: str, path: str, target: str, record: dict[str, str],
                cells: dict[str, str]) -> list[str]:
        if not _PCT_KEY.search(target.rsplit(".", 1)[-1]) or not looks_like_fractions(record):
            return []
        found, constant = get_path(self.ctx.tree.docs.get(self.rel, {}), path)
        evidence = fraction_evidence(record, constant if found else None)
        shown_range = f"{record.get('min')}..{record.get('max')}"
        if evidence is None:
            self.ctx.ledger.warn(self.file, where, f"values {shown_range} (default "
                                 f"{record.get('default')}) on the percent key {target} look "
                                 "like fractions, but nothing in the draft says so; kept as "
                                 "written", "check the row: D3 reads _pct keys as 0..100")
            return []
        for column in ("min", "max", "step", "default"):
            value = decimal(record.get(column))
            if value is not None:
                cells[column] = number_text(value * 100)
        cells["unit"] = "percent"
        return [f"fraction to percent (× 100: {shown_range} → {cells['min']}..{cells['max']}, "
                f"default {cells['default']}; evidence: {evidence})"]

    def fixed_step(self, cells: dict[str, str]) -> list[str]:
        """A fixed row whose default is off its step grid (the draft did not check): the step
        becomes the largest one that keeps min, default and max on the grid — the row's value,
        its default, is unchanged."""
        values = [decimal(cells[c]) for c in ("min", "max", "step", "default")]
        if cells["treatment"] != "fixed" or None in values:
            return []
        lo, hi, step, default = values
        if step <= 0 or (default - lo) % step == 0:
            return []
        new = decimal_gcd(step, default - lo, hi - lo)
        cells["step"] = number_text(new)
        return [f"step {number_text(step)} to {cells['step']} (a fixed row: its value, the "
                f"default {number_text(default)}, is unchanged and now on the step grid)"]

    def sd(self, record: dict[str, str], cells: dict[str, str]) -> list[str]:
        distribution = cells["distribution"]
        if distribution not in ("normal", "lognormal", "beta"):
            return []
        default, hi = decimal(cells["default"]), decimal(cells["max"])
        sd_path = next((k for k, v in m.SD_ROWS.items() if v == record.get("path")), None)
        sd_row = self.by_path.get(sd_path) if sd_path else None
        if sd_row is not None and decimal(sd_row[1].get("default")) is not None:
            cells["sd"] = number_text(decimal(sd_row[1]["default"]))
            return [f"sd {cells['sd']} from row {sd_row[0]} ({sd_row[1].get('variable_id')})"]
        if default is None or hi is None:
            return []
        if distribution == "beta":
            sd = beta_sd(default, hi)
            if sd is None:
                return []
            cells["sd"] = significant(sd)
            return [f"sd {cells['sd']} from the draft engine's beta concentration "
                    f"k = {m.DRAFT_BETA_CONCENTRATION}"]
        share = Decimal(m.DRAFT_NORMAL_SD_OF_MEAN if distribution == "normal"
                        else m.DRAFT_LOGNORMAL_SD_OF_MEAN)
        cells["sd"] = number_text(abs(default) * share)
        return [f"sd {cells['sd']} = {number_text(share * 100)} % of the default (the draft "
                "engine's fallback without an sd)"]


def convert_variables(ctx: Context) -> dict[str, list[list[str]]]:
    """``{output file: rows}`` for the three variables files (header-only when absent)."""
    out = {}
    for scope in ("general", "public_tap", "private_tap"):
        rel = f"variables/{scope}.csv"
        table = ctx.tree.tables.get(rel)
        out[f"inputs/{rel}"] = _Rows(ctx, scope, table).convert() if table else []
    return out
