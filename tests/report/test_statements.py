"""§5's statements on tiny hand-made CSV rows (d3/report/statements.py); the arithmetic is in
the comments."""

from __future__ import annotations

from d3.report.data import ReportData, focus_grid
from d3.report.statements import dscr_by_year, trough_month, use_of_proceeds


def _data(**kw) -> ReportData:
    base = dict(horizon_months=12, term_months=12, percentiles=[10, 50, 90],
                acceptance={"grid": {"0": {"accepted": False, "criteria": []}}},
                summary={}, kpis=[], plan={"plan": {"targets": {"min_dscr": 1.2}}},
                validation={}, grid_labels={"0": "m=45%"})
    return ReportData(**{**base, **kw})


def _cash(month: int, **cells) -> dict[str, str]:
    return {"grid_index": "0", "month": str(month), **{k: str(v) for k, v in cells.items()}}


GENERAL = {"loan": {"amount_eur": 30000.0}, "finance": {"equity_injection_eur": 20000.0},
           "reserves": {"cash_buffer_eur": 5000.0},
           "depreciation": {"assets": [{"asset_id": "work_station*", "cost_eur": 3200.0,
                                        "purchase_month": 1},
                                       {"asset_id": "server", "cost_eur": 9000.0,
                                        "purchase_month": 3}]}}


def test_use_of_proceeds_until_net_cash_is_lowest():
    # Net cash: 50 000 − 10 000 − 3 200 − 400 = 36 400; − 20 000 − 400 = 16 000 (the lowest);
    # + 5 000 − 400 = 20 600. Until month 2: capex 3 200, operating outflow 30 000, principal
    # 800, buffer 5 000 → uses 39 000; sources 30 000 + 20 000 = 50 000; surplus 11 000
    # (= net cash 16 000 − buffer 5 000). The server bought in month 3 is not listed; the
    # asset id is input text: its `*` is escaped, its intraword `_` is no emphasis and stays.
    cash = [_cash(1, opening_cash_eur="50000.00", operating_cash_eur="-10000.00",
                  capex_eur="3200.00", principal_eur="400.00", net_cash_eur="36400.00"),
            _cash(2, operating_cash_eur="-20000.00", capex_eur="0.00", principal_eur="400.00",
                  net_cash_eur="16000.00"),
            _cash(3, operating_cash_eur="5000.00", capex_eur="0.00", principal_eur="400.00",
                  net_cash_eur="20600.00")]
    assert trough_month(cash) == 2
    kpis = [{"grid_index": "0", "metric": "funding_need_term_eur", "reference": "1234.50"}]
    lines = use_of_proceeds(_data(cashflow=cash, general=GENERAL, kpis=kpis), "0")
    assert lines[0] == "### Use of proceeds (m=45%, reference path)"
    rows = [x for x in lines if x.startswith("| ")]
    assert rows[1:] == [
        "| Loan (`loan.amount_eur`) | 30,000 |",
        "| Equity (`finance.equity_injection_eur`) | 20,000 |",
        "| **Sources** (= opening cash) | 50,000 |",
        "| Capital expenditure, months 1–2 (work_station\\* EUR 3,200 in month 1) | 3,200 |",
        "| Operating losses: operating cash outflow, months 1–2 | 30,000 |",
        "| Loan principal repaid, months 1–2 | 800 |",
        "| Cash buffer kept (`reserves.cash_buffer_eur`) | 5,000 |",
        "| **Uses** | 39,000 |",
        "| **Surplus (+) / shortfall (−)** | 11,000 |"]
    assert "EUR 1,235 on this reference path" in "\n".join(lines)  # 1234.50 → 1,235


def test_dscr_by_year_with_the_covenant_headroom():
    # Debt service 12 × 1 000 = 12 000; cash for it = EBITDA 30 000 − tax paid 3 000 = 27 000;
    # DSCR 27 000 / 12 000 = 2.25 (the CSV's dscr_t12 at month 12); headroom 2.25 − 1.20 =
    # +1.05×, in EUR 27 000 − 1.2 × 12 000 = 12 600.
    cash = [_cash(m, tax_paid_eur="3000.00" if m == 12 else "0.00",
                  dscr_t12="2.2500" if m == 12 else "", p10_dscr_t12="-0.5",
                  p50_dscr_t12="2.1", p90_dscr_t12="3.456") for m in range(1, 13)]
    loan = [{"month": str(m), "payment": "1000.00"} for m in range(1, 13)]
    years = [{"grid_index": "0", "year": "1", "metric": "ebitda_eur", "reference": "30000.00"}]
    lines = dscr_by_year(_data(cashflow=cash, loan=loan, pnl_by_year=years), "0")
    assert "| 1 | 12,000 | 27,000 | 2.25× | n/m | 2.10× | 3.46× | +1.05× | 12,600 |" in lines
    # A negative DSCR is n/m, and so is its headroom; the EUR shortfall still shows:
    # 27 000 − 40 000 = −13 000 cash for debt service → −13 000 − 14 400 = −27 400.
    years[0]["reference"] = "-10000.00"
    cash[11]["dscr_t12"] = "-1.0833"
    lines = dscr_by_year(_data(cashflow=cash, loan=loan, pnl_by_year=years), "0")
    assert "| 1 | 12,000 | -13,000 | n/m | n/m | 2.10× | 3.46× | n/m | -27,400 |" in lines


def test_the_focus_grid_point_is_the_closest_to_fundable():
    def info(accepted, failing):
        return {"accepted": accepted, "criteria": [{"ok": False}] * failing + [{"ok": True}]}

    def need(g, p90):
        return {"grid_index": g, "metric": "funding_need_term_eur", "p90": p90}
    # Grid point 2 fails fewer criteria than 0 and 1; 0 and 1 tie on 3, 1 needs less money.
    d = _data(acceptance={"grid": {"0": info(False, 3), "1": info(False, 3), "2": info(False, 2)}},
              kpis=[need("0", "100.00"), need("1", "50.00"), need("2", "900.00")])
    assert focus_grid(d) == "2"
    d.acceptance["grid"]["2"] = info(False, 3)
    assert focus_grid(d) == "1"  # 50 < 100 < 900
    d.acceptance["grid"]["0"] = info(True, 0)
    assert focus_grid(d) == "0"  # accepted comes first
