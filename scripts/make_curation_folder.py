#!/usr/bin/env python3
"""Writes a flat folder of Fashion-MNIST PNGs with known, planted near-duplicates: the benchmark
for measuring `invprop curate` (near-duplicate groups, a diverse subset, typical images and
outliers) on 100 000 images against a ground truth.

The folder holds `--count` 28x28 8-bit greyscale PNGs named img_000000.png, ... in a shuffled
order (no two files made from the same source image are adjacent by name), made of:

  * all 70 000 originals (train 60 000 + test 10 000), kind `original`;
  * `--planted` near-duplicates of as many distinct random originals: one third exact copies
    (byte-identical files, `planted_exact`), one third with every pixel moved by up to +-3 grey
    levels (`planted_noise`), one third translated by 1 pixel with zero fill (`planted_shift`);
  * augmented variants (`augmented`) filling up to `--count`, each a clearly different view of a
    random original, not a near-duplicate: horizontal flip, a translation of 3 to 5 pixels in x
    and/or y (zero fill), then contrast/brightness (scale 0.7-1.3, offset +-30, clipped).
    Their sources are drawn from the originals that are not planted sources, without
    replacement while there are enough, so the only near-duplicate pairs are the planted ones.

DIR/ground_truth.csv has one row per file, `file,origin,source_index,label,kind`: origin is the
Fashion-MNIST split of the source image (`train` or `test`), source_index its index there, label
its Fashion-MNIST label. A planted pair is the planted file and the `original` row with the same
origin and source_index. The folder is fully determined by the seed (numpy default_rng).

    python3 scripts/make_curation_folder.py --output runs/curate/folder [--count 100000]
        [--planted 1000] [--seed 0] [--data-dir /usr/share/datasets/fashion-mnist] [--overwrite]
    python3 scripts/make_curation_folder.py --self-test

--self-test round-trips PNGs through an independent decoder, checks that lying IDX headers are
refused, builds a small folder from synthetic IDX files and checks every image and ground-truth
row against its source (and that the same seed gives the same bytes); exit status 1 on a mismatch.
"""
import argparse
import csv
import glob
import gzip
import os
import struct
import sys
import tempfile
import time
import zlib

import numpy as np

DEBIAN_DIR = "/usr/share/datasets/fashion-mnist"
KINDS = ("original", "augmented", "planted_exact", "planted_noise", "planted_shift")
ORIGINAL, AUGMENTED, EXACT, NOISE, SHIFT = range(5)
HEADER = ["file", "origin", "source_index", "label", "kind"]


class IdxError(Exception):
    pass


# ---------------------------------------------------------------------------------------- IDX

def parse_idx(data, name, ndim):
    """Unsigned-byte IDX array from raw bytes; IdxError when the header does not match the data."""
    if len(data) < 4:
        raise IdxError(f"{name}: {len(data)} bytes, too short for an IDX header")
    zero, dtype, dims = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08:
        raise IdxError(f"{name}: magic {data[:4].hex()} is not an unsigned-byte IDX file (0000 08 nn)")
    if dims != ndim:
        raise IdxError(f"{name}: header says {dims} dimensions, expected {ndim}")
    start = 4 + 4 * dims
    if len(data) < start:
        raise IdxError(f"{name}: truncated header")
    shape = struct.unpack(">" + "I" * dims, data[4:start])
    expected = int(np.prod(shape, dtype=np.int64))
    if len(data) - start != expected:
        raise IdxError(f"{name}: header says shape {shape} ({expected} bytes) "
                       f"but {len(data) - start} bytes of data follow")
    return np.frombuffer(data, dtype=np.uint8, offset=start).reshape(shape)


def read_idx(path, ndim):
    try:
        with gzip.open(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError, zlib.error) as e:
        raise IdxError(f"{path}: cannot read as gzip: {e}")
    return parse_idx(data, path, ndim)


def load_split(data_dir, prefix):
    images = read_idx(os.path.join(data_dir, f"{prefix}-images-idx3-ubyte.gz"), 3)
    labels = read_idx(os.path.join(data_dir, f"{prefix}-labels-idx1-ubyte.gz"), 1)
    if images.shape[1:] != (28, 28):
        raise IdxError(f"{data_dir}/{prefix}: images are {images.shape[1:]}, expected 28x28")
    if labels.shape[0] != images.shape[0]:
        raise IdxError(f"{data_dir}/{prefix}: {images.shape[0]} images but {labels.shape[0]} labels")
    if labels.size and labels.max() > 9:
        raise IdxError(f"{data_dir}/{prefix}: label {labels.max()} out of range 0-9")
    return images, labels


def load_fashion_mnist(data_dir):
    return load_split(data_dir, "train"), load_split(data_dir, "t10k")


# ---------------------------------------------------------------------------------------- PNG

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(kind, data):
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def png_bytes(image):
    """8-bit greyscale PNG (colour type 0, no interlace) of a 2-D uint8 array."""
    image = np.asarray(image)
    assert image.dtype == np.uint8 and image.ndim == 2
    h, w = image.shape
    raw = np.zeros((h, w + 1), dtype=np.uint8)  # filter byte 0 (None) before every scanline
    raw[:, 1:] = image
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    return (PNG_SIGNATURE + _chunk(b"IHDR", ihdr)
            + _chunk(b"IDAT", zlib.compress(raw.tobytes(), 9)) + _chunk(b"IEND", b""))


def decode_png(data):
    """Decoder for what png_bytes writes (greyscale 8-bit, filter 0), checking every CRC."""
    if data[:8] != PNG_SIGNATURE:
        raise ValueError("bad PNG signature")
    pos, chunks = 8, []
    while pos < len(data):
        if pos + 8 > len(data):
            raise ValueError("truncated chunk header")
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if len(body) != length or pos + 12 + length > len(data):
            raise ValueError(f"truncated {kind!r} chunk")
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        if crc != zlib.crc32(kind + body) & 0xFFFFFFFF:
            raise ValueError(f"bad CRC in {kind!r}")
        chunks.append((kind, body))
        pos += 12 + length
    if not chunks or chunks[0][0] != b"IHDR" or chunks[-1] != (b"IEND", b""):
        raise ValueError("PNG must start with IHDR and end with an empty IEND")
    w, h, depth, colour, compression, filt, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    if (depth, colour, compression, filt, interlace) != (8, 0, 0, 0, 0):
        raise ValueError(f"unsupported IHDR {(depth, colour, compression, filt, interlace)}")
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    if len(raw) != h * (w + 1):
        raise ValueError(f"IDAT holds {len(raw)} bytes, expected {h * (w + 1)}")
    rows = np.frombuffer(raw, dtype=np.uint8).reshape(h, w + 1)
    if rows[:, 0].any():
        raise ValueError("scanline filter other than 0")
    return rows[:, 1:].copy()


# ----------------------------------------------------------------------------- transformations

def translate(image, dy, dx):
    """image moved by dy rows down and dx columns right, zero fill."""
    h, w = image.shape
    out = np.zeros_like(image)
    if abs(dy) >= h or abs(dx) >= w:
        return out
    out[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
        image[max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
    return out


def augment(image, dy, dx, scale, offset):
    shifted = translate(image[:, ::-1], dy, dx)
    return np.clip(np.rint(shifted.astype(np.float64) * scale + offset), 0, 255).astype(np.uint8)


ONE_PIXEL = ((-1, 0), (1, 0), (0, -1), (0, 1))


# ---------------------------------------------------------------------------------- the folder

def build(train, test, count, planted, seed):
    """(images in file order [count, 28, 28], rows in file order, counts of augmented sources).

    Each row is (origin, source_index, label, kind code)."""
    (train_x, train_y), (test_x, test_y) = train, test
    originals = np.concatenate([train_x, test_x])
    labels = np.concatenate([train_y, test_y])
    n_train, n_orig = len(train_x), len(train_x) + len(test_x)
    n_aug = count - planted - n_orig
    if planted < 0 or n_aug < 0:
        raise SystemExit(f"--count {count} must be at least the {n_orig} originals + --planted {planted}")
    if planted > n_orig:
        raise SystemExit(f"--planted {planted} exceeds the {n_orig} originals")
    if n_aug and planted == n_orig:
        raise SystemExit("no originals left to augment: every original is a planted source")
    rng = np.random.default_rng(seed)

    # Sources: planted ones distinct; augmented ones from the rest, without replacement while
    # possible (a full permutation per round otherwise), so no planted source is augmented.
    planted_src = rng.choice(n_orig, size=planted, replace=False)
    free = np.setdiff1d(np.arange(n_orig), planted_src)
    rounds = [rng.permutation(free) for _ in range(-(-n_aug // len(free)) if n_aug else 0)]
    aug_src = np.concatenate(rounds)[:n_aug] if rounds else np.zeros(0, dtype=np.int64)

    source = np.concatenate([np.arange(n_orig), aug_src, planted_src]).astype(np.int64)
    kind = np.concatenate([np.full(n_orig, ORIGINAL), np.full(n_aug, AUGMENTED),
                           EXACT + np.arange(planted) % 3]).astype(np.int64)
    images = np.empty((count, 28, 28), dtype=np.uint8)
    images[:n_orig] = originals

    # Augmented: flip, 3-5 px in x only / y only / both (random signs), contrast and brightness.
    mode = rng.integers(0, 3, size=n_aug)                 # 0: x only, 1: y only, 2: both
    magnitude = rng.integers(3, 6, size=(n_aug, 2))
    sign = rng.choice(np.array([-1, 1]), size=(n_aug, 2))
    dx = np.where(mode != 1, magnitude[:, 0] * sign[:, 0], 0)
    dy = np.where(mode != 0, magnitude[:, 1] * sign[:, 1], 0)
    scale = rng.uniform(0.7, 1.3, size=n_aug)
    offset = rng.uniform(-30.0, 30.0, size=n_aug)
    for i in range(n_aug):
        images[n_orig + i] = augment(originals[aug_src[i]], int(dy[i]), int(dx[i]), scale[i], offset[i])

    # Planted near-duplicates; a draw that leaves the image unchanged is drawn again.
    for j in range(planted):
        src, k = originals[planted_src[j]], kind[n_orig + n_aug + j]
        out = src
        if k == NOISE:
            while np.array_equal(out, src):
                noise = rng.integers(-3, 4, size=src.shape)
                out = np.clip(src.astype(np.int16) + noise, 0, 255).astype(np.uint8)
        elif k == SHIFT:
            for _ in range(16):
                out = translate(src, *ONE_PIXEL[rng.integers(0, 4)])
                if not np.array_equal(out, src):
                    break
        images[n_orig + n_aug + j] = out

    # File order: a random permutation, then swaps until no two neighbours share a source.
    order = rng.permutation(count)
    for _ in range(10000):
        same = np.flatnonzero(source[order[:-1]] == source[order[1:]])
        if len(same) == 0:
            break
        for p in same:
            q = rng.integers(0, count)
            order[p + 1], order[q] = order[q], order[p + 1]
    else:
        raise SystemExit("could not separate images of the same source; too few originals for --count")

    rows = []
    for item in order:
        s = int(source[item])
        origin, index = ("train", s) if s < n_train else ("test", s - n_train)
        rows.append((origin, index, int(labels[s]), int(kind[item])))
    return images[order], rows, np.bincount(aug_src, minlength=n_orig) if n_aug else np.zeros(n_orig, int)


def file_names(count):
    width = max(6, len(str(count - 1)))
    return [f"img_{i:0{width}d}.png" for i in range(count)]


def write_folder(output, images, rows, overwrite=False):
    os.makedirs(output, exist_ok=True)
    existing = os.listdir(output)
    if existing:
        if not overwrite:
            raise SystemExit(f"{output} is not empty ({len(existing)} entries); "
                             "remove it or pass --overwrite")
        stale = glob.glob(os.path.join(output, "img_*.png")) + glob.glob(os.path.join(output, "ground_truth.csv"))
        for path in stale:
            os.remove(path)
    names = file_names(len(rows))
    total = 0
    for name, image in zip(names, images):
        data = png_bytes(image)
        total += len(data)
        with open(os.path.join(output, name), "wb") as f:
            f.write(data)
    with open(os.path.join(output, "ground_truth.csv"), "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(HEADER)
        for name, (origin, index, label, k) in zip(names, rows):
            writer.writerow([name, origin, index, label, KINDS[k]])
    return total


def make(data_dir, output, count, planted, seed, overwrite=False, quiet=False):
    t0 = time.time()
    train, test = load_fashion_mnist(data_dir)
    t1 = time.time()
    images, rows, aug_per_source = build(train, test, count, planted, seed)
    t2 = time.time()
    png_total = write_folder(output, images, rows, overwrite)
    t3 = time.time()
    if not quiet:
        kinds = np.bincount([r[3] for r in rows], minlength=len(KINDS))
        print(f"wrote {len(rows)} PNGs + ground_truth.csv to {output} (seed {seed})")
        for name, n in zip(KINDS, kinds):
            print(f"  {name:14s} {n:7d}")
        by_origin = {o: sum(1 for r in rows if r[0] == o) for o in ("train", "test")}
        print(f"  sources: train {by_origin['train']}, test {by_origin['test']}; "
              f"originals with 0/1/2+ augmented variants: {(aug_per_source == 0).sum()}/"
              f"{(aug_per_source == 1).sum()}/{(aug_per_source >= 2).sum()}")
        print(f"  PNG bytes {png_total} ({png_total / max(len(rows), 1):.0f} per image)")
        print(f"  seconds: load {t1 - t0:.1f}, build {t2 - t1:.1f}, write {t3 - t2:.1f}, total {t3 - t0:.1f}")
    return images, rows


# ----------------------------------------------------------------------------------- self-test

def write_idx_gz(path, array, header=None):
    if header is None:
        header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(">" + "I" * array.ndim, *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes())


def synthetic_split(rng, n):
    """Garment-like test images: a bright random-textured block on a black background."""
    images = np.zeros((n, 28, 28), dtype=np.uint8)
    for i in range(n):
        top, left = rng.integers(2, 8, size=2)
        bottom, right = rng.integers(18, 27, size=2)
        images[i, top:bottom, left:right] = rng.integers(40, 256, size=(bottom - top, right - left))
    return images, rng.integers(0, 10, size=n).astype(np.uint8)


def explains_augmented(aug, src):
    """True when aug is flip + a 3-5 px translation + scale in [0.7, 1.3], offset in [-30, 30]."""
    flipped = src[:, ::-1]
    steps = (0, 3, 4, 5, -3, -4, -5)
    inside = (aug > 0) & (aug < 255)
    for dy in steps:
        for dx in steps:
            if dy == 0 and dx == 0:
                continue
            s = translate(flipped, dy, dx).astype(np.float64)
            x, y = s[inside], aug[inside].astype(np.float64)
            if len(np.unique(x)) < 2:
                continue
            (a, b), *_ = np.linalg.lstsq(np.stack([x, np.ones_like(x)], 1), y, rcond=None)
            if not (0.69 <= a <= 1.31 and -30.5 <= b <= 30.5):
                continue
            if np.abs(np.clip(np.rint(s * a + b), 0, 255) - aug).max() <= 1:
                return True
    return False


def self_test(data_dir):
    failures = []

    def check(condition, message):
        if not condition:
            failures.append(message)

    rng = np.random.default_rng(123)
    # 1. PNG round trip, including shapes other than 28x28 and the extremes 0 and 255.
    for shape in ((28, 28), (1, 1), (3, 17), (40, 5)):
        image = rng.integers(0, 256, size=shape).astype(np.uint8)
        image.flat[0], image.flat[-1] = 0, 255
        check(np.array_equal(decode_png(png_bytes(image)), image), f"PNG round trip failed for {shape}")
    corrupted = bytearray(png_bytes(np.zeros((4, 4), np.uint8)))
    corrupted[20] ^= 1  # inside IHDR
    try:
        decode_png(bytes(corrupted))
        failures.append("a PNG with a bad CRC decoded")
    except ValueError:
        pass

    with tempfile.TemporaryDirectory() as tmp:
        # 2. IDX headers that lie are refused.
        good = rng.integers(0, 256, size=(5, 28, 28)).astype(np.uint8)
        lies = {
            "magic": struct.pack(">HBB", 0, 0x0D, 3) + struct.pack(">III", 5, 28, 28),
            "first bytes": struct.pack(">HBB", 1, 0x08, 3) + struct.pack(">III", 5, 28, 28),
            "dims": struct.pack(">HBB", 0, 0x08, 2) + struct.pack(">II", 5, 784),
            "count too big": struct.pack(">HBB", 0, 0x08, 3) + struct.pack(">III", 6, 28, 28),
            "count too small": struct.pack(">HBB", 0, 0x08, 3) + struct.pack(">III", 4, 28, 28),
        }
        path = os.path.join(tmp, "x.gz")
        write_idx_gz(path, good)
        check(np.array_equal(read_idx(path, 3), good), "a correct IDX file did not read back")
        for what, header in lies.items():
            write_idx_gz(path, good, header)
            try:
                read_idx(path, 3)
                failures.append(f"IDX header lying about {what} was accepted")
            except IdxError as e:
                print(f"  refused ({what}): {e}")
        with open(path, "wb") as f:
            f.write(b"not gzip")
        try:
            read_idx(path, 3)
            failures.append("a non-gzip IDX file was accepted")
        except IdxError:
            pass

        # 3. A small folder from synthetic IDX files: every file and row against its source.
        data = os.path.join(tmp, "fm")
        os.makedirs(data)
        splits = {"train": synthetic_split(rng, 40), "test": synthetic_split(rng, 12)}
        for origin, prefix in (("train", "train"), ("test", "t10k")):
            write_idx_gz(os.path.join(data, f"{prefix}-images-idx3-ubyte.gz"), splits[origin][0])
            write_idx_gz(os.path.join(data, f"{prefix}-labels-idx1-ubyte.gz"), splits[origin][1])
        count, planted = 90, 9
        folder = os.path.join(tmp, "folder")
        images, rows = make(data, folder, count, planted, seed=7, quiet=True)
        names = file_names(count)
        check(sorted(os.listdir(folder)) == sorted(names + ["ground_truth.csv"]), "unexpected files in the folder")
        with open(os.path.join(folder, "ground_truth.csv"), newline="") as f:
            table = list(csv.reader(f))
        check(table[0] == HEADER, f"ground truth header {table[0]}")
        table = table[1:]
        check(len(table) == count, f"{len(table)} ground truth rows, expected {count}")
        check([r[0] for r in table] == names, "ground truth rows are not in file-name order")
        expected_kinds = {"original": 52, "augmented": count - planted - 52,
                          "planted_exact": 3, "planted_noise": 3, "planted_shift": 3}
        got_kinds = {k: sum(1 for r in table if r[4] == k) for k in KINDS}
        check(got_kinds == expected_kinds, f"kinds {got_kinds}, expected {expected_kinds}")
        # Shuffled: about 52/90 of the first 52 files are originals, not (nearly) all of them.
        head = sum(1 for r in table[:52] if r[4] == "original")
        check(head < 0.8 * 52, f"{head} of the first 52 files are originals: not shuffled")
        check(any(r[1] == "test" for r in table[:45]), "test files all come last: not shuffled")
        originals_seen, planted_sources, augmented_sources = {}, [], []
        file_of = {}
        for position, (name, origin, index, label, k) in enumerate(table):
            if origin not in splits or not index.isdigit() or int(index) >= len(splits[origin][0]):
                failures.append(f"{name}: bad source {origin} {index}")
                continue
            index = int(index)
            src, src_label = splits[origin][0][index], int(splits[origin][1][index])
            with open(os.path.join(folder, name), "rb") as f:
                data_bytes = f.read()
            pixels = decode_png(data_bytes)
            check(np.array_equal(pixels, images[position]), f"{name}: decoded pixels differ from the built image")
            check(int(label) == src_label, f"{name}: label {label}, source has {src_label}")
            key = (origin, index)
            if k == "original":
                check(key not in originals_seen, f"{name}: original {key} appears twice")
                originals_seen[key] = name
                check(np.array_equal(pixels, src), f"{name}: original differs from its source")
            elif k == "augmented":
                augmented_sources.append(key)
                check(explains_augmented(pixels, src), f"{name}: not a flip+shift+contrast view of {key}")
                check(np.abs(pixels.astype(int) - src).mean() > 10, f"{name}: too close to its source")
            else:
                planted_sources.append(key)
                diff = pixels.astype(int) - src
                if k == "planted_exact":
                    check(not diff.any(), f"{name}: exact copy differs")
                elif k == "planted_noise":
                    check(diff.any() and np.abs(diff).max() <= 3, f"{name}: noise out of 1..3 grey levels")
                elif k == "planted_shift":
                    check(any(np.array_equal(pixels, translate(src, dy, dx)) for dy, dx in ONE_PIXEL)
                          and diff.any(), f"{name}: not a 1-pixel translation of its source")
                else:
                    failures.append(f"{name}: unknown kind {k}")
            file_of.setdefault(key, []).append((position, data_bytes, k))
        check(len(originals_seen) == 52, f"{len(originals_seen)} distinct originals, expected 52")
        check(len(set(planted_sources)) == len(planted_sources), "an original is planted twice")
        check(not set(planted_sources) & set(augmented_sources), "a planted source also has an augmented variant")
        check(len(set(augmented_sources)) == len(augmented_sources), "augmented sources repeat although enough are free")
        for key, entries in file_of.items():
            positions = sorted(p for p, _, _ in entries)
            check(all(b - a > 1 for a, b in zip(positions, positions[1:])), f"files of {key} are adjacent by name")
            by_kind = {k: d for _, d, k in entries}
            if "planted_exact" in by_kind:
                check(by_kind["planted_exact"] == by_kind["original"], f"exact copy of {key} is not byte-identical")

        # 4. Same seed, same bytes; another seed, another folder.
        again = os.path.join(tmp, "again")
        make(data, again, count, planted, seed=7, quiet=True)
        same = all(open(os.path.join(folder, n), "rb").read() == open(os.path.join(again, n), "rb").read()
                   for n in names + ["ground_truth.csv"])
        check(same, "the same seed gave different files")
        other = build(splits["train"], splits["test"], count, planted, seed=8)[0]
        check(not np.array_equal(other, images), "another seed gave the same folder")
        try:
            write_folder(folder, images, rows)
            failures.append("writing into a non-empty folder without --overwrite was allowed")
        except SystemExit:
            pass

    # 5. The real files, when present, parse with the expected shapes.
    if os.path.isdir(data_dir):
        (tx, ty), (vx, vy) = load_fashion_mnist(data_dir)
        check(tx.shape == (60000, 28, 28) and vx.shape == (10000, 28, 28), f"Fashion-MNIST shapes {tx.shape} {vx.shape}")
        check(np.array_equal(decode_png(png_bytes(tx[0])), tx[0]), "PNG round trip of train[0] failed")
        print(f"  {data_dir}: train {tx.shape}, test {vx.shape}, labels {np.bincount(ty).tolist()}")
    else:
        print(f"  {data_dir} absent: real-data check skipped")

    for message in failures:
        print("FAIL:", message)
    print("self-test", "FAILED" if failures else "passed", f"({len(failures)} failures)")
    return 1 if failures else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", help="folder to write (required unless --self-test)")
    parser.add_argument("--count", type=int, default=100000)
    parser.add_argument("--planted", type=int, default=1000, help="number of planted near-duplicate pairs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", default=DEBIAN_DIR)
    parser.add_argument("--overwrite", action="store_true",
                        help="replace img_*.png and ground_truth.csv already in --output")
    parser.add_argument("--self-test", action="store_true")
    args = parser.parse_args()
    if args.self_test:
        try:
            status = self_test(args.data_dir)
        except Exception as e:  # a crash is a failure too, with the reason
            print(f"FAIL: {type(e).__name__}: {e}\nself-test FAILED")
            status = 1
        sys.exit(status)
    if not args.output:
        parser.error("--output is required")
    try:
        make(args.data_dir, args.output, args.count, args.planted, args.seed, args.overwrite)
    except IdxError as e:
        sys.exit(f"error: {e}")


if __name__ == "__main__":
    main()
