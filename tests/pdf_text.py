"""The text on each page of a PDF that Qt's QPdfWriter wrote, read without a PDF library.

Qt writes Type0 fonts with a ToUnicode CMap and deflated content streams in which every glyph is
a ``<hex> Tj``. This reads the page tree in order, inflates each page's content, maps its glyph
codes back to text through the CMap of the font selected with ``Tf``, and joins the glyphs of
each text object. Enough for tests to find page titles; not a general PDF reader.
"""

from __future__ import annotations

import re
import zlib

_OBJECT = re.compile(rb"(\d+) 0 obj\b")
_REF = rb"(\d+) 0 R"


def _objects(data: bytes) -> dict[int, bytes]:
    """Object number -> its bytes (dictionary and any stream), from the file's object markers."""
    starts = [(int(m[1]), m.end()) for m in _OBJECT.finditer(data)]
    objects = {}
    for number, start in starts:
        end = data.find(b"endobj", start)
        body = data[start:end]
        stream = body.find(b"stream")
        if stream >= 0:  # a stream's bytes may hold "endobj": take exactly /Length bytes
            length = re.search(rb"/Length (\d+)( 0 R)?", body[:stream])
            count = int(length[1])
            if length[2]:
                count = int(re.search(rb"obj\s*(\d+)", data[data.find(b"%d 0 obj" % count):])[1])
            begin = start + stream + len(b"stream")
            begin += 2 if data[begin:begin + 2] == b"\r\n" else 1
            body = data[start:start + stream] + b"stream\n" + data[begin:begin + count]
        objects[number] = body
    return objects


def _stream(body: bytes) -> bytes:
    head, _, raw = body.partition(b"stream\n")
    return zlib.decompress(raw) if b"/FlateDecode" in head else raw


def _cmap(text: bytes) -> dict[int, str]:
    """Glyph code -> text from a ToUnicode CMap's bfchar and bfrange sections."""
    codes: dict[int, str] = {}

    def chars(hexes: bytes) -> str:
        raw = bytes.fromhex(hexes.decode())
        return raw.decode("utf-16-be", errors="replace")

    for section in re.findall(rb"beginbfchar(.*?)endbfchar", text, re.S):
        for code, value in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", section):
            codes[int(code, 16)] = chars(value)
    for section in re.findall(rb"beginbfrange(.*?)endbfrange", text, re.S):
        pattern = rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*(\[[^\]]*\]|<[0-9A-Fa-f]+>)"
        for low, high, rest in re.findall(pattern, section):
            low, high = int(low, 16), int(high, 16)
            if rest.startswith(b"["):
                for offset, value in enumerate(re.findall(rb"<([0-9A-Fa-f]+)>", rest)):
                    codes[low + offset] = chars(value)
            else:
                first = int(rest[1:-1], 16)
                for offset in range(high - low + 1):
                    codes[low + offset] = chr(first + offset)
    return codes


def page_texts(data: bytes) -> list[str]:
    """Each page's text, pages in order; text objects (BT … ET) one per line, tabs as spaces."""
    objects = _objects(data)
    root = int(re.search(rb"/Root " + _REF, data)[1]) if b"/Root" in data else None
    catalog = objects[root] if root is not None else next(o for o in objects.values() if b"/Catalog" in o)
    pages_ref = int(re.search(rb"/Pages " + _REF, catalog)[1])
    kids = re.search(rb"/Kids\s*\[(.*?)\]", objects[pages_ref], re.S)[1]
    texts = []
    for page_number in (int(n) for n in re.findall(_REF, kids)):
        page = objects[page_number]
        resources = objects[int(re.search(rb"/Resources " + _REF, page)[1])]
        fonts = dict(re.findall(rb"/(F\d+) " + _REF, resources))
        maps = {}
        for name, ref in fonts.items():
            unicode_ref = re.search(rb"/ToUnicode " + _REF, objects[int(ref)])
            maps[name] = _cmap(_stream(objects[int(unicode_ref[1])])) if unicode_ref else {}
        content = _stream(objects[int(re.search(rb"/Contents " + _REF, page)[1])])
        lines, line, font = [], [], {}
        for token in re.finditer(rb"/(F\d+) [\d.]+ Tf|<([0-9A-Fa-f]+)> Tj|\bET\b", content):
            if token[1]:
                font = maps.get(token[1], {})
            elif token[2]:
                hexes = token[2].decode()
                line += [font.get(int(hexes[i:i + 4], 16), "?") for i in range(0, len(hexes), 4)]
            elif line:
                lines.append("".join(line).replace("\t", " "))
                line = []
        texts.append("\n".join(lines))
    return texts
