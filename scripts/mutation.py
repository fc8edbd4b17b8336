"""Mutation testing of the modules where a wrong line loses data or breaks the contract.

    make mutation                       # every module below, 2 workers
    .venv/bin/python scripts/mutation.py --module _retry --module stores/_memory_async
    .venv/bin/python scripts/mutation.py --resume   # continue an interrupted run
    .venv/bin/python scripts/mutation.py --report   # print the last run's results again

Runs mutmut 3 (installed into the running interpreter's environment on first use: a
dev tool, not a dependency) in a scratch copy of the project (``build/mutation``), so
the work tree is never touched and no one else's test run ever sees a mutant. Each
mutant runs only the tests that call the mutated function (mutmut's per-test
selection), from tests/unit, tests/stores, tests/providers and tests/tracing, on the
memory and SQLite stores (the mutated code is the same whatever the store; the
Postgres and Redis stores are not mutated here).

Async sources only: the blocking twins are generated from them (docs/architecture.md).
Prints killed/total per module and every survivor with its diff. A survivor listed
in scripts/mutation_equivalent.txt is shown with the reason it is equivalent; it still
counts as survived in the raw score, and a second score leaves it out. Run by hand,
not in CI: a full run takes a long while on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "src/threadline/"
MODULES = (
    "_lifecycle.py",
    "_ids.py",
    "stores/_sqlite_async.py",
    "stores/_memory_async.py",
    "stores/_rows.py",
    "stores/_numbered.py",
    "_turn_async.py",
    "_transfer.py",
    "_retry.py",
    "_retrying_async.py",
    "_session_async.py",
    "_manager_async.py",
    "_runtime_async.py",
    "_validate.py",
    "providers/_openai_errors.py",
    "providers/_sdk.py",
)
TESTS = ["tests/unit", "tests/stores", "tests/providers", "tests/tracing"]
PYTEST_ARGS = [
    "-p",
    "no:cacheprovider",
    # The mutated code is store-neutral; Postgres and Redis would start servers per mutant.
    "-k",
    "not postgres and not redis",
    "-m",
    "not slow",
    # It compares the (instrumented) async sources with their generated twins.
    "--deselect",
    "tests/unit/test_two_faces.py::test_generated_files_are_current",
    # It sends the process a real SIGINT, which mutmut's runner handles itself.
    "--deselect",
    "tests/unit/test_session_sync.py::test_interrupting_a_stream_mid_step_releases_the_session",
]
EQUIVALENT_FILE = ROOT / "scripts" / "mutation_equivalent.txt"
MUTMUT = "mutmut>=3.8,<4"

# mutmut's exit-code convention (mutmut.models.results.status_by_exit_code).
KILLED = {1, 3, 37}  # a test failed (3: pytest itself failed), or the type check did
TIMEOUT = {36, -24, 24, 152, 255}  # the tests never finished: detected, counted as killed
SURVIVED = {0}
NO_TESTS = {5, 33}  # no test calls the mutated function


def ensure_mutmut() -> None:
    try:
        import mutmut  # noqa: F401
    except ImportError:
        print(f"installing {MUTMUT} into {sys.prefix} (a dev tool, not a dependency)")
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", MUTMUT], check=True)


def module_glob(module: str) -> str:
    return PACKAGE + module


def prepare(workdir: Path, modules: list[str], *, resume: bool) -> None:
    """A copy of src/, tests/ and pyproject.toml with the mutmut settings added."""
    if workdir.exists() and not resume:
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.db", "*.db-*")
    for name in ("src", "tests", "scripts"):
        target = workdir / name
        if target.exists() and not resume:
            shutil.rmtree(target)
        shutil.copytree(ROOT / name, target, ignore=ignore, dirs_exist_ok=True)
    settings = {
        "source_paths": ["src"],
        "only_mutate": [module_glob(m) for m in modules],
        "pytest_add_cli_args": PYTEST_ARGS,
        "pytest_add_cli_args_test_selection": TESTS,
        "use_git_change_detection": False,
        "timeout_multiplier": 10.0,
    }
    lines = ["", "[tool.mutmut]"]
    lines += [f"{key} = {json.dumps(value)}" for key, value in settings.items()]
    pyproject = (ROOT / "pyproject.toml").read_text()
    (workdir / "pyproject.toml").write_text(pyproject + "\n".join(lines) + "\n")


def survivors(workdir: Path, modules: list[str]) -> list[str]:
    """Names of the mutants the last run left alive (or found no test for)."""
    names = []
    for module in modules:
        meta = workdir / "mutants" / (module_glob(module) + ".meta")
        if meta.exists():
            codes = json.loads(meta.read_text())["exit_code_by_key"]
            names += [n for n, c in codes.items() if c in SURVIVED or c in NO_TESTS]
    return names


def run_mutmut(workdir: Path, max_children: int, names: Sequence[str] = ()) -> int:
    env = dict(os.environ)
    # mutmut puts mutants/src first on sys.path itself. It must not be on PYTHONPATH:
    # looked up before mutmut creates it, Python would cache it as missing for good.
    env.pop("PYTHONPATH", None)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    argv = [sys.executable, "-m", "mutmut", "run", "--max-children", str(max_children), *names]
    return subprocess.run(argv, cwd=workdir, env=env, check=False).returncode


@dataclass
class Equivalent:
    """One line of mutation_equivalent.txt: a mutant name, or file + removed/added line."""

    reason: str
    name: str | None = None
    path: str | None = None
    removed: str | None = None
    added: str | None = None

    def matches(self, name: str, path: str, diff: str) -> bool:
        if self.name is not None:
            return name == self.name
        if self.path is None or not path.endswith(self.path):
            return False
        minus, plus = changed_lines(diff)
        if self.removed == SQL_CASE:
            return is_sql_case_only(minus, plus)
        return self.removed in minus and self.added in plus


# ``<file> || sql-case || *  # reason``: the mutant only changes the letter case of one
# line of SQL (keywords and identifiers are case-insensitive; values are bound with ?).
SQL_CASE = "sql-case"
_SQL = re.compile(
    r"\?|\b(SELECT|INSERT|UPDATE|DELETE|WHERE|ORDER BY|LIMIT|PRAGMA)\b|_us\b|_id\b", re.I
)


def is_sql_case_only(minus: list[str], plus: list[str]) -> bool:
    """One line changed, only in letter case, and only inside string literals that are SQL."""
    if len(minus) != 1 or len(plus) != 1 or minus[0] == plus[0]:
        return False
    if minus[0].lower() != plus[0].lower():
        return False
    before, after = _STRING.findall(minus[0]), _STRING.findall(plus[0])
    if len(before) != len(after) or _STRING.sub("", minus[0]) != _STRING.sub("", plus[0]):
        return False
    changed = [b for b, a in zip(before, after, strict=True) if b != a]
    return bool(changed) and all(_SQL.search(b) for b in changed)


_STRING = re.compile(r"\"[^\"]*\"|'[^']*'")


def changed_lines(diff: str) -> tuple[list[str], list[str]]:
    minus = [line[1:].strip() for line in diff.splitlines() if line.startswith("-")]
    plus = [line[1:].strip() for line in diff.splitlines() if line.startswith("+")]
    return (
        [m for m in minus if not m.startswith("--")],
        [p for p in plus if not p.startswith("++")],
    )


def load_equivalents() -> list[Equivalent]:
    """``name  # reason`` or ``path || removed line || added line  # reason``."""
    found = []
    if not EQUIVALENT_FILE.exists():
        return found
    for number, raw in enumerate(EQUIVALENT_FILE.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        entry, sep, reason = line.rpartition("  # ")
        if not sep or not reason.strip():
            sys.exit(f"{EQUIVALENT_FILE.name}:{number}: every entry needs '  # <reason>'")
        parts = [p.strip() for p in entry.split(" || ")]
        if len(parts) == 1:
            found.append(Equivalent(reason.strip(), name=parts[0]))
        elif len(parts) == 3:
            found.append(Equivalent(reason.strip(), None, parts[0], parts[1], parts[2]))
        else:
            sys.exit(f"{EQUIVALENT_FILE.name}:{number}: expected 'name' or 'path || - || +'")
    return found


@dataclass
class ModuleScore:
    killed: int = 0
    survived: list[tuple[str, str]] = field(default_factory=list)  # (name, diff)
    untested: list[tuple[str, str]] = field(default_factory=list)
    timeouts: int = 0
    other: int = 0

    @property
    def total(self) -> int:
        return self.killed + len(self.survived) + len(self.untested) + self.other


def collect(workdir: Path, modules: list[str]) -> dict[str, ModuleScore]:
    """Results read from mutmut's files (run in the work dir, as mutmut expects)."""
    os.chdir(workdir)
    sys.path.insert(0, str(workdir))
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    scores: dict[str, ModuleScore] = {}
    for module in modules:
        path = module_glob(module)
        meta = workdir / "mutants" / (path + ".meta")
        score = scores.setdefault(module, ModuleScore())
        if not meta.exists():
            continue
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        for name, code in sorted(codes.items(), key=lambda kv: natural(kv[0])):
            if code in KILLED or code in TIMEOUT:
                score.killed += 1
                score.timeouts += code in TIMEOUT
            elif code in SURVIVED or code in NO_TESTS:
                try:
                    diff = get_diff_for_mutant(name, path=path)
                except Exception as exc:  # pragma: no cover - a diff is only for display
                    diff = f"(no diff: {exc})"
                (score.survived if code in SURVIVED else score.untested).append((name, diff))
            else:
                score.other += 1  # not run yet (None), skipped, suspicious
    return scores


def natural(name: str) -> list[object]:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def report(scores: dict[str, ModuleScore], equivalents: list[Equivalent]) -> bool:
    """Print the table and the survivors; True when every survivor is accounted for."""
    width = max(len(m) for m in scores)
    print(f"\n{'module':<{width}}  killed/total   score  equivalent  score w/o equivalent")
    all_killed = all_total = all_equivalent = 0
    unexplained: list[tuple[str, str, str]] = []
    explained: list[tuple[str, str, str]] = []
    for module, score in scores.items():
        equivalent = 0
        for name, diff in score.survived + score.untested:
            reason = next(
                (e.reason for e in equivalents if e.matches(name, module_glob(module), diff)),
                None,
            )
            if reason is None:
                unexplained.append((module, name, diff))
            else:
                equivalent += 1
                explained.append((module, name, reason))
        total = score.total
        pct = 100.0 * score.killed / total if total else 100.0
        rest = total - equivalent
        pct_eq = 100.0 * score.killed / rest if rest else 100.0
        pending = f"  ({score.other} not run)" if score.other else ""
        print(
            f"{module:<{width}}  {score.killed:>5}/{total:<5}  {pct:5.1f}%  {equivalent:>10}"
            f"  {pct_eq:5.1f}%{pending}"
        )
        all_killed += score.killed
        all_total += total
        all_equivalent += equivalent
    pct = 100.0 * all_killed / all_total if all_total else 100.0
    rest = all_total - all_equivalent
    pct_eq = 100.0 * all_killed / rest if rest else 100.0
    label = "all"
    print(
        f"{label:<{width}}  {all_killed:>5}/{all_total:<5}  {pct:5.1f}%  {all_equivalent:>10}"
        f"  {pct_eq:5.1f}%"
    )
    if explained:
        print(f"\nsurvivors listed as equivalent ({EQUIVALENT_FILE.name}):")
        for _module, name, reason in explained:
            print(f"  {name}: {reason}")
    if unexplained:
        print(f"\n{len(unexplained)} survivor(s) not accounted for:")
        for _module, name, diff in unexplained:
            print(f"\n--- {name}")
            print("\n".join(line for line in diff.splitlines() if line[:1] in "+-@"))
    return not unexplained


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--module",
        action="append",
        choices=MODULES,
        help="mutate only this module (repeatable); default: all of them",
    )
    parser.add_argument("--max-children", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=ROOT / "build" / "mutation")
    parser.add_argument("--resume", action="store_true", help="keep earlier results")
    parser.add_argument(
        "--rerun-survivors",
        action="store_true",
        help="with --resume: run the last survivors again (after adding tests)",
    )
    parser.add_argument("--report", action="store_true", help="only print the last results")
    args = parser.parse_args()
    modules = list(args.module or MODULES)
    ensure_mutmut()
    workdir = args.workdir.resolve()
    if not args.report:
        names = survivors(workdir, modules) if args.resume and args.rerun_survivors else []
        prepare(workdir, modules, resume=args.resume)
        if args.rerun_survivors and not names:
            print("no survivors to run again")
        status = (
            run_mutmut(workdir, args.max_children, names)
            if names or not args.rerun_survivors
            else 0
        )
        if status not in (0,):
            print(f"mutmut exited with {status}", file=sys.stderr)
    scores = collect(workdir, modules)
    accounted = report(scores, load_equivalents())
    return 0 if accounted else 1


if __name__ == "__main__":
    sys.exit(main())
