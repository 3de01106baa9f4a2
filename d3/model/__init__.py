"""The whole plan as one pure, in-process evaluation (issue 14): validated inputs + plan +
optional overrides → per grid point per-sample KPIs, the reference path and the acceptance
decision, with no file I/O. Two evaluations that differ only in a decision knob draw the same
keyed random streams (common random numbers), so their difference is the knob's effect.

The DVC stages call the same functions (``d3.consolidate``, ``d3.pipelines.*``); the model
chains them in memory."""

from d3.model.evaluate import Evaluation, GridEvaluation, evaluate
from d3.model.inputs import ModelInputs, model_inputs

__all__ = ["Evaluation", "GridEvaluation", "ModelInputs", "evaluate", "model_inputs"]
