"""The rows of a contact import, read incrementally from CSV or JSON lines (no I/O here).

A reader is fed the body chunk by chunk and returns, for each complete row, either a valid
``ContactInput`` or a ``RowError`` naming the row's line in the file. It keeps at most one
unfinished line (bounded by ``MAX_LINE_BYTES``), so memory does not grow with the file.

CSV: a header row names the columns (``telegramId``, ``first_name``, ``First Name``… are
the same column); an empty cell is an absent value; ``interests`` is ``a;b`` or a JSON list;
``attributes`` is a JSON object and ``attributes.<key>`` columns set one key each.
JSON lines: one ``ContactInput`` object per line, strictly typed.
"""

from __future__ import annotations

import csv
import enum
import re
from typing import Any

import msgspec

from telecast_libs.contracts.contacts import ContactInput, RowError, field_with_nul
from telecast_libs.contracts.errors import ErrorCode, Problem

# A row longer than this is refused (and skipped) without being held in memory.
MAX_LINE_BYTES = 256 * 1024

Parsed = ContactInput | RowError


class ImportFormat(enum.StrEnum):
    CSV = "csv"
    JSON_LINES = "ndjson"


MEDIA_TYPES = {
    "text/csv": ImportFormat.CSV,
    "application/csv": ImportFormat.CSV,
    "application/x-ndjson": ImportFormat.JSON_LINES,
    "application/jsonl": ImportFormat.JSON_LINES,
    "application/x-jsonlines": ImportFormat.JSON_LINES,
}


def import_format(content_type: str | None) -> ImportFormat | None:
    """The format a Content-Type names (parameters such as charset ignored), or None."""
    if not content_type:
        return None
    return MEDIA_TYPES.get(content_type.split(";", 1)[0].strip().lower())


def reader_for(fmt: ImportFormat) -> CsvRows | JsonLines:
    return CsvRows() if fmt is ImportFormat.CSV else JsonLines()


class HeaderError(Problem):
    """The CSV header cannot be read as contacts: nothing is imported."""

    code = ErrorCode.VALIDATION_ERROR


# Errors ------------------------------------------------------------------------------------

_PATH = re.compile(r" - at `\$\.?([^`]*)`$")
_KEY_PATH = re.compile(r" - at `key` in `\$\.?([^`]*)`$")
_NAMED = re.compile(r"field `([^`]+)`")


def _row_error(line: int, error: msgspec.ValidationError | msgspec.DecodeError) -> RowError:
    """A RowError from msgspec's message: ``Expected `int`, got `str` - at `$.age```."""
    message = str(error)
    field = None
    if match := _KEY_PATH.search(message):
        field = match.group(1)
        message = f"a key: {message[: match.start()]}"
    elif (match := _PATH.search(message)) and match.group(1):
        field = match.group(1)
        message = message[: match.start()]
    elif match := _NAMED.search(message):
        field = match.group(1)
    if not isinstance(error, msgspec.ValidationError):  # (a ValidationError is a DecodeError)
        message = f"not valid JSON: {message}"
    reason = f"{field}: {message}" if field else message
    return RowError(row=line, reason=reason, field=field)


# Lines -------------------------------------------------------------------------------------


class _Lines:
    """Splits a byte stream into numbered lines. A line over ``MAX_LINE_BYTES`` comes out as
    None (and its bytes are dropped as they arrive)."""

    def __init__(self) -> None:
        self._partial = bytearray()
        self._overlong = False

    def feed(self, chunk: bytes) -> list[bytes | None]:
        if not chunk:
            return []
        pieces = chunk.split(b"\n")
        lines: list[bytes | None] = []
        for piece in pieces[:-1]:
            if self._overlong:
                lines.append(None)
                self._overlong = False
            elif self._partial:
                self._partial += piece
                whole = bytes(self._partial)
                self._partial.clear()
                lines.append(whole if len(whole) <= MAX_LINE_BYTES else None)
            else:
                lines.append(piece if len(piece) <= MAX_LINE_BYTES else None)
        if not self._overlong:
            self._partial += pieces[-1]
            if len(self._partial) > MAX_LINE_BYTES:
                self._partial.clear()
                self._overlong = True
        return lines

    def finish(self) -> list[bytes | None]:
        if self._overlong:
            self._overlong = False
            return [None]
        if self._partial:
            last = bytes(self._partial)
            self._partial.clear()
            return [last]
        return []


def _without_nul(line: int, contact: ContactInput) -> Parsed:
    field = field_with_nul(contact)
    if field is None:
        return contact
    return RowError(row=line, reason=f"{field}: contains a NUL character", field=field)


def _too_long(line: int) -> RowError:
    return RowError(row=line, reason=f"the row is longer than {MAX_LINE_BYTES:,} bytes")


# JSON lines --------------------------------------------------------------------------------

_decoder = msgspec.json.Decoder(ContactInput)


class JsonLines:
    """One JSON object per line; blank lines are skipped (but counted)."""

    def __init__(self) -> None:
        self._lines = _Lines()
        self._line = 0
        self._content = False

    @property
    def empty(self) -> bool:
        """True while the body held nothing but whitespace."""
        return not self._content

    def feed(self, chunk: bytes) -> list[Parsed]:
        return self._parse(self._lines.feed(chunk))

    def finish(self) -> list[Parsed]:
        return self._parse(self._lines.finish())

    def _parse(self, lines: list[bytes | None]) -> list[Parsed]:
        parsed: list[Parsed] = []
        for raw in lines:
            self._line += 1
            if raw is None:
                parsed.append(_too_long(self._line))
                continue
            if self._line == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            if not raw.strip():
                continue
            self._content = True
            try:
                contact = _decoder.decode(raw)
            except (msgspec.ValidationError, msgspec.DecodeError) as error:
                parsed.append(_row_error(self._line, error))
                continue
            # A NUL can only arrive escaped; the scan of the raw line is the cheap test.
            parsed.append(_without_nul(self._line, contact) if b"\\u0000" in raw else contact)
        return parsed


# CSV ---------------------------------------------------------------------------------------

# Column names, compared without case, spaces, "_" and "-": telegramId = telegram_id.
_FIELDS = {
    re.sub(r"[\s_-]", "", name).lower(): (name, encoded)
    for name, encoded in zip(
        ContactInput.__struct_fields__, ContactInput.__struct_encode_fields__, strict=True
    )
}
_ATTRIBUTE_PREFIX = "attributes."
_ATTRIBUTE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")
_INTEGER = re.compile(r"^-?(0|[1-9]\d{0,17})$")
_DECIMAL = re.compile(r"^-?(0|[1-9]\d{0,17})\.\d{1,17}$")


def _normalized(column: str) -> str:
    return re.sub(r"[\s_-]", "", column).lower()


def _scalar(cell: str) -> Any:
    """An ``attributes.<key>`` cell: a number or true/false when it looks like one, else text
    (so "00123" stays text)."""
    lowered = cell.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if _INTEGER.match(cell):
        return int(cell)
    if _DECIMAL.match(cell):
        return float(cell)
    return cell


class _Columns:
    """What each CSV column means, read from the header."""

    def __init__(self, header: list[str]) -> None:
        # Per column: the wire name of a ContactInput field, "attributes.<key>", or "" for an
        # unnamed column (ignored).
        self.names: list[str] = []
        self.attributes: list[tuple[str, str]] = []  # ("attributes.<key>", key)
        self.width = len(header)
        unknown: list[str] = []
        seen: dict[str, str] = {}
        for raw in header:
            column = raw.strip()
            if not column:
                self.names.append("")
                continue
            if column.lower().startswith(_ATTRIBUTE_PREFIX):
                key = column[len(_ATTRIBUTE_PREFIX) :]
                if not _ATTRIBUTE_KEY.match(key):
                    raise HeaderError(
                        f"column {column!r}: an attribute key is 1-64 letters, digits, "
                        "'_', '.' or '-', starting with a letter or '_'",
                        details=[{"field": column, "source": "header"}],
                    )
                name = f"{_ATTRIBUTE_PREFIX}{key}"
                self.attributes.append((name, key))
            elif (known := _FIELDS.get(_normalized(column))) is not None:
                name = known[1]
            else:
                unknown.append(column)
                self.names.append("")
                continue
            if name in seen:
                raise HeaderError(
                    f"columns {seen[name]!r} and {column!r} both name {name}",
                    details=[{"field": column, "source": "header"}],
                )
            seen[name] = column
            self.names.append(name)
        if unknown:
            raise HeaderError(
                f"unknown column(s): {', '.join(map(repr, unknown))}; the columns are "
                f"{', '.join(ContactInput.__struct_encode_fields__)} and attributes.<key>",
                details=[{"field": column, "source": "header"} for column in unknown],
            )
        if "telegramId" not in seen:
            raise HeaderError(
                "the header has no telegramId column",
                details=[{"field": "telegramId", "source": "header"}],
            )

    def row(self, line: int, cells: list[str]) -> Parsed:
        if len(cells) > self.width:
            if any(cell.strip() for cell in cells[self.width :]):
                return RowError(
                    row=line, reason=f"{len(cells)} cells where the header names {self.width}"
                )
            cells = cells[: self.width]
        # Hot path (once per row): one comprehension, empty cells left out. A short row
        # lacks its last cells: they are empty.
        pairs = zip(self.names, cells, strict=False)
        values: dict[str, Any] = {name: cell for name, raw in pairs if (cell := raw.strip())}
        values.pop("", None)
        interests = values.get("interests")
        if interests is not None:
            if interests.startswith("["):
                values["interests"] = _json_cell(line, "interests", interests)
            else:
                values["interests"] = [tag for tag in map(str.strip, interests.split(";")) if tag]
        attributes = values.get("attributes")
        if attributes is not None:
            values["attributes"] = attributes = _json_cell(line, "attributes", attributes)
        for column, key in self.attributes:
            cell = values.pop(column, None)
            if cell is None:
                continue
            if attributes is None:
                values["attributes"] = attributes = {}
            elif not isinstance(attributes, dict):
                break  # refused below: the attributes cell is not an object
            attributes[key] = _scalar(cell)
        for value in (values.get("interests"), attributes):
            if isinstance(value, RowError):
                return value
        try:
            return msgspec.convert(values, ContactInput, strict=False)
        except msgspec.ValidationError as error:
            return _row_error(line, error)


def _json_cell(line: int, name: str, cell: str) -> Any:
    try:
        return msgspec.json.decode(cell)
    except msgspec.DecodeError:
        return RowError(row=line, reason=f"{name}: not valid JSON", field=name)


class CsvRows:
    """CSV with a header row (comma-separated, or ";" or tab when the header holds no comma),
    quotes as Excel writes them; a quoted cell may span lines."""

    def __init__(self) -> None:
        self._lines = _Lines()
        self._line = 0
        self._columns: _Columns | None = None
        self._delimiter = ","
        # A record whose quotes are still open: its first line and its text so far.
        self._open: tuple[int, list[str], int] | None = None

    @property
    def empty(self) -> bool:
        """True while no header has been read."""
        return self._columns is None

    def feed(self, chunk: bytes) -> list[Parsed]:
        return self._parse(self._lines.feed(chunk))

    def finish(self) -> list[Parsed]:
        parsed = self._parse(self._lines.finish())
        if self._open is not None:
            first, _, _ = self._open
            self._open = None
            parsed.append(RowError(row=first, reason="a quoted cell is not closed"))
        return parsed

    def _parse(self, lines: list[bytes | None]) -> list[Parsed]:
        parsed: list[Parsed] = []
        for raw in lines:
            self._line += 1
            if raw is None:
                self._open = None
                parsed.append(_too_long(self._line))
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                self._open = None
                parsed.append(RowError(row=self._line, reason="the row is not valid UTF-8"))
                continue
            if self._line == 1:
                text = text.removeprefix("\ufeff")
            text = text.removesuffix("\r")
            quotes = text.count('"')
            if self._open is not None:
                first, texts, size = self._open
                texts.append(text)
                size += len(text)
                if size > MAX_LINE_BYTES:
                    self._open = None
                    parsed.append(_too_long(first))
                    continue
                if quotes % 2 == 0:
                    self._open = (first, texts, size)
                    continue
                self._open = None
                text = "\n".join(texts)
            elif quotes % 2 == 1:
                self._open = (self._line, [text], len(text))
                continue
            else:
                first = self._line
            if not text.strip():
                continue
            row = self._record(first, text)
            if isinstance(row, ContactInput) and "\x00" in text:
                row = _without_nul(first, row)
            if row is not None:
                parsed.append(row)
        return parsed

    def _record(self, line: int, text: str) -> Parsed | None:
        if self._columns is None:
            if "," not in text:
                self._delimiter = ";" if ";" in text else "\t" if "\t" in text else ","
        try:
            cells = next(csv.reader((text,), delimiter=self._delimiter, skipinitialspace=True))
        except csv.Error as error:
            if self._columns is None:
                raise HeaderError(f"the header row cannot be read: {error}") from None
            return RowError(row=line, reason=f"not valid CSV: {error}")
        if self._columns is None:
            self._columns = _Columns(cells)
            return None
        return self._columns.row(line, cells)
