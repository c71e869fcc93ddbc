#!/usr/bin/env python3
"""Writes CIFAR-10's binary format (data_batch_1..5.bin, test_batch.bin: records of one label byte
and 3 072 pixel bytes, 10 000 per file) filled with random bytes, for throughput measurements
where the pixels do not matter (bench/mpi_scaling.py; CIFAR-10 itself is not on these machines).

  python3 bench/make_fake_cifar.py --output runs/fake-cifar
"""
import argparse, os, random


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", default="runs/fake-cifar")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    directory = os.path.join(args.output, "cifar-10-batches-bin")
    os.makedirs(directory, exist_ok=True)
    rng = random.Random(args.seed)
    for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
        records = bytearray()
        for _ in range(10000):
            records.append(rng.randrange(10))
            records += rng.randbytes(3072)
        with open(os.path.join(directory, name), "wb") as f:
            f.write(records)
    print(f"wrote {directory}")


if __name__ == "__main__":
    main()
