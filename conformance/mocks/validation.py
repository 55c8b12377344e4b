"""Request validation for mocks, straight from the bundled spec.

A mock and the spec must agree on what a valid request is, or the generated layer's
positive/negative checks fail a faithful mock.  So mocks validate request bodies and
parameters with the spec's own JSON schemas and map the first failing field to the
vendor's documented error.  One mechanism for every vendor.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from conformance.specs import load_spec


@dataclass(frozen=True)
class Problem:
    """One way a request breaks the spec: which field (or None for the whole body) and how."""

    field: str | None
    kind: str  # "required", "type", "pattern", "enum", "range", "length", "other"
    message: str
    path: tuple[str, ...] = ()  # where in the body, outermost first

    @property
    def where(self) -> str:
        return ".".join(self.path) or "body"


_KINDS = {
    "required": "required",
    "type": "type",
    "pattern": "pattern",
    "enum": "enum",
    "const": "enum",
    "minimum": "range",
    "maximum": "range",
    "exclusiveMinimum": "range",
    "exclusiveMaximum": "range",
    "minLength": "length",
    "maxLength": "length",
    "minItems": "length",
    "maxItems": "length",
}


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


class SpecValidator:
    """Validators for the request bodies and parameters of one spec's operations.

    ``SpecValidator.of(spec)`` is the one for a spec file in this process: it holds only the parsed
    spec and the schemas compiled so far, so every mock app of that vendor shares it.
    """

    @staticmethod
    def of(spec: Path) -> SpecValidator:
        return _shared(Path(spec))

    def __init__(self, spec: Path) -> None:
        self.spec = load_spec(spec)
        self.uri = f"urn:kms-conformance:{spec.name}"
        self.registry = Registry().with_resource(self.uri, Resource.from_contents(self.spec, DRAFT202012))
        self.pointers: dict[str, str] = {}
        self.parameters: dict[str, list[dict[str, Any]]] = {}
        for path, item in self.spec.get("paths", {}).items():
            for method, operation in item.items():
                if not isinstance(operation, dict) or "operationId" not in operation:
                    continue
                op_id = operation["operationId"]
                self.pointers[op_id] = f"/paths/{_escape(path)}/{method}"
                self.parameters[op_id] = [
                    self._resolve(p) for p in item.get("parameters", []) + operation.get("parameters", [])
                ]

    def _resolve(self, node: Any) -> Any:
        while isinstance(node, dict) and "$ref" in node:
            node = self.registry.resolver(self.uri).lookup(self.uri + node["$ref"]).contents
        return node

    @cache  # noqa: B019 - one validator per operation for the life of the mock
    def _body_validator(self, operation_id: str) -> jsonschema.Draft202012Validator | None:
        operation = self._resolve({"$ref": "#" + self.pointers[operation_id]})
        body = self._resolve(operation.get("requestBody"))
        if not body:
            return None
        content = body.get("content", {})
        media = next((m for m in content if "json" in m), None)
        if media is None:
            return None
        pointer = f"{self.pointers[operation_id]}/requestBody"
        if "$ref" in operation.get("requestBody", {}):
            pointer = operation["requestBody"]["$ref"].removeprefix("#")
        schema = {"$ref": f"{self.uri}#{pointer}/content/{_escape(media)}/schema"}
        return jsonschema.Draft202012Validator(schema, registry=self.registry)

    @cache  # noqa: B019 - one validator per component schema for the life of the mock
    def _component_validator(self, name: str) -> jsonschema.Draft202012Validator:
        return jsonschema.Draft202012Validator(
            {"$ref": f"{self.uri}#/components/schemas/{name}"}, registry=self.registry
        )

    def component_problems(self, name: str, body: Any) -> list[Problem]:
        """Problems of ``body`` against ``#/components/schemas/<name>``."""
        return [
            self._problem(e) for e in sorted(self._component_validator(name).iter_errors(body), key=_order)
        ]

    def body_problems(self, operation_id: str, body: Any) -> list[Problem]:
        validator = self._body_validator(operation_id)
        if validator is None:
            return []
        return [self._problem(e) for e in sorted(validator.iter_errors(body), key=_order)]

    def parameter_problems(self, operation_id: str, location: str, values: dict[str, str]) -> list[Problem]:
        """Problems with ``query``/``path``/``header`` parameters (values arrive as strings)."""
        problems = []
        for param in self.parameters.get(operation_id, []):
            if param.get("in") != location:
                continue
            name = param["name"]
            if name not in values:
                if param.get("required"):
                    problems.append(Problem(name, "required", f"{name} is required"))
                continue
            schema = self._resolve(param.get("schema", {}))
            value: Any = values[name]
            kind = schema.get("type")
            if kind in ("integer", "number"):
                try:
                    value = int(value) if kind == "integer" else float(value)
                except ValueError:
                    problems.append(Problem(name, "type", f"{name} must be a {kind}"))
                    continue
            elif kind == "boolean":
                if value not in ("true", "false"):
                    problems.append(Problem(name, "type", f"{name} must be true or false"))
                    continue
                value = value == "true"
            validator = jsonschema.Draft202012Validator(schema, registry=self.registry)
            for error in validator.iter_errors(value):
                problems.append(
                    Problem(name, _KINDS.get(str(error.validator), "other"), f"{name}: {error.message}")
                )
        return problems

    @staticmethod
    def _problem(error: jsonschema.ValidationError) -> Problem:
        kind = _KINDS.get(str(error.validator), "other")
        path = tuple(str(p) for p in error.absolute_path)
        if kind == "required":
            missing = next(iter(_missing(error)), None)
            return Problem(missing, kind, error.message, path)
        field = path[0] if path else None
        return Problem(field, kind, error.message, path)


def _missing(error: jsonschema.ValidationError) -> Iterator[str]:
    instance = error.instance if isinstance(error.instance, dict) else {}
    for name in error.validator_value or []:
        if name not in instance:
            yield name


def _order(error: jsonschema.ValidationError) -> tuple[int, int]:
    """Whole-body problems first, then missing fields, then field problems."""
    if not error.absolute_path and error.validator != "required":
        return (0, 0)
    if error.validator == "required":
        return (1, 0)
    return (2, len(error.absolute_path))


@cache
def _shared(spec: Path) -> SpecValidator:
    return SpecValidator(spec)
