"""Run the in-process unit tests before the end-to-end stage runs, so that ``-x`` (as used by
mutmut, tools/mutation-score) stops at a fast failing test instead of a full CLI run first."""

from __future__ import annotations

END_TO_END = ("test_consolidate_stage.py", "test_economic_story.py")


def pytest_collection_modifyitems(items):
    items.sort(key=lambda item: item.path.name in END_TO_END)
