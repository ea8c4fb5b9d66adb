"""The document sandbox (``identity.documents``): what it accepts on arrival, what it refuses and
why, and the pictures it makes for staff. Every file is real, made in the test (tests/identity/files.py)."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from legionary.identity import documents
from legionary.identity.documents import DocumentRefused, Limits, inspect_upload, rasterise
from tests.identity import files


def png_chunks(data: bytes) -> list[bytes]:
    """The chunk types of a PNG, in order (the file must be whole)."""
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    position, kinds = 8, []
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kinds.append(data[position + 4 : position + 8])
        position += 12 + length
    assert position == len(data)
    return kinds


def refusal(data: bytes, claimed: str | None, **limits: int) -> str:
    with pytest.raises(DocumentRefused) as refused:
        inspect_upload(data, claimed, limits=Limits(**limits))
    return refused.value.code


# --- on arrival -------------------------------------------------------------------------------


def test_a_valid_jpeg_png_and_pdf_are_accepted_as_what_they_are() -> None:
    assert inspect_upload(files.jpeg(640, 420), "image/jpeg") == documents.DocumentInfo(documents.JPEG, 1, 640, 420)
    assert inspect_upload(files.png(320, 200), "image/png") == documents.DocumentInfo(documents.PNG, 1, 320, 200)
    scan = inspect_upload(files.pdf(3), "application/pdf")
    assert (scan.kind, scan.pages) == (documents.PDF, 3)


def test_the_type_browsers_send_under_other_names_or_not_at_all_is_accepted() -> None:
    assert inspect_upload(files.jpeg(), "image/pjpeg").kind == documents.JPEG
    assert inspect_upload(files.pdf(), "application/octet-stream").kind == documents.PDF
    assert inspect_upload(files.png(), None).kind == documents.PNG


def test_a_png_header_followed_by_html_is_refused() -> None:
    assert refusal(files.png_header_then_html(), "image/png") in ("damaged", "mismatch")


def test_a_whole_png_with_an_html_page_behind_it_is_refused_as_a_polyglot() -> None:
    assert refusal(files.png_then_html(), "image/png") == "mismatch"


def test_html_declared_as_a_pdf_is_refused() -> None:
    assert refusal(files.HTML, "application/pdf") == "mismatch"


def test_a_pdf_sent_as_text_html_is_refused_for_its_claimed_type() -> None:
    assert refusal(files.pdf_holding_html(), "text/html") == "type"


def test_a_jpeg_sent_as_a_png_is_refused() -> None:
    assert refusal(files.jpeg(), "image/png") == "mismatch"


def test_a_truncated_pdf_is_refused_as_damaged() -> None:
    assert refusal(files.truncated_pdf(), "application/pdf") == "damaged"


def test_a_truncated_jpeg_is_refused_as_damaged() -> None:
    whole = files.jpeg(800, 600)
    assert refusal(whole[: len(whole) // 2], "image/jpeg") == "damaged"


def test_a_png_with_a_broken_checksum_is_refused() -> None:
    whole = bytearray(files.png())
    whole[40] ^= 0xFF  # inside the first data chunk
    assert refusal(bytes(whole), "image/png") in ("damaged", "mismatch")


def test_a_png_claiming_ten_gigapixels_is_refused_as_too_large() -> None:
    bomb = files.png_bomb()
    assert len(bomb) < 2000
    assert refusal(bomb, "image/png") == "too-large"


def test_a_fifty_kilobyte_pdf_expanding_to_fifty_megabytes_is_refused() -> None:
    bomb = files.pdf_bomb(50 * 1024 * 1024)
    assert len(bomb) < 100_000
    assert refusal(bomb, "application/pdf") == "too-large"


def test_a_pdf_whose_streams_expand_within_the_limits_is_accepted() -> None:
    # 2 MB of page content from a few KB: below the 16 MiB floor, so an ordinary file passes.
    assert inspect_upload(files.pdf_with_content(b"0 0 m 10 10 l S\n" * 130_000), "application/pdf").pages == 1


def test_a_pdf_with_more_pages_than_allowed_is_refused() -> None:
    assert refusal(files.pdf(4), "application/pdf", max_pages=3) == "too-large"


def test_an_image_over_the_pixel_limit_is_refused_before_it_is_decoded() -> None:
    assert refusal(files.jpeg(1000, 1000), "image/jpeg", max_pixels=999_999) == "too-large"


def test_the_child_runs_under_its_memory_limit() -> None:
    """Within the pixel limit but decoding needs more memory than the child may have: the child
    fails, not the caller, and the answer is a refusal. The same limit admits a small picture."""
    large = files.jpeg(7000, 7000)  # 147 MB once decoded
    assert inspect_upload(large, "image/jpeg").width == 7000
    assert inspect_upload(files.jpeg(), "image/jpeg", limits=Limits(memory_bytes=200 * 1024 * 1024)).width == 640
    assert refusal(large, "image/jpeg", memory_bytes=200 * 1024 * 1024) == "limits"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    prefix=st.sampled_from([b"", b"%PDF-1.7\n", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0"]),
    body=st.binary(max_size=2000),
    claimed=st.sampled_from(["application/pdf", "image/png", "image/jpeg", "", "text/html"]),
)
def test_any_bytes_are_either_a_document_or_a_refusal(prefix: bytes, body: bytes, claimed: str) -> None:
    try:
        info = inspect_upload(prefix + body, claimed)
    except DocumentRefused as exc:
        assert exc.code in documents.REFUSALS
    else:
        assert info.kind in documents.KINDS and info.pages >= 1


@given(st.text(max_size=80))
def test_a_claimed_type_is_one_of_three_unsaid_or_refused(claimed: str) -> None:
    try:
        assert documents.normalise_type(claimed) in (*documents.KINDS, None)
    except DocumentRefused as exc:
        assert exc.code == "type"


# --- pictures for staff -------------------------------------------------------------------------


def test_an_image_becomes_a_png_holding_only_pixels() -> None:
    photo = files.jpeg(640, 420, exif_text="Taken at 55.75N 37.61E")
    assert b"55.75N" in photo
    (picture,) = rasterise(photo, documents.JPEG)
    assert set(png_chunks(picture)) == {b"IHDR", b"IDAT", b"IEND"}
    assert b"55.75N" not in picture and b"Exif" not in picture
    image = Image.open(io.BytesIO(picture))
    assert image.size == (640, 420) and not image.info


def test_a_png_loses_its_text_chunks() -> None:
    (picture,) = rasterise(files.png(text="passport QZ 0000"), documents.PNG)
    assert set(png_chunks(picture)) == {b"IHDR", b"IDAT", b"IEND"} and b"QZ 0000" not in picture


def test_each_page_of_a_pdf_becomes_a_picture() -> None:
    scan = files.pdf(3)
    pictures = rasterise(scan, documents.PDF, dpi=50)
    assert len(pictures) == 3
    assert all(set(png_chunks(p)) == {b"IHDR", b"IDAT", b"IEND"} for p in pictures)
    sizes = {Image.open(io.BytesIO(p)).size for p in pictures}
    assert sizes == {(414, 585)}  # A4 at 50 dpi
    (last,) = rasterise(scan, documents.PDF, dpi=50, first_page=2, max_pages=1)
    assert last == pictures[2]


def test_a_large_picture_is_scaled_down_to_the_largest_side() -> None:
    (picture,) = rasterise(files.jpeg(3000, 1000), documents.JPEG, max_side=1200)
    assert Image.open(io.BytesIO(picture)).size == (1200, 400)


def test_a_watermark_is_drawn_into_the_pixels() -> None:
    plain = Image.open(io.BytesIO(rasterise(files.png(), documents.PNG)[0])).convert("RGB")
    marked = Image.open(io.BytesIO(rasterise(files.png(), documents.PNG, watermark_text="ian 2026-03-02")[0]))
    assert marked.size == plain.size
    differing = sum(1 for a, b in zip(plain.tobytes(), marked.convert("RGB").tobytes(), strict=True) if a != b)
    assert 0 < differing < plain.width * plain.height * 3 // 2  # faint and partial, not a cover


def test_a_malformed_pdf_is_refused_when_rasterised() -> None:
    with pytest.raises(DocumentRefused) as refused:
        rasterise(b"%PDF-1.7\n1 0 obj << /Type /Catalog >> garbage\n%%EOF\n", documents.PDF)
    assert refused.value.code == "damaged"


def test_a_bomb_is_refused_when_rasterised() -> None:
    with pytest.raises(DocumentRefused) as refused:
        rasterise(files.pdf_bomb(), documents.PDF)
    assert refused.value.code == "too-large"
    with pytest.raises(DocumentRefused) as refused:
        rasterise(files.png_bomb(), documents.PNG)
    assert refused.value.code == "too-large"


def test_content_that_is_not_the_kind_given_is_not_rasterised() -> None:
    with pytest.raises(DocumentRefused):
        rasterise(files.png(), documents.PDF)


def test_a_png_bomb_hidden_in_a_compressed_text_chunk_is_refused() -> None:
    """Pillow's own limit on text chunks (1 MB) holds in the sandbox too."""
    image = files.png()
    text = b"Comment\x00\x00" + zlib.compress(b"A" * (64 * 1024 * 1024), 9)
    chunk = struct.pack(">I", len(text)) + b"zTXt" + text + struct.pack(">I", zlib.crc32(b"zTXt" + text))
    crafted = image[:33] + chunk + image[33:]
    assert refusal(crafted, "image/png") in ("damaged", "too-large")
