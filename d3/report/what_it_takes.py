"""The report's "What it takes" section, at the top (issue 17): the smallest change to the
founder's declared decisions that makes the plan fundable — current → proposed, what each
change buys, the probability reached — and the ``dvc exp run`` command that applies it, from
``solve_best.json``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from d3.report.data import ReportData
from d3.report.formatting import (
    MISSING,
    esc,
    eur_text,
    frac_pct_text,
    money_text,
    pct_text,
    share_text,
    table,
)
from d3.report.summary_text import short_name

TITLE = "## What it takes"


def value_text(key: str, value: Any) -> str:
    """A decision's value in the key's unit: EUR keys in whole euros, ``_pct`` keys with
    ``%``, anything else as written."""
    name = key.rpartition(".")[2]
    if isinstance(value, bool):
        return "true" if value else "false"
    if name.endswith("_eur") and isinstance(value, int | float):
        return f"EUR {money_text(value)}"
    if name.endswith("_pct") and isinstance(value, int | float):
        return f"{value:g} %"
    return str(value)


def decision_name(key: str) -> str:
    """``inputs/operator/general.yaml:loan.amount_eur`` → ``general: loan.amount_eur``."""
    file, _, dotted = key.partition(":")
    return f"{file.rpartition('/')[2].removesuffix('.yaml')}: {dotted}"


def failures_text(failures: Sequence[Mapping[str, Any]]) -> str:
    """``the minimum free cash (62.0 % of futures) and the autoscaler's service level``; a
    grid point is named when the failures span more than one."""
    grids = {f["grid_index"] for f in failures}
    parts = []
    for f in failures:
        where = f" at grid point {f['grid_index']}" if len(grids) > 1 else ""
        p = "" if f["probability"] is None else f" ({frac_pct_text(f['probability'])} of futures)"
        parts.append(f"{short_name(f['name'])}{where}{p}")
    return " and ".join([", ".join(parts[:-1]), parts[-1]]) if len(parts) > 1 else "".join(parts)


def blocked_lines(best: Mapping[str, Any]) -> list[str]:
    """Each criterion the closest candidate fails, with the acceptance document's detail
    (which models, which months)."""
    failing = {(f["grid_index"], f["name"]) for f in best["proposed"]["failed_criteria"]}
    grid = best["acceptance"].get("grid", {})
    lines = [f"- {short_name(c['name'])}: {esc(c['detail'])}"
             for g, info in sorted(grid.items(), key=lambda kv: int(kv[0]))
             for c in info["criteria"] if (int(g), c["name"]) in failing]
    return [*lines, "", "To go further, widen the decisions' ranges or declare other keys "
            "(`solve.decisions` in `params.yaml`).", ""] if lines else []


def buys_text(decision: Mapping[str, Any], proposed: Mapping[str, Any]) -> str:
    """What undoing this change alone does to the proposal."""
    without = decision.get("without_it")
    if not decision["changed"] or without is None:
        return MISSING
    if without["invalid"]:
        return "without it: the other values are not valid together"
    if without["feasible"]:
        return (f"not needed alone: without it still fundable (p50 net income "
                f"{eur_text(without['net_income_p50_eur'])})")
    held = {(f["grid_index"], f["name"]) for f in proposed["failed_criteria"]}
    new = [f for f in without["failed_criteria"] if (f["grid_index"], f["name"]) not in held]
    return f"without it fails: {failures_text(new)}" if new else \
        "without it: the same criteria fail"


def _decision_rows(best: Mapping[str, Any]) -> list[dict[str, str]]:
    rows = []
    for dec in best["decisions"]:
        pinned = f" (fixes {dec['variable']})" if dec["variable"] and dec["argument"] else ""
        rows.append({"decision": decision_name(dec["key"]) + pinned,
                     "current": value_text(dec["key"], dec["current"]),
                     "proposed": value_text(dec["key"], dec["proposed"])
                     if dec["changed"] else "unchanged",
                     "buys": buys_text(dec, best["proposed"])})
    return rows


def _outcome_lines(best: Mapping[str, Any]) -> list[str]:
    cur, new = best["current"], best["proposed"]
    bar = share_text(best["min_acceptance_probability"])
    binding = new["binding_probability_pct"]
    reached = (f"the binding criterion decided over the futures holds in "
               f"{pct_text(binding)} of them (required {bar})" if binding is not None
               else "no criterion is decided over the futures")
    return [f"At the plan's full sample count {reached}; the lowest p50 net income over the "
            f"horizon goes from {eur_text(cur['net_income_p50_eur'])} to "
            f"{eur_text(new['net_income_p50_eur'])} and the highest funding need at 90 % "
            f"confidence from {eur_text(cur['funding_need_p90_eur'])} to "
            f"{eur_text(new['funding_need_p90_eur'])}.", ""]


def _command_lines(best: Mapping[str, Any], what: str) -> list[str]:
    if not best["arguments"]:
        return []
    return [f"{what} (in the repository; it reproduces these numbers exactly — "
            "`solve_best.json` holds its KPIs and acceptance):", "", "```bash",
            best["command"], "```", ""]


def _pinned_note(best: Mapping[str, Any]) -> list[str]:
    pinned = [d["variable"] for d in best["decisions"] if d["variable"] and d["argument"]]
    if not pinned:
        return []
    return [f"A decision on a key that a variable sets ({', '.join(map(esc, pinned))}) fixes "
            "that variable at the value (`fixed_variables` in `params.yaml`) in every candidate, "
            "the current one included; its current value is the variable's default.", ""]


def what_it_takes_section(d: ReportData) -> list[str]:
    """The section, or one line when the solver did not run or has no decisions."""
    best = d.solve_best
    if not best or best["status"] == "no_decisions":
        return [TITLE, "", "No decisions are declared for the solver (`solve.decisions` in "
                "`params.yaml`), so the report does not say what would make the plan "
                "fundable.", ""]
    n = best["evaluations"]["total"]
    columns = ("decision", "current", "proposed", "buys")
    headers = ("decision", "current", "proposed", "what the change buys")
    if best["status"] == "already_fundable":
        return [TITLE, "", f"**The plan is fundable as it stands**: with every declared "
                f"decision at its current value, every criterion of every grid point holds "
                f"(`solve_best.json`, {n} evaluations).", "", *_outcome_lines(best),
                *_pinned_note(best)]
    if best["status"] == "fundable":
        head = (f"**The smallest change to your decisions that makes the plan fundable** "
                f"(the solver, `solve_best.json`: {n} evaluations on common random numbers, "
                f"the best candidates confirmed at the full sample count, "
                "`solve_candidates.csv`):")
        blocked, what = [], "Apply it as an experiment"
    else:
        head = (f"**No combination of the declared decisions, within their ranges, makes the "
                f"plan fundable** ({n} evaluations, `solve_candidates.csv`). The closest "
                "candidate:")
        blocked = [f"It still fails {failures_text(best['proposed']['failed_criteria'])}:",
                   "", *blocked_lines(best)]
        what = "Explore the closest candidate as an experiment"
    return [TITLE, "", head, "", *table(_decision_rows(best), columns, headers), "", *blocked,
            *_outcome_lines(best), *_command_lines(best, what), *_pinned_note(best)]
