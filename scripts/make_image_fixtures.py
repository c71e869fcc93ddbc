"""Writes the image files of unusual kinds that the folder reader's tests decode
(Tests/DataTests/Fixtures/images/), with the pixels each should decode to.

Usage (from the repository root; needs numpy and Pillow, which are not runtime dependencies):

    python3 scripts/make_image_fixtures.py

Files (each a small pattern, 9 × 7 or 16 × 12 pixels):
- interlaced.png: 8-bit grey, Adam7 interlaced (written by hand here: Pillow does not write
  interlaced PNG), to check the decoder de-interlaces;
- grey_alpha.png (grey + alpha) and palette.png (8-bit palette), from Pillow: PNG colour types
  other than plain grey and RGB, written by another encoder than ours (16-bit PNG is covered by
  Tests/CodecsTests);
- progressive.jpg (progressive RGB JPEG) and cmyk.jpg (a 4-component Adobe CMYK JPEG, as
  Photoshop writes them);
- expected.json: for each file, height, width and the RGB pixels (row-major, 8-bit) it should
  decode to; JPEG pixels are Pillow's decoding, compared with a tolerance.
"""
import io
import json
import os
import struct
import zlib

import numpy as np
from PIL import Image

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "DataTests", "Fixtures", "images")


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def interlaced_grey_png(pixels):
    """An Adam7-interlaced 8-bit grey PNG of `pixels` [h, w] uint8: seven passes of sub-images,
    each scanline prefixed by filter type 0, compressed together in one IDAT."""
    h, w = pixels.shape
    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
    raw = b""
    for x0, y0, dx, dy in passes:
        sub = pixels[y0::dy, x0::dx]
        if sub.size == 0:
            continue
        raw += b"".join(b"\x00" + row.tobytes() for row in sub)
    header = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 1)  # bit depth 8, grey, interlace Adam7
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def main():
    os.makedirs(OUT, exist_ok=True)
    y, x = np.mgrid[0:7, 0:9]
    grey = ((x * 29 + y * 31) % 256).astype(np.uint8)
    expected = {}

    def record(name, rgb):
        expected[name] = {"height": int(rgb.shape[0]), "width": int(rgb.shape[1]), "rgb": rgb.reshape(-1).astype(int).tolist()}

    with open(os.path.join(OUT, "interlaced.png"), "wb") as f:
        f.write(interlaced_grey_png(grey))
    record("interlaced.png", np.repeat(grey[:, :, None], 3, axis=2))

    alpha = ((x * 50) % 256).astype(np.uint8)
    Image.fromarray(np.stack([grey, alpha], axis=2)).save(os.path.join(OUT, "grey_alpha.png"))
    record("grey_alpha.png", np.repeat(grey[:, :, None], 3, axis=2))  # alpha dropped, not composited

    palette_rgb = np.array([[200, 30, 30], [30, 200, 30], [30, 30, 200], [250, 250, 10]], dtype=np.uint8)
    indices = ((x + y) % 4).astype(np.uint8)
    image = Image.new("P", (9, 7))
    image.putdata(indices.reshape(-1).tolist())
    image.putpalette(palette_rgb.reshape(-1).tolist() + [0] * (768 - 12))
    image.save(os.path.join(OUT, "palette.png"))
    record("palette.png", palette_rgb[indices])

    yy, xx = np.mgrid[0:12, 0:16]
    rgb = np.stack([(xx * 16) % 256, (yy * 20) % 256, ((xx + yy) * 8) % 256], axis=2).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=95, progressive=True, subsampling=0)
    with open(os.path.join(OUT, "progressive.jpg"), "wb") as f:
        f.write(buffer.getvalue())
    record("progressive.jpg", np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")))

    buffer = io.BytesIO()
    Image.fromarray(rgb).convert("CMYK").save(buffer, format="JPEG", quality=95)
    with open(os.path.join(OUT, "cmyk.jpg"), "wb") as f:
        f.write(buffer.getvalue())
    record("cmyk.jpg", np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")))

    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, sort_keys=True)
        f.write("\n")
    for name in sorted(expected):
        print(name, os.path.getsize(os.path.join(OUT, name)), "bytes")


if __name__ == "__main__":
    main()
