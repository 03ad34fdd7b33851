"""Read the Terraform configuration under infra/ without Terraform: parsed blocks and references.

python-hcl2 turns each .tf file into plain data (strings keep HCL expressions as `${...}`). The
helpers here collect, per directory (one Terraform module), its variables, outputs, module calls
and locals, which is what the wiring, naming and policy tests compare.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import hcl2
from hcl2 import SerializationOptions

REPO_ROOT = Path(__file__).resolve().parents[2]
INFRA = REPO_ROOT / "infra"
MODULES = INFRA / "modules"
ENVS = INFRA / "envs"

# Arguments of a module block that are Terraform's, not the module's variables.
MODULE_META_ARGUMENTS = frozenset(
    {"source", "version", "providers", "depends_on", "count", "for_each", "__is_block__"}
)

_OPTIONS = SerializationOptions(strip_string_quotes=True, with_comments=False)
_MODULE_OUTPUT_REF = re.compile(r"\bmodule\.([A-Za-z_][\w-]*)\.([A-Za-z_][\w-]*)")
_VAR_REF = re.compile(r"\bvar\.([A-Za-z_][\w-]*)")
_LOCAL_REF = re.compile(r"\blocal\.([A-Za-z_][\w-]*)")


def parse_file(path: Path) -> dict[str, Any]:
    """One .tf file as python-hcl2 data (raises on a syntax error)."""
    with path.open(encoding="utf-8") as handle:
        parsed: dict[str, Any] = hcl2.load(handle, serialization_options=_OPTIONS)
    return parsed


def tf_files(root: Path = INFRA) -> list[Path]:
    """Every .tf file below `root`, skipping provider caches."""
    return sorted(p for p in root.rglob("*.tf") if ".terraform" not in p.parts)


def _named_blocks(entries: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    blocks: dict[str, dict[str, Any]] = {}
    for entry in entries:
        for name, body in entry.items():
            blocks[name] = body
    return blocks


@dataclass
class TerraformModule:
    """The blocks of one directory of .tf files."""

    path: Path
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    module_calls: dict[str, dict[str, Any]] = field(default_factory=dict)
    locals: dict[str, Any] = field(default_factory=dict)
    resources: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    data: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    terraform: list[dict[str, Any]] = field(default_factory=list)
    files: dict[Path, dict[str, Any]] = field(default_factory=dict)

    @property
    def required_variables(self) -> set[str]:
        return {name for name, body in self.variables.items() if "default" not in body}

    def text(self) -> str:
        """All of the module's .tf source, for reference scans."""
        return "\n".join(p.read_text(encoding="utf-8") for p in sorted(self.files))

    def resource(self, kind: str, name: str) -> dict[str, Any]:
        return self.resources[kind][name]

    def data_source(self, kind: str, name: str) -> dict[str, Any]:
        return self.data[kind][name]


@cache
def load_module(path: Path) -> TerraformModule:
    """Parse every .tf file of the directory `path` into one TerraformModule."""
    module = TerraformModule(path=path)
    for tf in sorted(path.glob("*.tf")):
        parsed = parse_file(tf)
        module.files[tf] = parsed
        for entry in parsed.get("variable", []):
            module.variables.update(entry)
        for entry in parsed.get("output", []):
            module.outputs.update(entry)
        for entry in parsed.get("module", []):
            module.module_calls.update(entry)
        for entry in parsed.get("locals", []):
            module.locals.update({k: v for k, v in entry.items() if k != "__is_block__"})
        for entry in parsed.get("resource", []):
            for kind, named in entry.items():
                module.resources.setdefault(kind, {}).update(named)
        for entry in parsed.get("data", []):
            for kind, named in entry.items():
                module.data.setdefault(kind, {}).update(named)
        module.terraform.extend(parsed.get("terraform", []))
    return module


def module_dirs() -> list[Path]:
    """Every directory holding .tf files: the modules and the environments."""
    return sorted({p.parent for p in tf_files()})


def call_source(caller: Path, call: dict[str, Any]) -> Path:
    """Directory of a module call's local `source`."""
    return (caller / call["source"]).resolve()


def module_output_references(text: str) -> set[tuple[str, str]]:
    """`(module name, output name)` for every `module.X.Y` in `text`."""
    return set(_MODULE_OUTPUT_REF.findall(text))


def variable_references(text: str) -> set[str]:
    return set(_VAR_REF.findall(text))


def local_references(text: str) -> set[str]:
    return set(_LOCAL_REF.findall(text))


@dataclass(frozen=True)
class WiringProblem:
    where: str
    problem: str

    def __str__(self) -> str:
        return f"{self.where}: {self.problem}"


def wiring_problems(path: Path) -> list[WiringProblem]:
    """Inconsistencies between the module calls in `path` and the modules they call.

    Checks that each call passes only declared variables and every required one, that every
    `module.X.Y` names a call X whose module declares output Y, and that every `var.X` and
    `local.X` used in `path` is declared there.
    """
    module = load_module(path)
    problems: list[WiringProblem] = []
    where = str(path.relative_to(REPO_ROOT)) if path.is_relative_to(REPO_ROOT) else str(path)
    for name, call in module.module_calls.items():
        source = call_source(path, call)
        if not source.is_dir():
            problems.append(WiringProblem(where, f"module {name}: source {source} does not exist"))
            continue
        callee = load_module(source)
        passed = set(call) - MODULE_META_ARGUMENTS
        for unknown in sorted(passed - set(callee.variables)):
            problems.append(WiringProblem(where, f"module {name} passes undeclared {unknown}"))
        for missing in sorted(callee.required_variables - passed):
            problems.append(WiringProblem(where, f"module {name} misses required {missing}"))
    text = module.text()
    for call_name, output in sorted(module_output_references(text)):
        if call_name not in module.module_calls:
            problems.append(WiringProblem(where, f"module.{call_name}.{output}: no such call"))
            continue
        callee = load_module(call_source(path, module.module_calls[call_name]))
        if output not in callee.outputs:
            problems.append(
                WiringProblem(where, f"module.{call_name}.{output}: {call_name} has no such output")
            )
    for var in sorted(variable_references(text) - set(module.variables)):
        problems.append(WiringProblem(where, f"var.{var} is not declared"))
    for local in sorted(local_references(text) - set(module.locals)):
        problems.append(WiringProblem(where, f"local.{local} is not defined"))
    return problems


def policy_statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The statement blocks of an `aws_iam_policy_document` data source."""
    statements: list[dict[str, Any]] = document.get("statement", [])
    return statements


def interpolate(template: str, values: dict[str, str]) -> str:
    """Substitute `${name}` references (e.g. `var.environment`) that are plain names in `values`.

    Raises KeyError for any `${...}` left over, so an unexpected expression fails loudly.
    """

    def replace(match: re.Match[str]) -> str:
        return values[match.group(1)]

    return re.sub(r"\$\{([^{}]+)\}", replace, template)
