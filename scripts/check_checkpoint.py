"""Checks that a ResNet checkpoint written by invprop gives the same output in PyTorch.

Usage (from the repository root; needs torch, numpy, safetensors):

    python3 scripts/check_checkpoint.py PATH.safetensors [--fp32] [--tolerance 1e-4]
    python3 scripts/check_checkpoint.py --self-test

The checkpoint's metadata names the model: `arch` (resnet18 | resnet34 | resnet50), `stem`
(cifar | imagenet), `in_channels`, `width`, `head` (linear | mlp | none) and optionally `out_dim`
(otherwise read from the head's last weight). Its tensors with the model's state_dict names are
loaded with `load_state_dict(strict=True)`; every other tensor (optimizer state, memory bank,
...) is ignored, except `__check__.input` [N, C, H, W] and `__check__.output`, the output invprop
computed for that input in evaluation mode. The script runs the model in evaluation mode on the
input (in float64 unless --fp32) and prints the max absolute difference and the relative
difference max|ours - invprop| / max|invprop|; it exits with status 1 when the relative
difference exceeds the tolerance, 2 when the file cannot be used.

--self-test writes such a checkpoint from PyTorch itself (formula weights, running statistics
after one training-mode forward, an extra optimizer tensor), checks that it passes, then checks
that a corrupted copy fails.
"""

import argparse
import os
import sys
import tempfile

import torch
from safetensors import safe_open
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from resnet_reference import ResNet, apply_formula_weights  # noqa: E402

CHECK_INPUT, CHECK_OUTPUT = "__check__.input", "__check__.output"
OPTIONAL_KEYS = ("num_batches_tracked",)  # not used in eval mode; tolerated when absent


class CheckpointError(Exception):
    pass


def model_from_metadata(meta, tensors):
    """Builds the ResNet the metadata describes."""
    missing = [k for k in ("arch", "stem", "in_channels", "width", "head") if k not in meta]
    if missing:
        raise CheckpointError(f"metadata lacks {missing}; it has {sorted(meta)}")
    head = meta["head"]
    if "out_dim" in meta:
        out_dim = int(meta["out_dim"])
    elif head == "linear" and "fc.weight" in tensors:
        out_dim = tensors["fc.weight"].shape[0]
    elif head == "mlp" and "fc.2.weight" in tensors:
        out_dim = tensors["fc.2.weight"].shape[0]
    else:
        out_dim = 128
    try:
        return ResNet(meta["arch"], stem=meta["stem"], in_channels=int(meta["in_channels"]),
                      width=float(meta["width"]), head=head, out_dim=out_dim)
    except ValueError as e:
        raise CheckpointError(str(e)) from e


def check(path, fp32=False, tolerance=1e-4):
    """Returns (max_abs, rel) for the checkpoint at path; raises CheckpointError if unusable."""
    try:
        with safe_open(path, framework="pt") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as e:  # the safetensors reader's own message names the problem
        raise CheckpointError(f"{path}: cannot read as safetensors: {e}") from e
    for k in (CHECK_INPUT, CHECK_OUTPUT):
        if k not in tensors:
            raise CheckpointError(f"{path}: no tensor {k!r}")

    model = model_from_metadata(meta, tensors)
    expected = model.state_dict()
    state, absent = {}, []
    for name, ref in expected.items():
        if name in tensors:
            state[name] = tensors[name]
        elif name.endswith(OPTIONAL_KEYS):
            state[name] = ref  # keep the model's own value
            absent.append(name)
        else:
            state[name] = None
    missing = [k for k, v in state.items() if v is None]
    if missing:
        raise CheckpointError(f"{path}: {len(missing)} model tensors missing, e.g. {missing[:5]}")
    for name, ref in expected.items():
        if tuple(state[name].shape) != tuple(ref.shape):
            raise CheckpointError(f"{path}: {name} has shape {tuple(state[name].shape)}, "
                                  f"the model expects {tuple(ref.shape)}")
    if absent:
        print(f"note: {len(absent)} num_batches_tracked entries absent (unused in eval mode)")
    ignored = [k for k in tensors if k not in expected and k not in (CHECK_INPUT, CHECK_OUTPUT)]
    model.load_state_dict(state, strict=True)

    dtype = torch.float32 if fp32 else torch.float64
    model = model.to(dtype).eval()
    with torch.no_grad():
        ours = model(tensors[CHECK_INPUT].to(dtype))
    theirs = tensors[CHECK_OUTPUT].to(torch.float64)
    if ours.shape != theirs.shape:
        raise CheckpointError(f"{path}: output shape {tuple(ours.shape)} but {CHECK_OUTPUT} "
                              f"is {tuple(theirs.shape)}")
    diff = (ours.double() - theirs).abs()
    max_abs = diff.max().item()
    rel = max_abs / max(theirs.abs().max().item(), 1e-30)
    print(f"{path}: {meta['arch']} stem={meta['stem']} in_channels={meta['in_channels']} "
          f"width={meta['width']} head={meta['head']}; {len(expected)} state_dict tensors loaded "
          f"(strict), {len(ignored)} other tensors ignored")
    print(f"input {tuple(tensors[CHECK_INPUT].shape)} -> output {tuple(ours.shape)}, "
          f"computed in {'float32' if fp32 else 'float64'}: max abs diff {max_abs:.3e}, "
          f"relative diff {rel:.3e} (tolerance {tolerance:g}) -> "
          f"{'OK' if rel <= tolerance else 'FAIL'}")
    return max_abs, rel


SELF_TEST_CONFIGS = [
    # (arch, stem, in_channels, width, head, input size); the second also drops
    # num_batches_tracked, which invprop may not write.
    ("resnet18", "cifar", 3, 0.5, "mlp", 32),
    ("resnet50", "imagenet", 1, 0.25, "none", 64),
]


def write_pytorch_checkpoint(path, config, corrupt=False):
    """A checkpoint as invprop would write it, but from PyTorch (for --self-test)."""
    arch, stem, in_channels, width, head, size = config
    meta = {"arch": arch, "stem": stem, "in_channels": str(in_channels), "width": str(width),
            "head": head}
    model = apply_formula_weights(ResNet(arch, stem, in_channels, width, head))
    g = torch.Generator().manual_seed(11)
    with torch.no_grad():
        model.train()(torch.randn(8, in_channels, size, size, generator=g))  # non-trivial stats
        model.eval()
        x = torch.randn(2, in_channels, size, size, generator=g)
        y = model(x)
    tensors = {k: v.contiguous() for k, v in model.state_dict().items()}
    if head == "none":
        tensors = {k: v for k, v in tensors.items() if not k.endswith("num_batches_tracked")}
    tensors["optimizer.momentum.conv1.weight"] = torch.zeros_like(tensors["conv1.weight"])
    tensors[CHECK_INPUT], tensors[CHECK_OUTPUT] = x, y
    if corrupt:  # one weight slightly off: the output must move by more than the tolerance
        tensors["layer3.1.conv2.weight"] = tensors["layer3.1.conv2.weight"] * 1.01
    save_file(tensors, path, metadata=meta)


def self_test():
    ok = True
    with tempfile.TemporaryDirectory() as d:
        for config in SELF_TEST_CONFIGS:
            good, bad = os.path.join(d, "good.safetensors"), os.path.join(d, "bad.safetensors")
            write_pytorch_checkpoint(good, config)
            write_pytorch_checkpoint(bad, config, corrupt=True)
            _, rel_good = check(good)
            _, rel_good32 = check(good, fp32=True)
            _, rel_bad = check(bad)
            passed = rel_good <= 1e-4 and rel_good32 <= 1e-4 and rel_bad > 1e-4
            ok = ok and passed
            print(f"self-test {config[:5]} {'passed' if passed else 'FAILED'}: the PyTorch-written "
                  f"checkpoint matches (rel {rel_good:.1e} float64, {rel_good32:.1e} float32), a "
                  f"copy with one weight scaled by 1.01 does not (rel {rel_bad:.1e})\n")
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("path", nargs="?", help="safetensors checkpoint written by invprop")
    ap.add_argument("--fp32", action="store_true", help="run the model in float32, not float64")
    ap.add_argument("--tolerance", type=float, default=1e-4, help="largest relative difference")
    ap.add_argument("--self-test", action="store_true", help="check this script on its own files")
    args = ap.parse_args()
    torch.set_num_threads(min(2, torch.get_num_threads()))
    if args.self_test:
        return self_test()
    if not args.path:
        ap.error("give a checkpoint path or --self-test")
    try:
        _, rel = check(args.path, fp32=args.fp32, tolerance=args.tolerance)
    except CheckpointError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0 if rel <= args.tolerance else 1


if __name__ == "__main__":
    sys.exit(main())
