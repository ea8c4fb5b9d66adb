"""Real documents and crafted hostile ones, made in code for the tests (no binary fixtures).

Valid files come from Pillow (JPEG, PNG, PDF pages holding JPEG pictures, as scanner apps write
them) or from ``pdf_with_content`` (a PDF written object by object with a correct xref table).
The hostile ones are what an outside probe sent: a PNG header followed by HTML, a valid PNG with
an HTML page behind it, HTML declared as a PDF, a cut-off PDF, and decompression bombs.
"""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image, ImageDraw


def _picture(width: int = 640, height: int = 420, colour: tuple[int, int, int] = (40, 90, 160)) -> Image.Image:
    image = Image.new("RGB", (width, height), (245, 242, 230))
    draw = ImageDraw.Draw(image)
    draw.rectangle((20, 20, width // 3, height - 20), fill=colour)
    draw.text((width // 3 + 20, 40), "SPECIMEN 0000", fill=(0, 0, 0))
    return image


def jpeg(width: int = 640, height: int = 420, *, exif_text: str | None = None) -> bytes:
    """A JPEG; with ``exif_text`` its EXIF carries that text as the image description and an
    orientation, as a phone photo carries the phone's model and the place."""
    buffer = io.BytesIO()
    image = _picture(width, height)
    if exif_text is None:
        image.save(buffer, "JPEG", quality=85)
    else:
        exif = Image.Exif()
        exif[0x010E] = exif_text  # ImageDescription
        exif[0x0112] = 1  # Orientation: upright
        image.save(buffer, "JPEG", quality=85, exif=exif.tobytes())
    return buffer.getvalue()


def png(width: int = 320, height: int = 200, *, text: str | None = None) -> bytes:
    """A PNG; with ``text`` it carries a tEXt chunk holding it."""
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    if text is not None:
        info.add_text("Comment", text)
    buffer = io.BytesIO()
    _picture(width, height).save(buffer, "PNG", pnginfo=info)
    return buffer.getvalue()


def pdf(pages: int = 1, *, width: int = 827, height: int = 1169) -> bytes:
    """A scanner's PDF: each page one JPEG picture (A4 at 100 dpi by default)."""
    images = [_picture(width, height, (40 + 60 * n, 90, 160)) for n in range(pages)]
    buffer = io.BytesIO()
    images[0].save(buffer, "PDF", save_all=True, append_images=images[1:], resolution=100.0)
    return buffer.getvalue()


def pdf_with_content(content: bytes, *, compress: bool = True) -> bytes:
    """A one-page PDF whose page draws ``content`` (Flate-compressed when ``compress``)."""
    stream = zlib.compress(content, 9) if compress else content
    filters = b"/Filter /FlateDecode " if compress else b""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << >> >>",
        b"<< " + filters + b"/Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def pdf_bomb(expanded: int = 50 * 1024 * 1024) -> bytes:
    """A PDF of about 50 KB whose page content stream inflates to ``expanded`` bytes (spaces)."""
    return pdf_with_content(b" " * expanded)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A well-formed PNG that claims ``width`` x ``height`` pixels (10 gigapixels by default) and
    holds a few hundred bytes: decoding it would need tens of gigabytes."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grey
    rows = zlib.compress(b"\x00" * (width + 1) * 4, 9)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", rows) + _chunk(b"IEND", b"")


HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>\n"


def png_header_then_html() -> bytes:
    """What the probe sent: a PNG signature and header chunk, then an HTML page."""
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)) + HTML


def png_then_html() -> bytes:
    """A polyglot: a complete, valid PNG with an HTML page after its last chunk."""
    return png() + HTML


def pdf_holding_html() -> bytes:
    """A PDF whose page content is an HTML page (sent by the probe as ``text/html``)."""
    return pdf_with_content(HTML, compress=False)


def truncated_pdf() -> bytes:
    whole = pdf(2)
    return whole[: len(whole) // 2]
