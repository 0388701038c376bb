"""The streamed CSV reader: any chunking gives the same rows; bad UTF-8 is an UploadError."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from enrollment_matcher.jobs import UploadError, csv_rows

TEXT = 'record_id,psn_name\r\nR1,张三\r\nR2,"李,四"\r\nR3,"王\n五"\r\nR4,\r\n'
EXPECTED = [
    ["record_id", "psn_name"],
    ["R1", "张三"],
    ["R2", "李,四"],
    ["R3", "王\n五"],
    ["R4", ""],
]


async def _chunks(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def _rows(data: bytes, size: int) -> list[list[str]]:
    return [row async for row in csv_rows(_chunks(data, size))]


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, 4096])
async def test_rows_do_not_depend_on_chunk_boundaries(size: int) -> None:
    assert await _rows(TEXT.encode(), size) == EXPECTED


async def test_a_bom_and_a_missing_final_newline_are_fine() -> None:
    data = ("\ufeff" + TEXT.rstrip("\r\n")).encode()
    assert await _rows(data, 5) == EXPECTED


async def test_invalid_utf8_names_its_byte() -> None:
    with pytest.raises(UploadError) as caught:
        await _rows(TEXT.encode() + "张".encode("gb18030"), 4096)
    assert caught.value.code == "invalid_csv_encoding"


async def test_a_truncated_character_at_the_end_is_refused() -> None:
    with pytest.raises(UploadError):
        await _rows(TEXT.encode() + "张".encode()[:2], 4096)
