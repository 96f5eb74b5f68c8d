"""A root handler at DEBUG formatting as production does (context filter + JSON), for log tests."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator

from config.log_context import ContextFilter, json_formatter


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.addFilter(ContextFilter())
        self.setFormatter(json_formatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@contextlib.contextmanager
def json_log_lines() -> Iterator[list[str]]:
    handler, root = _Lines(), logging.getLogger()
    level = root.level
    root.setLevel(logging.DEBUG)
    root.addHandler(handler)
    try:
        yield handler.lines
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def parsed(lines: list[str]) -> list[dict]:
    return [json.loads(line) for line in lines]
