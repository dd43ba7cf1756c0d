"""Client generators keep every operation of openapi.yaml, as a new user would run them: a Python
client from openapi-python-client and TypeScript types from openapi-typescript checked by
`tsc --strict`. Each fails naming what it dropped; only the Atom feed's body may go (a generator
has no model for application/atom+xml)."""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final, NamedTuple

import pytest
import yaml

from tests.conftest import ROOT

SPEC: Final[dict[str, Any]] = yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))
METHODS: Final = ("get", "put", "post", "delete", "patch")
NODE_BIN: Final = ROOT / "tools" / "clients" / "node_modules" / ".bin"
# The only piece a generator may leave out: the feed's body is Atom XML, not a JSON schema.
MAY_OMIT: Final = {("GET", "/feed.xml"): "application/atom+xml"}
PACKAGE: Final = "mytodolist_client"


class Operation(NamedTuple):
    method: str
    path: str
    operation_id: str
    headers: tuple[str, ...]
    statuses: tuple[str, ...]


def _parameters(path_item: dict[str, Any], operation: dict[str, Any]) -> list[dict[str, Any]]:
    """An operation's parameters, the path item's included, with $refs resolved."""
    found = []
    for parameter in [*path_item.get("parameters", []), *operation.get("parameters", [])]:
        ref = parameter.get("$ref")
        found.append(SPEC["components"]["parameters"][ref.rsplit("/", 1)[-1]] if ref else parameter)
    return found


def _operations() -> list[Operation]:
    return [
        Operation(
            method.upper(),
            path,
            operation["operationId"],
            tuple(p["name"] for p in _parameters(item, operation) if p["in"] == "header"),
            tuple(operation["responses"]),
        )
        for path, item in SPEC["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


OPERATIONS: Final = _operations()


def _run(*command: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


# -- Python: openapi-python-client --------------------------------------------------------------


class PythonClient(NamedTuple):
    folder: Path
    warnings: dict[tuple[str, str], str]


_WARNING = re.compile(
    r"^WARNING parsing (\w+) (\S+) within \w+\.(.*?)(?=^WARNING |^If you believe|\Z)", re.M | re.S
)


@pytest.fixture(scope="session")
def python_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PythonClient]:
    """The client generated once per session, and the generator's warnings by operation."""
    work = tmp_path_factory.mktemp("python-client")
    # No post hooks: formatting the output is not what is tested, and costs seconds.
    (work / "config.json").write_text(json.dumps({"post_hooks": []}))
    done = _run(
        sys.executable,
        "-m",
        "openapi_python_client",
        "generate",
        "--path",
        ROOT / "openapi.yaml",
        "--output-path",
        work / PACKAGE,
        "--meta",
        "none",
        "--config",
        work / "config.json",
        cwd=work,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    # The generator writes its warnings to stderr, one block per operation.
    warnings = {
        (method, path): text.strip() for method, path, text in _WARNING.findall(done.stderr)
    }
    sys.path.insert(0, str(work))
    yield PythonClient(work / PACKAGE, warnings)
    sys.path.remove(str(work))


def test_python_client_generates_every_operation(python_client: PythonClient) -> None:
    generated = {path.stem for path in (python_client.folder / "api").rglob("*.py")}
    dropped = [
        f"{op.method} {op.path} ({op.operation_id}): {python_client.warnings.get(op[:2], '')}"
        for op in OPERATIONS
        if op.operation_id not in generated
    ]
    assert dropped == [], "openapi-python-client dropped:\n" + "\n".join(dropped)


def test_python_client_omits_nothing_but_the_feed_body(python_client: PythonClient) -> None:
    omitted = {
        operation: text
        for operation, text in python_client.warnings.items()
        if not (operation in MAY_OMIT and MAY_OMIT[operation] in text)
    }
    assert omitted == {}, "openapi-python-client left pieces out:\n" + "\n\n".join(
        f"{method} {path}: {text}" for (method, path), text in omitted.items()
    )


def test_python_client_takes_every_documented_header(python_client: PythonClient) -> None:
    missing = []
    for op in OPERATIONS:
        try:
            module = _import_operation(op)
        except ModuleNotFoundError:
            missing.append(f"{op.method} {op.path}: the whole operation")
            continue
        for header in op.headers:
            argument = header.lower().replace("-", "_")
            if argument not in module._get_kwargs.__code__.co_varnames:  # noqa: SLF001
                missing.append(f"{op.method} {op.path}: {header}")
    assert missing == [], "the Python client cannot send:\n" + "\n".join(missing)


def _import_operation(op: Operation) -> Any:
    tag = SPEC["paths"][op.path][op.method.lower()]["tags"][0]
    return importlib.import_module(f"{PACKAGE}.api.{tag}.{op.operation_id}")


def test_python_client_sends_the_offline_create_headers(python_client: PythonClient) -> None:
    """The core offline route, as a generated client sends it: If-None-Match is the `*` it
    needs, and the Idempotency-Key and X-Client-Version ride along."""
    put_todo = _import_operation(next(op for op in OPERATIONS if op.operation_id == "put_todo"))
    models = importlib.import_module(f"{PACKAGE}.models")
    kwargs = put_todo._get_kwargs(  # noqa: SLF001
        "b6a3c0de",
        body=models.TodoCreate(title="Buy milk"),
        if_none_match=models.PutTodoIfNoneMatch("*"),
        idempotency_key="2f0c6c1e-create-1",
        x_client_version="2.4.1",
    )
    assert (kwargs["method"], kwargs["url"]) == ("put", "/todos/b6a3c0de")
    assert kwargs["headers"]["If-None-Match"] == "*"
    assert kwargs["headers"]["Idempotency-Key"] == "2f0c6c1e-create-1"
    assert kwargs["headers"]["X-Client-Version"] == "2.4.1"
    assert kwargs["json"]["title"] == "Buy milk"


# -- TypeScript: openapi-typescript, checked by tsc --strict -------------------------------------


def _typescript_checks() -> tuple[str, dict[int, str]]:
    """A TypeScript file with one typed line per operation, header and documented status (each
    fails to compile if the generated types lack it), and which line checks what."""
    lines = [
        'import type { operations, paths } from "./api";',
        "type Present<T> = [T] extends [never] ? false : [T] extends [undefined] ? false : true;",
        "type Headers<O> = O extends { parameters: { header?: infer H } }"
        " ? NonNullable<H> : never;",
    ]
    checks: dict[int, str] = {}

    def add(line: str, what: str) -> None:
        lines.append(line)
        checks[len(lines)] = what

    for n, op in enumerate(OPERATIONS):
        typed = f'operations["{op.operation_id}"]'
        name = f"{op.method} {op.path}"
        route = f'paths["{op.path}"]["{op.method.lower()}"]'
        add(f"export const id{n}: {route} extends {typed} ? true : false = true;", name)
        for m, header in enumerate(op.headers):
            add(
                f'export const h{n}_{m}: Headers<{typed}>["{header}"] = undefined;',
                f"{name}: header {header}",
            )
        for status in op.statuses:
            add(
                f'export const s{n}_{status}: Present<{typed}["responses"][{status}]> = true;',
                f"{name}: {status}",
            )
    return "\n".join(lines) + "\n", checks


class TypeScriptCheck(NamedTuple):
    checks: dict[int, str]
    # What tsc said about the generated types, and about the same types without put_todo.
    errors: list[tuple[int, str]]
    broken_errors: list[tuple[int, str]]
    output: str


_TSC_ERROR = re.compile(r"^(broken/)?check\.ts\((\d+),\d+\): (error .*)$", re.M)


@pytest.fixture(scope="session")
def typescript_check(tmp_path_factory: pytest.TempPathFactory) -> TypeScriptCheck:
    """The types generated once per session and one `tsc --strict` run over the checks, and over
    the same checks against the types with PUT /todos/{todo_id} taken out (the check can fail)."""
    for tool in ("openapi-typescript", "tsc"):
        assert (NODE_BIN / tool).exists(), f"{NODE_BIN / tool} is missing: `make client-generators`"
    work = tmp_path_factory.mktemp("typescript")
    types = work / "api.d.ts"
    done = _run(NODE_BIN / "openapi-typescript", ROOT / "openapi.yaml", "-o", types, cwd=work)
    assert done.returncode == 0, done.stdout + done.stderr
    source, checks = _typescript_checks()
    (work / "check.ts").write_text(source)
    (work / "broken").mkdir()
    (work / "broken" / "check.ts").write_text(source)
    without_put = types.read_text().replace('put: operations["put_todo"];', "put?: never;", 1)
    (work / "broken" / "api.d.ts").write_text(without_put)
    # No DOM library: it triples tsc's time and the types need none of it.
    options = ("--strict", "--noEmit", "--target", "es2022", "--lib", "es2022")
    done = _run(NODE_BIN / "tsc", *options, "check.ts", "broken/check.ts", cwd=work)
    found = _TSC_ERROR.findall(done.stdout)
    return TypeScriptCheck(
        checks,
        [(int(line), error) for broken, line, error in found if not broken],
        [(int(line), error) for broken, line, error in found if broken],
        done.stdout + done.stderr,
    )


def test_typescript_types_keep_every_operation_header_and_status(
    typescript_check: TypeScriptCheck,
) -> None:
    dropped = [
        f"{typescript_check.checks.get(line, f'line {line}')}: {error}"
        for line, error in typescript_check.errors
    ]
    assert dropped == [], "the TypeScript types lack:\n" + "\n".join(dropped)
    assert typescript_check.broken_errors, typescript_check.output


def test_typescript_check_fails_on_a_dropped_operation(typescript_check: TypeScriptCheck) -> None:
    failing = {typescript_check.checks.get(line) for line, _ in typescript_check.broken_errors}
    assert failing == {"PUT /todos/{todo_id}"}
