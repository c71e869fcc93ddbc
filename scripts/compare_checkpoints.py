#!/usr/bin/env python3
"""How far apart two invprop checkpoints are: for every float32 tensor present in both,
‖a − b‖ / ‖a‖; prints the largest and the tensors that reach it (docs/distributed.md).

  python3 scripts/compare_checkpoints.py RUN_A/checkpoint-last.safetensors RUN_B/checkpoint-last.safetensors
  python3 scripts/compare_checkpoints.py A B --only optimizer.momentum.   # the gradients after one SGD step

Standard library only (reads safetensors' JSON header and little-endian float32 data).
"""
import argparse, array, json, math, struct, sys


def float_tensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    base = 8 + length
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__" or entry.get("dtype") != "F32":
            continue
        start, end = entry["data_offsets"]
        values = array.array("f")
        values.frombytes(data[base + start:base + end])
        if sys.byteorder != "little":
            values.byteswap()
        tensors[name] = values
    return tensors


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("a")
    parser.add_argument("b")
    parser.add_argument("--only", default="", help="compare only tensors whose name starts with this")
    parser.add_argument("--show", type=int, default=3, help="tensors listed")
    args = parser.parse_args()
    a, b = float_tensors(args.a), float_tensors(args.b)
    rows = []
    for name in sorted(set(a) & set(b)):
        if not name.startswith(args.only):
            continue
        norm = math.sqrt(sum(x * x for x in a[name]))
        difference = math.sqrt(sum((x - y) ** 2 for x, y in zip(a[name], b[name])))
        rows.append((difference / norm if norm > 0 else (0.0 if difference == 0 else math.inf), name))
    rows.sort(reverse=True)
    print(f"largest relative difference {rows[0][0]:.3g} over {len(rows)} tensors")
    for value, name in rows[:args.show]:
        print(f"  {value:.3g}  {name}")


if __name__ == "__main__":
    main()
