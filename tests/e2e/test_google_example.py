"""examples/google_offline.py prints what each Gemini turn sent (the glob in
test_examples runs it too; this checks its story)."""

from __future__ import annotations

from pathlib import Path

from test_examples import EXAMPLES, run_example


def test_google_offline_tells_the_chain_story(tmp_path: Path) -> None:
    """First turn unchained, then chained with only the new input; a tool round trip;
    a re-seed of the whole mirror after the server forgot; local mode re-sends the
    history; delete leaves nothing on the server."""
    out = run_example(EXAMPLES / "google_offline.py", tmp_path).stdout
    assert "previous=-        input='Hello'  -> 're: Hello'" in out
    assert "previous=int_0001 input='What is an interaction chain?'" in out
    assert "native id: int_0002" in out
    assert "streamed: re: Stream this please" in out
    assert "model asks: weather({'city': 'Lisbon'})" in out
    assert "input=function_result  -> \"tool said {'sky': 'clear', 'c': 21}\"" in out
    assert "chain length: 5" in out
    assert "input=11 steps, ending model_output + user_input  -> 're: Still there?'" in out
    assert "local turn 3: contents sent=5" in out
    assert "interactions left after delete: 0" in out
