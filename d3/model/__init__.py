"""The whole plan as one pure, in-process evaluation (issue 14): validated inputs + plan +
optional overrides → per grid point per-sample KPIs, the reference path, percentile paths and
the acceptance decision, with no file I/O. Two evaluations that override the same keys (with
different values) draw the same keyed random streams (common random numbers), so their
difference is the knob's effect; compare against a baseline that overrides the key at its
current value, not against the un-overridden plan (fixing a grid variable renumbers the grid,
and the streams are keyed by grid point).

The DVC stages call the same functions (``d3.consolidate``, ``d3.pipelines.*``); the model
chains them in memory."""

from d3.model.evaluate import Evaluation, GridEvaluation, evaluate
from d3.model.inputs import ModelInputs, model_inputs

__all__ = ["Evaluation", "GridEvaluation", "ModelInputs", "evaluate", "model_inputs"]
