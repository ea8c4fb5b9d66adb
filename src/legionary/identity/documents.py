"""The sandboxed document decoder: checks an upload on arrival and turns a scan into pixels.

Two entry points, both run in a separate process with CPU-time, memory and wall-clock limits:

* ``inspect_upload(data, claimed_type)`` decodes an upload fully (every pixel of an image, every
  page of a PDF) and answers what it is, or raises ``DocumentRefused`` saying why not: a type we do
  not take, content that is not what it claims, a damaged or truncated file, too many pixels or
  pages, a PDF whose compressed streams expand too much, or a decoder that ran out of its limits.
* ``rasterise(data, kind, ...)`` turns a stored scan into PNG pictures, one per page: images are
  re-encoded by Pillow into a fresh picture (no EXIF, no text chunks, no colour profile, nothing
  of the original file but its pixels), PDF pages are rendered by pdfium. Staff browsers receive
  only these pictures, never the uploaded bytes.

Why a separate process: Pillow and pdfium are large C decoders fed with bytes from anyone on the
Internet. A decompression bomb or a pathological file then costs at most the child's limits, and
the child is killed (the web worker never is). Each child serves one document and exits. It is
forked from the zygote, a small interpreter the web worker starts for this purpose with an empty
environment and no file descriptor but its control socket, which has imported only this module and
the decoders and never reads a document: the child holds no key, no database connection and no
other request's data. It answers over a socket in a plain framed format (a JSON header, then raw
PNG bytes), never pickle, so even a child taken over by a decoder bug cannot make the web worker
run code. The limits bound resources, not privileges: the child runs as the service user (see
docs/security.md).

This module imports nothing from Django and never logs a document's content.
"""

from __future__ import annotations

import contextlib
import gc
import io
import json
import math
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from multiprocessing.connection import Connection
from typing import Any

PDF = "application/pdf"
JPEG = "image/jpeg"
PNG = "image/png"
KINDS = (PDF, JPEG, PNG)
# What browsers and phones send for the same three types.
_ALIASES = {
    "application/x-pdf": PDF,
    "image/jpg": JPEG,
    "image/pjpeg": JPEG,
    "image/x-png": PNG,
}
# A client that names no type (curl, some phone browsers) claims nothing: the content decides.
_UNSPECIFIED = {"", "application/octet-stream", "binary/octet-stream"}
_MAGIC = {PDF: b"%PDF-", JPEG: b"\xff\xd8\xff", PNG: b"\x89PNG\r\n\x1a\n"}
_PNG_SIGNATURE = _MAGIC[PNG]


@dataclass(frozen=True)
class Limits:
    """What one decoding may cost. The defaults fit passport and identity-card scans and phone
    photos with a wide margin; each is a refusal with its own message, not a crash."""

    max_pixels: int = 60_000_000  # an image, or a page as rendered: a 48 Mpx phone photo passes
    max_pages: int = 20
    # A PDF's compressed streams may expand to at most this in all...
    max_inflated: int = 256 * 1024 * 1024
    # ...and by more than ``max_ratio`` times the file's size only up to ``ratio_floor``: a bomb
    # expands a thousandfold (the 47 KB file that expanded to 50 MB); scans, even lossless ones,
    # by well under a hundredfold.
    max_ratio: int = 200
    ratio_floor: int = 16 * 1024 * 1024
    max_page_points: float = 14_400.0  # the largest page PDF allows (200 inches)
    cpu_seconds: int = 20
    memory_bytes: int = 1536 * 1024 * 1024  # the child's address space
    wall_seconds: float = 60.0


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class DocumentInfo:
    """What a checked upload is: its real type, its page count (1 for an image) and the size in
    pixels of its first page (images) or in PDF points (PDFs)."""

    kind: str
    pages: int
    width: int
    height: int


class DocumentRefused(Exception):
    """A document was refused. ``code`` is one of the ``REFUSALS`` keys (callers translate it);
    the message is an English sentence for logs and the CLI, and never holds document content."""

    def __init__(self, code: str, message: str | None = None) -> None:
        super().__init__(message or REFUSALS[code])
        self.code = code


REFUSALS = {
    "type": "Only PDF, JPEG and PNG files are accepted.",
    "mismatch": "The file is not the kind of file it claims to be.",
    "damaged": "The file is damaged or incomplete and could not be read.",
    "too-large": "The file is too large once opened (too many pixels or pages, or it expands too much).",
    "limits": "The file could not be read within the time and memory allowed.",
}


def normalise_type(claimed_type: str | None) -> str | None:
    """The claimed type as one of ``KINDS``, ``None`` for "not said", or ``DocumentRefused``."""
    claimed = (claimed_type or "").split(";", 1)[0].strip().lower()
    if claimed in _UNSPECIFIED:
        return None
    claimed = _ALIASES.get(claimed, claimed)
    if claimed not in KINDS:
        raise DocumentRefused("type")
    return claimed


def sniff(data: bytes) -> str | None:
    """The type that the first bytes announce, or None."""
    for kind, magic in _MAGIC.items():
        if data.startswith(magic):
            return kind
    return None


def inspect_upload(data: bytes, claimed_type: str | None, *, limits: Limits = DEFAULT_LIMITS) -> DocumentInfo:
    """Decodes ``data`` fully in the sandbox; what it is, or ``DocumentRefused``.

    ``claimed_type`` is the Content-Type the client sent: it must be PDF, JPEG or PNG (or unsaid),
    and the content must decode as that type.
    """
    claimed = normalise_type(claimed_type)
    announced = sniff(data)
    if announced is None or (claimed is not None and claimed != announced):
        raise DocumentRefused("mismatch")
    header, _ = _run_sandboxed("inspect", data, {"kind": announced}, limits)
    return DocumentInfo(
        kind=announced, pages=_int(header, "pages"), width=_int(header, "width"), height=_int(header, "height")
    )


def rasterise(
    data: bytes,
    kind: str,
    *,
    max_pages: int = 20,
    dpi: int = 110,
    first_page: int = 0,
    max_side: int = 1600,
    watermark_text: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> list[bytes]:
    """PNG pictures of the document's pages ``first_page`` onwards (at most ``max_pages``), made in
    the sandbox; ``DocumentRefused`` when the document does not decode within the limits.

    Images come out at their own size, turned upright by their EXIF orientation, scaled down to at
    most ``max_side`` pixels a side; PDF pages at ``dpi``, with the same cap. ``watermark_text``,
    when given, is drawn faintly across every picture (the viewer's name and the time, issue 21),
    so a photographed screen still says who opened it.
    """
    if kind not in KINDS or sniff(data) != kind:
        raise DocumentRefused("mismatch")
    if not (0 < max_pages <= limits.max_pages and 0 <= first_page and 10 <= dpi <= 600 and 64 <= max_side <= 10_000):
        raise ValueError("rasterise: a page range, resolution or size out of bounds")
    options = {
        "kind": kind,
        "max_pages": max_pages,
        "dpi": dpi,
        "first_page": first_page,
        "max_side": max_side,
        "watermark": watermark_text or "",
    }
    _, pictures = _run_sandboxed("rasterise", data, options, limits)
    for picture in pictures:
        if not picture.startswith(_PNG_SIGNATURE):
            raise DocumentRefused("limits", "The sandbox answered something that is not a PNG picture.")
    return pictures


# --- the parent's side ------------------------------------------------------------------------
#
# The zygote: a small interpreter started for this purpose (``python -I``, an empty environment, no
# file descriptor but its control socket), which imports this module and the decoders, decodes a
# tiny picture and PDF once so their lazy start-up is done, freezes its heap, and then only waits.
# For each document the web worker sends it one end of a fresh socket pair; the zygote forks, and
# the child (which has never seen any other document) lowers its limits, reads the document from
# that socket, answers and exits. The zygote itself never reads a document.
#
# Before, each child came from multiprocessing's fork server, which on Python 3.11 runs the web
# worker's main module again in every child (``legionary`` imports Django's management code):
# 50-65 ms of CPU per upload before the first byte was decoded. A fork of the zygote costs ~2 ms.

_ZYGOTE_START = (
    "import sys, json; sys.path[:] = json.loads(sys.argv[1]); "
    "from legionary.identity.documents import _zygote_main; _zygote_main(int(sys.argv[2]))"
)
# How long the child may take to say it is there (its pid), before the wall-clock limit starts.
_HELLO_SECONDS = 30.0


class _Zygote:
    """The web worker's handle on its zygote: started on first use, again after a fork of the
    worker or when it has died. Thread-safe: gunicorn's threads share one."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._owner = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._control: socket.socket | None = None

    def _start(self) -> socket.socket:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._process = subprocess.Popen(  # noqa: S603 — our own interpreter and module, fixed arguments
                [sys.executable, "-I", "-c", _ZYGOTE_START, json.dumps(sys.path), str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
                env={},  # nothing of the worker's environment (a keyring passphrase may be there)
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                close_fds=True,
            )
        finally:
            theirs.close()
        self._owner, self._control = os.getpid(), ours
        return ours

    def _stop(self) -> None:
        if self._control is not None:
            self._control.close()  # the zygote sees end of file and exits
        if self._process is not None and self._owner == os.getpid():
            try:
                self._process.wait(5)
            except subprocess.TimeoutExpired:
                self._process.kill()  # it does not go on its own: it holds no one's data
                self._process.wait()
        self._process = self._control = None

    def connect(self) -> Connection:
        """A connection to a new child of the zygote, forked for one document."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            with self._lock:
                for attempt in (1, 2):
                    control = self._control
                    if control is None or self._owner != os.getpid():
                        if control is not None:
                            control.close()  # a forked worker's copy: its parent's zygote
                            self._process = self._control = None
                        control = self._start()
                    try:
                        socket.send_fds(control, [b"D"], [theirs.fileno()])
                        break
                    except OSError:
                        # The zygote has died (killed, out of memory): start another, once.
                        self._stop()
                        if attempt == 2:
                            raise
        finally:
            theirs.close()
        return Connection(ours.detach())


_zygote = _Zygote()


def _int(header: dict[str, Any], name: str) -> int:
    value = header.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise DocumentRefused("limits", "The sandbox gave an answer that does not parse.")
    return value


def _kill(pidfd: int | None) -> None:
    if pidfd is not None:
        with contextlib.suppress(ProcessLookupError):  # a child that has exited already needs no signal
            signal.pidfd_send_signal(pidfd, signal.SIGKILL)


def _run_sandboxed(
    operation: str, data: bytes, options: dict[str, Any], limits: Limits
) -> tuple[dict[str, Any], list[bytes]]:
    """Runs ``operation`` on ``data`` in a fresh child of the zygote; its JSON header and binary parts."""
    try:
        conn = _zygote.connect()
    except OSError:
        raise DocumentRefused("limits", "The document sandbox could not be started.") from None
    pidfd: int | None = None
    finished = False
    try:
        try:
            # The child's first word is its pid: held as a pidfd, so the kill below can only reach it.
            if not conn.poll(_HELLO_SECONDS):
                raise DocumentRefused("limits")
            hello = json.loads(conn.recv_bytes(1024))
            pidfd = os.pidfd_open(_int(hello, "pid"))
            conn.send_bytes(json.dumps({"operation": operation, "options": options, "limits": asdict(limits)}).encode())
            conn.send_bytes(data)
            deadline = time.monotonic() + limits.wall_seconds
            if not conn.poll(max(0.0, deadline - time.monotonic())):
                raise DocumentRefused("limits")
            header = json.loads(conn.recv_bytes(64 * 1024))
            if not isinstance(header, dict) or not isinstance(header.get("parts"), int):
                raise DocumentRefused("limits", "The sandbox gave an answer that does not parse.")
            if header.get("refused"):
                code = header["refused"]
                raise DocumentRefused(code if code in REFUSALS else "damaged")
            parts = []
            for _ in range(min(header["parts"], limits.max_pages)):
                if not conn.poll(max(0.0, deadline - time.monotonic())):
                    raise DocumentRefused("limits")
                parts.append(conn.recv_bytes(256 * 1024 * 1024))
            finished = True
            return header, parts
        except (EOFError, OSError, ValueError):
            # The child died (killed at its CPU or memory limit) or wrote something malformed.
            raise DocumentRefused("limits") from None
    finally:
        conn.close()
        if not finished:
            _kill(pidfd)  # not waited for: the zygote reaps its children
        if pidfd is not None:
            os.close(pidfd)


# --- the child's side ---------------------------------------------------------------------------


def _confine(limits: Limits) -> None:
    """Limits this process: CPU seconds (SIGXCPU, then SIGKILL), address space, no core dumps, no
    files written, and a wall-clock alarm (SIGALRM, whose default action ends the process, in C
    code too) a second past the parent's own wait. Lowered hard limits cannot be raised again."""
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    signal.alarm(max(1, math.ceil(limits.wall_seconds)) + 1)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))


def _zygote_main(control_fd: int) -> None:
    """The zygote's loop: one fork per socket received, until the web worker closes the control socket."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C reaches the web worker, which closes us
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps the children: no zombies
    _warm()
    gc.collect()
    gc.freeze()  # the heap is shared with every child: no collection copies its pages
    control = socket.socket(fileno=control_fd)
    while True:
        try:
            message, fds, _flags, _address = socket.recv_fds(control, 16, 8)
        except OSError:
            return
        if not message:
            for fd in fds:
                os.close(fd)
            return
        for fd in fds:
            pid = os.fork()
            if pid == 0:  # the child: never returns
                try:
                    control.close()
                    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                    _child_main(Connection(fd))
                finally:
                    os._exit(0)  # no atexit handlers or finalisers of the zygote's state
            os.close(fd)


def _warm() -> None:
    """Decodes a tiny PNG, JPEG and PDF, so what the decoders set up on first use is in the
    zygote's memory before any fork, and not done again by every child."""
    from PIL import Image

    try:
        for kind, fmt in ((PNG, "PNG"), (JPEG, "JPEG")):
            buffer = io.BytesIO()
            Image.new("RGB", (8, 8), (200, 200, 200)).save(buffer, fmt)
            _open_image(buffer.getvalue(), kind, DEFAULT_LIMITS)
        _inspect(_TINY_PDF, PDF, DEFAULT_LIMITS)
    except Exception:  # noqa: BLE001, S110 — only a head start: each child decodes on its own anyway
        pass


_TINY_PDF = (
    b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [3 0 R] "
    b"/Count 1 >>\nendobj\n3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 72 72] >>\nendobj\n"
    b"trailer\n<< /Size 4 /Root 1 0 R >>\n%%EOF\n"
)


def _child_main(conn: Connection) -> None:
    """One document: say the pid, take the request, lower the limits, read the bytes, answer."""
    gc.disable()  # a short life: collecting would only copy the zygote's pages
    conn.send_bytes(json.dumps({"pid": os.getpid()}).encode())
    request = json.loads(conn.recv_bytes(64 * 1024))
    operation, options = request["operation"], request["options"]
    limits = Limits(**request["limits"])
    _confine(limits)
    data = conn.recv_bytes()
    try:
        if operation == "inspect":
            header, parts = _inspect(data, options["kind"], limits), []
        else:
            parts = _rasterise(data, options, limits)
            header = {}
    except DocumentRefused as exc:
        header, parts = {"refused": exc.code}, []
    except MemoryError:
        header, parts = {"refused": "limits"}, []
    except Exception:  # noqa: BLE001 — anything a decoder raises on a bad file means "damaged"
        header, parts = {"refused": "damaged"}, []
    header["parts"] = len(parts)
    conn.send_bytes(json.dumps(header).encode())
    for part in parts:
        conn.send_bytes(part)
    conn.close()


def _inspect(data: bytes, kind: str, limits: Limits) -> dict[str, Any]:
    if kind == PDF:
        pdf = _open_pdf(data, limits)
        try:
            pages = len(pdf)
            width, height = pdf.get_page_size(0)
            for index in range(pages):
                page = pdf[index]
                try:
                    # Rendering at a small scale makes pdfium parse every content stream and
                    # decode every image the page draws.
                    _render_page(page, dpi=18, max_side=4000, limits=limits).close()
                finally:
                    page.close()
        finally:
            pdf.close()
        return {"pages": pages, "width": round(width), "height": round(height)}
    image = _open_image(data, kind, limits)
    return {"pages": 1, "width": image.width, "height": image.height}


def _rasterise(data: bytes, options: dict[str, Any], limits: Limits) -> list[bytes]:
    from PIL import Image

    kind, first, count = options["kind"], options["first_page"], options["max_pages"]
    pictures: list[Image.Image] = []
    if kind == PDF:
        pdf = _open_pdf(data, limits)
        try:
            for index in range(first, min(len(pdf), first + count)):
                page = pdf[index]
                try:
                    pictures.append(_render_page(page, dpi=options["dpi"], max_side=options["max_side"], limits=limits))
                finally:
                    page.close()
        finally:
            pdf.close()
    elif first == 0:
        pictures.append(_open_image(data, kind, limits, upright=True, fit=options["max_side"]))
    out = []
    for picture in pictures:
        clean = _pixels_only(picture, options["max_side"])
        if options["watermark"]:
            clean = _watermark(clean, options["watermark"])
        buffer = io.BytesIO()
        clean.save(buffer, format="PNG", compress_level=1)  # speed over size: pictures are never stored
        out.append(buffer.getvalue())
    return out


def _open_image(data: bytes, kind: str, limits: Limits, *, upright: bool = False, fit: int | None = None) -> Any:
    import warnings

    from PIL import Image, ImageOps

    if kind == PNG:
        _check_png_structure(data)
    fmt = "PNG" if kind == PNG else "JPEG"
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        Image.MAX_IMAGE_PIXELS = limits.max_pixels
        try:
            image = Image.open(io.BytesIO(data), formats=[fmt])
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise DocumentRefused("too-large") from None
        if image.width * image.height > limits.max_pixels:
            raise DocumentRefused("too-large")
        if getattr(image, "n_frames", 1) != 1:
            raise DocumentRefused("mismatch")  # an animated PNG is not a scan
        if fit is not None and kind == JPEG and max(image.size) > fit:
            # A picture for the screen: the JPEG decoder scales by 1/2, 1/4 or 1/8 while decoding
            # (never below the size asked for), faster than decoding every pixel and scaling after.
            scale = fit / max(image.size)
            image.draft("RGB", (math.ceil(image.width * scale), math.ceil(image.height * scale)))
        image.load()  # every pixel: a truncated or corrupt file raises here
        if upright:
            return ImageOps.exif_transpose(image)
    return image


def _check_png_structure(data: bytes) -> None:
    """Walks the PNG's chunks: each with a correct CRC, IHDR first, IEND last and at the very end
    of the file, so nothing (an HTML page, a ZIP) rides behind or between the picture's chunks."""
    position, first = len(_PNG_SIGNATURE), True
    while True:
        if position + 12 > len(data):
            raise DocumentRefused("damaged")
        length = int.from_bytes(data[position : position + 4], "big")
        chunk_type = data[position + 4 : position + 8]
        end = position + 12 + length
        if length > 0x7FFFFFFF or end > len(data) or not chunk_type.isalpha():
            raise DocumentRefused("damaged")
        crc = int.from_bytes(data[end - 4 : end], "big")
        if zlib.crc32(data[position + 4 : end - 4]) != crc:
            raise DocumentRefused("damaged")
        if first and chunk_type != b"IHDR":
            raise DocumentRefused("mismatch")
        first = False
        position = end
        if chunk_type == b"IEND":
            if position != len(data):
                raise DocumentRefused("mismatch")
            return


_STREAM = re.compile(rb"(?<!end)stream(?:\r\n|\n|\r)")
_INFLATE_STEP = 1024 * 1024


def _check_pdf_expansion(data: bytes, limits: Limits) -> None:
    """Inflates every Flate stream of the file (counting, keeping nothing) and refuses a file whose
    streams expand beyond the limits: pdfium would otherwise inflate a bomb while rendering."""
    budget = min(limits.max_inflated, max(limits.ratio_floor, limits.max_ratio * len(data)))
    total = 0
    for match in _STREAM.finditer(data):
        inflater = zlib.decompressobj()
        position = match.end()
        try:
            while not inflater.eof and position < len(data):
                chunk = data[position : position + 64 * 1024]
                position += len(chunk)
                produced = len(inflater.decompress(chunk, _INFLATE_STEP))
                while inflater.unconsumed_tail and not inflater.eof:
                    if total + produced > budget:
                        break
                    produced += len(inflater.decompress(inflater.unconsumed_tail, _INFLATE_STEP))
                total += produced
                if total > budget:
                    raise DocumentRefused("too-large")
        except zlib.error:
            continue  # not a Flate stream (a JPEG, an image filter), or broken: pdfium decides


def _open_pdf(data: bytes, limits: Limits) -> Any:
    import pypdfium2

    # A PDF ends with "%%EOF" (readers tolerate a little trailing junk): a cut-off upload does not.
    if b"%%EOF" not in data[-1024:]:
        raise DocumentRefused("damaged")
    _check_pdf_expansion(data, limits)
    try:
        pdf = pypdfium2.PdfDocument(data)
    except pypdfium2.PdfiumError:
        raise DocumentRefused("damaged") from None
    pages = len(pdf)
    if pages == 0:
        pdf.close()
        raise DocumentRefused("damaged")
    if pages > limits.max_pages:
        pdf.close()
        raise DocumentRefused("too-large")
    return pdf


def _render_page(page: Any, *, dpi: int, max_side: int, limits: Limits) -> Any:
    width, height = page.get_size()
    if not (0 < width <= limits.max_page_points and 0 < height <= limits.max_page_points):
        raise DocumentRefused("damaged")
    scale = min(dpi / 72, max_side / max(width, height))
    if width * scale * height * scale > limits.max_pixels:
        raise DocumentRefused("too-large")
    bitmap = page.render(scale=scale, may_draw_forms=False)
    try:
        return bitmap.to_pil().convert("RGB")
    finally:
        bitmap.close()


def _pixels_only(image: Any, max_side: int) -> Any:
    """A new picture holding only the pixels: no EXIF, ICC profile, text or other metadata."""
    from PIL import Image

    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        image = flat
    elif image.mode not in ("RGB", "L"):
        image = image.convert("L" if image.mode in ("1", "I", "I;16", "F") else "RGB")
    if max(image.size) > max_side:
        image = image.copy()
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return Image.frombytes(image.mode, image.size, image.tobytes())


def _watermark(image: Any, text: str) -> Any:
    """Draws ``text`` faintly, diagonally and repeatedly across the picture."""
    from PIL import Image, ImageDraw, ImageFont

    base = image.convert("RGB")
    size = max(12, min(base.size) // 30)
    font = ImageFont.load_default(size=size)
    tile = Image.new("RGBA", (base.width * 2, base.height * 2), (0, 0, 0, 0))
    draw = ImageDraw.Draw(tile)
    step_y = size * 6
    for row, y in enumerate(range(0, tile.height, step_y)):
        offset = (row % 2) * size * 8
        line = ("   " + text) * (1 + tile.width // max(1, size * max(1, len(text))))
        draw.text((offset - size * 8, y), line, font=font, fill=(90, 90, 90, 46))
    rotated = tile.rotate(30, resample=Image.Resampling.BICUBIC)
    left, top = (rotated.width - base.width) // 2, (rotated.height - base.height) // 2
    overlay = rotated.crop((left, top, left + base.width, top + base.height))
    marked = base.convert("RGBA")
    marked.alpha_composite(overlay)
    return Image.frombytes("RGB", marked.size, marked.convert("RGB").tobytes())


__all__: Sequence[str] = (
    "DEFAULT_LIMITS",
    "KINDS",
    "REFUSALS",
    "DocumentInfo",
    "DocumentRefused",
    "Limits",
    "inspect_upload",
    "normalise_type",
    "rasterise",
    "sniff",
)
