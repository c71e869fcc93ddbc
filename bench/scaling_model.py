#!/usr/bin/env python3
"""Predicted data-parallel scaling efficiency of invprop on N machines (issue 13).

Each step every machine computes its share (forward, loss, backward, SGD: `compute` seconds,
measured with `invprop bench step` or `bench/mpi_scaling.py`), then the gradients are summed by a
ring allreduce and the batch's features, indices and records are all-gathered. No overlap of
communication with the backward pass is assumed (invprop does not overlap), so the prediction
is a lower bound. Weak scaling: each machine keeps its batch, the global batch grows with N.

  ring allreduce of S bytes:  2 (N-1) a  +  2 (N-1)/N * S / b
  all-gather of G bytes total:  (N-1) a  +  (N-1)/N * G / b
  efficiency(N) = compute / (compute + allreduce + all-gather)

with b the link bandwidth (bytes/s) and a the per-message latency. docs/benchmarks.md compares
the model with the point measured on one machine (2 processes, the bandwidth from `invprop bench
comm`, the communication seconds per step from the run's metrics.jsonl).

  python3 bench/scaling_model.py --model resnet50=27966656:12.5:32 --model resnet18=11233440:1.9:128
"""
import argparse

def step_communication(n, gradient_bytes, gather_bytes, bandwidth, latency):
    if n == 1:
        return 0.0
    allreduce = 2 * (n - 1) * latency + 2 * (n - 1) / n * gradient_bytes / bandwidth
    gather = (n - 1) * latency + (n - 1) / n * gather_bytes * n / bandwidth
    return allreduce + gather

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", action="append", required=True,
                   help="NAME=PARAMETERS:COMPUTE_SECONDS_PER_STEP:BATCH_PER_MACHINE")
    p.add_argument("--links", default="10,25,100", help="link speeds in Gb/s")
    p.add_argument("--machines", default="2,4,8,32")
    p.add_argument("--latency", type=float, default=20e-6, help="seconds per message (default 20 µs, TCP over Ethernet)")
    p.add_argument("--dimension", type=int, default=128, help="embedding width D")
    p.add_argument("--records", type=int, default=5, help="int32 records per sample (InvP: k + 1)")
    args = p.parse_args()
    machines = [int(x) for x in args.machines.split(",")]
    for spec in args.model:
        name, rest = spec.split("=")
        parameters, compute, batch = rest.split(":")
        parameters, compute, batch = int(parameters), float(compute), int(batch)
        gradient = 4 * parameters
        gather = batch * (4 * args.dimension + 8 + 4 * args.records)   # per machine
        print(f"\n{name}: {parameters / 1e6:.2f} M parameters ({gradient / 1e6:.1f} MB gradient), "
              f"{compute:.3g} s compute per step for a batch of {batch} per machine")
        print("| link | " + " | ".join(f"{n} machines" for n in machines) + " | compute per step for 90 % at 8 |")
        print("|---|" + "---|" * (len(machines) + 1))
        for gbps in [float(x) for x in args.links.split(",")]:
            bandwidth = gbps * 1e9 / 8
            cells = []
            for n in machines:
                c = step_communication(n, gradient, gather, bandwidth, args.latency)
                cells.append(f"{100 * compute / (compute + c):.1f} %")
            c8 = step_communication(8, gradient, gather, bandwidth, args.latency)
            print(f"| {gbps:g} Gb/s | " + " | ".join(cells) + f" | ≥ {9 * c8:.3f} s |")

if __name__ == "__main__":
    main()
