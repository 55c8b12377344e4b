"""``kms-conformance lint``: a spec must be valid OpenAPI and carry what the suite relies on."""

from __future__ import annotations

from pathlib import Path

import yaml
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def lint_spec(path: Path) -> list[str]:
    """Problems with the OpenAPI document at ``path``; empty when it is fine."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        return [f"cannot read: {exc.strerror}"]
    except UnicodeDecodeError as exc:
        return [f"not UTF-8 text: {exc.reason} at byte {exc.start}"]
    except yaml.YAMLError as exc:
        return [f"not valid YAML: {exc}"]
    if not isinstance(document, dict):
        return ["not an OpenAPI document (top level is not a mapping)"]
    try:
        validate(document)
    except OpenAPIValidationError as exc:
        return [f"invalid OpenAPI: {exc.message}"]
    except Exception as exc:  # noqa: BLE001 - the validator raises several unrelated types
        return [f"invalid OpenAPI: {exc}"]
    problems = []
    seen: set[str] = set()
    for route, item in document.get("paths", {}).items():
        for method in _METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            op_id = operation.get("operationId")
            where = f"{method.upper()} {route}"
            if not op_id:
                problems.append(f"{where}: no operationId")
            elif op_id in seen:
                problems.append(f"{where}: duplicate operationId {op_id}")
            seen.add(op_id or where)
            if not operation.get("x-doc-url"):
                problems.append(f"{where}: no x-doc-url (the vendor page it is transcribed from)")
    return problems
