from __future__ import annotations

import json
from pathlib import Path

import pytest

from load.metrics import Outcome, StreamResult
from load.recorder import Recorder, load_metrics


def result(outcome: Outcome = Outcome.OK, *, started_at: float = 100.0, offsets: list[float] | None = None,
           message: str = "") -> StreamResult:
    offsets = offsets if offsets is not None else [100.0, 600.0, 1100.0]
    return StreamResult(started_at=started_at, outcome=outcome, tokens=len(offsets),
                        ttft_ms=offsets[0] if offsets else None, e2e_ms=1200.0, duration_ms=1200.0,
                        message=message, token_offsets_ms=offsets)


def test_tokens_are_counted_in_the_second_they_arrived() -> None:
    recorder = Recorder()
    recorder.add_stream(result(started_at=100.5))  # tokens at 100.6, 101.1, 101.6
    assert dict(recorder.tokens_by_second) == {100: 1, 101: 2}
    assert recorder.streams["itl_ms"] == [pytest.approx(550.0)]


def test_drain_then_merge_moves_everything_to_the_master() -> None:
    worker, master = Recorder(), Recorder()
    worker.add_stream(result())
    worker.add_stream(result(Outcome.ABORTED, message="cut"))
    worker.add_prediction(kind="rag", started_at=1.0, latency_ms=20.0, ok=False, sources=0, message="HTTP 500")
    payload = json.loads(json.dumps(worker.drain()))  # as it travels: plain data
    assert worker.streams["outcome"] == [] and not worker.tokens_by_second
    master.merge(payload)
    master.merge(payload)
    assert master.streams["outcome"] == ["ok", "aborted"] * 2
    assert master.predictions["kind"] == ["rag", "rag"]
    assert master.tokens_by_second[100] == 8  # 2 tokens in second 100 per stream, 2 streams, merged twice
    assert master.messages == {"aborted: cut": 2, "rag: HTTP 500": 2}


def test_write_and_load_round_trip(tmp_path: Path) -> None:
    recorder = Recorder()
    recorder.add_stream(result())
    path = tmp_path / "metrics.json"
    recorder.write(path, meta={"profile": "chat"}, requests=[])
    document = load_metrics(path)
    assert document["meta"] == {"profile": "chat"}
    assert document["streams"]["tokens"] == [3]


def test_load_refuses_other_files(tmp_path: Path) -> None:
    path = tmp_path / "metrics.json"
    path.write_text('{"schema": "something-else"}')
    with pytest.raises(ValueError, match="not a flowise-load/metrics/1 file"):
        load_metrics(path)


def test_distinct_messages_are_capped() -> None:
    recorder = Recorder()
    for index in range(30):
        recorder.add_prediction(kind="prediction", started_at=0, latency_ms=1, ok=False, sources=0, message=str(index))
    assert len(recorder.messages) == 21
    assert recorder.messages["(other messages)"] == 10
