"""Generate the blocking face of threadline from its async source.

Every ``*_async.py`` module under ``src/threadline`` is a source; its twin
``*_sync.py`` is written next to it (see docs/architecture.md). The rewrite works on
tokens so that code, strings and comments are told apart:

- ``async def|for|with`` lose ``async``; ``await x`` becomes ``x``;
- ``.aio`` attribute access is dropped (google-genai's async surface);
- names are renamed by `RENAMES` (and ``Async<Name>`` → ``<Name>`` for our own
  classes, ``<module>_async`` → ``<module>_sync``), in code and, as whole words, in
  docstrings and comments;
- a line ending in ``# sync: drop`` is left out; one ending in ``# sync: <code>`` is
  replaced by ``<code>`` at the same indentation.

The output is import-sorted and formatted with ruff. ``--check`` writes nothing and
exits 1 when a twin is stale, which ``make test`` runs.

We write this (≈150 lines) rather than depend on ``unasync``: that package renames
names only in code, not in docstrings, and cannot drop ``.aio`` or face-specific lines;
httpcore and psycopg 3 also keep their own scripts for the same reasons.
"""

from __future__ import annotations

import argparse
import io
import re
import shutil
import subprocess
import sys
import tokenize
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE_ROOT = ROOT / "src" / "threadline"

RENAMES = {
    "AsyncIterator": "Iterator",
    "AsyncIterable": "Iterable",
    "AsyncGenerator": "Generator",
    "AsyncExitStack": "ExitStack",
    "AsyncRetrying": "Retrying",
    "AsyncOpenAI": "OpenAI",
    "AsyncAnthropic": "Anthropic",
    "DefaultAsyncHttpxClient": "DefaultHttpxClient",
    "AsyncClient": "Client",
    "asynccontextmanager": "contextmanager",
    "aclosing": "closing",
    "__aenter__": "__enter__",
    "__aexit__": "__exit__",
    "__aiter__": "__iter__",
    "__anext__": "__next__",
    "aclose": "close",
    "aclose_iter": "close_iter",
    "anext": "next",
    "aiter": "iter",
    "StopAsyncIteration": "StopIteration",
    "async_engine": "sync_engine",
    "aload_history": "load_history",
    "ahttp_event_hooks": "http_event_hooks",
    "open_async_store": "open_store",
    "AsyncLock": "Lock",
    "acurrent_task": "current_task",
    "ashield": "shield",
    "asleep": "sleep",
    "aio_face": "sync_face",
    "ASYNC_FACE": "SYNC_FACE",
}

# Wrappers that mean nothing in blocking code: ``Awaitable[T]`` is ``T``, and
# ``ashield(work)`` is ``work`` (it has already run when the call returns).
UNWRAP = {"Awaitable": "[", "ashield": "("}
_CLOSING = {"[": "]", "(": ")"}

_OWN_ASYNC_CLASS = re.compile(r"^Async([A-Z]\w*)$")
_WORD = re.compile(r"\b[A-Za-z_]\w*\b")
_DIRECTIVE = re.compile(r"#\s*sync:\s*(.*?)\s*$")
HEADER = (
    "# GENERATED from {source} by scripts/gen_sync.py: do not edit.\n"
    "# Edit the async source and run `make generate`.\n"
)


def rename(name: str) -> str:
    if name in RENAMES:
        return RENAMES[name]
    if name.endswith("_async"):
        return name[: -len("_async")] + "_sync"
    match = _OWN_ASYNC_CLASS.match(name)
    if match:
        return match.group(1)
    return name


def _rename_words(text: str) -> str:
    return _WORD.sub(lambda m: rename(m.group(0)), text)


def _apply_directives(source: str) -> str:
    out = []
    for line in source.splitlines(keepends=True):
        match = _DIRECTIVE.search(line)
        if match is None:
            out.append(line)
            continue
        code = match.group(1)
        if code == "drop":
            continue
        indent = line[: len(line) - len(line.lstrip())]
        out.append(f"{indent}{code}\n")
    return "".join(out)


def unasync(source: str) -> str:
    """The sync twin of ``source`` (before formatting)."""
    source = _apply_directives(source)
    lines = source.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))

    def pos(row: int, col: int) -> int:
        return offsets[row - 1] + col

    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    edits: list[tuple[int, int, str]] = []
    for i, tok in enumerate(tokens):
        start, end = pos(*tok.start), pos(*tok.end)
        if tok.type == tokenize.NAME and tok.string in ("async", "await"):
            following = tokens[i + 1]
            if tok.string == "async" and following.string not in ("def", "for", "with"):
                raise ValueError(f"line {tok.start[0]}: stray 'async'")
            # Drop the keyword and the space after it.
            edits.append((start, pos(*following.start), ""))
        elif (
            tok.type == tokenize.NAME
            and tok.string in UNWRAP
            and tokens[i + 1].string == UNWRAP[tok.string]
        ):
            edits.append((start, pos(*tokens[i + 1].end), ""))
            edits.append(_closing_edit(tokens, i + 1, pos))
        elif tok.type == tokenize.NAME and tok.string == "aio" and tokens[i - 1].string == ".":
            edits.append((pos(*tokens[i - 1].start), end, ""))
        elif tok.type == tokenize.NAME:
            new = rename(tok.string)
            if new != tok.string:
                edits.append((start, end, new))
        elif tok.type in (tokenize.STRING, tokenize.COMMENT):
            new = _rename_words(tok.string)
            if new != tok.string:
                edits.append((start, end, new))
    for start, end, text in sorted(edits, reverse=True):
        source = source[:start] + text + source[end:]
    return source


def _closing_edit(
    tokens: list[tokenize.TokenInfo], opening: int, pos: Callable[[int, int], int]
) -> tuple[int, int, str]:
    """The edit removing the bracket that closes ``tokens[opening]``."""
    open_char = tokens[opening].string
    depth = 0
    for tok in tokens[opening:]:
        if tok.string == open_char:
            depth += 1
        elif tok.string == _CLOSING[open_char]:
            depth -= 1
            if depth == 0:
                return (pos(*tok.start), pos(*tok.end), "")
    raise ValueError(f"line {tokens[opening].start[0]}: unbalanced {open_char!r}")


def _ruff(args: list[str], text: str, filename: Path) -> str:
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        raise SystemExit("gen_sync: ruff is needed (make installs it in .venv)")
    result = subprocess.run(
        [ruff, *args, "--stdin-filename", str(filename), "-"],
        input=text,
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    if result.returncode not in (0, 1) or not result.stdout:
        raise SystemExit(f"gen_sync: ruff failed on {filename}:\n{result.stderr}")
    return result.stdout


def generate(source_path: Path) -> tuple[Path, str]:
    target = source_path.with_name(source_path.name.replace("_async.py", "_sync.py"))
    text = unasync(source_path.read_text())
    rel = source_path.relative_to(ROOT)
    text = HEADER.format(source=rel) + text
    text = _ruff(["check", "--fix", "--select", "I,F401", "--exit-zero", "-q"], text, target)
    text = _ruff(["format", "-q"], text, target)
    return target, text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="fail if a twin is stale")
    args = parser.parse_args(argv)
    stale = []
    for source_path in sorted(SOURCE_ROOT.rglob("*_async.py")):
        target, text = generate(source_path)
        current = target.read_text() if target.exists() else None
        if current == text:
            continue
        stale.append(target.relative_to(ROOT))
        if not args.check:
            target.write_text(text)
    if args.check and stale:
        names = ", ".join(map(str, stale))
        print(f"generated sync code is stale: {names}; run `make generate`", file=sys.stderr)
        return 1
    for name in stale:
        print(f"wrote {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
