"""Cost of the document sandbox (``legionary.identity.documents``) per document (a script: it
prints, never asserts speed).

For a typical scanner PDF (1 and 3 pages, each an A4 JPEG picture at 200 dpi) and a phone photo
(a 12-megapixel JPEG of about 4 MB), times:

* ``inspect``: the decode-on-arrival check every upload now costs (full decode of every page or
  pixel), run as the service runs it (a child forked from the zygote, with rlimits), in
  process (the same decoding without a child: what the sandbox adds is the difference), and in a
  fresh interpreter started per document (a zygote of its own each time: what the zygote saves);
* ``rasterise``: the pictures a staff viewer gets (each PDF page at 110 dpi, the photo scaled to
  1600 px), sandboxed and in process;
* the bare round trip of the sandbox (a 1x1 PNG), which is the child-process overhead alone.

Run: ``PYTHONPATH=.:src .venv/bin/python bench/bench_documents.py [--repeat N]`` (about a minute
at the default 8 repeats). The fastest and the median run in milliseconds of wall-clock time.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

from PIL import Image, ImageDraw, ImageFilter

from legionary.identity import documents


def scanner_pdf(pages: int) -> bytes:
    sheets = []
    for n in range(pages):
        sheet = Image.effect_noise((1654, 2339), 18).convert("RGB")
        sheet = Image.blend(sheet, Image.new("RGB", sheet.size, (240, 238, 230)), 0.7)
        draw = ImageDraw.Draw(sheet)
        for line in range(40):
            draw.rectangle(
                (150, 200 + line * 50, 1500 - (line * 37 + n * 90) % 600, 220 + line * 50), fill=(30, 30, 30)
            )
        sheets.append(sheet)
    buffer = io.BytesIO()
    sheets[0].save(buffer, "PDF", save_all=True, append_images=sheets[1:], resolution=200.0, quality=80)
    return buffer.getvalue()


def phone_photo() -> bytes:
    size = (4032, 3024)
    photo = Image.merge("RGB", [Image.effect_noise(size, sigma).convert("L") for sigma in (40, 55, 70)])
    photo = photo.filter(ImageFilter.GaussianBlur(1.2))
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x0110] = "Phone model"
    exif[0x0112] = 6  # rotated, as a phone held upright writes it
    photo.save(buffer, "JPEG", quality=90, exif=exif.tobytes())
    return buffer.getvalue()


def tiny_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (1, 1)).save(buffer, "PNG")
    return buffer.getvalue()


def timed(call: Callable[[], Any], repeat: int) -> tuple[float, float, float]:
    """(fastest, median, fastest CPU of this process) in ms. On a shared machine the fastest run
    is the cost, the median adds the waiting for a CPU; the CPU time is the whole cost of an
    in-process run, and only the parent's share of a sandboxed one (the child's is not counted)."""
    call()  # warm: the zygote starts, caches fill
    samples, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        call()
        samples.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    return min(samples), statistics.median(samples), min(cpu)


def in_process_inspect(data: bytes, kind: str) -> Any:
    return documents._inspect(data, kind, documents.DEFAULT_LIMITS)


def in_process_rasterise(data: bytes, kind: str, max_side: int) -> Any:
    options = {"kind": kind, "max_pages": 20, "dpi": 110, "first_page": 0, "max_side": max_side, "watermark": ""}
    return documents._rasterise(data, options, documents.DEFAULT_LIMITS)


def spawned_inspect(data: bytes, kind: str) -> Any:
    """A zygote of its own for one document: a fresh interpreter importing the decoders each time."""
    own, kept = documents._Zygote(), documents._zygote
    documents._zygote = own
    try:
        return documents.inspect_upload(data, kind)
    finally:
        documents._zygote = kept
        own._stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=8)
    args = parser.parse_args()
    samples = {
        "scanner PDF, 1 page": (scanner_pdf(1), documents.PDF),
        "scanner PDF, 3 pages": (scanner_pdf(3), documents.PDF),
        "phone photo JPEG, 12 Mpx": (phone_photo(), documents.JPEG),
    }
    print(f"{'document':28} {'size':>8}  {'operation':34} {'fastest ms':>10} {'median ms':>9} {'CPU ms':>7}")
    tiny = tiny_png()
    rows = [
        ("sandbox round trip (1x1 PNG)", tiny, documents.PNG, "inspect, sandboxed (zygote child)",
         lambda d, k: documents.inspect_upload(d, k)),
        ("sandbox round trip (1x1 PNG)", tiny, documents.PNG, "inspect, in process", in_process_inspect),
        ("sandbox round trip (1x1 PNG)", tiny, documents.PNG, "inspect, spawned interpreter", spawned_inspect),
    ]  # fmt: skip
    for name, (data, kind) in samples.items():
        side = 1600
        rows += [
            (name, data, kind, "inspect, sandboxed (zygote child)", lambda d, k: documents.inspect_upload(d, k)),
            (name, data, kind, "inspect, in process", in_process_inspect),
            (name, data, kind, "inspect, spawned interpreter", spawned_inspect),
            (name, data, kind, "rasterise, sandboxed", lambda d, k, s=side: documents.rasterise(d, k, max_side=s)),
            (name, data, kind, "rasterise, in process", lambda d, k, s=side: in_process_rasterise(d, k, s)),
        ]
    for name, data, kind, operation, call in rows:
        fastest, median, cpu = timed(lambda c=call, d=data, k=kind: c(d, k), args.repeat)
        print(
            f"{name:28} {len(data) / 1024:7.0f}K  {operation:34} {fastest:10.1f} {median:9.1f} {cpu:7.1f}", flush=True
        )
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
