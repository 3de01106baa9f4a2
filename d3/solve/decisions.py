"""The solver's decisions (``params.yaml`` ``solve.decisions``): their values, the founder's
current value, the distance of a change, and the ``dvc exp run -S`` argument that applies it.

A decision on a key that a variable of ``inputs/variables/*.csv`` sets cannot be applied by
``-S`` on the operator YAML: the variable would still sweep, draw or fix the key. It is applied
as ``params.yaml:++fixed_variables.<variable_id>=<value>`` (:mod:`d3.core.fixed`; ``++`` is
Hydra's "add or override", so the key need not exist yet). The founder's plan leaves a swept or
drawn variable as the inputs have it (choice ``None``, :data:`AS_INPUTS`): fixing it, at any
value, is a change of plan — it takes a grid axis out of the grid or the uncertainty out of a
draw — and its distance is the expected change from the variable's own values (the
Wasserstein-1 distance between the variable's distribution and the fixed value), nonzero even at
the default. Every other decision is ``FILE:key=value``, written only when the value changes.
The solver evaluates exactly the overrides the command applies, parsed back from its text by
Hydra's own override parser (the one ``dvc exp run -S`` uses), so a value reaches the model
with the type DVC writes.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from d3.core.errors import Issue
from d3.core.fixed import FIXED_KEY, domain_text, own_value
from d3.core.schema_issues import issues_from_pydantic
from d3.core.variables import Variable, grid_value_probabilities, node_at, with_override
from d3.models.operator import GeneralOperator, PrivateOperator, PublicOperator
from d3.models.plan import (
    OVERRIDE_KEY_HINT,
    Plan,
    Solve,
    SolveDecision,
    override_key_problem,
)

PARAMS = "params.yaml"
OPERATOR_FILES = {f"inputs/operator/{s}.yaml": s for s in ("general", "public_tap",
                                                             "private_tap")}
# Keys that are not the founder's to decide, by file, with the reason the error gives: the
# sample sizes and the analyses' settings are the solver's, the targets, stress tests and
# scenarios are the lender's, and a seed picks other random futures, not another plan.
_SETTINGS = "the solver and the analyses set it; it changes no part of the plan"
NOT_DECISIONS: dict[str, dict[str, str]] = {
    PARAMS: {
        "run.": _SETTINGS, "stochastic.": _SETTINGS, "sensitivity.": _SETTINGS,
        "solve.": _SETTINGS, "logging.": "it sets what is logged, not the plan",
        f"{FIXED_KEY}.": "the solver pins a variable through it by itself: declare the "
                         "operator key the variable sets",
        "targets.": "the targets are the lender's constraints, not the founder's plan",
        "stress.": "the stress tests are the lender's, not the founder's plan",
        "scenarios.": "the scenarios are the lender's, not the founder's plan",
    },
    **{f: {"meta.": "the file's metadata and seed: searching seeds would buy fundability by "
                    "luck (other random futures, not another plan)"} for f in OPERATOR_FILES},
}
# The founder's plan for a decision whose variable draws or sweeps the key: as the inputs have
# it (no ``fixed_variables`` override).
AS_INPUTS = None
VARYING = ("random", "low_to_high")


def not_decision(file: str, key: str) -> str | None:
    """Why ``key`` of ``file`` is not a decision (:data:`NOT_DECISIONS`); None when it may be."""
    return next((why for prefix, why in NOT_DECISIONS.get(file, {}).items()
                 if key.startswith(prefix)), None)


@dataclass(frozen=True)
class Decision:
    """One decision: ``values`` in order (typed as the key holds them; numbers ascending),
    ``current`` the index of the founder's current value (a varying variable's default),
    ``span`` the range that normalises a numeric change (None: a change of choice counts 1),
    ``variable`` the id of the variable that sets the key (None: an operator or params key no
    variable sets), ``varies`` whether that variable draws or sweeps the key (then the
    founder's plan is :data:`AS_INPUTS` and fixing it at any value is a change), and
    ``spread`` the key's values in the founder's plan with their probabilities (empty: the
    current value alone)."""

    key: str
    values: tuple[Any, ...]
    current: int
    weight: float
    span: float | None
    variable: str | None = None
    varies: bool = False
    spread: tuple[tuple[Any, float], ...] = ()

    @property
    def numeric(self) -> bool:
        """Are the values ordered numbers (a change is measured by its size and the polish
        may bisect between two values), rather than choices that are only equal or not?"""
        return self.span is not None

    @property
    def baseline(self) -> int | None:
        """The choice of the founder's plan: :data:`AS_INPUTS` for a varying variable, else
        the index of the current value."""
        return AS_INPUTS if self.varies else self.current

    def distance(self, k: int | None) -> float:
        """Weighted, normalised distance of choice ``k`` from the founder's plan, 0..weight:
        the expected |value − founder's value| over ``spread`` divided by ``span`` (numbers),
        or the probability that the value differs (other choices); 0 for :data:`AS_INPUTS`."""
        if k is AS_INPUTS:
            return 0.0
        v = self.values[k]
        spread = self.spread or ((self.values[self.current], 1.0),)
        if self.span is None:
            return self.weight * math.fsum(p for x, p in spread if not _same(x, v))
        return self.weight * math.fsum(p * abs(float(x) - float(v)) for x, p in spread) \
            / self.span

    def argument(self, k: int | None) -> str | None:
        """The ``-S`` argument that sets choice ``k`` (None when the command leaves the key
        as the inputs have it)."""
        if k is AS_INPUTS:
            return None
        if self.variable is not None:
            if k == self.current and not self.varies:
                return None
            return f"{PARAMS}:++{FIXED_KEY}.{self.variable}={hydra_text(self.values[k])}"
        if k == self.current:
            return None
        file, _, key = self.key.partition(":")
        return f"{file}:{key}={hydra_text(self.values[k])}"

    def toward(self, k: int | None) -> list[int | None]:
        """The choices between the founder's plan and ``k`` (``k`` left out), nearest the
        founder's first: :data:`AS_INPUTS` for a varying variable, then the values from the
        current one toward ``k`` (numbers) or the current value (other choices). What the
        polish tries, in order."""
        if k == self.baseline:
            return []
        head: list[int | None] = [AS_INPUTS] if self.varies else []
        if k == self.current:
            return head
        if not self.numeric:
            return [*head, self.current]
        return [*head, *range(self.current, k, 1 if k > self.current else -1)]


def hydra_text(value: Any) -> str:
    """``value`` as the right-hand side of a Hydra override (``true``, ``65``, ``62.5``,
    ``planned_utilisation``, or a quoted string when the bare text would read differently).
    An integral float is written as an integer: Hydra then reads an int, which the (float)
    key validates to the same number — and the solver evaluates the value parsed back from
    this text, so both paths see the same type."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))  # 30000, not 30000.0: the key reads the int as the same number
    if isinstance(value, int | float):
        return repr(value)
    text = str(value)
    if _reads_back(text, text):
        return text
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _reads_back(text: str, value: Any) -> bool:
    """Does Hydra read ``text`` as ``value``: the same number (``12`` for ``12.0``: the key
    validates either to the same value), else the same value of the same type?"""
    from hydra.errors import OverrideParseException

    try:
        parsed = parsed_argument(f"{PARAMS}:x={text}")[1]
    except OverrideParseException:
        return False
    if _is_number(value):
        return _is_number(parsed) and _decimal(parsed) == _decimal(value)
    return type(parsed) is type(value) and parsed == value


@lru_cache(maxsize=4096)
def parsed_argument(argument: str) -> tuple[str, Any]:
    """``FILE:[++]key=value`` → (``FILE:key``, value) as ``dvc exp run -S`` applies it
    (Hydra's override parser: ``65`` is an int, ``65.0`` a float, ``true`` a bool)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    file, _, override = argument.partition(":")
    (parsed,) = OverridesParser.create().parse_overrides([override])
    return f"{file}:{parsed.key_or_group}", parsed.value()


def overrides_of(arguments: Sequence[str]) -> dict[str, Any]:
    """The ``FILE:key`` → value overrides that ``-S`` ``arguments`` apply."""
    return dict(parsed_argument(a) for a in arguments)


def command_text(arguments: Sequence[str]) -> str:
    """``dvc exp run -S … -S …`` (shell-quoted where needed)."""
    import shlex

    return " ".join(["dvc exp run", *(f"-S {shlex.quote(a)}" for a in arguments)])


# --- resolving the declared decisions against the inputs -------------------------------------


@dataclass(frozen=True)
class _Where:
    file: str
    location: str

    def issue(self, message: str, hint: str, suffix: str = "", *,
              severity: str = "error") -> Issue:
        return Issue(self.file, self.location + suffix, message, hint, severity,
                     "invalid" if severity == "error" else "solve_decision")


def resolved_decisions(solve: Solve, *, params: Mapping[str, Any],
                       operators: Mapping[str, Mapping[str, Any]],
                       variables: Sequence[Variable], file: str = PARAMS,
                       numbers: Sequence[int] | None = None
                       ) -> tuple[list[Decision], list[Issue]]:
    """Every declared decision resolved against the plan (``params``: the validated plan as a
    mapping), the operator documents (scope → validated dump; a scope left out — its file
    did not validate — leaves its decisions unjudged) and the variables (with
    ``fixed_variables`` applied), and every problem of every decision at once as
    ``FILE:solve.decisions[i]…`` issues (``numbers``: each decision's position in the file,
    when some were left out; default 0, 1, …): the declaration itself
    (:func:`declaration_issues`), a key that is not a scalar key of its file or names a
    section, a params key that is not a decision, a key listed twice, a numeric range whose
    ``high`` is off ``low + k·step`` or whose type the key cannot hold, a value the key's
    schema refuses (the first per decision: ``low``, ``high`` or a choice, checked as the
    solver would apply it); a WARNING for values a variable cannot be fixed at (left out)
    and for a current value outside ``[low, high]``. The current value is always one of a
    decision's values (added when the range does not hold it)."""
    out, issues, seen = [], [], {}
    numbers = range(len(solve.decisions)) if numbers is None else numbers
    for i, d in zip(numbers, solve.decisions, strict=True):
        where = _Where(file, f"solve.decisions[{i}]")
        if d.key in seen:
            issues.append(where.issue(f"{d.key} is already decision {seen[d.key]}",
                                      "keep one decision per key", ".key"))
            continue
        seen[d.key] = i
        decision = _resolved(d, where, params, operators, variables, issues)
        if decision is not None:
            out.append(decision)
    return out, issues


def declaration_issues(d: SolveDecision, where: _Where) -> list[Issue]:
    """Every problem of a decision as written, before the inputs are asked: the key's form
    (``FILE:dotted.key``), one domain (``low``/``high``/``step`` or ``choices``), ``low``
    below ``high``, a positive ``step`` and ``weight``, at least one choice."""
    out = []
    problem = override_key_problem(d.key)
    if problem is not None:
        out.append(where.issue(problem, OVERRIDE_KEY_HINT, ".key"))
    numeric = {"low": d.low, "high": d.high, "step": d.step}
    if d.choices is not None and any(x is not None for x in numeric.values()):
        out.append(where.issue("a decision has low/high/step or choices, not both",
                               "keep one"))
    elif d.choices is None and any(x is None for x in numeric.values()):
        missing = " and ".join(k for k, x in numeric.items() if x is None)
        out.append(where.issue(f"{missing} missing: a decision needs low, high and step "
                               "(numbers) or choices",
                               "e.g. {key: ..., low: 0, high: 60000, step: 5000}"))
    if d.choices == []:
        out.append(where.issue("choices is empty", "list the values the solver may choose "
                               "(at least one), or give low, high and step", ".choices"))
    if d.step is not None and d.step <= 0:
        out.append(where.issue(f"step must be > 0, got {d.step:g}", "use a positive step",
                               ".step"))
    if d.weight <= 0:
        out.append(where.issue(f"weight must be > 0, got {d.weight:g}", "use a positive "
                               "weight (1: as much as any other decision)", ".weight"))
    if d.low is not None and d.high is not None:
        if d.low > d.high:
            out.append(where.issue(f"low {d.low:g} is above high {d.high:g}",
                                   "swap them"))
        elif d.low == d.high:
            out.append(where.issue(f"low and high are both {d.low:g}: the range holds one "
                                   "value", f"raise high above low, or write choices: "
                                   f"[{d.low:g}] to try that one value"))
    return out


def _domain_ok(d: SolveDecision) -> bool:
    """Can the decision's values be listed: ``choices`` (at least one), or ``low`` below
    ``high`` and a positive ``step`` — not both (:func:`declaration_issues` says what is
    wrong)?"""
    if d.choices is not None:
        return bool(d.choices) and d.low is None and d.high is None and d.step is None
    return None not in (d.low, d.high, d.step) and d.step > 0 and d.low < d.high


def _resolved(d: SolveDecision, where: _Where, params: Mapping[str, Any],
              operators: Mapping[str, Mapping[str, Any]], variables: Sequence[Variable],
              issues: list[Issue]) -> Decision | None:
    issues += declaration_issues(d, where)
    if override_key_problem(d.key) is not None:
        return None
    file, _, key = d.key.partition(":")
    why = not_decision(file, key)
    if why is not None:
        issues.append(where.issue(
            f"{key} is not a decision: {why}", "declare a key of the plan you decide (prices, "
            "autoscaling, budgets, the loan, equity; a key a variable sets is pinned through "
            f"{FIXED_KEY} by the solver itself)", ".key"))
        return None
    docs = {PARAMS: params, **{f: operators[scope] for f, scope in OPERATOR_FILES.items()
                               if operators.get(scope) is not None}}
    if file not in docs:  # its file did not validate: reported there
        return None
    found, current = node_at(docs[file], key)
    if not found or isinstance(current, Mapping | list):
        issues.append(where.issue(_missing_text(file, key, found),
                                  key_hint(file, key, docs), ".key"))
        return None
    if not _domain_ok(d):  # the key is known; the values cannot be listed
        return None
    scope = OPERATOR_FILES.get(file)
    var = next((v for v in variables if v.scope == scope and v.path == key), None)
    if var is not None:
        current = var.typed(var.default)
    declared = _values(d, current, var, where, issues)
    if declared is None or not _schema_allows(d, declared, docs[file], where, issues) \
            or var is not None and not _fixable(var, where, issues):
        return None
    _warn_outside(d, current, where, issues)
    if var is not None:
        declared = _own(var, declared, where, issues)
    values = _with_current(declared, current)
    k = next(j for j, v in enumerate(values) if _same(v, current))
    varies = var is not None and var.treatment in VARYING
    spread = founder_spread(var) if varies else ((current, 1.0),)
    return Decision(d.key, values, k, d.weight, _span(d, values, spread),
                    var.variable_id if var else None, varies=varies, spread=spread)


# The schema of each file a decision may name: a value is checked against it as the solver
# applies it (the document with the value at the key, validated).
SCHEMAS: dict[str, type[BaseModel]] = {
    PARAMS: Plan, "inputs/operator/general.yaml": GeneralOperator,
    "inputs/operator/public_tap.yaml": PublicOperator,
    "inputs/operator/private_tap.yaml": PrivateOperator}


def schema_problem(file: str, key: str, value: Any, doc: Mapping[str, Any]
                   ) -> tuple[str, str] | None:
    """What the schema of ``file`` says of ``value`` at ``key`` of ``doc`` (its validated
    document): (message, hint) of the first error located at the key, after the value has
    been written and read back as ``dvc exp run -S`` does; None when the key accepts it.
    Errors elsewhere (rules across keys) are not the value's alone: other decisions may move
    the other key, so they are judged per candidate."""
    value = parsed_argument(f"{file}:{key}={hydra_text(value)}")[1]
    model = SCHEMAS[file]
    try:
        model.model_validate(with_override(doc, key, value))
    except PydanticValidationError as exc:
        here = [i for i in issues_from_pydantic(exc, file=file, model=model)
                if i.location == key]
        return (here[0].message, here[0].hint) if here else None
    return None


def _schema_allows(d: SolveDecision, values: Sequence[Any], doc: Mapping[str, Any],
                   where: _Where, issues: list[Issue]) -> bool:
    """Are the decision's ends (``low`` and ``high``, typed as its values) or each of its
    choices values the key accepts? The first that is not is an error (a range between two
    accepted ends holds no refused value: the schema's bounds are intervals)."""
    file, _, key = d.key.partition(":")
    if d.choices is None:
        tried = [(".low", "low", values[0]), (".high", "high", values[-1])]
    else:  # in the order written, so the location names the choice as the file lists it
        tried = [(f".choices[{j}]", "choice", c) for j, c in enumerate(d.choices)]
    for suffix, what, value in tried:
        problem = schema_problem(file, key, value, doc)
        if problem is not None:
            issues.append(where.issue(f"{what} {hydra_text(value)} is not a value {key} can "
                                      f"take: {problem[0]}", problem[1], suffix))
            return False
    return True


def _warn_outside(d: SolveDecision, current: Any, where: _Where, issues: list[Issue]) -> None:
    """A WARNING when the founder's current value lies outside ``[low, high]``: it is a
    candidate all the same (no change always is), and the range that normalises the distance
    reaches it — but a range that leaves out the plan as it is usually means a typo."""
    if d.choices is not None or not _is_number(current):
        return
    if d.low <= float(current) <= d.high:
        return
    issues.append(where.issue(
        f"the current value {hydra_text(current)} lies outside low {d.low:g} .. high "
        f"{d.high:g}: the solver adds it as a candidate (no change always is) and measures "
        "distances over the range that reaches it",
        "widen low/high to hold it, or check them for a typo", severity="warning"))


def founder_spread(var: Variable) -> tuple[tuple[Any, float], ...]:
    """The values a varying variable gives its key in the founder's plan, with their
    probabilities: each grid point equally for a swept (``low_to_high``) variable — the plan
    must hold at every one — and the variable's own distribution for a drawn one
    (:func:`d3.core.variables.grid_value_probabilities`; a discrete variable draws its values
    uniformly). Values of probability 0 are left out."""
    points = var.grid_points()
    if var.treatment == "random" and var.kind == "numeric":
        probabilities = [float(p) for p in grid_value_probabilities(var)]
    else:
        probabilities = [1.0 / len(points)] * len(points)
    return tuple((var.typed(x), p) for x, p in zip(points, probabilities, strict=True) if p > 0)


def _with_current(values: tuple[Any, ...], current: Any) -> tuple[Any, ...]:
    """``values`` with the current value among them: an edit of the file (``-S`` of a value
    off the decision's grid) must not stop the pipeline, and "no change" is always a
    candidate. Numbers stay in order; another value goes first."""
    if any(_same(v, current) for v in values):
        return values
    if _is_number(current) and all(_is_number(v) for v in values):
        return tuple(sorted((*values, current), key=_decimal))
    return (current, *values)


def _missing_text(file: str, key: str, found: bool) -> str:
    if found:
        return f"{key} is a section of {file}, not a value"
    return f"{file} has no key {key}"


# A key close enough to suggest: difflib's ratio on the whole dotted key, above its usual 0.6
# because a long shared section (``pricing_policy.``) alone scores ≈ 0.7 between unrelated
# keys; and on the last name, so the section cannot carry the match by itself.
CLOSE_KEY, CLOSE_NAME = 0.8, 0.6
LISTED_KEYS = 8


def decision_keys(file: str, doc: Mapping[str, Any]) -> list[str]:
    """The dotted keys of ``doc`` (the validated document of ``file``) a decision can name, in
    the document's order: scalar values (not sections or lists), writable in a Hydra override
    (no spaces: the keys of the GPU-class maps cannot be), and outside the sections that are
    not the founder's to decide (:data:`NOT_DECISIONS`)."""
    out = []
    for k, v in doc.items():
        if isinstance(v, Mapping):
            out += [f"{k}.{sub}" for sub in decision_keys("", v)]
        elif not isinstance(v, list):
            out.append(str(k))
    return [k for k in out if " " not in k and not_decision(file, k) is None]


def key_hint(file: str, key: str, docs: Mapping[str, Mapping[str, Any]]) -> str:
    """How to name a key ``file`` does not have as a value (``docs``: file → its validated
    document): the other file that has the key verbatim, else the close key of the same file
    (:data:`CLOSE_KEY`), else its keys with a close last name, else the keys of the deepest
    section of ``key`` that exists (or the file's sections; or that the section holds
    none). Only keys a decision can name (:func:`decision_keys`) are ever suggested."""
    elsewhere = [f for f, doc in docs.items() if f != file and key in decision_keys(f, doc)]
    if elsewhere:
        return f"it is a key of {elsewhere[0]}: write `{elsewhere[0]}:{key}`"
    keys = decision_keys(file, docs[file])
    close = [k for k in difflib.get_close_matches(key, keys, n=5, cutoff=CLOSE_KEY)
             if _name_ratio(k, key) >= CLOSE_NAME]
    if close:
        return f"did you mean `{close[0]}`?"
    # The right name in the wrong (or no) section: `target_margin_pct` alone.
    named = [k for k in keys if _name_ratio(k, key) >= CLOSE_KEY]
    if named:
        return "did you mean " + " or ".join(f"`{k}`" for k in named[:LISTED_KEYS]) + "?"
    return _section_keys_text(file, docs[file], key, keys)


def _name_ratio(a: str, b: str) -> float:
    """difflib's ratio of the last names of two dotted keys."""
    return difflib.SequenceMatcher(None, a.rpartition(".")[2], b.rpartition(".")[2]).ratio()


def _section_keys_text(file: str, doc: Mapping[str, Any], key: str, keys: list[str]) -> str:
    """The keys of the deepest section of ``key`` that ``doc`` has; the file's sections when
    not even the first part of ``key`` is one."""
    parts = key.split(".")
    section = next((".".join(parts[:n]) for n in range(len(parts), 0, -1)
                    if isinstance(node_at(doc, ".".join(parts[:n]))[1], Mapping)), "")
    if not section:
        sections = [k for k, v in doc.items() if isinstance(v, Mapping)
                    and decision_keys(file, {k: v})]
        return f"the sections of {file}: " + ", ".join(sections) + " (docs/INPUTS.md)"
    under = [k for k in keys if k.startswith(section + ".")]
    if not under:
        return f"{section} holds no number, true/false or text key a decision can name " \
               "(docs/INPUTS.md)"
    more = f" and {len(under) - LISTED_KEYS} more" if len(under) > LISTED_KEYS else ""
    return f"the keys of {section}: " + ", ".join(f"`{k}`" for k in under[:LISTED_KEYS]) + \
        f"{more} (docs/INPUTS.md)"


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float | Decimal) and not isinstance(x, bool)


def _same(a: Any, b: Any) -> bool:
    if _is_number(a) and _is_number(b):
        return _decimal(a) == _decimal(b)
    return type(a) is type(b) and a == b


def _decimal(x: int | float | Decimal) -> Decimal:
    return Decimal(repr(x)) if isinstance(x, float) else Decimal(x)


def _values(d: SolveDecision, current: Any, var: Variable | None, where: _Where,
            issues: list[Issue]) -> tuple[Any, ...] | None:
    """The decision's values, typed as the key holds them; None (with every problem as an
    issue) when they cannot be."""
    if d.choices is not None:
        return _choices(d, where, issues)
    if not _is_number(current):
        issues.append(where.issue(f"{d.key.partition(':')[2]} holds {current!r}, not a "
                                  "number", "use choices: [...] for this key"))
        return None
    low, high, step = (Decimal(repr(x)) for x in (d.low, d.high, d.step))
    n = (high - low) / step
    problems = len(issues)
    if n != n.to_integral_value():
        below = low + step * int(n)
        issues.append(where.issue(f"high {d.high:g} is not low + k·step ({d.low:g} + k × "
                                  f"{d.step:g})", f"use high {_text(below)} or "
                                  f"{_text(below + step)}", ".high"))
    whole = all(x == x.to_integral_value() for x in (low, step))
    as_int = var.as_int if var is not None else isinstance(current, int)
    if as_int and not whole:
        issues.append(where.issue(f"{d.key.partition(':')[2]} holds whole numbers; low "
                                  f"{d.low:g} and step {d.step:g} give fractions",
                                  "use a whole low and step", ".step"))
    if len(issues) > problems:
        return None
    grid = [low + step * k for k in range(int(n) + 1)]
    return tuple(int(x) if as_int else float(x) for x in grid)


def _choices(d: SolveDecision, where: _Where, issues: list[Issue]) -> tuple[Any, ...] | None:
    """The choices as declared (numbers in ascending order, for the search's integer space
    and the polish's bisection); None when one is listed twice or cannot be written as a
    ``-S`` value that reads back the same (both reported)."""
    problems = len(issues)
    if len({repr(c) for c in d.choices}) < len(d.choices):
        issues.append(where.issue("choices lists a value twice", "list each value once",
                                  ".choices"))
    unwritable = [c for c in d.choices if not _reads_back(hydra_text(c), c)]
    if unwritable:
        issues.append(where.issue(f"{unwritable[0]!r} cannot be written as a dvc exp run "
                                  "-S value that reads back the same", "use plain text "
                                  "(letters, digits, _ - .)", ".choices"))
    if len(issues) > problems:
        return None
    if all(_is_number(c) for c in d.choices):
        return tuple(sorted(d.choices, key=_decimal))
    return tuple(d.choices)


def _text(x: Decimal) -> str:
    return format(x.normalize(), "f")


def _fixable(var: Variable, where: _Where, issues: list[Issue]) -> bool:
    """A variable's key is set through ``fixed_variables.<id>``: the id must be a plain Hydra
    key."""
    if "." not in var.variable_id:
        return True
    issues.append(where.issue(f"{var.variable_id} sets this key, and an id with '.' cannot be "
                              f"written as {FIXED_KEY}.<id> in dvc exp run -S",
                              f"rename the variable (e.g. {var.variable_id.replace('.', '_')})",
                              ".key"))
    return False


def _own(var: Variable, values: tuple[Any, ...], where: _Where,
         issues: list[Issue]) -> tuple[Any, ...]:
    """The values a variable can be fixed at; the others are left out with a WARNING (an edit
    of the variables file must not stop the pipeline)."""
    off = [v for v in values if own_value(var, v) is None]
    if off:
        issues.append(where.issue(
            f"{var.variable_id} ({var.file} {var.location}) sets this key and can only be "
            f"fixed at its own values ({domain_text(var)}): the solver leaves out "
            + ", ".join(map(hydra_text, off)),
            "choose low/high/step (or choices) among the variable's values, or widen the "
            "variable's range", severity="warning"))
    return tuple(v for v in values if own_value(var, v) is not None)


def _span(d: SolveDecision, values: Sequence[Any],
          spread: Sequence[tuple[Any, float]]) -> float | None:
    """The range that normalises a change: from the lowest to the highest of ``low``/``high``
    (or the choices), the current value and every value of the founder's ``spread`` — so no
    distance exceeds the weight, even when the current value lies outside the declared range.
    None when the values are not all numbers or all equal (a change of choice counts 1)."""
    ends = [*values, *(x for x, _ in spread)]
    if d.choices is None:
        ends += [d.low, d.high]
    if not all(_is_number(x) for x in ends):
        return None
    lo, hi = min(map(float, ends)), max(map(float, ends))
    return hi - lo if hi > lo else None
