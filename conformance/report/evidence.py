"""Request/response evidence and curl reproductions for failed checks, always redacted."""

from __future__ import annotations

import shlex

import httpx

from conformance.redaction import Redactor


def curl_for(request: httpx.Request, redactor: Redactor) -> str:
    parts = ["curl", "-sS", "-X", request.method]
    for name, value in redactor.headers(dict(request.headers)).items():
        if name.lower() in {"host", "content-length", "accept-encoding", "connection", "user-agent", "accept"}:
            continue
        parts += ["-H", f"{name}: {value}"]
    body = request.content
    if body:
        parts += ["--data-raw", redactor.text(body.decode("utf-8", "replace"))]
    parts.append(str(request.url))
    return " ".join(shlex.quote(p) for p in parts)


def exchange_text(response: httpx.Response, redactor: Redactor) -> str:
    request = response.request
    body = request.content.decode("utf-8", "replace") if request.content else ""
    lines = [
        f"> {request.method} {request.url}",
        *(f"> {k}: {v}" for k, v in redactor.headers(dict(request.headers)).items()),
    ]
    if body:
        lines.append(f"> {redactor.text(body)[:2000]}")
    lines.append(f"< {response.status_code}")
    try:
        text = response.text
    except Exception:  # noqa: BLE001 - evidence must never break a run
        text = "<undecodable body>"
    lines.append(f"< {redactor.text(text)[:2000]}")
    lines.append("reproduce: " + curl_for(request, redactor))
    return "\n".join(lines)
