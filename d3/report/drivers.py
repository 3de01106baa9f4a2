"""The report's "What drives the result" section (after the executive summary): the
sensitivity stage's tornado, Sobol indices, rank correlations and convergence, each with one
plain sentence (issue 16)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from d3.report.data import ReportData, focus_grid
from d3.report.formatting import (
    esc,
    eur_text,
    money_text,
    pct_text,
    ratio_text,
    table,
    unit_price_text,
)

KEY_OUTPUT = "lowest_free_cash_p10_eur"  # the tornado the summary quotes
INDEPENDENCE = ("The tornado and the Sobol indices treat the inputs as independent: "
                "`correlations.csv` and Latin hypercube sampling apply to the ordinary run only.")
UNIT_TEXT: dict[str, Callable[[Any], str]] = {"EUR": eur_text, "%": pct_text,
                                               "ratio": ratio_text}


def tornado_rows(d: ReportData, output: str) -> list[Mapping[str, str]]:
    """``sensitivity_tornado.csv``'s rows of one output, ranked (largest swing first)."""
    return sorted((r for r in d.sensitivity_tornado or [] if r["output"] == output),
                  key=lambda r: int(r["rank"]))


def top_drivers(d: ReportData, output: str = KEY_OUTPUT, n: int = 3) -> list[Mapping[str, str]]:
    """The ``n`` inputs with the largest non-zero swing of ``output``."""
    return [r for r in tornado_rows(d, output) if r["swing"] and float(r["swing"]) > 0][:n]


def driver_sentence(d: ReportData) -> str:
    """The executive summary's levers from the tornado: the three inputs that move the p10 of
    the lowest free cash most, with their swing; empty without a tornado."""
    top = top_drivers(d)
    if not top:
        return ""
    parts = [f"{esc(r['input'])} (swing {eur_text(r['swing'])}: {eur_text(r['at_low'])} at "
             f"{esc(r['low'])}, {eur_text(r['at_high'])} at {esc(r['high'])})" for r in top]
    return ("**What drives it** (the tornado under *What drives the result*): the inputs that "
            f"move the p10 of the lowest free cash most are {', '.join(parts)}; the baseline is "
            f"{eur_text(top[0]['baseline'])}.")


def _tornado_table(d: ReportData, output: str, unit: str) -> list[str]:
    fmt = UNIT_TEXT.get(unit, lambda x: unit_price_text(x, 2))
    rows = [{"rank": r["rank"], "input": r["input"], "range": f"{r['low']} … {r['high']}",
             "basis": r["basis"], "at_low": fmt(r["at_low"]), "at_high": fmt(r["at_high"]),
             "swing": fmt(r["swing"]) if unit != "EUR" else money_text(r["swing"])}
            for r in tornado_rows(d, output)]
    return table(rows, ("rank", "input", "range", "basis", "at_low", "at_high", "swing"),
                 ("rank", "input", "low … high", "how the ends were chosen",
                  "output at low", "output at high", f"swing ({unit})"))


def _sobol_table(d: ReportData, kpi: str) -> list[str]:
    rows = [{"input": r["input"], "s1": _index(r["first_order"], r["first_order_conf"]),
             "st": _index(r["total"], r["total_conf"])}
            for r in sorted((r for r in d.sensitivity_sobol or [] if r["kpi"] == kpi),
                            key=lambda r: -float(r["total"] or 0))]
    return table(rows, ("input", "s1", "st"),
                 ("input", "first-order index S1 (± 95 %)", "total index ST (± 95 %)"))


def _index(value: str, conf: str) -> str:
    return "—" if value == "" else f"{float(value):.2f} ± {float(conf):.2f}"


def _chart(d: ReportData, name: str, caption: str) -> list[str]:
    """The chart ``sensitivity_charts/<name>`` with its caption — only when the sensitivity
    stage wrote it (listed in ``sensitivity_summary.json`` ``charts``): never a broken link."""
    if name not in (d.sensitivity_summary or {}).get("charts", []):
        return []
    file = f"sensitivity_charts/{name}"
    return [f"![{esc(caption)}]({file})", "", f"*{esc(caption)}*", ""]


def _grid_text(d: ReportData, g: str) -> str:
    return esc(d.grid_labels.get(g, "grid point " + g))


def drivers_section(d: ReportData) -> list[str]:
    """The section; says so when the analysis was switched off."""
    lines = ["## What drives the result", ""]
    summary = d.sensitivity_summary or {}
    if not d.sensitivity_tornado and not d.sensitivity_sobol:
        return lines + ["The sensitivity analysis is switched off (`sensitivity.tornado` and "
                        "`sensitivity.sobol` in `params.yaml`).", ""]
    central = summary.get("tornado", {}).get("central", {})
    where = esc(summary.get("grid_label", "the middle grid point"))
    lines += [
        f"**Tornado** (`sensitivity_tornado.csv`, "
        f"{summary.get('tornado', {}).get('evaluations', 0)} model "
        f"evaluations on the same random futures, at **{where}**): each input is swung to its "
        "low and its high end while every other input stays at its central value; the "
        "baseline is every random input at its mean and every grid axis at its middle value, "
        "so only the outcome noise varies. The bar is how far the output moves. Inputs at the "
        "top matter most; an input with a zero bar does not move this output at all. "
        + INDEPENDENCE, "",
        f"p10 of the lowest free cash over the {d.term_months}-month term (EUR), at the "
        "central values "
        f"({len(central)} inputs fixed):", "", *_tornado_table(d, KEY_OUTPUT, "EUR"), ""]
    labels = summary.get("output_labels", {})  # the sensitivity stage's chart titles
    for output in (KEY_OUTPUT, "funding_need_p90_eur", "net_income_p50_eur"):
        lines += _chart(d, f"tornado_{output}.png", f"Tornado: {labels.get(output, output)}")
    if d.sensitivity_sobol:
        sobol = summary.get("sobol", {})
        lines += [
            f"**Variance-based (Sobol) indices** (`sensitivity_sobol.csv`, "
            f"{sobol.get('parameter_sets', 0):,} parameter sets × "
            f"{sobol.get('simulations_per_set', 0)} paths, the same paths for every set, at "
            f"**{where}**): the share of the variance of the "
            f"expected funding need over the first {d.horizon_months} months that each "
            "random input explains alone (S1) and together "
            "with the others (ST); intervals wider than the index mean more samples are "
            "needed.", "", *_sobol_table(d, "funding_need_eur"), ""]
    lines += _convergence_lines(d, summary)
    lines += _rank_lines(d)
    return lines


def _convergence_lines(d: ReportData, summary: Mapping[str, Any]) -> list[str]:
    needed = summary.get("replicates_needed_1pct_p10_lowest_free_cash") or {}
    if not needed:
        return []
    parts = [f"{_grid_text(d, g)}: {'—' if n is None else money_text(n)}"
             for g, n in sorted(needed.items(), key=lambda kv: int(kv[0]))]
    focus = focus_grid(d) if d.acceptance.get("grid") else min(needed, key=int)
    return [f"**Convergence** (`sensitivity_convergence.csv`): the running p10, p50 and p90 "
            "of the lowest free cash as samples are added, with ± 2 standard errors from "
            "resampling whole replicates (the samples of one replicate share its parameter "
            "draws, so only the replicates are independent); where the band is still wide, the "
            "percentile is not yet pinned down. More paths per replicate do not shrink that "
            "error, more replicates do: replicates (`run.random_runs_per_simulation`, "
            f"{summary.get('replicates', '?')} now) needed for a standard error of ±1 % on the "
            f"p10 of the lowest free cash: {'; '.join(parts)}.", "",
            *_chart(d, f"convergence_grid_{focus}.png",
                    f"Convergence of the lowest free cash, {_grid_text(d, focus)} (the grid "
                    "point closest to fundable)")]


def _rank_lines(d: ReportData, kpi: str = "funding_need_eur") -> list[str]:
    """The contribution-to-variance table of the focus grid point; a sentence instead when
    the run has fewer than two replicates per random input (the correlations are noise
    then)."""
    rows: Sequence[Mapping[str, str]] = [r for r in d.sensitivity_ranks or []
                                         if r["kpi"] == kpi and r["contribution_pct"] != ""]
    if not rows:
        return []
    g = focus_grid(d) if d.acceptance.get("grid") else min((r["grid_index"] for r in rows),
                                                             key=int)
    mine = sorted((r for r in rows if r["grid_index"] == g),
                  key=lambda r: -abs(float(r["contribution_pct"])))
    if not mine:
        return []
    replicates = (d.summary.get("sample_space") or {}).get("replicates")
    n_inputs = len({r["input"] for r in mine})
    if replicates is None or int(replicates) < 2 * n_inputs:
        return [f"**Contribution to variance** (`sensitivity_rank_correlation.csv`) is not "
                f"shown: it would rest on {replicates or 'too few'} parameter draws per grid "
                f"point for {n_inputs} random inputs, fewer than two per input, too few for "
                "rank correlations to tell the inputs apart. Raise "
                f"`run.random_runs_per_simulation` to at least {2 * n_inputs} to see it; the "
                "tornado and the Sobol indices above answer the question meanwhile.", ""]
    return [f"**Contribution to variance** (`sensitivity_rank_correlation.csv`, every run, "
            f"{_grid_text(d, g)}, the grid point closest to fundable): the rank correlation "
            "between each random input's drawn value and the funding need over the first "
            f"{d.horizon_months} months, squared and "
            f"normalised; it rests on only {replicates} parameter draws per grid point here, "
            "so read it as a hint, and the tornado and Sobol indices as the answer.", "",
            *table([{"input": r["input"], "rho": f"{float(r['spearman']):.2f}",
                     "share": pct_text(r["contribution_pct"])} for r in mine],
                   ("input", "rho", "share"),
                   ("input", "Spearman ρ", "contribution to variance (signed, %)")), ""]
