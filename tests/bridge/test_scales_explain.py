"""Field-technician decode: capture text to bytes, and JSON explanations for each protocol."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware_bridge.explain import (
    PROTOCOLS,
    Protocol,
    explain_line,
    parse_capture,
    parse_hex,
    parse_text,
    render_bytes,
)


def explain(protocol: Protocol, text: str, **options: Any) -> dict[str, Any]:
    result = explain_line(protocol, parse_capture(text, protocol), **options)
    assert json.loads(json.dumps(result)) == result  # plain JSON, nothing lost
    return result


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("01 04 02 01 31 79 74", bytes.fromhex("01040201317974")),
        ("0x02,0x3F,0x41,0x0D", b"\x02?A\r"),
        ("01:04:02", b"\x01\x04\x02"),
        ("010402", b"\x01\x04\x02"),
        ("", b""),
    ],
)
def test_parse_hex(text: str, expected: bytes) -> None:
    assert parse_hex(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [("01 0", "odd number of digits"), ("01 zz", "only hex digits")],
)
def test_parse_hex_refuses_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_hex(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (r"S S     100.00 g\r\n", b"S S     100.00 g\r\n"),
        ("<STX>001.234<CR>", b"\x02001.234\r"),
        ("<stx>?A<cr>", b"\x02?A\r"),
        (r"<LF>  1.25lb<CR><LF>00<CR><ETX>", b"\n  1.25lb\r\n00\r\x03"),
        (r"\x02?\x41\r", b"\x02?A\r"),
        (r"a\\b\tc", b"a\\b\tc"),
        ("<FOO> stays", b"<FOO> stays"),
        ("µg", b"\xb5g"),
    ],
)
def test_parse_text(text: str, expected: bytes) -> None:
    assert parse_text(text) == expected


def test_parse_text_refuses_characters_beyond_one_byte() -> None:
    with pytest.raises(ValueError, match="not a single byte"):
        parse_text("温度")


def test_auto_encoding() -> None:
    assert parse_capture("02 3F 41 0D", "toledo-8217") == b"\x02?A\r"
    assert parse_capture("S S 1 g", "mt-sics") == b"S S 1 g"
    assert parse_capture("ES", "mt-sics") == b"ES"
    assert parse_capture("0104", "modbus") == b"\x01\x04"
    assert parse_capture("02 3F", "nci", encoding="text") == b"02 3F"


def test_render_bytes() -> None:
    assert render_bytes(b"\x02?A\r\n\x03\xb5 ") == "<STX>?A<CR><LF><ETX>\\xB5 "


def test_mt_sics_line_without_its_cr_lf() -> None:
    result = explain("mt-sics", "S S     100.00 g")
    assert result["notes"] == ["added the missing <CR><LF> at the end"]
    assert result["ok"] is True
    assert result["events"] == [
        {
            "event": "WeightReading",
            "stable": True,
            "net": 10000,
            "decimals": 2,
            "unit": "g",
            "net_mg": 100000,
            "raw": "100.00",
        }
    ]


def test_mt_sics_error_line() -> None:
    [event] = explain("mt-sics", r"ES\r\n")["events"]
    assert event["event"] == "CommandRejected"
    assert event["reason"].startswith("syntax error")
    assert (event["raw"], event["raw_hex"]) == ("ES", "45 53")


def test_toledo_status_frame_in_hex() -> None:
    result = explain("toledo-8217", "02 3F 41 0D")
    assert result["input"] == {"hex": "02 3f 41 0d", "text": "<STX>?A<CR>", "length": 4}
    [event] = result["events"]
    assert (event["event"], event["motion"], event["raw"]) == ("ScaleStatus", True, "<STX>?A<CR>")


def test_toledo_bare_weight_gets_stx_and_cr_and_unit() -> None:
    result = explain("toledo-8217", "012.34", unit="lb")
    assert result["notes"] == [
        "added the missing <STX> at the start",
        "added the missing <CR> at the end",
    ]
    assert result["events"][0]["unit"] == "lb"


def test_nci_reply_and_bad_reply() -> None:
    good = explain("nci", "<LF>  1.25lb<CR><LF>10<CR>")
    assert [e["event"] for e in good["events"]] == ["WeightReading", "ScaleStatus"]
    assert good["events"][0]["stable"] is False
    assert good["notes"] == ["added the missing <ETX> at the end"]
    bad = explain("nci", "<LF>ab<CR><ETX>")
    assert bad["ok"] is False
    assert bad["events"][0]["event"] == "FrameError"


def test_modbus_pair_with_probe_model() -> None:
    result = explain("modbus", "01 04 00 01 00 02 20 0B 01 04 04 01 31 02 22 2A CE", probe="sht20")
    assert [e["event"] for e in result["events"]] == ["ReadRequest", "RegistersRead"]
    assert result["events"][1]["values"] == [305, 546]
    assert result["probe"]["samples"] == [
        {
            "event": "ProbeSample",
            "sensor": "temperature",
            "quantity": "temperature",
            "value_centi": 3050,
            "device_time": None,
        },
        {
            "event": "ProbeSample",
            "sensor": "humidity",
            "quantity": "humidity",
            "value_centi": 5460,
            "device_time": None,
        },
    ]


def test_modbus_crc_mismatch_is_explained() -> None:
    result = explain("modbus", "01 04 02 01 31 79 75")
    assert result["ok"] is False
    assert result["events"][0]["reason"] == "CRC mismatch: frame carries 0x7579, computed 0x7479"
    assert result["events"][0]["raw_hex"] == "01 04 02 01 31 79 75"


def test_partial_frame_is_reported_when_not_completed() -> None:
    result = explain("mt-sics", "S S 1", complete=False)
    assert result["events"][0]["reason"] == "incomplete frame at end of input"


@given(st.sampled_from(PROTOCOLS), st.binary(max_size=200))
def test_any_bytes_explain_to_json_without_raising(protocol: Protocol, data: bytes) -> None:
    result = explain_line(protocol, data)
    json.dumps(result)
    assert result["input"]["length"] >= len(data)
