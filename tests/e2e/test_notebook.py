"""examples/notebook.ipynb runs as Jupyter runs it: cell by cell, in one namespace,
inside a running event loop, with top-level ``await``; rich objects render as HTML."""

from __future__ import annotations

import ast
import asyncio
import json
from pathlib import Path
from typing import Any

NOTEBOOK = Path(__file__).resolve().parents[2] / "examples" / "notebook.ipynb"


async def _run_cells(cells: list[dict[str, Any]]) -> list[Any]:
    namespace: dict[str, Any] = {}
    results = []
    for cell in cells:
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        tree = ast.parse(source, mode="exec")
        value: Any = None
        last = tree.body[-1] if tree.body else None
        if isinstance(last, ast.Expr):  # the cell's value, as Jupyter displays it
            tree.body[-1] = ast.Assign(
                targets=[ast.Name("_cell_value", ctx=ast.Store())], value=last.value
            )
            ast.fix_missing_locations(tree)
        code = compile(tree, "<cell>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
        maybe = eval(code, namespace)  # a coroutine when the cell awaits
        if asyncio.iscoroutine(maybe):
            await maybe
        value = namespace.pop("_cell_value", None)
        results.append(value)
    return results


def test_the_notebook_runs_in_a_running_loop_and_renders() -> None:
    notebook = json.loads(NOTEBOOK.read_text())
    results = asyncio.run(_run_cells(notebook["cells"]))
    session_html = results[0]._repr_html_()
    assert "Be terse." in session_html and "echo: What can you do?" in session_html
    messages_html = results[1]._repr_html_()
    assert "A different path" in messages_html and "A detour" not in messages_html
    assert results[3] == "echo: from the async API"
    assert len(results[4]) == 2 and sorted(count for _, count in results[4]) == [6, 6]
