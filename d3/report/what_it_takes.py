"""The report's "What it takes" section, at the top (issue 17): the smallest change to the
founder's declared decisions that makes the plan fundable — current → proposed, what each
change buys (and, in bold, when it worsens the lender's cash measures), the probability
reached — and the ``dvc exp run`` command that applies it, from ``solve_best.json``. When
nothing fundable was found, what the search budget covered and how to search further. Grid
points are named by their knob values (``grid_label``), each failed criterion said once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from d3.report.data import ReportData
from d3.report.formatting import (
    MISSING,
    Md,
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


def grid_names(outcome: Mapping[str, Any]) -> dict[int, str]:
    """Grid index → the knob values that define the grid point in this candidate's own grid
    (``grid_labels`` of ``solve_best.json``; ``grid point N`` when the document has none)."""
    labels = outcome.get("grid_labels") or {}
    indices = {f["grid_index"] for f in outcome.get("failed_criteria", ())}
    return {**{g: f"grid point {g}" for g in indices}, **{int(g): v for g, v in labels.items()}}


def _where(labels: Sequence[str], n_grid: int) -> str:
    """``at every grid point``, ``at pub_target_margin=45%, pub_target_margin=55%``, or
    nothing when the candidate has one grid point."""
    if n_grid <= 1:
        return ""
    return "at every grid point" if len(labels) >= n_grid else "at " + ", ".join(labels)


def _and_list(parts: Sequence[str]) -> str:
    return " and ".join([", ".join(parts[:-1]), parts[-1]]) if len(parts) > 1 else "".join(parts)


def _criterion_text(name: str, hits: Sequence[tuple[str, float | None]], n_grid: int) -> str:
    """One criterion failed at one or more grid points, said once: ``the minimum free cash
    (62.0 % of futures at every grid point)``; probabilities that differ are given per grid
    point."""
    where = _where([label for label, _ in hits], n_grid)
    probabilities = list(dict.fromkeys(p for _, p in hits))
    if probabilities == [None]:
        detail = where
    elif len(probabilities) == 1:
        detail = " ".join(filter(None, [f"{frac_pct_text(probabilities[0])} of futures", where]))
    else:
        detail = "; ".join(f"{frac_pct_text(p)}{' of futures' if i == 0 else ''} at {label}"
                           for i, (label, p) in enumerate(hits))
    return f"{short_name(name)} ({detail})" if detail else short_name(name)


def failures_text(failures: Sequence[Mapping[str, Any]], outcome: Mapping[str, Any]) -> str:
    """``failures`` (of ``outcome``, a ``solve_best.json`` outcome) said once per criterion,
    in the order they first fail, each with the grid points (by their knob values) where it
    fails: ``the fleet cap (0.0 % of futures) and the autoscaler's service level (at every
    grid point)``."""
    names = grid_names(outcome)
    n_grid = len(outcome.get("grid_labels") or {}) or len({f["grid_index"] for f in failures})
    hits: dict[str, list[tuple[str, float | None]]] = {}
    for f in failures:
        hits.setdefault(f["name"], []).append((names[f["grid_index"]], f["probability"]))
    return _and_list([_criterion_text(name, h, n_grid) for name, h in hits.items()])


def blocked_lines(best: Mapping[str, Any]) -> list[str]:
    """Each criterion the closest candidate fails, with the acceptance document's detail
    (which models, which months): one line per distinct detail, naming the grid points where
    it fails by their knob values (none named when the candidate has one grid point)."""
    proposed = best["proposed"]
    names = grid_names(proposed)
    failing = {(f["grid_index"], f["name"]) for f in proposed["failed_criteria"]}
    grid = best["acceptance"].get("grid", {})
    groups: dict[tuple[str, str], list[str]] = {}
    for g, info in sorted(grid.items(), key=lambda kv: int(kv[0])):
        for c in info["criteria"]:
            if (int(g), c["name"]) in failing:
                groups.setdefault((c["name"], c["detail"]), []).append(names[int(g)])
    order = list(dict.fromkeys(name for name, _ in groups))
    lines = []
    for (name, detail), labels in sorted(groups.items(), key=lambda kv: order.index(kv[0][0])):
        where = _where(labels, len(grid))
        lines.append(f"- {short_name(name)}{f' ({esc(where)})' if where else ''}: {esc(detail)}")
    return [*lines, ""] if lines else []


# A change of less than a euro is rounding, not a worse plan.
_EUR_NOISE = 1.0


def worse_cash_text(worse: Mapping[str, Any], better: Mapping[str, Any], than: str) -> str:
    """What ``worse`` does to the lender's two cash measures compared with ``better`` (both
    ``solve_best.json`` outcomes), with both numbers: ``raises the funding need at 90 %
    confidence from EUR 5,000 (without it) to EUR 35,000``; empty when neither is worse by a
    euro or more (or either is unknown)."""
    parts = []
    need, need_ref = worse.get("funding_need_p90_eur"), better.get("funding_need_p90_eur")
    if need is not None and need_ref is not None and need - need_ref >= _EUR_NOISE:
        parts.append(f"raises the funding need at 90 % confidence from {eur_text(need_ref)} "
                     f"({than}) to {eur_text(need)}")
    cash, cash_ref = worse.get("lowest_free_cash_p10_eur"), better.get("lowest_free_cash_p10_eur")
    if cash is not None and cash_ref is not None and cash_ref - cash >= _EUR_NOISE:
        parts.append(f"lowers the p10 lowest free cash from {eur_text(cash_ref)} ({than}) to "
                     f"{eur_text(cash)}")
    return "; ".join(parts)


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
    names = grid_names(proposed)
    held = {(names[f["grid_index"]], f["name"]) for f in proposed["failed_criteria"]}
    undone = grid_names(without)
    new = [f for f in without["failed_criteria"]
           if (undone[f["grid_index"]], f["name"]) not in held]
    return f"without it fails: {failures_text(new, without)}" if new else \
        "without it: the same criteria fail"


def buys_cell(decision: Mapping[str, Any], proposed: Mapping[str, Any]) -> str:
    """The "what the change buys" cell: :func:`buys_text`, and in bold when the change
    worsens the funding need or the p10 lowest free cash (the proposal against the proposal
    without this change — e.g. a loan dropped to 0 lets the DSCR covenant pass and leaves a
    cash hole)."""
    text = buys_text(decision, proposed)
    without = decision.get("without_it")
    if not decision["changed"] or without is None or without["invalid"]:
        return text
    worse = worse_cash_text(proposed, without, "without it")
    return Md(f"{esc(text)}; **worse for cash:** {esc(worse)}") if worse else text


def _decision_rows(best: Mapping[str, Any]) -> list[dict[str, str]]:
    rows = []
    for dec in best["decisions"]:
        pinned = f" (fixes {dec['variable']})" if dec["variable"] and dec["argument"] else ""
        rows.append({"decision": decision_name(dec["key"]) + pinned,
                     "current": value_text(dec["key"], dec["current"]),
                     "proposed": value_text(dec["key"], dec["proposed"])
                     if dec["changed"] else "unchanged",
                     "buys": buys_cell(dec, best["proposed"])})
    return rows


def _outcome_lines(best: Mapping[str, Any]) -> list[str]:
    cur, new = best["current"], best["proposed"]
    bar = share_text(best["min_acceptance_probability"])
    binding = new["binding_probability_pct"]
    reached = (f"the binding criterion decided over the futures holds in "
               f"{pct_text(binding)} of them (required {bar})" if binding is not None
               else "no criterion is decided over the futures")
    changes = [f"the lowest p50 net income over the horizon goes from "
               f"{eur_text(cur['net_income_p50_eur'])} to {eur_text(new['net_income_p50_eur'])}",
               f"the highest funding need at 90 % confidence from "
               f"{eur_text(cur['funding_need_p90_eur'])} to "
               f"{eur_text(new['funding_need_p90_eur'])}"]
    if "lowest_free_cash_p10_eur" in cur and "lowest_free_cash_p10_eur" in new:
        changes.append(f"the p10 lowest free cash from "
                       f"{eur_text(cur['lowest_free_cash_p10_eur'])} to "
                       f"{eur_text(new['lowest_free_cash_p10_eur'])}")
    return [f"At the plan's full sample count {reached}; {_and_list(changes)}.", "",
            *_worse_than_now(best)]


def _worse_than_now(best: Mapping[str, Any]) -> list[str]:
    """A warning when the proposal leaves the lender with a bigger cash hole than the
    current plan, whatever criteria it makes pass."""
    if best["status"] == "already_fundable":
        return []
    worse = worse_cash_text(best["proposed"], best["current"], "current plan")
    return [f"**Worse for cash than the current plan:** the proposal {esc(worse)}. Check "
            "that the money is there before applying it.", ""] if worse else []


def _search_head(best: Mapping[str, Any]) -> str:
    """The head of an infeasible search: what the budget covered, that it is not a proof
    (unless it saw every combination) and how to search further."""
    counts = best["evaluations"]
    candidates = counts.get("candidates", counts["total"])
    trials = best.get("settings", {}).get("trials")
    budget = f"budget `solve.trials={trials}`" if trials is not None else "the search budget"
    screened = counts.get("screen", 0)
    how = (f"({budget}: {screened} screened on a smaller sample, "
           f"{counts['total'] - screened} evaluations at the full sample count; "
           "`solve_candidates.csv`)")
    wider = ("widen the decisions' `low`/`high` or declare other keys (`solve.decisions` in "
             "`params.yaml`)")
    combinations = counts.get("combinations")
    if combinations and candidates >= combinations:
        return (f"**None of the {candidates} candidates evaluated makes the plan fundable** "
                f"{how}: they are every combination the decisions' ranges allow. To go "
                f"further, {wider}. The closest candidate:")
    space = (f" out of the {combinations:,} combinations the decisions' ranges allow"
             if combinations else "")
    return (f"**None of the {candidates} candidates evaluated makes the plan fundable** "
            f"{how}. This is a search{space}, not a proof that no fundable plan exists: to "
            f"search further, raise `solve.trials` (and `solve.confirm`), {wider}. The "
            "closest candidate:")


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
        head = _search_head(best)
        proposed = best["proposed"]
        blocked = [f"It still fails {esc(failures_text(proposed['failed_criteria'], proposed))}:",
                   "", *blocked_lines(best)]
        what = "Explore the closest candidate as an experiment"
    return [TITLE, "", head, "", *table(_decision_rows(best), columns, headers), "", *blocked,
            *_outcome_lines(best), *_command_lines(best, what), *_pinned_note(best)]
