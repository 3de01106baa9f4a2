"""The record of an import: what became of every source key, column and row."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from d3.core.errors import Issue
from d3.importer.mapping import KINDS, Kind, Rule


@dataclass(frozen=True)
class Entry:
    file: str  # source file as shown to users: inputs/<path in the draft tree>
    location: str  # dotted key, ``column NAME`` or ``row N (id)``
    kind: Kind
    text: str  # "mapped to `key`", "converted from … (`key`)", "modelled by …", "dropped: …"


@dataclass
class Ledger:
    """Entries in the order they were found, the comment rows skipped, and the WARNINGs."""

    entries: list[Entry] = field(default_factory=list)
    comments: list[tuple[str, str, str]] = field(default_factory=list)  # (file, line, text)
    blank_lines: Counter = field(default_factory=Counter)
    warnings: list[Issue] = field(default_factory=list)

    def add(self, file: str, location: str, kind: Kind, text: str) -> None:
        self.entries.append(Entry(file, location, kind, text))
        if kind == "dropped":
            reason = text.removeprefix("dropped: ")
            self.warnings.append(Issue(file, location, "dropped", reason, "warning",
                                       "import_dropped"))

    def rule(self, file: str, location: str, rule: Rule, target: str | None = None,
             detail: str = "") -> None:
        """Record ``rule`` (its target replaced by ``target``, ``detail`` appended)."""
        if target is not None:
            rule = Rule(rule.kind, target, rule.note)
        text = rule.describe() + (f": {detail}" if detail else "")
        self.add(file, location, rule.kind, text)

    def mapped(self, file: str, location: str, target: str, note: str = "") -> None:
        self.rule(file, location, Rule("mapped", target, note))

    def converted(self, file: str, location: str, target: str, from_to: str) -> None:
        self.rule(file, location, Rule("converted", target, from_to))

    def modelled(self, file: str, location: str, feature: str, target: str = "") -> None:
        self.rule(file, location, Rule("modelled", target, feature))

    def dropped(self, file: str, location: str, reason: str) -> None:
        self.add(file, location, "dropped", f"dropped: {reason}")

    def warn(self, file: str, location: str, message: str, hint: str = "") -> None:
        """A WARNING that is not a drop (a value taken as the nearest D3 value, …)."""
        self.warnings.append(Issue(file, location, message, hint, "warning", "import_warning"))

    def comment(self, file: str, line: int, text: str) -> None:
        self.comments.append((file, f"line {line}", text))

    def counts(self) -> dict[str, int]:
        found = Counter(e.kind for e in self.entries)
        return {k: found.get(k, 0) for k in KINDS}

    def counts_by_file(self) -> dict[str, dict[str, int]]:
        out: dict[str, Counter] = {}
        for e in self.entries:
            out.setdefault(e.file, Counter())[e.kind] += 1
        return {f: {k: c.get(k, 0) for k in KINDS} for f, c in out.items()}
