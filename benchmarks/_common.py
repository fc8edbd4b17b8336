"""What the benchmark scripts share: the conversation they time, openai-agents' items
for it, and the commit they measured."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

USER_TEXT = "What is the capital of France, and roughly how many people live there?"
REPLY_TEXT = "echo: " + USER_TEXT


def agents_items(n: int) -> list[dict[str, Any]]:
    """A user item and an assistant output item, as an openai-agents Runner stores them."""
    assistant = {
        "id": f"msg_{n:024d}",
        "type": "message",
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": REPLY_TEXT, "annotations": []}],
    }
    return [{"role": "user", "content": USER_TEXT}, assistant]


def source_state() -> str:
    """The commit measured, and whether src/ differed from it."""
    try:
        git = ["git", "-C", str(Path(__file__).resolve().parent.parent)]
        head = subprocess.run(
            [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            [*git, "status", "--porcelain", "--", "src"], capture_output=True, text=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"
    return head + (" + uncommitted changes in src/" if dirty else "")
