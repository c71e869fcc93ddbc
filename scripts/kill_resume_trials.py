"""Kill-and-resume trials: `invprop train` killed with SIGKILL at random moments (some of them
while a checkpoint is being written), resumed until it finishes, must end with the checkpoint an
uninterrupted run writes, tensor for tensor, and with each epoch once in metrics.jsonl.

Usage (from the repository root; standard library only):

    python3 scripts/kill_resume_trials.py [--trials 20] [--binary .build/release/invprop] [--seed 0]

Each trial trains the synthetic `shapes` set (512 images, ResNet-18 width 0.125, M 256, 3 epochs
of 8 steps, a checkpoint every 2 steps, one compute thread, kNN monitor off) in its own run directory
and kills it 1 to 3 times, then runs `--resume` until the run reports it finished. Half of the
kills land at a random moment; the other half wait until a checkpoint's temporary file appears
(`.checkpoint-last.safetensors.tmp-…`: the write is under way) and kill then. The final
checkpoint-last.safetensors is compared with the reference run's, every tensor byte for byte
(the metadata holds wall-clock seconds, which differ, and is compared without them).
Prints one line per trial and a summary; exits with status 1 when any trial differs.
"""
import argparse
import json
import os
import random
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

TRAIN = ["train", "--dataset", "shapes", "--train-subset", "512", "--epochs", "3", "--width", "0.125",
         "--batch-size", "64", "--background", "256", "--threads", "1", "--checkpoint-every", "2", "--knn-every", "0", "--validation", "0", "--seed", "0"]


def tensors(path):
    """name -> (dtype, shape, bytes) of a safetensors file, and its metadata without progress."""
    with open(path, "rb") as handle:
        data = handle.read()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    body = data[8 + length:]
    metadata = header.pop("__metadata__", {})
    metadata.pop("progress", None)
    return {name: (entry["dtype"], tuple(entry["shape"]), body[entry["data_offsets"][0]:entry["data_offsets"][1]])
            for name, entry in header.items()}, metadata


def epochs_logged(run):
    with open(os.path.join(run, "metrics.jsonl")) as handle:
        return [json.loads(line)["epoch"] for line in handle if line.strip()]


def run_to_end(binary, run, resume):
    command = [binary] + TRAIN + ["--output", run] + (["--resume"] if resume else [])
    return subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode


def writing_checkpoint(run):
    """True while a checkpoint's temporary file (`.checkpoint-*.safetensors.tmp-PID-N`) exists."""
    try:
        return any(name.startswith(".checkpoint-") and ".tmp-" in name for name in os.listdir(run))
    except FileNotFoundError:
        return False


def kill_once(binary, run, resume, rng, at_write, longest):
    """Starts training and SIGKILLs it; returns True when it had already finished by then."""
    command = [binary] + TRAIN + ["--output", run] + (["--resume"] if resume else [])
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + (longest if at_write else rng.uniform(0.2, longest))
    while time.monotonic() < deadline and process.poll() is None:
        if at_write and writing_checkpoint(run):
            break
        time.sleep(0.0005 if at_write else 0.01)
    if process.poll() is not None:
        return process.returncode == 0
    process.send_signal(signal.SIGKILL)
    process.wait()
    return False


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--binary", default=".build/release/invprop")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if not os.access(args.binary, os.X_OK):
        print(f"kill_resume_trials: {args.binary} is not an executable (build it first)", file=sys.stderr)
        return 2
    rng = random.Random(args.seed)
    root = tempfile.mkdtemp(prefix="invprop-kill-")
    try:
        reference = os.path.join(root, "reference")
        start = time.monotonic()
        if run_to_end(args.binary, reference, resume=False) != 0:
            print("kill_resume_trials: the reference run failed", file=sys.stderr)
            return 2
        longest = time.monotonic() - start
        expected, expected_metadata = tensors(os.path.join(reference, "checkpoint-last.safetensors"))
        failures = 0
        kills_at_write = 0
        for trial in range(args.trials):
            run = os.path.join(root, f"trial-{trial}")
            kills = rng.randint(1, 3)
            finished = False
            for k in range(kills):
                at_write = rng.random() < 0.5
                finished = kill_once(args.binary, run, resume=k > 0, rng=rng, at_write=at_write, longest=longest)
                kills_at_write += at_write and not finished
                if finished:
                    break
            attempts = 0
            while not finished and attempts < 5:
                finished = run_to_end(args.binary, run, resume=True) == 0
                attempts += 1
            actual, metadata = tensors(os.path.join(run, "checkpoint-last.safetensors")) if finished else ({}, {})
            differing = sorted(name for name in expected if actual.get(name) != expected[name])
            extra = sorted(set(actual) - set(expected))
            logged = epochs_logged(run) if finished else []
            leftovers = [n for n in os.listdir(run) if ".tmp" in n] if os.path.isdir(run) else []
            ok = finished and not differing and not extra and metadata == expected_metadata and logged == [1, 2, 3] and not leftovers
            failures += not ok
            detail = "identical" if ok else (f"not finished" if not finished else
                                             f"{len(differing)} tensors differ ({', '.join(differing[:3])}), extra {extra}, epochs {logged}, "
                                             f"temporary files left {leftovers}")
            print(f"trial {trial:2d}: {kills} kill(s) → {detail}")
            shutil.rmtree(run, ignore_errors=True)
        print(f"{args.trials - failures} of {args.trials} trials ended bit-identical to the uninterrupted run "
              f"({kills_at_write} kills during a checkpoint write; reference run {longest:.1f} s)")
        return 1 if failures else 0
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
