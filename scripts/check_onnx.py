"""Checks that an ONNX model written by `invprop export` computes what invprop computes.

Usage (from the repository root; needs onnx, onnxruntime, numpy — for this script only, invprop
itself does not use them):

    python3 scripts/check_onnx.py MODEL.onnx [--tolerance 1e-4]

`invprop export ... --check-samples N` writes, beside MODEL.onnx, MODEL.onnx.check-input.npy
[N, C, H, W] (a seeded random input), MODEL.onnx.check-feature.npy [N, F] and
MODEL.onnx.check-output.npy [N, D]: invprop's own fp32 evaluation-mode outputs for that input.
The script runs onnx.checker.check_model (full check), runs the model in onnxruntime (CPU) on
the saved input, and prints, for each output, the max absolute difference and the relative
difference max|onnxruntime - invprop| / max|invprop|. It exits with status 1 when a relative
difference exceeds the tolerance, 2 when a file is missing or the model is malformed.
"""

import argparse
import os
import sys

import numpy as np
import onnx
import onnxruntime

OUTPUTS = ("feature", "output")


def check_file(model_path, name):
    """The path of the check array `name` (input, feature, output) written beside the model."""
    return f"{model_path}.check-{name}.npy"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", help="ONNX file written by invprop export")
    parser.add_argument("--tolerance", type=float, default=1e-4,
                        help="largest accepted relative difference max|diff| / max|invprop| (default 1e-4)")
    args = parser.parse_args()

    paths = [args.model] + [check_file(args.model, n) for n in ("input",) + OUTPUTS]
    missing = [p for p in paths if not os.path.exists(p)]
    if missing:
        print(f"error: missing {', '.join(missing)} (export with --check-samples N > 0)", file=sys.stderr)
        return 2

    try:
        onnx.checker.check_model(args.model, full_check=True)
    except Exception as error:  # the checker raises several exception types
        print(f"error: {args.model} fails onnx.checker: {error}", file=sys.stderr)
        return 2
    model = onnx.load(args.model)
    opset = ", ".join(f"{o.domain or 'ai.onnx'} {o.version}" for o in model.opset_import)
    print(f"{args.model}: onnx.checker passed (IR {model.ir_version}, opset {opset}, "
          f"{len(model.graph.node)} nodes, {len(model.graph.initializer)} initializers)")

    x = np.load(check_file(args.model, "input"))
    session = onnxruntime.InferenceSession(args.model, providers=["CPUExecutionProvider"])
    results = dict(zip(OUTPUTS, session.run(list(OUTPUTS), {"input": x})))

    worst = 0.0
    for name in OUTPUTS:
        reference = np.load(check_file(args.model, name))
        got = results[name]
        if got.shape != reference.shape:
            print(f"{name}: onnxruntime gives shape {got.shape}, invprop saved {reference.shape}")
            return 1
        diff = np.abs(got.astype(np.float64) - reference.astype(np.float64))
        scale = float(np.max(np.abs(reference)))
        relative = float(diff.max()) / scale if scale > 0 else float(diff.max())
        worst = max(worst, relative)
        print(f"{name} {list(reference.shape)}: max abs diff {diff.max():.3e}, relative {relative:.3e} (max |invprop| {scale:.3e})")

    if worst > args.tolerance:
        print(f"FAIL: relative difference {worst:.3e} exceeds the tolerance {args.tolerance:g}")
        return 1
    print(f"OK: onnxruntime {onnxruntime.__version__} agrees with invprop within {args.tolerance:g} (input {list(x.shape)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
