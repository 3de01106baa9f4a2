"""The README's DVC tour, command by command, in a temporary copy of the repository."""

from __future__ import annotations

import re

import pytest

from tests.dvc.test_dvc_workflow import repo as repo  # noqa: F401  (module fixture)
from tests.dvc.test_dvc_workflow import sh, with_small_analyses
from tests.helpers import ROOT


def tour_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- tour -->\s*```bash\n(.*?)```", text, re.S).group(1)
    return [line.removeprefix("tools/venv-run ").strip() for line in block.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def test_tour_has_the_promised_commands():
    joined = "\n".join(tour_commands())
    for needle in ("dvc exp run -S", "dvc params diff", "dvc metrics diff", "dvc exp show",
                   "dvc plots diff", "git switch -c"):
        assert needle in joined


@pytest.fixture(scope="module")
def tour_repo(repo):  # noqa: F811
    """The copy with small solver and sensitivity budgets (the tour's `dvc repro` and `dvc exp
    run` each run both analyses; what the tour checks does not depend on their budgets)."""
    with_small_analyses(repo)
    return repo


def test_every_tour_command_runs(tour_repo):
    repo = tour_repo
    outputs = {}
    for command in tour_commands():
        outputs[command] = sh("bash", "-c", command, cwd=repo)
    shown = next(out for cmd, out in outputs.items() if cmd.startswith("dvc exp show"))
    table = next(line for line in shown.splitlines() if line.startswith("| Experiment"))
    header = [c.strip() for c in table.strip("|").split("|")]
    assert len(header) <= 25, header  # issue 15: readable (77 before, without --drop)
    assert header[0] == "Experiment"
    assert {"stochastic.simulations_per_run",
            "inputs/operator/public_tap.yaml:acquisition.budget_month0_eur",
            "grid_0.funding_need_eur_p90", "grid_2.min_dscr_t12_p10"} <= set(header)
    assert not [c for c in header if c.startswith(("outputs/", "d3", "stages/"))]
    params = outputs["dvc params diff"]
    assert "stochastic.simulations_per_run" in params and "budget_month0_eur" in params
    assert "revenue_total_eur_p50" in outputs["dvc metrics diff"]
    assert "revenue_total_eur_p50" in outputs["dvc metrics diff HEAD~1"]
    assert "outputs/plots/revenue.csv" in outputs["dvc plots diff --json"]
    page = (repo / "dvc_plots" / "index.html").read_text(encoding="utf-8")
    assert "cdn.jsdelivr.net" not in page and "<script src" not in page
