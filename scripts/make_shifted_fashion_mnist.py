#!/usr/bin/env python3
"""Writes Fashion-MNIST as a new domain for testing that recipes carry over: every image inverted
(white background, dark garment) and rotated by 90 degrees, so that horizontal flips of the new
images are vertical flips of the garments and the intensity statistics change. Labels and the
train/test split are kept. The files use MNIST's names, so invprop reads them as
`--dataset mnist --data-dir OUT` (no label is used in training; the held-out validation images
and the test split score the runs).

    python3 scripts/make_shifted_fashion_mnist.py OUT [--source /usr/share/datasets/fashion-mnist]
"""
import argparse
import gzip
import os
import struct

import numpy as np


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    zero, dtype, dims = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08:
        raise SystemExit(f"{path}: not an unsigned-byte IDX file")
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def write_idx(path, array):
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(">" + "I" * array.ndim, *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + np.ascontiguousarray(array).tobytes())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out")
    parser.add_argument("--source", default="/usr/share/datasets/fashion-mnist")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for split in ("train", "t10k"):
        images = read_idx(os.path.join(args.source, f"{split}-images-idx3-ubyte.gz"))
        labels = read_idx(os.path.join(args.source, f"{split}-labels-idx1-ubyte.gz"))
        shifted = np.rot90(255 - images, k=1, axes=(1, 2))
        write_idx(os.path.join(args.out, f"{split}-images-idx3-ubyte.gz"), shifted)
        write_idx(os.path.join(args.out, f"{split}-labels-idx1-ubyte.gz"), labels)
        print(f"{split}: {images.shape[0]} images -> {args.out}")


if __name__ == "__main__":
    main()
