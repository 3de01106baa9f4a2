"""Acceptance criteria (SPEC §8), on the expected path of each grid point and, where the
criterion is about a sample, as the probability over that grid point's samples."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class Criterion:
    name: str
    ok: bool
    probability: float | None  # share of samples meeting it (None: deterministic)
    detail: str


def non_decreasing(path: np.ndarray, min_growth_pct: float = 0.0) -> bool:
    """Month-on-month never down (and growing ≥ ``min_growth_pct`` when > 0)."""
    prev, cur = path[:-1], path[1:]
    if min_growth_pct > 0:
        return bool(np.all(cur >= prev * (1 + min_growth_pct / 100.0) - 1e-9))
    return bool(np.all(cur >= prev - 1e-9))


def share_non_decreasing(paths: np.ndarray) -> float:
    return float(np.mean(np.all(np.diff(paths, axis=1) >= -1e-9, axis=1)))


def grid_criteria(*, horizon: int, targets: Mapping, expected: Mapping[str, np.ndarray],
                  kpi_samples: Mapping[str, np.ndarray], public_active: np.ndarray | None,
                  private_active: np.ndarray | None, private_margins: Mapping[str, float] | None,
                  capacity_violations: np.ndarray | None,
                  autoscaler_rows: Sequence[Mapping] | None) -> list[Criterion]:
    h = slice(0, horizon)
    out: list[Criterion] = []
    if "public_active_customers" in expected:
        path = expected["public_active_customers"][h]
        growth = targets["public_growth_min_mom_pct"]
        out.append(Criterion(
            "public_customers_non_decreasing", non_decreasing(path, growth),
            share_non_decreasing(public_active[:, h]) if public_active is not None else None,
            f"expected active customers {path[0]:.1f} → {path[-1]:.1f} over {horizon} months"
            + (f", min growth {growth:g} %/month" if growth > 0 else "")))
    if targets["private_growth_required"] and "private_active_clients" in expected:
        path = expected["private_active_clients"][h]
        out.append(Criterion(
            "private_clients_non_decreasing", non_decreasing(path),
            share_non_decreasing(private_active[:, h]) if private_active is not None else None,
            f"expected active clients {path[0]:.1f} → {path[-1]:.1f}"))
    if private_margins is not None:
        low = {g: m for g, m in private_margins.items()
               if m < targets["private_margin_threshold_pct"]}
        out.append(Criterion(
            "private_margin_per_class", not low, None,
            f"threshold {targets['private_margin_threshold_pct']:g} %; below: "
            + (", ".join(f"{g} {m:.1f} %" for g, m in sorted(low.items())) or "none")))
    if "expected_violations" in expected:
        violations = int(np.sum(expected["expected_violations"][h]))
        out.append(Criterion(
            "no_capacity_violation", violations == 0,
            float(np.mean(capacity_violations[:, h].sum(axis=1) == 0))
            if capacity_violations is not None else None,
            f"{violations} model-months above max_instances on the expected path"))
    if autoscaler_rows:
        p50 = [r for r in autoscaler_rows if r["trace"] == "p50"]
        off = [r["model"] for r in p50 if r["p95_within_tolerance"] != "true"]
        sla = [r["model"] for r in p50 if r["planner_max_sufficient"] == "true"
               and int(r["sla_violations"]) > 0]
        out.append(Criterion(
            "autoscaler_p95_util_within_tolerance", not off, None,
            f"target {targets['_target_util']:g} ± {targets['autoscaling_util_tolerance_pct']:g} "
            f"%; outside: {', '.join(off) or 'none'}"))
        out.append(Criterion("autoscaler_no_sla_violations", not sla, None,
                             f"models with SLA violations on p50: {', '.join(sla) or 'none'}"))
    if "dscr_t12" in expected:
        dscr = expected["dscr_t12"][11:]
        finite = dscr[np.isfinite(dscr)]
        worst = float(finite.min()) if finite.size else float("inf")
        out.append(Criterion(
            "min_dscr", worst >= targets["min_dscr"],
            float(np.mean(np.nan_to_num(kpi_samples["min_dscr_t12"], nan=np.inf)
                          >= targets["min_dscr"])),
            f"min trailing-12 DSCR {worst:.2f} (months 12..term) vs {targets['min_dscr']:g}"))
    cash = expected["free_cash_eur"]  # SPEC §7: lowest cash is free cash (after VAT/tax owed)
    out.append(Criterion(
        "min_cash", float(cash.min()) >= targets["min_cash_eur"],
        float(np.mean(kpi_samples["min_free_cash_eur"] >= targets["min_cash_eur"])),
        f"lowest free cash {cash.min():,.0f} EUR vs {targets['min_cash_eur']:,.0f}"))
    return out


def acceptance_document(per_grid: Mapping[int, list[Criterion]], horizon: int) -> dict:
    grid = {str(g): {"accepted": all(c.ok for c in cs), "criteria": [asdict(c) for c in cs]}
            for g, cs in sorted(per_grid.items())}
    first = next(iter(grid.values()), {"criteria": []})
    return {"accepted": all(v["accepted"] for v in grid.values()),
            "criteria": first["criteria"], "horizon_months": horizon, "grid": grid}
