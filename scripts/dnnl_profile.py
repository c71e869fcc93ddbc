"""Where a training step's time goes: sums oneDNN's verbose execution times by primitive kind and
implementation over the second half of a DNNL_VERBOSE=1 log (the timed steps after warm-up).

    DNNL_VERBOSE=1 .build/release/invprop bench step --no-torch --steps 1 --warmup 1 --precision bf16 > /tmp/v.txt
    python3 scripts/dnnl_profile.py /tmp/v.txt
"""
import collections, sys

lines = [l.strip().split(",") for l in open(sys.argv[1]) if l.startswith("onednn_verbose,exec")]
timed = lines[len(lines) // 2:]
totals = collections.defaultdict(lambda: [0, 0.0])
for fields in timed:
    key = (fields[3], fields[4], fields[5])   # primitive, implementation, propagation kind
    totals[key][0] += 1
    totals[key][1] += float(fields[-1])
print(f"total {sum(v[1] for v in totals.values()):.1f} ms")
for (primitive, implementation, kind), (count, ms) in sorted(totals.items(), key=lambda kv: -kv[1][1]):
    print(f"{ms:9.1f} ms {count:4d}x {primitive} {kind} ({implementation})")
