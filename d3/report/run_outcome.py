"""The last line of ``d3 run``: where the report is and what it concluded (issue 15).

``Report: OUT/financial_plan_v3.md — not accepted (5 of 7 criteria fail); funding need
EUR 104,941 at 90 % over the first 24 months`` for one grid point; with several, how many
pass and the range over them.
Read from ``acceptance.json`` and ``consolidated_kpis.csv`` (the p90 of ``funding_need_eur``,
the extra equity that keeps free cash above the buffer over the horizon at 90 % confidence).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RunOutcome:
    report: str  # the report's path as the user gave --out
    accepted: bool
    grid_points: int
    passing: tuple[str, ...]  # names of the grid points that pass (grid_label, else "grid N")
    criteria: int  # criteria per grid point
    failing: dict[str, int]  # grid_index → failing criteria
    funding_need_eur_p90: dict[str, float]  # grid_index → EUR
    horizon_months: int | None = None  # the months the funding need covers


    def as_dict(self) -> dict[str, Any]:
        return {"report": self.report, "accepted": self.accepted,
                "criteria_failing": dict(self.failing), "criteria": self.criteria,
                "funding_need_eur_p90": dict(self.funding_need_eur_p90)}

    def line(self) -> str:
        """The one-line verdict (see the module docstring)."""
        text = f"Report: {self.report} — {self._verdict()}"
        needs = sorted(self.funding_need_eur_p90.values())
        if needs:
            text += f"; funding need {_eur_range(needs[0], needs[-1])} at 90 %"
            if self.horizon_months is not None:
                text += f" over the first {self.horizon_months} months"
        return text

    def _verdict(self) -> str:
        n, k = self.grid_points, self.criteria
        fails = sorted(self.failing.values())
        if self.accepted:
            return f"accepted (all {k} criteria hold" + (
                ")" if n == 1 else f" at each of the {n} grid points)")
        failing = [f for f in fails if f]
        spread = _int_range(failing[0], failing[-1])
        if n == 1:
            return f"not accepted ({spread} of {k} criteria fail)"
        if not self.passing:
            return f"not accepted at any of the {n} grid points ({spread} of {k} criteria fail)"
        return (f"not accepted: {len(self.passing)} of {n} grid points pass "
                f"({', '.join(self.passing)}); {spread} of {k} criteria fail at the others")


def _int_range(lo: int, hi: int) -> str:
    return str(lo) if lo == hi else f"{lo}–{hi}"


def _eur_range(lo: float, hi: float) -> str:
    return f"EUR {lo:,.0f}" if f"{lo:,.0f}" == f"{hi:,.0f}" else f"EUR {lo:,.0f}–{hi:,.0f}"


def run_outcome(report: str, acceptance: Mapping[str, Any],
                kpis: Sequence[Mapping[str, str]]) -> RunOutcome:
    """The outcome of a run from its ``acceptance.json`` document and its
    ``consolidated_kpis.csv`` rows (``grid_index``, ``metric``, ``p90``; ``grid_label`` when
    present names a grid point); the funding need's months are the document's
    ``horizon_months``."""
    grid = acceptance["grid"]
    labels = {r["grid_index"]: r.get("grid_label") or f"grid {r['grid_index']}" for r in kpis}
    need = {r["grid_index"]: float(r["p90"]) for r in kpis
            if r["metric"] == "funding_need_eur" and r.get("p90") not in (None, "")}
    return RunOutcome(
        report=report, accepted=bool(acceptance["accepted"]), grid_points=len(grid),
        passing=tuple(labels.get(g, f"grid {g}") for g, v in grid.items() if v["accepted"]),
        criteria=max((len(v["criteria"]) for v in grid.values()), default=0),
        failing={g: sum(not c["ok"] for c in v["criteria"]) for g, v in grid.items()},
        funding_need_eur_p90=need, horizon_months=acceptance.get("horizon_months"))
