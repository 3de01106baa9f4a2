"""Acceptance criteria (SPEC §8): decided as probabilities over the samples of each grid point.

A criterion about an outcome holds when the share of samples meeting it is at least
``targets.min_acceptance_probability`` (default 0.9). The reference path (every random variable
at its mean, no outcome noise) is shown beside each criterion in ``detail`` and ``reference``,
never used to decide. Criteria that the plan evaluates on one trace (the autoscaler replays the
p50 demand trace, SPEC §5.4) have no probability and are decided on that trace.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from d3.core.number_text import frac_pct_text, share_text
from d3.finance.mc_error import between_replicate_se, mean


@dataclass(frozen=True)
class Criterion:
    name: str
    ok: bool
    probability: float | None  # share of samples meeting it (None: decided on one trace)
    detail: str
    reference: bool | None = None  # does the reference path meet it (shown, not used)
    probability_se: float | None = None  # between-replicate standard error of ``probability``


@dataclass(frozen=True)
class ClassMargin:
    """A Private Tap GPU class's margins on the sell price, percent 0..100."""

    vendor_pct: float  # against the vendor actually paid (the one judged, SPEC §8)
    median_pct: float  # against the median provider (shown beside it)


def private_margin_criterion(margins: Mapping[str, ClassMargin],
                             threshold_pct: float) -> Criterion:
    """Every class's margin against the vendor actually paid ≥ ``threshold_pct`` (reference
    price card); the detail shows both margins of every class."""
    low = sorted(g for g, m in margins.items() if m.vendor_pct < threshold_pct)
    shown = "; ".join(f"{g} {m.vendor_pct:.1f} % vendor-paid ({m.median_pct:.1f} % vs median)"
                      for g, m in sorted(margins.items()))
    return Criterion("private_margin_per_class", not low, None,
                     f"threshold {threshold_pct:g} % on the vendor actually paid; {shown}; "
                     f"below: {', '.join(low) or 'none'}", not low)


def non_decreasing(paths: np.ndarray, min_growth_pct: float = 0.0) -> np.ndarray:
    """Per path (last axis = months): never down month on month, and growing by at least
    ``min_growth_pct`` when it is > 0. ``(samples,)`` bool."""
    paths = np.atleast_2d(paths)
    prev, cur = paths[:, :-1], paths[:, 1:]
    floor = prev * (1 + min_growth_pct / 100.0) if min_growth_pct > 0 else prev
    return np.all(cur >= floor - 1e-9, axis=1)


def share(flags: np.ndarray) -> float:
    """Share of samples where ``flags`` holds (0 when there are no samples)."""
    return float(np.mean(flags)) if np.size(flags) else 0.0


def close_call(probability: float, probability_se: float | None,
               min_probability: float) -> bool:
    """Is a share within two between-replicate standard errors of the threshold (so more
    replicates could tip the verdict)? False without a standard error (one replicate)."""
    return probability_se is not None and abs(probability - min_probability) < 2 * probability_se


def decided(name: str, flags: np.ndarray, reference: bool, min_probability: float,
            detail: str, replicate_ids: np.ndarray | None = None) -> Criterion:
    """Holds when the share of samples meeting it is ≥ ``min_probability``. With
    ``replicate_ids`` the share carries its between-replicate standard error; a share within two
    standard errors of the threshold is flagged as a close call (:func:`close_call`: more
    replicates would settle it). Percentages are written as the report writes them
    (:mod:`d3.core.number_text`)."""
    p = share(flags)
    se = None
    if replicate_ids is not None:
        se = between_replicate_se(np.asarray(flags, dtype=float), replicate_ids, mean)
        se = None if math.isnan(se) else se
    text = f"{detail}; P = {frac_pct_text(p)}"
    if se is not None:
        text += f" ± {frac_pct_text(se)} (between-replicate SE)"
        if close_call(p, se, min_probability):
            text += ", a close call: raise run.random_runs_per_simulation to settle it"
    return Criterion(name, p >= min_probability, p,
                     f"{text}; required {share_text(min_probability)}", bool(reference), se)


@dataclass(frozen=True)
class GridEvidence:
    """What one grid point's criteria are judged on, every per-sample array restricted to that
    grid point's samples in the same order: ``kpis`` (name → ``(samples,)``), ``replicate_ids``
    ``(samples,)``, the reference path's monthly series ``reference``; the per-sample path
    evidence of :func:`path_evidence` (``public_customers_non_decreasing``,
    ``private_clients_non_decreasing``, ``(samples,)`` each; the capacity criterion reads the
    KPI ``capacity_violation_model_months``) and the Public Tap's autoscaler KPI rows
    (``public_tap_autoscaling_kpis.csv`` of this grid point); the Private Tap's class margins.
    ``None``: the line was not run. Built by the ``acceptance`` stage from files and by
    :func:`d3.model.evaluate` in memory (there, chunk by chunk in the workers)."""

    reference: Mapping[str, np.ndarray]
    kpis: Mapping[str, np.ndarray]
    replicate_ids: np.ndarray | None = None
    cash_buffer_eur: float = 0.0
    public_customers_non_decreasing: np.ndarray | None = None
    autoscaler_rows: Sequence[Mapping] | None = None
    private_clients_non_decreasing: np.ndarray | None = None
    private_margins: Mapping[str, ClassMargin] | None = None


PATH_EVIDENCE = ("public_customers_non_decreasing", "private_clients_non_decreasing")


def path_evidence(public_active: np.ndarray | None, private_active: np.ndarray | None, *,
                  horizon: int, public_growth_min_mom_pct: float) -> dict[str, np.ndarray | None]:
    """What the growth criteria need from the lines' monthly paths ``(samples, months)``,
    one flag per sample over the first ``horizon`` months, named after the criterion it
    decides: ``public_customers_non_decreasing`` (active customers never fall, and grow by
    ``public_growth_min_mom_pct`` when > 0) and ``private_clients_non_decreasing`` (active
    clients never fall). ``None`` where the path is ``None`` (line not run). The
    capacity criterion reads the KPI ``capacity_violation_model_months``."""
    h = slice(0, horizon)
    return {
        "public_customers_non_decreasing": None if public_active is None
        else non_decreasing(public_active[:, h], public_growth_min_mom_pct),
        "private_clients_non_decreasing": None if private_active is None
        else non_decreasing(private_active[:, h])}


def plan_acceptance(evidence: Mapping[int, GridEvidence], targets: Mapping[str, Any], *,
                    target_util_pct: float, horizon: int) -> dict:
    """The acceptance document (``acceptance.json``) of every grid point's evidence."""
    per_grid = {g: grid_criteria(e, targets=targets, target_util_pct=target_util_pct,
                                 horizon=horizon) for g, e in evidence.items()}
    return acceptance_document(per_grid, horizon, targets["min_acceptance_probability"])


def grid_criteria(e: GridEvidence, *, targets: Mapping[str, Any], target_util_pct: float,
                  horizon: int) -> list[Criterion]:
    """Every SPEC §8 criterion of one grid point (``targets``: the plan's ``targets``
    section; ``target_util_pct``: the autoscaler's target utilisation). ``e.replicate_ids``
    give each probability its between-replicate standard error."""
    reference, kpi_samples, replicate_ids = e.reference, e.kpis, e.replicate_ids
    autoscaler_rows = e.autoscaler_rows
    private_margins, cash_buffer_eur = e.private_margins, e.cash_buffer_eur
    h = slice(0, horizon)
    p_min = targets["min_acceptance_probability"]

    def judged(*args) -> Criterion:
        return decided(*args, replicate_ids=replicate_ids)

    out: list[Criterion] = []
    if e.public_customers_non_decreasing is not None:
        growth = targets["public_growth_min_mom_pct"]
        path = reference["public_active_customers"][h]
        out.append(judged(
            "public_customers_non_decreasing", e.public_customers_non_decreasing,
            bool(non_decreasing(path, growth)[0]), p_min,
            f"active customers never fall month on month over {horizon} months"
            + (f" and grow ≥ {growth:g} %/month" if growth > 0 else "")
            + f"; reference path {path[0]:.1f} → {path[-1]:.1f}"))
    if targets["private_growth_required"] and e.private_clients_non_decreasing is not None:
        path = reference["private_active_clients"][h]
        out.append(judged(
            "private_clients_non_decreasing", e.private_clients_non_decreasing,
            bool(non_decreasing(path)[0]), p_min,
            f"active clients never fall; reference path {path[0]:.1f} → {path[-1]:.1f}"))
    if private_margins is not None:
        out.append(private_margin_criterion(private_margins,
                                            targets["private_margin_threshold_pct"]))
    target_margin = targets.get("public_realised_margin_min_pct")
    if target_margin is not None and "public_realised_margin_pct" in kpi_samples:
        values = kpi_samples["public_realised_margin_pct"]
        out.append(judged(
            "public_realised_margin", np.nan_to_num(values, nan=-np.inf) >= target_margin,
            _reference_margin(reference, h) >= target_margin, p_min,
            f"Public Tap realised gross margin over {horizon} months ≥ {target_margin:g} % "
            f"(p50 {np.nanmedian(values):.1f} %)"))
    if "capacity_violation_model_months" in kpi_samples:
        months_over = kpi_samples["capacity_violation_model_months"]
        ref = float(np.sum(reference["expected_violations"][h]))
        out.append(judged(
            "no_capacity_violation", months_over == 0, ref == 0, p_min,
            f"no model needs more than max_instances in the first {horizon} months "
            f"(reference path: {ref:.0f} model-months over)"))
    if autoscaler_rows:
        p50 = [r for r in autoscaler_rows if r["trace"] == "p50"]
        off = [r["model"] for r in p50 if r["p95_within_tolerance"] != "true"]
        sla = [f"{r['model']} ({int(float(r['sla_violations']))} ticks)"
               for r in sorted(p50, key=lambda r: -float(r["sla_violations"]))
               if float(r["sla_violations"]) > 0]
        out.append(Criterion(
            "autoscaler_p95_util_within_tolerance", not off, None,
            f"p50 trace: p95 utilisation within {target_util_pct:g} ± "
            f"{targets['autoscaling_util_tolerance_pct']:g} % on every model; outside: "
            f"{', '.join(off) or 'none'}", not off))
        out.append(Criterion(
            "autoscaler_no_sla_violations", not sla, None,
            "p50 trace, every model (including those whose planner maximum is insufficient): "
            f"{', '.join(sla) or 'none'}", not sla))
    if "min_dscr_t12" in kpi_samples:
        values = np.nan_to_num(kpi_samples["min_dscr_t12"], nan=np.inf)
        ref = reference["dscr_t12"][11:]
        ref = ref[np.isfinite(ref)]
        ref_min = float(ref.min()) if ref.size else float("inf")
        out.append(judged(
            "min_dscr", values >= targets["min_dscr"], ref_min >= targets["min_dscr"], p_min,
            f"minimum trailing-12 DSCR (months 12..term) ≥ {targets['min_dscr']:g} "
            f"(reference path {_ratio(ref_min)})"))
    cash_metric = "min_free_cash_eur" if "min_free_cash_eur" in kpi_samples else "min_cash_eur"
    floor = targets["min_cash_eur"] + cash_buffer_eur
    ref_cash = reference.get("free_cash_eur", reference["closing_cash_eur"])
    out.append(judged(
        "min_cash", kpi_samples[cash_metric] >= floor, float(np.min(ref_cash)) >= floor, p_min,
        f"lowest free cash (cash − overdraft − VAT and tax owed) ≥ {floor:,.0f} EUR "
        f"(min_cash_eur {targets['min_cash_eur']:,.0f} + cash buffer {cash_buffer_eur:,.0f}); "
        f"reference path lowest {float(np.min(ref_cash)):,.0f} EUR"))
    return out


def _reference_margin(reference: Mapping[str, np.ndarray], h: slice) -> float:
    revenue = float(np.sum(reference["revenue_public_eur"][h]))
    cogs = float(np.sum(reference["cogs_public_eur"][h]))
    return (revenue - cogs) / revenue * 100.0 if revenue > 0 else float("-inf")


def _ratio(x: float) -> str:
    """A DSCR in words: n/a without debt service, n/m (not meaningful) when negative."""
    if not np.isfinite(x):
        return "n/a (no debt service)"
    return "n/m (EBITDA − tax paid < 0)" if x < 0 else f"{x:.2f}"


def acceptance_document(per_grid: Mapping[int, list[Criterion]], horizon: int,
                        min_probability: float) -> dict:
    grid = {str(g): {"accepted": all(c.ok for c in cs), "criteria": [asdict(c) for c in cs]}
            for g, cs in sorted(per_grid.items())}
    first = next(iter(grid.values()), {"criteria": []})
    return {"accepted": all(v["accepted"] for v in grid.values()),
            "criteria": first["criteria"], "horizon_months": horizon,
            "min_acceptance_probability": min_probability, "grid": grid}
