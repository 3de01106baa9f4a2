"""The report's "What it takes" section, at the top (issue 17): the nearest fundable plan the
search found — current → proposed, what each change buys (and, in bold, when it worsens the
lender's cash measures, and what it breaks: a criterion met without it and failed with it),
the binding criterion reached on the plan's own futures and on independent ones (the
re-check), named, with its Monte Carlo standard error and whether it is a close call — and the
``dvc exp run`` command that applies it, from ``solve_best.json``. When nothing fundable was
found, what the search budget covered (evaluations against distinct candidates), what the
closest candidate still fails and what it breaks that the current plan meets, and how to
search further. Grid points are named by their knob values (``grid_label``), each failed
criterion said once; the measures are worded as the executive summary words them (the first
``horizon`` months, the loan term)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from d3.report.data import ReportData
from d3.report.formatting import (
    MISSING,
    Md,
    esc,
    eur_text,
    frac_pct_text,
    money_text,
    share_text,
    table,
)
from d3.report.summary_text import short_name
from d3.solve.coverage import every_combination_evaluated

TITLE = "## What it takes"


# A key's unit, from its name: ``_eur`` or ``_pct`` as the last part or followed by a
# qualifier (``amount_eur``, ``base_fee_eur_per_month``, ``interest_rate_pct_flat``,
# ``churn_pct_mom``, ``contingency_pct_of_costs``).
_EUR_KEY = re.compile(r"_eur(_|$)")
_PCT_KEY = re.compile(r"_pct(_|$)")


def value_text(key: str, value: Any) -> str:
    """A decision's value in the key's unit: EUR keys in whole euros, ``_pct`` keys with
    ``%`` (the qualifiers ``_per_month``, ``_flat``, ``_mom``, ``_of_costs``, … included),
    anything else as written."""
    name = key.rpartition(".")[2]
    if isinstance(value, bool):
        return "true" if value else "false"
    if _EUR_KEY.search(name) and isinstance(value, int | float):
        return f"EUR {money_text(value)}"
    if _PCT_KEY.search(name) and isinstance(value, int | float):
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
    """``at every grid point``, ``at pub_target_margin=45%, pub_target_margin=55%`` (``; ``
    between grid points named by several knobs), or nothing when the candidate has one grid
    point."""
    if n_grid <= 1:
        return ""
    if len(labels) >= n_grid:
        return "at every grid point"
    # Labels of several knobs hold ", " themselves: then "; " between grid points.
    return "at " + ("; " if any(", " in label for label in labels) else ", ").join(labels)


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


@dataclass(frozen=True)
class Measures:
    """The lender's measures as the report's executive summary words them, over the grid
    points: the p50 net income and the funding need at 90 % confidence over the first
    ``horizon`` months, the p10 lowest free cash over the loan term (``term``: e.g. "whole
    60-month loan term")."""

    horizon: int
    term: str

    @property
    def names(self) -> tuple[tuple[str, str], ...]:
        """(``solve_best.json`` key, words) of the three measures, in the report's order."""
        h = self.horizon
        return (("net_income_p50_eur", f"the p50 net income over the first {h} months"),
                ("funding_need_p90_eur",
                 f"the funding need at 90 % confidence for the first {h} months"),
                ("lowest_free_cash_p10_eur", f"the p10 lowest free cash over the {self.term}"))


TERM_KEY = "loan.term_months"


def measures_of(d: ReportData, best: Mapping[str, Any]) -> Measures:
    """The measures' words for this report: its horizon, and the loan term in months unless
    the proposal changes it (then "whole loan term", each candidate over its own)."""
    changed = any(dec["changed"] and dec["key"].endswith(":" + TERM_KEY)
                  for dec in best.get("decisions", ()))
    term = "whole loan term" if changed else f"whole {d.term_months}-month loan term"
    return Measures(d.horizon_months, term)


def worse_cash_text(worse: Mapping[str, Any], better: Mapping[str, Any], than: str,
                    measures: Measures) -> str:
    """What ``worse`` does to the lender's two cash measures compared with ``better`` (both
    ``solve_best.json`` outcomes), with both numbers: ``raises the funding need at 90 %
    confidence for the first 24 months from EUR 5,000 (without it) to EUR 35,000``; empty
    when neither is worse by a euro or more (or either is unknown)."""
    names = dict(measures.names)
    parts = []
    need, need_ref = worse.get("funding_need_p90_eur"), better.get("funding_need_p90_eur")
    if need is not None and need_ref is not None and need - need_ref >= _EUR_NOISE:
        parts.append(f"raises {names['funding_need_p90_eur']} from {eur_text(need_ref)} "
                     f"({than}) to {eur_text(need)}")
    cash, cash_ref = worse.get("lowest_free_cash_p10_eur"), better.get("lowest_free_cash_p10_eur")
    if cash is not None and cash_ref is not None and cash_ref - cash >= _EUR_NOISE:
        parts.append(f"lowers {names['lowest_free_cash_p10_eur']} from {eur_text(cash_ref)} "
                     f"({than}) to {eur_text(cash)}")
    return "; ".join(parts)


def broken(outcome: Mapping[str, Any], reference: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The failures of ``outcome`` that ``reference`` does not have: criteria that
    ``reference`` meets at every one of its grid points (the two may have different grids —
    a pinned axis leaves the grid — so a criterion is matched by name). What a change
    causes, as opposed to what it leaves failing."""
    failing = {f["name"] for f in reference.get("failed_criteria", ())}
    return [f for f in outcome.get("failed_criteria", ()) if f["name"] not in failing]


def _held_probability(name: str, reference: Mapping[str, Any]) -> float | None:
    """The lowest probability of criterion ``name`` over ``reference``'s grid points (None:
    a pass/fail criterion, or a document without its criteria)."""
    ps = [c["probability"] for c in reference.get("criteria", ())
          if c["name"] == name and c["probability"] is not None]
    return min(ps) if ps else None


def breaks_text(caused: Sequence[Mapping[str, Any]], outcome: Mapping[str, Any],
                reference: Mapping[str, Any]) -> str:
    """Each criterion a change breaks, said once, with its probability before → after:
    ``the fleet cap (100.0 % → 0.0 % of futures)``, ``the autoscaler's service level (met →
    failed)`` (a pass/fail criterion); the grid points named when the outcome has several."""
    names = grid_names(outcome)
    n_grid = len(outcome.get("grid_labels") or {})
    by_name: dict[str, list[Mapping[str, Any]]] = {}
    for f in caused:
        by_name.setdefault(f["name"], []).append(f)
    parts = []
    for name, hits in by_name.items():
        after = [f["probability"] for f in hits if f["probability"] is not None]
        before = _held_probability(name, reference)
        change = (f"{frac_pct_text(before) if before is not None else 'met'} → "
                  f"{frac_pct_text(min(after))} of futures" if after
                  else "met → failed")
        where = _where([names[f["grid_index"]] for f in hits], n_grid)
        parts.append(f"{short_name(name)} ({change}{f' {where}' if where else ''})")
    return _and_list(parts)


def buys_text(decision: Mapping[str, Any], proposed: Mapping[str, Any]) -> str:
    """What undoing this change alone does to the proposal: the criteria that then fail
    ("without it fails"), and the criteria the change itself breaks — failed by the proposal,
    met without the change ("breaks", before → after)."""
    without = decision.get("without_it")
    if not decision["changed"] or without is None:
        return MISSING
    if without["invalid"]:
        return "without it: the other values are not valid together"
    caused = broken(proposed, without)
    breaks = f"breaks: {breaks_text(caused, proposed, without)}" if caused else ""
    if without["feasible"]:
        if breaks:
            return f"{breaks}; without it fundable"
        return (f"not needed alone: without it still fundable (p50 net income "
                f"{eur_text(without['net_income_p50_eur'])})")
    names = grid_names(proposed)
    held = {(names[f["grid_index"]], f["name"]) for f in proposed["failed_criteria"]}
    undone = grid_names(without)
    new = [f for f in without["failed_criteria"]
           if (undone[f["grid_index"]], f["name"]) not in held]
    buys = f"without it fails: {failures_text(new, without)}" if new else ""
    if buys or breaks:
        return "; ".join(filter(None, [buys, breaks]))
    return "without it: the same criteria fail"


def buys_cell(decision: Mapping[str, Any], proposed: Mapping[str, Any],
              measures: Measures) -> str:
    """The "what the change buys" cell: :func:`buys_text`, and in bold when the change
    worsens the funding need or the p10 lowest free cash (the proposal against the proposal
    without this change — e.g. a loan dropped to 0 lets the DSCR covenant pass and leaves a
    cash hole)."""
    text = buys_text(decision, proposed)
    without = decision.get("without_it")
    if not decision["changed"] or without is None or without["invalid"]:
        return text
    worse = worse_cash_text(proposed, without, "without it", measures)
    return Md(f"{esc(text)}; **worse for cash:** {esc(worse)}") if worse else text


_TREATMENT = {"random": "drawn", "low_to_high": "swept"}


def current_text(decision: Mapping[str, Any]) -> str:
    """The founder's value: ``30 %``, or for a key a variable draws or sweeps, how: ``drawn
    (values 20|30|40)``, ``swept (40 to 60 in steps of 10)``."""
    if decision.get("varies") and decision.get("current_domain"):
        how = _TREATMENT.get(decision.get("treatment"), "varies")
        return f"{how} ({decision['current_domain']})"
    return value_text(decision["key"], decision["current"])


def _decision_rows(best: Mapping[str, Any], measures: Measures) -> list[dict[str, str]]:
    rows = []
    for dec in best["decisions"]:
        pinned = f" (fixes {dec['variable']})" if dec["variable"] and dec["argument"] else ""
        rows.append({"decision": decision_name(dec["key"]) + pinned,
                     "current": current_text(dec),
                     "proposed": value_text(dec["key"], dec["proposed"])
                     if dec["changed"] else "unchanged",
                     "buys": buys_cell(dec, best["proposed"], measures)})
    return rows


def _changes_anything(best: Mapping[str, Any]) -> bool:
    return any(d["changed"] for d in best["decisions"])


def _grid_named(outcome: Mapping[str, Any], key: str) -> str:
    """`` (at pub_margin=45%)``: the grid point a measure over the grid points comes from,
    when the outcome has several (so the number can be found in §1's table)."""
    labels = outcome.get("grid_labels") or {}
    g = (outcome.get("worst_grid") or {}).get(key)
    if len(labels) <= 1 or g is None or str(g) not in labels:
        return ""
    return f" (at {labels[str(g)]})"


def _measure_texts(cur: Mapping[str, Any], new: Mapping[str, Any], changed: bool,
                   measures: Measures) -> list[str]:
    """The KPIs over the grid points, ``from X (at the grid point it comes from) to Y`` — or
    ``is X`` when the candidate is the founder's plan."""
    out = []
    for i, (key, words) in enumerate(measures.names):
        name = f"the {'highest' if key.startswith('funding') else 'lowest'}, across grid " \
               f"points, of {words}"
        if key not in cur or key not in new:
            continue
        if changed:  # the first clause has the verb; the others share it
            verb = "goes from" if i == 0 else "from"
            out.append(f"{name} {verb} {eur_text(cur[key])}{_grid_named(cur, key)} to "
                       f"{eur_text(new[key])}{_grid_named(new, key)}")
        else:
            out.append(f"{name} {'is ' if i == 0 else ''}{eur_text(new[key])}"
                       f"{_grid_named(new, key)}")
    return out


def binding_text(outcome: Mapping[str, Any], threshold: float) -> str:
    """The binding criterion (the lowest probability among those decided over the futures)
    named, with the grid point when there are several, its Monte Carlo standard error
    (between replicates) and, when within two of them of the threshold, that it is a close
    call: ``the binding criterion, the DSCR covenant (at pub_margin=45%), holds in 90.3 % ±
    0.4 % of futures (± one between-replicate standard error; required 90 %) — a close
    call: …``."""
    b = outcome.get("binding_criterion")
    if not b:
        return "no criterion is decided over the futures"
    labels = outcome.get("grid_labels") or {}
    where = f" (at {labels[str(b['grid_index'])]})" if len(labels) > 1 else ""
    bar = share_text(threshold)
    se = b.get("probability_se")
    if se is None:
        spread, note = "", "no Monte Carlo standard error: one replicate per grid point; "
    else:
        spread, note = f" ± {frac_pct_text(se)}", "± one between-replicate standard error; "
    text = (f"the binding criterion, {short_name(b['name'])}{where}, holds in "
            f"{frac_pct_text(b['probability'])}{spread} of futures ({note}required {bar})")
    if b.get("close_call"):
        text += (f" — **a close call**: within two standard errors of the {bar} required, so "
                 "more replicates (`run.random_runs_per_simulation`) could tip it")
    return text


def full_count_text(best: Mapping[str, Any]) -> str:
    """What the solver's "full count" was: the plan's own sample count, or the smaller count
    of ``solve.confirm_simulations_per_run`` (``settings`` of ``solve_best.json``)."""
    n = best.get("settings", {}).get("confirm_simulations_per_run")
    return ("the plan's full sample count" if n is None else
            f"{n:,} Monte Carlo paths per replicate (solve.confirm_simulations_per_run)")


def _outcome_lines(best: Mapping[str, Any], measures: Measures) -> list[str]:
    new = best["proposed"]
    threshold = best["min_acceptance_probability"]
    changes = _measure_texts(best["current"], new, _changes_anything(best), measures)
    lines = [f"At {full_count_text(best)} {binding_text(new, threshold)}.", ""]
    if changes:
        first = _and_list(changes)
        lines += [f"{first[0].upper()}{first[1:]}.", ""]
    return [*lines, *_recheck_lines(best), *_worse_than_now(best, measures)]


_SUBJECT = {"already_fundable": "the plan", "fundable": "the proposal"}


def _recheck_lines(best: Mapping[str, Any]) -> list[str]:
    """The proposal re-evaluated on independent futures (``recheck``): the search tuned it on
    the plan's own futures, where it looks better than on others (optimisation bias); those
    decide the status, since the command reproduces them."""
    r = best.get("recheck")
    if not r or "feasible" not in r:
        return []
    subject = _SUBJECT.get(best["status"], "the closest candidate")
    holds = (f"; there {binding_text(r, best['min_acceptance_probability'])}"
             if r.get("binding_criterion") else "")
    verdict = "fundable there too" if r["feasible"] else \
        f"not fundable there: it fails {failures_text(r['failed_criteria'], r)}"
    head = ("**Fundable on the plan's own futures only.** "
            if best["status"] == "fundable" and not r["feasible"] else "")
    return [f"{head}Re-checked on independent random futures (seed {r['seed']}, which the "
            f"search never saw), {subject} is {esc(verdict)}{holds}. The plan's own futures — "
            "those the command reproduces — decide the status; the re-check shows how much "
            "of it the search owes to the futures it was tuned on.", ""]


def _worse_than_now(best: Mapping[str, Any], measures: Measures) -> list[str]:
    """A warning when the proposal leaves the lender with a bigger cash hole than the
    current plan, whatever criteria it makes pass."""
    if best["status"] == "already_fundable":
        return []
    worse = worse_cash_text(best["proposed"], best["current"], "current plan", measures)
    return [f"**Worse for cash than the current plan:** the proposal {esc(worse)}. Check "
            "that the money is there before applying it.", ""] if worse else []


def evaluations_text(counts: Mapping[str, Any]) -> str:
    """How many evaluations ran and why they outnumber the distinct candidates (``counts``:
    ``evaluations`` of ``solve_best.json``): ``102 evaluations — 60 screened on a smaller
    sample, 42 at the full sample count; 4 of them evaluate a candidate again (3 screened
    candidates confirmed at the full count, 1 re-check on independent futures), so 98
    distinct candidates``."""
    total, screened = counts["total"], counts.get("screen", 0)
    candidates = counts.get("candidates", total)
    head = (f"{total} evaluations — {screened} screened on a smaller sample, "
            f"{total - screened} at the full sample count")
    repeated = total - candidates
    if not repeated:
        return f"{head}, each a distinct candidate"
    # Screening and the full count each evaluate a candidate once; a candidate comes back
    # when the full count confirms a screened one, when screening's trial 0 (every decision
    # at its current value) is the founder's plan, and in the re-check (other futures).
    again = counts.get("screened_again", 0)
    current = counts.get("current_screened", 0)
    recheck = repeated - again - current
    why = [f"{again} screened candidate{'s' if again != 1 else ''} confirmed at the full "
           "count" if again else "",
           "your plan screened again as trial 0" if current else "",
           f"{recheck} re-check{'s' if recheck != 1 else ''} on independent futures"
           if recheck else ""]
    return (f"{head}; {repeated} of them {'evaluates' if repeated == 1 else 'evaluate'} a "
            f"candidate again ({', '.join(filter(None, why))}), so {candidates} distinct "
            f"candidate{'s' if candidates != 1 else ''}")


def _search_head(best: Mapping[str, Any]) -> str:
    """The head of an infeasible search: what the budget covered, that it is not a proof
    (unless it saw every combination) and how to search further."""
    counts = best["evaluations"]
    candidates = counts.get("candidates", counts["total"])
    trials = best.get("settings", {}).get("trials")
    budget = f"budget `solve.trials={trials}`" if trials is not None else "the search budget"
    how = f"({budget}: {evaluations_text(counts)}; `solve_candidates.csv`)"
    wider = ("widen the decisions' `low`/`high` or declare other keys (`solve.decisions` in "
             "`params.yaml`)")
    combinations = counts.get("combinations")
    if every_combination_evaluated(counts):
        return (f"**None of the {candidates} candidates evaluated makes the plan fundable** "
                f"{how}: they are every combination the decisions' ranges allow. To go "
                f"further, {wider}. The closest candidate:")
    space = (f" out of the {combinations:,} combinations the decisions' ranges allow"
             if combinations else "")
    return (f"**None of the {candidates} candidates evaluated makes the plan fundable** "
            f"{how}. This is a search{space}, not a proof that no fundable plan exists: to "
            f"search further, raise `solve.trials` (and `solve.confirm`), {wider}. The "
            "closest candidate:")


def still_fails_text(best: Mapping[str, Any]) -> str:
    """What the closest candidate fails, split by cause: the criteria the current plan fails
    too ("still fails") and those it meets and the candidate breaks (before → after)."""
    proposed, current = best["proposed"], best["current"]
    caused = broken(proposed, current)
    kept = [f for f in proposed["failed_criteria"] if f not in caused]
    parts = []
    if kept:
        parts.append(f"It still fails {failures_text(kept, proposed)}")
    if caused:
        parts.append(f"{'and it' if kept else 'It'} breaks "
                     f"{breaks_text(caused, proposed, current)}, which the current plan "
                     "meets")
    return esc(", ".join(parts)) + ":"


def _command_lines(best: Mapping[str, Any], what: str) -> list[str]:
    if not best["arguments"]:
        return []
    return [f"{what} (in the repository; it reproduces these numbers exactly — "
            "`solve_best.json` holds its KPIs and acceptance):", "", "```bash",
            best["command"], "```", ""]


def _pinned_note(best: Mapping[str, Any]) -> list[str]:
    """How a decision on a key that a variable draws or sweeps is read, when there is one."""
    varying = [f"{esc(d['variable'])} {_TREATMENT.get(d.get('treatment'), 'varying')}"
               for d in best["decisions"] if d.get("varies")]
    if not varying:
        return []
    return [f"The current plan is yours as the inputs have it: {_and_list(varying)}. Fixing "
            "such a variable (`fixed_variables` in `params.yaml`) is a change even at its "
            "default — it takes a grid axis out of the grid or the uncertainty out of a draw — "
            "and counts as the expected change from the variable's own values to the fixed "
            "one.", ""]


def what_it_takes_section(d: ReportData) -> list[str]:
    """The section, or one line when the solver did not run or has no decisions."""
    best = d.solve_best
    if not best or best["status"] == "no_decisions":
        return [TITLE, "", "No decisions are declared for the solver (`solve.decisions` in "
                "`params.yaml`), so the report does not say what would make the plan "
                "fundable.", ""]
    measures = measures_of(d, best)
    counts = evaluations_text(best["evaluations"])
    columns = ("decision", "current", "proposed", "buys")
    headers = ("decision", "current", "proposed", "what the change buys")
    if best["status"] == "already_fundable":
        return [TITLE, "", f"**The plan is fundable as it stands**: as the inputs have it "
                f"(no override), every criterion of every grid point holds "
                f"(`solve_best.json`, {counts}).", "", *_outcome_lines(best, measures),
                *_pinned_note(best)]
    if best["status"] == "fundable":
        head = (f"**The nearest fundable plan the search found** (the solver, "
                f"`solve_best.json`: {counts}, all on common random numbers; "
                f"`solve_candidates.csv`):")
        blocked, what = [], "Apply it as an experiment"
    else:
        head = _search_head(best)
        blocked = [still_fails_text(best), "", *blocked_lines(best)]
        what = "Explore the closest candidate as an experiment"
    return [TITLE, "", *_count_note(best), head, "",
            *table(_decision_rows(best, measures), columns, headers), "",
            *blocked, *_outcome_lines(best, measures), *_command_lines(best, what),
            *_pinned_note(best)]


def _count_note(best: Mapping[str, Any]) -> list[str]:
    """When the solver ran its full-count evaluations at ``solve.confirm_simulations_per_run``,
    say so first: its figures then differ from the plan's tables by Monte Carlo error."""
    n = best.get("settings", {}).get("confirm_simulations_per_run")
    if n is None:
        return []
    return [f"*The solver's figures in this section (its \"full count\") are at {n:,} Monte "
            "Carlo paths per replicate (`solve.confirm_simulations_per_run`), not the plan's "
            "own count: they differ from the tables below by Monte Carlo error. The command "
            "at the end of the section evaluates a candidate at the plan's count.*", ""]
