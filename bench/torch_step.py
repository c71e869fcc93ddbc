"""PyTorch side of invprop's training-step benchmark: CIFAR ResNet-18, batch 128, SGD.

One full training step = zero the gradients, forward, cross-entropy loss, backward, SGD update
(lr 0.1, momentum 0.9, weight decay 5e-4) on a CIFAR ResNet-18 (3x3 stem, no max-pool, width 1,
linear head to --classes outputs; 11.2 M parameters with 10 classes) with a fixed random batch of
--batch images 3x32x32 and random labels. Modes:

    fp32      float32, NCHW (PyTorch's default layout)
    fp32-cl   float32, channels_last memory format for model and input
    bf16-cl   torch.autocast("cpu", dtype=torch.bfloat16) + channels_last; fp32 master weights

Each mode runs in a fresh subprocess so that its peak resident memory (getrusage ru_maxrss) is
its own. Prints one JSON line per mode:
    {"mode", "threads", "batch", "steps", "step_s_median", "step_s_min", "step_s_all",
     "images_per_s" (batch / median), "peak_rss_mb", "params", "torch"}
On a machine shared with other work the minimum is the better estimate of the uncontended time;
check the load (uptime) before trusting the median.

Usage (from the repository root):

    python3 bench/torch_step.py                      # all modes, 2 threads, 7 timed steps
    python3 bench/torch_step.py --threads 2 --steps 3 --modes fp32-cl,bf16-cl
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

MODES = ("fp32", "fp32-cl", "bf16-cl")


def run_mode(mode, threads, batch, steps, warmup, classes):
    """Times the training step in this process and returns the result dictionary."""
    import torch
    import torch.nn.functional as F

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
    from resnet_reference import ResNet

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = ResNet("resnet18", stem="cifar", in_channels=3, width=1.0, head="linear",
                   out_dim=classes).train()
    x = torch.randn(batch, 3, 32, 32)
    labels = torch.randint(0, classes, (batch,))
    channels_last = mode in ("fp32-cl", "bf16-cl")
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=(mode == "bf16-cl")):
            logits = model(x)
        loss = F.cross_entropy(logits.float(), labels)
        loss.backward()
        opt.step()
        return loss

    times = []
    for k in range(warmup + steps):
        start = time.perf_counter()
        loss = step()
        loss.item()  # the step is synchronous on CPU; this just keeps the result alive
        if k >= warmup:
            times.append(time.perf_counter() - start)
    median = statistics.median(times)
    n_params = sum(p.numel() for p in model.parameters())
    return {"mode": mode, "threads": threads, "batch": batch, "steps": steps,
            "step_s_median": round(median, 4), "step_s_min": round(min(times), 4),
            "step_s_all": [round(t, 4) for t in times],
            "images_per_s": round(batch / median, 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "params": n_params, "torch": torch.__version__}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    ap.add_argument("--steps", type=int, default=7, help="timed steps; the median is reported")
    ap.add_argument("--warmup", type=int, default=2, help="untimed steps first (default 2)")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--classes", type=int, default=10, help="outputs of the linear head")
    ap.add_argument("--modes", default=",".join(MODES), help=f"comma-separated, from {MODES}")
    ap.add_argument("--child", help=argparse.SUPPRESS)  # internal: run one mode in this process
    args = ap.parse_args()

    if args.child:
        result = run_mode(args.child, args.threads, args.batch, args.steps, args.warmup,
                          args.classes)
        print(json.dumps(result), flush=True)
        return 0

    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = [m for m in modes if m not in MODES]
    if unknown or not modes:
        ap.error(f"unknown mode(s) {unknown}; choose from {MODES}")
    if args.threads < 1 or args.steps < 1 or args.warmup < 0 or args.batch < 1:
        ap.error("--threads, --steps and --batch must be positive, --warmup non-negative")
    status = 0
    for mode in modes:
        cmd = [sys.executable, os.path.abspath(__file__), "--child", mode,
               "--threads", str(args.threads), "--steps", str(args.steps),
               "--warmup", str(args.warmup), "--batch", str(args.batch),
               "--classes", str(args.classes)]
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
        if proc.returncode != 0:
            print(json.dumps({"mode": mode, "error": f"exit status {proc.returncode}"}), flush=True)
            status = 1
            continue
        print(proc.stdout.strip().splitlines()[-1], flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
