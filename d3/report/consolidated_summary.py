"""``consolidated_summary.{json,md}``: what the lender reads first."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def summary_document(*, grid: Mapping[str, Any], lines: list[str], horizon: int, months: int,
                     variables_report: Mapping[str, Any],
                     public_prices: Mapping[str, Any] | None,
                     private_pricing: Mapping[str, Any] | None, driver: str) -> dict[str, Any]:
    notes = [
        "Percentiles are computed per sample first, then across samples of each grid point.",
        "Covenant DSCR is the trailing-12-month DSCR from month 12 to the end of the loan term.",
        f"Overhead is allocated to the two lines by {driver}.",
    ]
    return {
        "seeds": variables_report["seeds"],
        "horizon_months": horizon,
        "term_months": months,
        "pipelines": lines,
        "sample_space": {k: variables_report[k] for k in
                         ("grid_size", "replicates", "simulations_per_run", "samples")},
        "public": None if public_prices is None else {
            "blended_sell_eur_per_1k": public_prices["blended_sell_eur_per_1k"],
            "models_in": public_prices["public_models"],
            "models_out": public_prices["private_only"],
            "stress_warnings": [w for w in public_prices["warnings"]
                                if w["code"] == "stress_negative_margin"],
        },
        "private": None if private_pricing is None else {
            "classes": private_pricing["classes"],
        },
        "grid": {g: {k: v for k, v in info.items() if k != "expected"}
                 for g, info in grid.items()},
        "notes": notes,
    }


def _fmt(x, unit: str) -> str:
    if x is None:
        return "—"
    if unit == "EUR":
        return f"{x:,.0f}"
    if unit == "ratio":
        return "n/m" if x < 0 else f"{x:.2f}"
    return f"{x:.1f}"


def summary_markdown(doc: Mapping[str, Any]) -> str:
    lines = ["# Consolidated summary", "",
             f"Lines: {', '.join(doc['pipelines'])}; horizon {doc['horizon_months']} months, loan "
             f"term {doc['term_months']} months; {doc['sample_space']['samples']} samples.", ""]
    for g, info in doc["grid"].items():
        lines += [f"## Grid point {g}: {info['grid_label']}", "",
                  "| metric | unit | p10 | p50 | p90 | mean |", "|---|---|---:|---:|---:|---:|"]
        for metric, k in info["kpis"].items():
            lines.append(f"| {metric} | {k['unit']} | {_fmt(k.get('p10'), k['unit'])} | "
                         f"{_fmt(k.get('p50'), k['unit'])} | {_fmt(k.get('p90'), k['unit'])} | "
                         f"{_fmt(k.get('mean'), k['unit'])} |")
        scaler = info.get("autoscaling") or {}
        if scaler:
            lines += ["", "Autoscaler (threshold policy) on the p50 / p90 demand traces:", "",
                      "| model | trace | scale_events | avg_util_pct | p95_util_pct | "
                      "sla_violations |", "|---|---|---:|---:|---:|---:|"]
            for model, traces in scaler.items():
                for trace, k in sorted(traces.items()):
                    lines.append(f"| {model} | {trace} | {k['scale_events']:.0f} | "
                                 f"{k['avg_util_pct']:.1f} | {k['p95_util_pct']:.1f} | "
                                 f"{k['sla_violations']:.0f} |")
        c = info["covenants"]
        lines += ["", f"- P(min trailing-12 DSCR < target): {c['p_min_dscr_t12_below_target']:.1%}",
                  f"- P(net cash < 0, overdraft or funding gap, in any month): "
                  f"{c['p_cash_negative_any_month']:.1%}",
                  f"- Largest loan keeping the p10 DSCR at target: "
                  f"EUR {c['max_loan_eur_p10_dscr']:,.0f} (± {c['max_loan_tolerance_eur']:,.0f})",
                  ""]
    lines += ["## Notes", "", *(f"- {n}" for n in doc["notes"]), ""]
    return "\n".join(lines)
