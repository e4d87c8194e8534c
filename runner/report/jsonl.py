"""JSON lines: one object per event, then the run's summary, for tools and scripts."""

from __future__ import annotations

import json
from typing import IO

from msgspec import Struct, field

from runner.events import Event, RunFinished, event_to_dict
from runner.report.summary import RunSummary


class JsonLinesReporter(Struct):
    stream: IO[str]
    summary: RunSummary = field(default_factory=RunSummary)

    def __call__(self, event: Event) -> None:
        self.summary.add(event)
        self._write(event_to_dict(event))
        if isinstance(event, RunFinished):
            self._write({"event": "summary", "run_id": event.run_id, **self.summary.as_dict()})

    def _write(self, data: dict[str, object]) -> None:
        self.stream.write(json.dumps(data, ensure_ascii=False) + "\n")
        self.stream.flush()
