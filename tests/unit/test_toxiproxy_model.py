"""Validation of Toxiproxy API input (pure: gauntlet.faultproxy.model)."""

from __future__ import annotations

import itertools

import pytest

from gauntlet.faultproxy.model import (
    TOXIC_ATTRIBUTES,
    ApiError,
    ProxyInput,
    ToxicSpec,
    decode_body,
    join_host_port,
    parse_direction,
    parse_populate,
    parse_proxy,
    parse_proxy_create,
    parse_toxic_create,
    parse_toxic_update,
    split_host_port,
)
from gauntlet.faultproxy.toxics import slice_offsets


def error_of(call: object) -> tuple[int, str]:
    assert callable(call)
    with pytest.raises(ApiError) as info:
        call()
    return info.value.status, info.value.message


# decode_body mirrors Go's json.Decoder: first value only, errors prefixed "bad request body".


def test_decode_body_reads_the_first_json_value_only() -> None:
    assert decode_body(b'  {"a": 1} trailing garbage') == {"a": 1}
    assert decode_body(b"[1,2]") == [1, 2]
    assert decode_body(b"null") is None


@pytest.mark.parametrize("raw", [b"", b"   \n", b"{", b"nope", b"\xff\xfe", b"[" * 100_000])
def test_decode_body_errors_are_bad_request_body(raw: bytes) -> None:
    status, message = error_of(lambda: decode_body(raw))
    assert status == 400
    assert message.startswith("bad request body: ")


def test_decode_body_reports_eof_like_go() -> None:
    assert error_of(lambda: decode_body(b"")) == (400, "bad request body: EOF")


def test_decode_body_replaces_lone_surrogates_like_go() -> None:
    assert decode_body(rb'{"n": "a\ud800b", "\udfff": ["\ud83d\ude00"]}') == {"n": "a\ufffdb", "\ufffd": ["😀"]}


# Proxies


def test_proxy_create_defaults_and_required_fields() -> None:
    proxy = parse_proxy_create({"name": "pg", "upstream": "127.0.0.1:5432"})
    assert proxy == ProxyInput(name="pg", listen="", upstream="127.0.0.1:5432", enabled=True)
    assert error_of(lambda: parse_proxy_create({"upstream": "x:1"})) == (400, "missing required field: name")
    assert error_of(lambda: parse_proxy_create({"name": "x"})) == (400, "missing required field: upstream")
    assert error_of(lambda: parse_proxy_create(None)) == (400, "missing required field: name")


def test_proxy_fields_match_case_insensitively_and_null_keeps_defaults() -> None:
    proxy = parse_proxy_create({"NAME": "a", "Upstream": "b:1", "enabled": None, "extra": [1]})
    assert (proxy.name, proxy.upstream, proxy.enabled) == ("a", "b:1", True)
    exact_wins = parse_proxy_create({"Name": "loose", "name": "exact", "upstream": "b:1"})
    assert exact_wins.name == "exact"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ([], "json: cannot unmarshal array into Go value of type toxiproxy.Proxy"),
        ("x", "json: cannot unmarshal string into Go value of type toxiproxy.Proxy"),
        ({"name": 5}, "json: cannot unmarshal number 5 into Go struct field Proxy.name of type string"),
        ({"name": "a", "upstream": "b", "enabled": "yes"}, "json: cannot unmarshal string into Go struct field"),
        ({"name": "a", "listen": False}, "json: cannot unmarshal bool into Go struct field Proxy.listen"),
    ],
)
def test_proxy_wrong_types_are_400_with_gos_wording(body: object, expected: str) -> None:
    status, message = error_of(lambda: parse_proxy_create(body))
    assert status == 400
    assert message.startswith(f"bad request body: {expected}")


def test_proxy_update_keeps_fields_left_out() -> None:
    current = ProxyInput("redis", "127.0.0.1:7000", "127.0.0.1:6379", True)
    assert parse_proxy({}, current) == current
    assert parse_proxy({"enabled": False}, current) == ProxyInput("redis", "127.0.0.1:7000", "127.0.0.1:6379", False)
    assert parse_proxy({"upstream": "127.0.0.1:6380"}, current).listen == "127.0.0.1:7000"


def test_populate_validates_everything_with_positions() -> None:
    proxies = parse_populate([{"name": "a", "upstream": "x:1"}, {"name": "b", "upstream": "y:2", "enabled": False}])
    assert [(p.name, p.enabled) for p in proxies] == [("a", True), ("b", False)]
    assert parse_populate(None) == []
    missing = [{"name": "a", "upstream": "x:1"}, {"name": "b"}]
    assert error_of(lambda: parse_populate(missing)) == (400, "missing required field: upstream at proxy 2")
    no_name = [{"upstream": "x:1"}]
    assert error_of(lambda: parse_populate(no_name)) == (400, "missing required field: name at proxy 1")
    dup = [{"name": "a", "upstream": "x:1"}, {"name": "a", "upstream": "x:2"}]
    status, message = error_of(lambda: parse_populate(dup))
    assert status == 400 and "duplicate proxy name 'a' at proxy 2" in message
    status, message = error_of(lambda: parse_populate({"name": "a"}))
    assert status == 400 and message.startswith("bad request body: json: cannot unmarshal object")


# Toxics


def test_toxic_defaults() -> None:
    toxic = parse_toxic_create({"type": "latency"})
    assert toxic == ToxicSpec(
        "latency_downstream", "latency", "downstream", "downstream", 1.0, {"latency": 0, "jitter": 0}
    )
    assert toxic.to_json() == {
        "attributes": {"latency": 0, "jitter": 0},
        "name": "latency_downstream",
        "type": "latency",
        "stream": "downstream",
        "toxicity": 1,
    }
    upstream = parse_toxic_create({"type": "bandwidth", "stream": "upstream", "toxicity": 0.5})
    assert (upstream.name, upstream.direction, upstream.toxicity) == ("bandwidth_upstream", "upstream", 0.5)


def test_every_toxic_type_lists_all_its_attributes() -> None:
    for toxic_type, names in TOXIC_ATTRIBUTES.items():
        body: dict[str, object] = {"type": toxic_type}
        if toxic_type == "slicer":
            body["attributes"] = {"average_size": 10}
        assert list(parse_toxic_create(body).attributes) == list(names)


def test_stream_is_compared_case_insensitively_and_kept_as_given() -> None:
    toxic = parse_toxic_create({"type": "timeout", "stream": "UpStream"})
    assert (toxic.stream, toxic.direction, toxic.name) == ("UpStream", "upstream", "timeout_UpStream")
    assert parse_direction("DOWNSTREAM") == "downstream"


def test_toxic_errors_come_in_toxiproxys_order() -> None:
    # Stream is checked before type, as AddToxicJson does.
    assert error_of(lambda: parse_toxic_create({"type": "nope", "stream": "sideways"})) == (
        400,
        "stream was invalid, can be either upstream or downstream",
    )
    assert error_of(lambda: parse_toxic_create({"type": "nope"})) == (400, "invalid toxic type")
    assert error_of(lambda: parse_toxic_create({})) == (400, "invalid toxic type")
    # An existing name is reported before the attributes are even read.
    taken = {"type": "latency", "attributes": {"latency": -1}}
    assert error_of(lambda: parse_toxic_create(taken, {"latency_downstream"}.__contains__)) == (
        409,
        "toxic already exists",
    )


@pytest.mark.parametrize(
    ("attributes", "fragment"),
    [
        ({"latency": -1}, "attribute latency must not be negative, got -1"),
        ({"latency": 1.5}, "cannot unmarshal number 1.5 into Go struct field LatencyToxic.attributes.latency"),
        ({"latency": True}, "cannot unmarshal bool into Go struct field LatencyToxic.attributes.latency"),
        ({"latency": "5"}, "cannot unmarshal string into Go struct field LatencyToxic.attributes.latency"),
        ({"latency": 2**63}, "cannot unmarshal number"),
        ({"latnecy": 5}, "unknown attribute 'latnecy' for toxic type latency (allowed: latency, jitter)"),
    ],
)
def test_bad_attributes_are_400(attributes: dict[str, object], fragment: str) -> None:
    status, message = error_of(lambda: parse_toxic_create({"type": "latency", "attributes": attributes}))
    assert status == 400
    assert message.startswith("bad request body: ")
    assert fragment in message


def test_attributes_must_be_an_object() -> None:
    status, message = error_of(lambda: parse_toxic_create({"type": "slicer", "attributes": [1]}))
    assert status == 400 and "into Go struct field ToxicWrapper.attributes of type toxics.SlicerToxic" in message


@pytest.mark.parametrize("toxicity", [-0.01, 1.01, float("inf"), float("nan"), "1", True])
def test_toxicity_outside_zero_to_one_or_not_a_number_is_400(toxicity: object) -> None:
    status, message = error_of(lambda: parse_toxic_create({"type": "latency", "toxicity": toxicity}))
    assert status == 400 and message.startswith("bad request body: ")


def test_slicer_needs_a_positive_average_above_its_variation() -> None:
    assert error_of(lambda: parse_toxic_create({"type": "slicer"}))[1].endswith("average_size must be at least 1")
    too_varied = {"type": "slicer", "attributes": {"average_size": 10, "size_variation": 10}}
    assert error_of(lambda: parse_toxic_create(too_varied))[1].endswith("size_variation must be less than average_size")


def test_update_merges_attributes_and_keeps_identity() -> None:
    current = parse_toxic_create({"type": "latency", "name": "lag", "attributes": {"latency": 100, "jitter": 10}})
    updated = parse_toxic_update({"attributes": {"latency": 250}, "name": "ignored", "type": "bandwidth"}, current)
    assert updated.attributes == {"latency": 250, "jitter": 10}
    assert (updated.name, updated.type, updated.toxicity) == ("lag", "latency", 1.0)
    assert parse_toxic_update({"toxicity": 0.3}, current).toxicity == 0.3
    assert parse_toxic_update({}, current) == current
    assert error_of(lambda: parse_toxic_update({"attributes": {"bytes": 1}}, current))[0] == 400
    assert error_of(lambda: parse_toxic_update([], current))[0] == 400


# Addresses


@pytest.mark.parametrize(
    ("address", "expected"),
    [("127.0.0.1:80", ("127.0.0.1", 80)), ("[::1]:5432", ("::1", 5432)), (":0", ("", 0)), ("db:6379", ("db", 6379))],
)
def test_split_host_port(address: str, expected: tuple[str, int]) -> None:
    assert split_host_port(address) == expected


@pytest.mark.parametrize(
    ("address", "fragment"),
    [
        ("localhost", "missing port in address"),
        ("::1:80", "too many colons in address"),
        ("[::1", "missing ']' in address"),
        ("[::1]", "missing port in address"),
        ("h:99999", "invalid port"),
        ("h:http", "invalid port"),
    ],
)
def test_split_host_port_errors(address: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        split_host_port(address)


def test_join_host_port_brackets_ipv6() -> None:
    assert join_host_port("::1", 80) == "[::1]:80"
    assert join_host_port("127.0.0.1", 80) == "127.0.0.1:80"


# Slicer offsets (pure piece of the slicer toxic)


@pytest.mark.parametrize(("size", "average", "variation"), [(1000, 100, 20), (1000, 100, 0), (7, 100, 20), (1, 1, 0)])
def test_slice_offsets_cover_the_data_contiguously(size: int, average: int, variation: int) -> None:
    pieces = slice_offsets(0, size, average, variation)
    assert pieces[0][0] == 0 and pieces[-1][1] == size
    assert all(end == start for (_, end), (start, _) in itertools.pairwise(pieces))
    assert all(end - start <= average + variation for start, end in pieces)
    if size > average + variation:
        assert len(pieces) >= size // (average + variation)
