"""Proxy and toxic definitions, and validation of API input the way Toxiproxy 2.x does it.

Pure: no I/O. The HTTP layer hands decoded JSON here and gets back typed values or an
``ApiError`` carrying the exact message and status the real server would send.

Decoding follows Go's ``encoding/json`` as Toxiproxy uses it (first JSON value only,
case-insensitive field names, ``null`` leaves a default, unknown top-level fields are
ignored). Gauntlet is stricter than Toxiproxy in these places, all answered with 400:
unknown toxic attributes, negative attribute values, toxicity outside [0, 1]; proxy
names outside ``[A-Za-z0-9._-]{1,255}`` (or ``.``/``..``), which Toxiproxy accepts
even when the name can never be addressed in a URL again (a ``/``); and listen
addresses that are not ``host:port`` with a port in 0-65535 or whose host does not
resolve (Toxiproxy answers 500 for those; here 500 is left for an address that is
valid but cannot be bound, e.g. in use).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Final

VERSION: Final = "2.12.0"
UPSTREAM: Final = "upstream"
DOWNSTREAM: Final = "downstream"
# Toxiproxy lists upstream toxics before downstream ones (its Direction enum order).
DIRECTIONS: Final = (UPSTREAM, DOWNSTREAM)

# Attribute names per toxic type, in the field order Toxiproxy marshals them.
TOXIC_ATTRIBUTES: Final[Mapping[str, tuple[str, ...]]] = {
    "noop": (),
    "latency": ("latency", "jitter"),
    "bandwidth": ("rate",),
    "slow_close": ("delay",),
    "timeout": ("timeout",),
    "reset_peer": ("timeout",),
    "slicer": ("average_size", "size_variation", "delay"),
    "limit_data": ("bytes",),
}
_INT64_MAX: Final = 2**63 - 1


class ApiError(Exception):
    """An error the API answers with ``{"error": message, "status": status}``."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status

    def joined(self, detail: str) -> ApiError:
        """This error with Go's ``joinError`` suffix (``"<message>: <detail>"``)."""
        return ApiError(f"{self.message}: {detail}", self.status)


BAD_REQUEST_BODY: Final = ApiError("bad request body", 400)
MISSING_FIELD: Final = ApiError("missing required field", 400)
PROXY_NOT_FOUND: Final = ApiError("proxy not found", 404)
PROXY_ALREADY_EXISTS: Final = ApiError("proxy already exists", 409)
INVALID_STREAM: Final = ApiError("stream was invalid, can be either upstream or downstream", 400)
INVALID_TOXIC_TYPE: Final = ApiError("invalid toxic type", 400)
TOXIC_ALREADY_EXISTS: Final = ApiError("toxic already exists", 409)
TOXIC_NOT_FOUND: Final = ApiError("toxic not found", 404)


@dataclass(frozen=True)
class ToxicSpec:
    """One toxic as the API shows it; ``direction`` is the normalised ``stream``."""

    name: str
    type: str
    stream: str
    direction: str
    toxicity: float
    attributes: Mapping[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return {
            "attributes": dict(self.attributes),
            "name": self.name,
            "type": self.type,
            "stream": self.stream,
            # Go marshals the float32 1.0 as 1.
            "toxicity": int(self.toxicity) if self.toxicity.is_integer() else self.toxicity,
        }


@dataclass(frozen=True)
class ProxyInput:
    """The fields of a proxy a client can set."""

    name: str
    listen: str
    upstream: str
    enabled: bool


def decode_body(raw: bytes) -> object:
    """Decode the first JSON value of a request body, as Go's ``json.Decoder`` does."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BAD_REQUEST_BODY.joined("invalid character in body") from exc
    stripped = text.lstrip(" \t\r\n")
    if not stripped:
        raise BAD_REQUEST_BODY.joined("EOF")
    try:
        value, _ = json.JSONDecoder().raw_decode(stripped)
    except json.JSONDecodeError as exc:
        raise BAD_REQUEST_BODY.joined(f"invalid JSON: {exc.msg} at offset {exc.pos}") from exc
    except RecursionError as exc:
        raise BAD_REQUEST_BODY.joined("exceeded max depth") from exc
    if "\\ud" in stripped.lower():
        value = _replace_lone_surrogates(value)
    return value


_SURROGATES = re.compile("[\ud800-\udfff]")


def _clean_text(text: str) -> str:
    return _SURROGATES.sub("\ufffd", text)


def _replace_lone_surrogates(value: object) -> object:
    """Go decodes an unpaired ``\\uD800`` escape as U+FFFD; Python keeps it and cannot encode it."""
    if isinstance(value, str):
        return _clean_text(value)
    stack: list[object] = [value]
    while stack:  # iterative: bodies may nest as deep as the JSON decoder allows
        node = stack.pop()
        if isinstance(node, list):
            for index, item in enumerate(node):
                if isinstance(item, str):
                    node[index] = _clean_text(item)
                else:
                    stack.append(item)
        elif isinstance(node, dict):
            cleaned = {
                _clean_text(key): _clean_text(item) if isinstance(item, str) else item for key, item in node.items()
            }
            node.clear()
            node.update(cleaned)
            stack.extend(cleaned.values())
    return value


def _go_kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _unmarshal_error(value: object, where: str, go_type: str) -> ApiError:
    kind = _go_kind(value)
    if kind == "number":
        kind = f"number {json.dumps(value)}"
    return BAD_REQUEST_BODY.joined(f"json: cannot unmarshal {kind} into {where} of type {go_type}")


def _fields(obj: Mapping[str, object], names: tuple[str, ...]) -> dict[str, object]:
    """Pick the known fields of a JSON object; Go matches names case-insensitively."""
    wanted = {name.lower(): name for name in names}
    picked: dict[str, object] = {}
    for key, value in obj.items():
        name = wanted.get(key.lower())
        if name is not None and (key == name or name not in obj):
            picked[name] = value
    return picked


def _string(value: object, default: str, where: str) -> str:
    if value is None:
        return default
    if not isinstance(value, str):
        raise _unmarshal_error(value, where, "string")
    return value


def _bool(value: object, default: bool, where: str) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        raise _unmarshal_error(value, where, "bool")
    return value


def _object(body: object, go_type: str) -> Mapping[str, object]:
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise _unmarshal_error(body, "Go value", go_type)
    return body


def parse_proxy(body: object, current: ProxyInput) -> ProxyInput:
    """Overlay a JSON proxy object on ``current``: fields left out keep their values."""
    fields = _fields(_object(body, "toxiproxy.Proxy"), ("name", "listen", "upstream", "enabled"))
    return ProxyInput(
        name=_string(fields.get("name"), current.name, "Go struct field Proxy.name"),
        listen=_string(fields.get("listen"), current.listen, "Go struct field Proxy.listen"),
        upstream=_string(fields.get("upstream"), current.upstream, "Go struct field Proxy.upstream"),
        enabled=_bool(fields.get("enabled"), current.enabled, "Go struct field Proxy.enabled"),
    )


def parse_proxy_create(body: object) -> ProxyInput:
    """A new proxy from ``POST /proxies``; ``enabled`` defaults to true."""
    proxy = parse_proxy(body, ProxyInput(name="", listen="", upstream="", enabled=True))
    ensure_proxy_is_complete(proxy, "")
    return proxy


PROXY_NAME: Final = re.compile(r"[A-Za-z0-9._-]{1,255}")


def ensure_proxy_name(name: str, where: str = "") -> None:
    """400 unless ``name`` can be used in ``/proxies/{name}`` URLs (stricter than Toxiproxy)."""
    if PROXY_NAME.fullmatch(name) is None or name in (".", ".."):
        shown = name if len(name) <= 40 else f"{name[:40]}..."
        raise BAD_REQUEST_BODY.joined(
            f"invalid proxy name {shown!r}{where}: use 1-255 characters of A-Z, a-z, 0-9, '.', '_' and '-'"
        )


def ensure_proxy_is_complete(proxy: ProxyInput, where: str) -> None:
    """Raise Toxiproxy's ``missing required field`` error for an empty name or upstream."""
    if not proxy.name:
        raise MISSING_FIELD.joined(f"name{where}")
    ensure_proxy_name(proxy.name, where)
    if not proxy.upstream:
        raise MISSING_FIELD.joined(f"upstream{where}")


def parse_populate(body: object) -> list[ProxyInput]:
    """Every entry of a ``POST /populate`` body, all validated before any is applied."""
    if body is None:
        return []
    if not isinstance(body, list):
        raise _unmarshal_error(body, "Go value", "[]toxiproxy.Proxy")
    proxies: list[ProxyInput] = []
    seen: set[str] = set()
    for index, entry in enumerate(body, start=1):
        proxy = parse_proxy(entry, ProxyInput(name="", listen="", upstream="", enabled=True))
        ensure_proxy_is_complete(proxy, f" at proxy {index}")
        if proxy.name in seen:
            raise BAD_REQUEST_BODY.joined(f"duplicate proxy name {proxy.name!r} at proxy {index}")
        seen.add(proxy.name)
        proxies.append(proxy)
    return proxies


def parse_direction(stream: str) -> str:
    """The direction a ``stream`` value names; Toxiproxy compares case-insensitively."""
    direction = stream.lower()
    if direction not in DIRECTIONS:
        raise INVALID_STREAM
    return direction


def _toxicity(value: object, default: float) -> float:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _unmarshal_error(value, "Go struct field ToxicWrapper.toxicity", "float32")
    if not 0.0 <= float(value) <= 1.0:
        raise BAD_REQUEST_BODY.joined("toxicity must be between 0 and 1")
    return float(value)


def _attributes(toxic_type: str, body: object, current: Mapping[str, int]) -> dict[str, int]:
    names = TOXIC_ATTRIBUTES[toxic_type]
    merged = {name: current.get(name, 0) for name in names}
    if body is not None:
        _merge_attributes(toxic_type, body, merged)
    _ensure_attributes_are_consistent(toxic_type, merged)
    return merged


def _merge_attributes(toxic_type: str, body: object, merged: dict[str, int]) -> None:
    names = TOXIC_ATTRIBUTES[toxic_type]
    go_struct = f"{''.join(part.title() for part in toxic_type.split('_'))}Toxic"
    if not isinstance(body, dict):
        raise _unmarshal_error(body, "Go struct field ToxicWrapper.attributes", f"toxics.{go_struct}")
    fields = _fields(body, names)
    unknown = sorted(key for key in body if key.lower() not in {name.lower() for name in names})
    if unknown:
        allowed = ", ".join(names) or "none"
        raise BAD_REQUEST_BODY.joined(
            f"unknown attribute {unknown[0]!r} for toxic type {toxic_type} (allowed: {allowed})"
        )
    for name, value in fields.items():
        if value is None:
            continue
        where = f"Go struct field {go_struct}.attributes.{name}"
        if isinstance(value, bool) or not isinstance(value, int) or abs(value) > _INT64_MAX:
            raise _unmarshal_error(value, where, "int64")
        if value < 0:
            raise BAD_REQUEST_BODY.joined(f"attribute {name} must not be negative, got {value}")
        merged[name] = value


def _ensure_attributes_are_consistent(toxic_type: str, attributes: Mapping[str, int]) -> None:
    # Toxiproxy's slicer recurses forever on average_size 0 and documents
    # size_variation as smaller than average_size; refuse both up front.
    if toxic_type == "slicer":
        if attributes["average_size"] < 1:
            raise BAD_REQUEST_BODY.joined("attribute average_size must be at least 1")
        if attributes["size_variation"] >= attributes["average_size"]:
            raise BAD_REQUEST_BODY.joined("attribute size_variation must be less than average_size")


def parse_toxic_create(body: object, exists: Callable[[str], bool] = lambda name: False) -> ToxicSpec:
    """A new toxic from ``POST /proxies/{proxy}/toxics``, checked in Toxiproxy's order.

    ``exists`` says whether a toxic of that name is already on the proxy: Toxiproxy
    answers 409 for that before it looks at the attributes.
    """
    obj = _object(body, "toxics.ToxicWrapper")
    fields = _fields(obj, ("name", "type", "stream", "toxicity", "attributes"))
    name = _string(fields.get("name"), "", "Go struct field ToxicWrapper.name")
    toxic_type = _string(fields.get("type"), "", "Go struct field ToxicWrapper.type")
    stream = _string(fields.get("stream"), DOWNSTREAM, "Go struct field ToxicWrapper.stream")
    toxicity = _toxicity(fields.get("toxicity"), 1.0)
    direction = parse_direction(stream)
    if not name:
        name = f"{toxic_type}_{stream}"
    if toxic_type not in TOXIC_ATTRIBUTES:
        raise INVALID_TOXIC_TYPE
    if exists(name):
        raise TOXIC_ALREADY_EXISTS
    attributes = _attributes(toxic_type, fields.get("attributes"), {})
    return ToxicSpec(name, toxic_type, stream, direction, toxicity, attributes)


def parse_toxic_update(body: object, current: ToxicSpec) -> ToxicSpec:
    """``current`` with the attributes and toxicity of an update merged in."""
    obj = _object(body, "struct { Attributes interface {}; Toxicity float32 }")
    fields = _fields(obj, ("attributes", "toxicity"))
    toxicity = _toxicity(fields.get("toxicity"), current.toxicity)
    attributes = _attributes(current.type, fields.get("attributes"), current.attributes)
    return replace(current, toxicity=toxicity, attributes=attributes)


def split_host_port(address: str) -> tuple[str, int]:
    """Split ``host:port`` (``[v6]:port`` too), with Go's error wording for bad input."""
    if address.startswith("["):
        end = address.find("]")
        if end < 0:
            raise ValueError(f"address {address}: missing ']' in address")
        host, rest = address[1:end], address[end + 1 :]
        if not rest.startswith(":"):
            raise ValueError(f"address {address}: missing port in address")
        port_text = rest[1:]
    else:
        host, sep, port_text = address.rpartition(":")
        if not sep:
            raise ValueError(f"address {address}: missing port in address")
        if ":" in host:
            raise ValueError(f"address {address}: too many colons in address")
    if not port_text.isdigit() or int(port_text) > 65535:
        raise ValueError(f"address {address}: invalid port")
    return host, int(port_text)


def join_host_port(host: str, port: int) -> str:
    """Go's ``net.JoinHostPort``: brackets around IPv6 hosts."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
