"""What it takes (issue 17): the fundable plan nearest to the founder's, by simulation
optimisation on the in-process model with common random numbers.

- :mod:`~d3.solve.decisions`: the declared decisions, their values, the distance of a change
  and the ``dvc exp run -S`` argument that applies it;
- :mod:`~d3.solve.outcome`: one candidate evaluated — feasibility, shortfall, the binding
  probability, KPIs — and how candidates rank;
- :mod:`~d3.solve.search`: the seeded Optuna search (screening), the confirmation at the full
  sample count and what each change buys;
- :mod:`~d3.solve.outputs`: ``solve_candidates.csv`` rows and ``solve_best.json``.
"""
