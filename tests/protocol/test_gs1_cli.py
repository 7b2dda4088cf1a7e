"""`jxc barcode decode`, driven through click's CliRunner."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from ops.cli.barcode import barcode

TODAY = ["--today", "2025-06-01"]
LOT_AND_SERIAL = "]d201095060001343521720123110ABC123{gs}21SER001"


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(barcode, ["decode", *args, *TODAY])
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("separator", ["<GS>", "<gs>", "\\x1d", "\\x1D", "\x1d"])
def test_gs_separator_spellings(separator: str) -> None:
    exit_code, stdout, _ = invoke(LOT_AND_SERIAL.format(gs=separator), "--json")

    assert exit_code == 0
    decoded = json.loads(stdout)
    assert decoded["ok"] is True
    assert (decoded["lot"], decoded["serial"]) == ("ABC123", "SER001")


def test_json_output_is_one_object_with_derived_fields_and_ais() -> None:
    exit_code, stdout, _ = invoke("01095060001343523103001250392201299", "--json")

    assert exit_code == 0
    assert stdout.count("\n") == 1
    decoded = json.loads(stdout)
    assert decoded["gtin14"] == "09506000134352"
    assert (decoded["net_g"], decoded["price_fen"]) == (1250, 1299)
    assert decoded["elements"] == [
        {"ai": "01", "data": "09506000134352"},
        {"ai": "3103", "data": "001250"},
        {"ai": "3922", "data": "01299"},
    ]


def test_human_output_is_a_table_of_ais_and_derived_fields() -> None:
    exit_code, stdout, _ = invoke(LOT_AND_SERIAL.format(gs="<GS>"))

    assert exit_code == 0
    assert "GS1 DataMatrix" in stdout
    lines = [line.split() for line in stdout.splitlines()]
    assert ["10", "BATCH/LOT", "ABC123"] in lines
    assert ["17", "USE", "BY", "201231"] in lines
    assert ["expiry", "2020-12-31"] in lines
    assert ["serial", "SER001"] in lines


def test_bad_code_exits_2_with_reason() -> None:
    exit_code, stdout, stderr = invoke("6901234567893")

    assert exit_code == 2
    assert stdout == ""
    assert "bad_check_digit" in stderr


def test_bad_code_in_json_mode() -> None:
    exit_code, stdout, _ = invoke("01095060001343521725133110X", "--json")

    assert exit_code == 2
    decoded = json.loads(stdout)
    assert decoded["ok"] is False
    assert decoded["reason"] == "invalid_date"
    assert "month 13" in decoded["message"]


def test_store_layout_option() -> None:
    layout = '{"prefix": "21", "item_digits": 5, "value_kind": "price_fen", "value_digits": 5}'
    exit_code, stdout, _ = invoke("2100123012992", "--layout", layout, "--json")

    assert exit_code == 0
    assert json.loads(stdout)["item_code"] == "00123"


def test_a_bad_layout_is_a_usage_error() -> None:
    exit_code, _, stderr = invoke("2100123012992", "--layout", '{"prefix": "69"}')

    assert exit_code == 2
    assert "--layout" in stderr


def test_registered_in_the_jxc_command() -> None:
    from ops.cli import main  # imports every command module, so only here

    result = CliRunner().invoke(main, ["barcode", "decode", "6901234567892", "--json"])

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["gtin14"] == "06901234567892"
