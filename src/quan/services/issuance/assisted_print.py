"""A printable voucher rendered for the agent's printer: a PDF or a PNG with the QR code, the
amounts and the validity (no font files: a built-in 5×7 font for the PNG)."""

from __future__ import annotations

import struct
import zlib

import segno

from quan.services.issuance.assisted import Printable


def _matrix(payload: str) -> list[list[bool]]:
    qr = segno.make(payload, error="m", micro=False)
    return [[bool(m) for m in row] for row in qr.matrix_iter(scale=1, border=4)]


def _pdf_text(text: str) -> bytes:
    """A PDF literal string in WinAnsiEncoding (ASCII and ¥ only reach here)."""
    out = bytearray(b"(")
    for ch in text:
        byte = 0xA5 if ch == "¥" else ord(ch) if ord(ch) < 128 else ord("?")
        if chr(byte) in "()\\":
            out += b"\\"
        out += bytes([byte]) if 32 <= byte < 127 else f"\\{byte:03o}".encode()
    return bytes(out + b")")


def render_pdf(p: Printable) -> bytes:
    """A one-page PDF (A6 portrait) composed by hand: no PDF library needed."""
    width, height = 298, 420
    matrix = _matrix(p.qr_payload)
    modules = len(matrix)
    size = 200.0
    unit = size / modules
    x0, y0 = (width - size) / 2, height - 40 - size
    ops: list[bytes] = [b"0 g"]
    for r, row in enumerate(matrix):
        for c, dark in enumerate(row):
            if dark:
                x, y = x0 + c * unit, y0 + (modules - 1 - r) * unit
                ops.append(f"{x:.2f} {y:.2f} {unit:.2f} {unit:.2f} re".encode())
    ops.append(b"f")
    name_hex = p.program_name.encode("utf-16-be").hex().upper().encode()
    ops.append(b"BT /F2 14 Tf 24 392 Td <" + name_hex + b"> Tj ET")
    lines = [
        (b"/F1 16 Tf", p.code, y0 - 24),
        (b"/F1 14 Tf", p.value_text, y0 - 46),
        (b"/F1 10 Tf", p.min_spend_text, y0 - 62),
        (b"/F1 10 Tf", f"valid {p.valid_text}", y0 - 78),
    ]
    for font, text, y in lines:
        if text:
            ops.append(b"BT " + font + f" 24 {y:.2f} Td ".encode() + _pdf_text(text) + b" Tj ET")
    content = b"\n".join(ops)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {width} {height}] "
        "/Resources << /Font << /F1 4 0 R /F2 5 0 R >> >> /Contents 7 0 R >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UCS2-H "
        b"/DescendantFonts [6 0 R] >>",
        b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light "
        b"/CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 2 >> >>",
        b"<< /Length " + str(len(content)).encode() + b" >>\nstream\n" + content + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    ).encode()
    return bytes(out)


# A classic 5×7 font: five column bytes per glyph, bit 0 at the top.
_FONT: dict[str, tuple[int, ...]] = {
    " ": (0, 0, 0, 0, 0),
    "0": (0x3E, 0x51, 0x49, 0x45, 0x3E),
    "1": (0x00, 0x42, 0x7F, 0x40, 0x00),
    "2": (0x42, 0x61, 0x51, 0x49, 0x46),
    "3": (0x21, 0x41, 0x45, 0x4B, 0x31),
    "4": (0x18, 0x14, 0x12, 0x7F, 0x10),
    "5": (0x27, 0x45, 0x45, 0x45, 0x39),
    "6": (0x3C, 0x4A, 0x49, 0x49, 0x30),
    "7": (0x01, 0x71, 0x09, 0x05, 0x03),
    "8": (0x36, 0x49, 0x49, 0x49, 0x36),
    "9": (0x06, 0x49, 0x49, 0x29, 0x1E),
    "A": (0x7E, 0x11, 0x11, 0x11, 0x7E),
    "B": (0x7F, 0x49, 0x49, 0x49, 0x36),
    "C": (0x3E, 0x41, 0x41, 0x41, 0x22),
    "D": (0x7F, 0x41, 0x41, 0x22, 0x1C),
    "E": (0x7F, 0x49, 0x49, 0x49, 0x41),
    "F": (0x7F, 0x09, 0x09, 0x01, 0x01),
    "G": (0x3E, 0x41, 0x41, 0x51, 0x32),
    "H": (0x7F, 0x08, 0x08, 0x08, 0x7F),
    "I": (0x00, 0x41, 0x7F, 0x41, 0x00),
    "J": (0x20, 0x40, 0x41, 0x3F, 0x01),
    "K": (0x7F, 0x08, 0x14, 0x22, 0x41),
    "L": (0x7F, 0x40, 0x40, 0x40, 0x40),
    "M": (0x7F, 0x02, 0x04, 0x02, 0x7F),
    "N": (0x7F, 0x04, 0x08, 0x10, 0x7F),
    "O": (0x3E, 0x41, 0x41, 0x41, 0x3E),
    "P": (0x7F, 0x09, 0x09, 0x09, 0x06),
    "Q": (0x3E, 0x41, 0x51, 0x21, 0x5E),
    "R": (0x7F, 0x09, 0x19, 0x29, 0x46),
    "S": (0x46, 0x49, 0x49, 0x49, 0x31),
    "T": (0x01, 0x01, 0x7F, 0x01, 0x01),
    "U": (0x3F, 0x40, 0x40, 0x40, 0x3F),
    "V": (0x1F, 0x20, 0x40, 0x20, 0x1F),
    "W": (0x7F, 0x20, 0x18, 0x20, 0x7F),
    "X": (0x63, 0x14, 0x08, 0x14, 0x63),
    "Y": (0x07, 0x08, 0x70, 0x08, 0x07),
    "Z": (0x61, 0x51, 0x49, 0x45, 0x43),
    "-": (0x08, 0x08, 0x08, 0x08, 0x08),
    ".": (0x00, 0x60, 0x60, 0x00, 0x00),
    ":": (0x00, 0x36, 0x36, 0x00, 0x00),
    "/": (0x20, 0x10, 0x08, 0x04, 0x02),
    ",": (0x00, 0x50, 0x30, 0x00, 0x00),
    "%": (0x23, 0x13, 0x08, 0x64, 0x62),
    "¥": (0x15, 0x16, 0x7C, 0x16, 0x15),
}


_GLYPH_SCALE = 3


_ADVANCE = 6 * _GLYPH_SCALE


_LINE = 10 * _GLYPH_SCALE


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data))
        + kind
        + data
        + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def render_png(p: Printable) -> bytes:
    """An 8-bit greyscale PNG: the QR (8 px a module, 4-module quiet zone) above three lines —
    the code, the value, the validity — in a 5×7 pixel font at 3×."""
    matrix = _matrix(p.qr_payload)
    scale = 8
    qr_px = len(matrix) * scale
    lines = [p.code, p.value_text.upper(), p.valid_text]
    margin = 24
    width = max(qr_px, max(len(t) for t in lines) * _ADVANCE + 2 * margin)
    height = qr_px + len(lines) * _LINE + margin
    pixels = [bytearray(b"\xff" * width) for _ in range(height)]
    left = (width - qr_px) // 2
    for r, row in enumerate(matrix):
        for c, dark in enumerate(row):
            if dark:
                for dy in range(scale):
                    line = pixels[r * scale + dy]
                    start = left + c * scale
                    line[start : start + scale] = b"\x00" * scale
    for n, text in enumerate(lines):
        x = (width - len(text) * _ADVANCE) // 2
        y = qr_px + n * _LINE
        for ch in text:
            for col, bits in enumerate(_FONT.get(ch, _FONT[" "])):
                for bit in range(7):
                    if bits >> bit & 1:
                        for dy in range(_GLYPH_SCALE):
                            row_px = pixels[y + bit * _GLYPH_SCALE + dy]
                            start = x + col * _GLYPH_SCALE
                            row_px[start : start + _GLYPH_SCALE] = b"\x00" * _GLYPH_SCALE
            x += _ADVANCE
    raw = b"".join(b"\x00" + bytes(row) for row in pixels)
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    title = b"Title\x00\x00\x00\x00\x00" + p.program_name.encode("utf-8")
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"iTXt", title)
        + _chunk(b"IDAT", zlib.compress(raw, 9))
        + _chunk(b"IEND", b"")
    )


def render(p: Printable, fmt: str) -> tuple[bytes, str]:
    if fmt == "pdf":
        return render_pdf(p), "application/pdf"
    return render_png(p), "image/png"
