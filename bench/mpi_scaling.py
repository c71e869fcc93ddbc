#!/usr/bin/env python3
"""Whole-loop images/s of 2 MPI ranks x 1 thread against 1 process x 2 threads (issue 13).

Runs both alternately --repeats times with the same training options (kNN monitor and health
signals off, so the numbers are the training loop), reads metrics.jsonl of each run and prints
the medians: images/s, seconds per step in communication, megabytes sent per step, and the
ratio of the two set-ups measured in the same session.

  python3 bench/mpi_scaling.py --repeats 3 -- --train-subset 20000 --epochs 1
  python3 bench/mpi_scaling.py --repeats 3 -- --dataset cifar10 --data-dir runs/fake-cifar \\
      --preset cifar10 --train-subset 2560 --epochs 1
"""
import argparse, json, os, shutil, statistics, subprocess, sys, tempfile

def run(binary, processes, options, directory):
    shutil.rmtree(directory, ignore_errors=True)
    common = ["train", *options, "--knn-every", "0", "--health-sample", "0", "--validation", "0", "--output", directory]
    if processes == 1:
        command = [binary, *common, "--threads", "2"]
    else:
        command = ["mpirun", "--allow-run-as-root", "--oversubscribe", "-np", str(processes), binary, *common, "--threads", "1"]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    with open(os.path.join(directory, "metrics.jsonl")) as f:
        record = json.loads(f.readline())
    phases = record.get("phase_seconds", {})
    return record["images_per_second"], phases.get("communication", 0.0), record.get("communication_megabytes_per_step", 0.0), phases

def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=".build/release/invprop")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("options", nargs=argparse.REMAINDER, help="invprop train options, after --")
    args = parser.parse_args()
    options = [o for o in args.options if o != "--"]
    work = tempfile.mkdtemp(prefix="invprop-mpi-bench-")
    results = {1: [], 2: []}
    for r in range(args.repeats):
        for processes in (1, 2):
            results[processes].append(run(args.binary, processes, options, os.path.join(work, f"{processes}-{r}")))
            print(f"repeat {r}: {processes} process(es): {results[processes][-1][0]:.1f} images/s", file=sys.stderr)
    shutil.rmtree(work, ignore_errors=True)
    one = statistics.median(x[0] for x in results[1])
    two = statistics.median(x[0] for x in results[2])
    comm = statistics.median(x[1] for x in results[2])
    megabytes = statistics.median(x[2] for x in results[2])
    print(f"1 process x 2 threads: {one:.1f} images/s (median of {args.repeats})")
    print(f"2 ranks x 1 thread:    {two:.1f} images/s (median of {args.repeats}); ratio {two / one:.3f}")
    print(f"2 ranks: communication {comm:.2f} s per epoch, {megabytes:.2f} MB sent per step per rank")
    print("phases of the last 2-rank run (s):", json.dumps({k: round(v, 2) for k, v in results[2][-1][3].items()}))

if __name__ == "__main__":
    main()
