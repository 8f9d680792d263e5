"""Reading JSON request bodies into models, with errors in the API's one shape."""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError

from gauntlet.platform.api.errors import ApiError

Model = TypeVar("Model", bound=BaseModel)


async def json_object(request: Request, *, required: bool = True) -> dict[str, Any]:
    """The body as a JSON object; an empty body is {} unless `required`."""
    raw = await request.body()
    if not raw.strip():
        if required:
            raise ApiError(400, "invalid_json", "request body must be a JSON object (it is empty)")
        return {}
    try:
        parsed = await request.json()
    except ValueError as exc:
        raise ApiError(400, "invalid_json", "request body is not valid JSON") from exc
    if not isinstance(parsed, dict):
        raise ApiError(400, "invalid_json", "request body must be a JSON object")
    return parsed


def parse(model: type[Model], raw: dict[str, Any]) -> Model:
    """Validate into `model`; a 422 naming the first bad field otherwise."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "body"
        raise ApiError(
            422,
            "invalid_request",
            f"{field}: {first['msg']}",
            details=[{"field": ".".join(str(p) for p in e["loc"]), "problem": e["msg"]} for e in exc.errors()],
        ) from exc
