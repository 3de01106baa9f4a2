"""Risk analysis on the in-process model (issue 16): which assumptions drive the result.

- :mod:`~d3.sensitivity.swings`: what each input is swung between (tornado) and the central
  values the others keep;
- :mod:`~d3.sensitivity.outputs`: the key outputs every analysis reports;
- :mod:`~d3.sensitivity.tornado`: one-at-a-time swings on common random numbers;
- :mod:`~d3.sensitivity.sobol`: variance-based (Sobol) indices with SALib;
- :mod:`~d3.sensitivity.ranks`: rank correlation and contribution to variance of the ordinary
  run's samples;
- :mod:`~d3.sensitivity.convergence`: running percentiles and their standard errors.
"""
