"""Reading contact import rows from CSV and JSON lines, without any I/O."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from telecast_campaign.audience.contact_store import search_query
from telecast_campaign.audience.contact_upsert import merge_duplicates
from telecast_gateway.contact_rows import (
    MAX_LINE_BYTES,
    CsvRows,
    HeaderError,
    ImportFormat,
    JsonLines,
    import_format,
)
from telecast_libs.contracts.contacts import ChatType, ContactInput, RowError


def _read(reader: CsvRows | JsonLines, body: bytes, chunk: int = 7) -> list:
    """Feed ``body`` in small chunks, as a network would deliver it."""
    parsed = []
    for start in range(0, len(body), chunk):
        parsed += reader.feed(body[start : start + chunk])
    return parsed + reader.finish()


def _csv(body: str, chunk: int = 7) -> list:
    return _read(CsvRows(), body.encode(), chunk)


def _errors(parsed: list) -> dict[int, RowError]:
    return {item.row: item for item in parsed if isinstance(item, RowError)}


def _contacts(parsed: list) -> list[ContactInput]:
    return [item for item in parsed if isinstance(item, ContactInput)]


def test_content_types() -> None:
    assert import_format("text/csv") is ImportFormat.CSV
    assert import_format("text/csv; charset=utf-8") is ImportFormat.CSV
    assert import_format("Application/X-NDJSON") is ImportFormat.JSON_LINES
    assert import_format("application/jsonl") is ImportFormat.JSON_LINES
    assert import_format("application/json") is None
    assert import_format(None) is None


def test_csv_row_with_every_field() -> None:
    parsed = _csv(
        "telegramId,chatType,username,firstName,lastName,languageCode,location,age,interests,"
        "purchaseHistory,lastPurchase,isTestRecipient,optedOut,blocked\n"
        "42,supergroup,jane_doe,Jane,Doe,pt-br,PT,34,shopping;fashion,true,"
        "2024-06-01T10:00:00+02:00,1,false,FALSE\n"
    )
    [contact] = parsed
    assert contact == ContactInput(
        telegram_id=42,
        chat_type=ChatType.SUPERGROUP,
        username="jane_doe",
        first_name="Jane",
        last_name="Doe",
        language_code="pt-br",
        location="PT",
        age=34,
        interests=["shopping", "fashion"],
        purchase_history=True,
        last_purchase=datetime(2024, 6, 1, 8, 0, tzinfo=UTC),
        is_test_recipient=True,
        opted_out=False,
        blocked=False,
    )


def test_csv_quoted_commas_quotes_and_newlines() -> None:
    parsed = _csv(
        'telegramId,firstName,lastName\n1,"Doe, Jane","O""Brien"\n2,"two\nlines",x\n3, "sp",y\n',
        chunk=3,
    )
    assert [(c.telegram_id, c.first_name, c.last_name) for c in parsed] == [
        (1, "Doe, Jane", 'O"Brien'),
        (2, "two\nlines", "x"),
        (3, "sp", "y"),
    ]


def test_csv_bom_crlf_and_header_spellings() -> None:
    body = "\ufeffTelegram ID;first_name;LAST-NAME\r\n7;Ann;Lee\r\n".encode()
    [contact] = _read(CsvRows(), body)
    assert (contact.telegram_id, contact.first_name, contact.last_name) == (7, "Ann", "Lee")


def test_csv_empty_cells_are_absent_and_blank_lines_skipped() -> None:
    parsed = _csv("telegramId,firstName,age,interests\n\n5,,,\n6, ,  ,\n")
    assert parsed == [ContactInput(telegram_id=5), ContactInput(telegram_id=6)]


def test_csv_interests_as_list_or_json_and_attributes() -> None:
    parsed = _csv(
        "telegramId,interests,attributes,attributes.plan,attributes.zip,attributes.vip\n"
        '1," a ; b;;c ",,gold,00123,true\n'
        '2,"[""x"", ""y""]","{""score"": 5, ""plan"": ""free""}",,,\n'
        '3,,"{""plan"": ""free""}",gold,12.5,\n'
    )
    assert [c.interests for c in parsed] == [["a", "b", "c"], ["x", "y"], None]
    assert [c.attributes for c in parsed] == [
        {"plan": "gold", "zip": "00123", "vip": True},
        {"score": 5, "plan": "free"},
        {"plan": "gold", "zip": 12.5},
    ]


def test_csv_bad_rows_are_reported_by_line_and_the_rest_kept() -> None:
    parsed = _csv(
        "telegramId,age,location,lastPurchase,chatType\n"
        "1,abc,,,\n"  # line 2
        ",30,,,\n"  # line 3: no telegramId
        "x,,,,\n"  # line 4
        "4,200,,,\n"  # line 5
        "5,,us,,\n"  # line 6
        "6,,,2024-06-01T10:00:00,\n"  # line 7: no offset
        "7,,,,bot\n"  # line 8
        "8,,,,,extra\n"  # line 9
        "9,40,DE,,\n"  # line 10: fine
    )
    errors = _errors(parsed)
    assert sorted(errors) == [2, 3, 4, 5, 6, 7, 8, 9]
    assert errors[2].field == "age" and "int" in errors[2].reason
    assert errors[3].field == "telegramId" and "missing" in errors[3].reason
    assert errors[4].field == "telegramId"
    assert errors[5].field == "age" and "150" in errors[5].reason
    assert errors[6] == RowError(
        row=6, reason="location: Expected `str` matching regex '^[A-Z]{2}$'", field="location"
    )
    assert errors[7].field == "lastPurchase"
    assert errors[8].field == "chatType"
    assert "6 cells" in errors[9].reason
    assert [c.telegram_id for c in _contacts(parsed)] == [9]


def test_csv_line_numbers_count_multiline_cells_and_blank_lines() -> None:
    parsed = _csv('telegramId,firstName\n1,"a\nb"\n\nnope,x\n')
    assert list(_errors(parsed)) == [5]


def test_csv_bad_json_cells_and_unclosed_quote() -> None:
    parsed = _csv('telegramId,interests,attributes\n1,"[1,",\n2,,"[1]"\n3,"open\n')
    errors = _errors(parsed)
    assert errors[2].field == "interests" and "JSON" in errors[2].reason
    assert errors[3].field == "attributes"
    assert "not closed" in errors[4].reason


def test_csv_header_problems_refuse_the_import() -> None:
    with pytest.raises(HeaderError, match="fristName"):
        _csv("telegramId,fristName\n1,a\n")
    with pytest.raises(HeaderError, match="telegramId"):
        _csv("firstName\nAnn\n")
    with pytest.raises(HeaderError, match="both"):
        _csv("telegramId,telegram_id\n1,1\n")
    with pytest.raises(HeaderError, match="attribute key"):
        _csv("telegramId,attributes.\n1,1\n")


def test_csv_unnamed_trailing_column_is_ignored() -> None:
    assert _csv("telegramId,firstName,\n1,Ann,\n") == [
        ContactInput(telegram_id=1, first_name="Ann")
    ]


def test_empty_bodies() -> None:
    csv_reader = CsvRows()
    assert _read(csv_reader, b"") == [] and csv_reader.empty
    csv_reader = CsvRows()
    assert _read(csv_reader, b"\n\r\n") == [] and csv_reader.empty
    header_only = CsvRows()
    assert _read(header_only, b"telegramId\n") == [] and not header_only.empty
    lines = JsonLines()
    assert _read(lines, b"\n  \n") == [] and lines.empty


def test_invalid_utf8_and_nul_are_row_errors() -> None:
    parsed = _read(CsvRows(), b"telegramId,firstName\n1,\xff\xfe\n2,a\x00b\n3,ok\n")
    errors = _errors(parsed)
    assert "UTF-8" in errors[2].reason
    assert errors[3].field == "firstName"
    assert [c.telegram_id for c in _contacts(parsed)] == [3]


def test_overlong_rows_are_refused_without_being_kept() -> None:
    body = b"telegramId,firstName\n1," + b"a" * (MAX_LINE_BYTES + 10) + b"\n2,b\n"
    parsed = _read(CsvRows(), body, chunk=65536)
    assert "longer" in _errors(parsed)[2].reason
    assert [c.telegram_id for c in _contacts(parsed)] == [2]


def test_json_lines() -> None:
    body = (
        b'\xef\xbb\xbf{"telegramId": 1, "firstName": "Ann", "interests": ["a"]}\n'
        b"\n"
        b'{"telegramId": "2"}\n'
        b"{not json\n"
        b'{"telegramId": 4, "nickname": "x"}\n'
        b'{"telegramId": 5, "attributes": {"bad key": 1}}\n'
        b"[1]\n"
        b'{"telegramId": 8, "age": 30}\n'
        b'{"telegramId": 9, "interests": ["a\\u0000"]}'
    )
    parsed = _read(JsonLines(), body)
    errors = _errors(parsed)
    assert sorted(errors) == [3, 4, 5, 6, 7, 9]
    assert errors[3].field == "telegramId"
    assert errors[9].field == "interests" and "NUL" in errors[9].reason
    assert "JSON" in errors[4].reason
    assert errors[5].field == "nickname"
    assert errors[6].field == "attributes" and "key" in errors[6].reason
    assert [(c.telegram_id, c.age) for c in _contacts(parsed)] == [(1, None), (8, 30)]


def test_duplicates_in_a_batch_apply_in_order() -> None:
    rows = [
        ContactInput(telegram_id=2, first_name="Old", attributes={"a": 1}, opted_out=True),
        ContactInput(telegram_id=1),
        ContactInput(telegram_id=2, first_name="New", age=30, attributes={"b": 2}, opted_out=False),
    ]
    unique, duplicates = merge_duplicates(rows)
    assert duplicates == 1
    assert unique == [
        ContactInput(telegram_id=1),
        ContactInput(
            telegram_id=2, first_name="New", age=30, attributes={"a": 1, "b": 2}, opted_out=True
        ),
    ]


def test_search_words_are_prefixes() -> None:
    assert search_query("Jan DO") == "jan:* & do:*"
    assert search_query("@jane_d") == "jane:* & d:*"
    assert search_query("%%") is None
