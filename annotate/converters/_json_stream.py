"""Read one large array of a JSON object file in chunks, holding a bounded window of the file.

A COCO file is ``{"images": [...], "categories": [...], "annotations": [...]}`` where the
annotations are most of the bytes. ``orjson.loads`` of the whole file holds the file and
every annotation as Python objects at once, about 5 times the file's size, before a single
one is converted. :class:`ArrayStream` parses everything before the array at once (the
"head"), then the array's elements a block at a time, then what follows (the "tail")::

    stream = ArrayStream(path, "annotations")
    head = stream.head                      # {"images": [...], "categories": [...]} as parsed
    for elements in stream.chunks():        # lists of parsed elements, in file order
        ...
    tail = stream.tail                      # the keys after the array

Every byte is parsed by orjson; only where a block is cut is chosen here. A block is cut after
a ``}`` that ends an element: the text up to it, wrapped in ``[...]``, must parse, which it
cannot when the cut falls inside a string or a nested object (a prefix of valid JSON that
parses on its own ends where the parser's own first value sequence ends). Anything unusual
(the key missing or not at the top level, elements that are not objects, a value after the
array that repeats a key, text orjson refuses such as NaN) raises :class:`NotStreamable`
before or while streaming, and the caller reads the file the ordinary way.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

#: Bytes read at a time; a chunk of parsed elements is about 5 times as large in memory.
BLOCK_BYTES = 1 << 18
# Cuts that fail to parse (inside a string or nested object) before reading more instead.
_MAX_FAILED_CUTS = 3
_WHITESPACE = b" \t\r\n"


class NotStreamable(Exception):
    """The file is not laid out as :class:`ArrayStream` expects; read it whole instead."""


class ArrayStream:
    """The array under top-level ``key`` of a JSON object file, read in chunks.

    Args:
        path: the JSON file (UTF-8, no byte order mark).
        key: the top-level key whose value is the large array.
        block_bytes: bytes read at a time.

    Raises:
        NotStreamable: (from the constructor) ``key`` was not found as a top-level key whose
            value is an array, or the text before it is not a JSON object's start.
        OSError: the file cannot be read.
    """

    def __init__(self, path: Path, key: str, block_bytes: int = BLOCK_BYTES) -> None:
        self.key = key
        self.block_bytes = block_bytes
        self.tail: dict[str, Any] = {}
        self._file = Path(path).open("rb")  # noqa: SIM115 -- closed by chunks() or close()
        try:
            self.head, self._buffer = self._read_head(f'"{key}"'.encode())
        except BaseException:
            self._file.close()
            raise

    def close(self) -> None:
        """Close the file (also done when :meth:`chunks` ends)."""
        self._file.close()

    def _read(self) -> bytes:
        return self._file.read(self.block_bytes)

    def _read_head(self, quoted_key: bytes) -> tuple[dict[str, Any], bytes]:
        """Parse the text before the array; return it as a dict and the bytes after ``[``."""
        buffer = b""
        searched = 0
        failures = 0
        while True:
            block = self._read()
            if not block:
                raise NotStreamable(f"no top-level {self.key!r} array")
            buffer += block
            if buffer.lstrip(_WHITESPACE)[:1] not in (b"{", b""):
                raise NotStreamable("not a JSON object")
            while True:
                at = buffer.find(quoted_key, searched)
                if at < 0:
                    # Keep looking in the next block, overlapping by the key's length.
                    searched = max(0, len(buffer) - len(quoted_key))
                    break
                searched = at + 1
                start = _array_start(buffer, at + len(quoted_key))
                if start is None:
                    if len(buffer) - at < 64:  # the ':' or '[' may be in the next block
                        searched = at
                        break
                    continue
                try:
                    # Parses only when the key is a key of the top-level object.
                    head = orjson.loads(buffer[:at] + quoted_key + b":[]}")
                except orjson.JSONDecodeError:
                    # The key inside a string or a nested object; each try parses the text
                    # so far, so give up after a few rather than parse a large file many times.
                    failures += 1
                    if failures >= _MAX_FAILED_CUTS:
                        raise NotStreamable(f"{self.key!r} is used below the top level") from None
                    continue
                if not isinstance(head, dict):
                    continue
                del head[self.key]
                return head, buffer[start:]

    def chunks(self) -> Iterator[list[Any]]:
        """Yield the array's elements in lists, in file order; then set :attr:`tail`.

        Raises:
            NotStreamable: an element is not an object, orjson refuses the text, or the tail
                repeats the key.
        """
        try:
            yield from self._chunks()
        finally:
            self._file.close()

    def _chunks(self) -> Iterator[list[Any]]:
        buffer = self._buffer.lstrip(_WHITESPACE)
        self._buffer = b""
        at_end = False
        while True:
            if buffer[:1] == b"]":
                self._read_tail(buffer[1:])
                return
            if not at_end:
                block = self._read()
                at_end = not block
                buffer += block
            cut = _parse_prefix(buffer)
            if cut is None:
                if at_end:
                    raise NotStreamable(f"the {self.key!r} array does not parse as a list of objects")
                continue
            elements, end = cut
            yield elements
            rest = buffer[end:].lstrip(_WHITESPACE)
            if rest[:1] == b",":
                rest = rest[1:].lstrip(_WHITESPACE)
                if rest[:1] == b"]":
                    raise NotStreamable("a comma before the end of the array")
            elif rest[:1] != b"]" and (rest or at_end):
                raise NotStreamable(f"unexpected text after an element of {self.key!r}")
            buffer = rest

    def _read_tail(self, rest: bytes) -> None:
        while block := self._read():
            rest += block
        try:
            tail = orjson.loads(b'{"' + self.key.encode() + b'":[]' + rest)
        except orjson.JSONDecodeError as exc:
            raise NotStreamable(f"the text after {self.key!r} does not parse: {exc}") from None
        if not isinstance(tail, dict) or tail.get(self.key) != []:
            raise NotStreamable(f"{self.key!r} appears twice")
        del tail[self.key]
        if tail.keys() & self.head.keys():
            raise NotStreamable("a key appears twice")
        self.tail = tail


def _array_start(buffer: bytes, at: int) -> int | None:
    """Return the index after ``[`` when ``buffer[at:]`` is ``<ws> : <ws> [``, else None."""
    length = len(buffer)
    while at < length and buffer[at] in _WHITESPACE:
        at += 1
    if at >= length or buffer[at] != ord(":"):
        return None
    at += 1
    while at < length and buffer[at] in _WHITESPACE:
        at += 1
    if at >= length or buffer[at] != ord("["):
        return None
    return at + 1


def _parse_prefix(buffer: bytes) -> tuple[list[Any], int] | None:
    """Parse the longest run of whole objects at the start of ``buffer`` that a cut finds.

    Returns:
        ``(elements, end)`` with ``buffer[:end]`` parsed, or None when no cut in the
        buffer parses (the buffer holds less than one element, or the cut candidates all
        fall inside strings or nested objects).

    Raises:
        NotStreamable: the parsed elements are not all objects.
    """
    end = len(buffer)
    failures = 0
    while failures < _MAX_FAILED_CUTS:
        brace = buffer.rfind(b"}", 0, end)
        if brace < 0:
            return None
        end = brace
        after = buffer[brace + 1 : brace + 64].lstrip(_WHITESPACE)
        # An element's end is followed by ',' and the next element's '{', or by the array's ']'.
        if after[:1] != b"]" and not (after[:1] == b"," and after[1:].lstrip(_WHITESPACE)[:1] == b"{"):
            continue
        try:
            elements = orjson.loads(b"[" + buffer[: brace + 1] + b"]")
        except orjson.JSONDecodeError:
            failures += 1
            continue
        if not all(type(element) is dict for element in elements):
            raise NotStreamable("an element is not an object")
        return elements, brace + 1
    return None
