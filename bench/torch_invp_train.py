#!/usr/bin/env python3
"""PyTorch baseline: InvP or NPID training on Fashion-MNIST, one JSON line per epoch.

The epoch-by-epoch reference invprop's own `invprop train` is compared against (issue 6). The
loss, memory bank and neighbour table are the authors' (WangFeng18/InvariancePropagation,
objective.py), through the re-implementation in scripts/make_loss_fixtures.py; the network is
scripts/resnet_reference.py's ResNet-18 with the CIFAR stem, one input channel, width 0.25 and a
linear head to 128. Everything runs in float32 on the CPU, single process.

Per step (SPEC.md "Per training step", steps 1-11), batch of B images with dataset indices idx:
  v = normalize(net(augment(x)));  s = exp(v bank^T / tau)  (B x N, the whole bank)
  InvP: background = top-M of each row; L_ins = mean -log(s_self / sum bg + 1e-7);
        candidates = k-NN table propagated L hops by concatenation (table before this step);
        hard positives = the P smallest candidate s; L_inv = mean -log(sum hp / (sum bg - s_self) + 1e-7);
        L = L_ins + lambda * w(epoch) * L_inv, w = 1 if epoch > T else 0 (epoch counted from 0);
        table[idx] = first k+1 background indices with the anchor replaced by the (k+1)-th, first k.
  NPID: L = mean -log(s_self / sum_j s_j + 1e-7) over the whole bank.
  SGD step, then bank[idx] = normalize(m bank[idx] + (1 - m) v), m = 0.5.
Bank starts uniform in +-1/sqrt(128/3) (not normalised), table all zeros.

Data: the first --subset images of /usr/share/datasets/fashion-mnist/train-*-ubyte.gz; augment
RandomResizedCrop(28, scale 0.2-1, ratio 3/4-4/3, torchvision's sampling) with bilinear
antialiased resize, then brightness and contrast jitter 0.4 (factors U[0.6, 1.4], random order,
clamped to [0, 1] after each), then normalisation (0.2860, 0.3530). No flip.
Schedule: SGD momentum 0.9, weight decay 5e-4 on every parameter, cosine lr per step from --lr
to 0 over the run, batch --batch, drop last, reshuffled every epoch.
Monitor after each epoch: weighted kNN (K 200, sigma 0.07) of the normalised head outputs of the
10 000 test images (eval mode, normalisation only) against the memory bank.

Usage (from the repository root):
    python3 bench/torch_invp_train.py --method invp --subset 20000 --epochs 15 --threads 2
    python3 bench/torch_invp_train.py --method npid --subset 2000 --epochs 1      # quick check

stdout: one JSON object per epoch with epoch (1-based), loss, loss_instance, loss_invariance
(null for NPID), knn_top1 (percent; null on epochs skipped by --knn-every), seconds (this epoch,
training and kNN), images_per_second (training images / training seconds, augmentation
included), plus knn_top5, learning_rate (at the end of the epoch), invariance_weight (lambda*w),
train_seconds, knn_seconds, wall_seconds (cumulative), purity_candidates / purity_hard (share of
propagated candidates / hard positives with the anchor's label; labels are used for nothing else),
method; with --knn-recompute also knn_recompute_top1/top5 (training features recomputed in eval
mode with normalisation only instead of the bank).
stderr: progress.
"""

import argparse
import gzip
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "scripts"))
from resnet_reference import ResNet  # noqa: E402
from make_loss_fixtures import EPS, l2_normalize, propagate_reference, ramp  # noqa: E402

DATA_DIR = "/usr/share/datasets/fashion-mnist"
MEAN, STD = 0.2860, 0.3530


# ------------------------------------------------------------------------------------- data

def read_idx(path):
    """A gzipped IDX file (MNIST layout) as a numpy uint8 array."""
    with gzip.open(path, "rb") as fh:
        raw = fh.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_split(data_dir, split, limit=None):
    """(images float32 [n, 1, 28, 28] in [0, 1], labels int64 [n])."""
    prefix = "train" if split == "train" else "t10k"
    images = read_idx(os.path.join(data_dir, f"{prefix}-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(data_dir, f"{prefix}-labels-idx1-ubyte.gz"))
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    x = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)
    return x, torch.from_numpy(labels.astype(np.int64))


# ----------------------------------------------------------------------------- augmentation

def rrc_box(rng, height, width, scale=(0.2, 1.0), ratio=(3.0 / 4.0, 4.0 / 3.0)):
    """torchvision RandomResizedCrop.get_params: (top, left, h, w)."""
    area = height * width
    log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
    for _ in range(10):
        target_area = area * rng.uniform(scale[0], scale[1])
        aspect = math.exp(rng.uniform(log_ratio[0], log_ratio[1]))
        w = int(round(math.sqrt(target_area * aspect)))
        h = int(round(math.sqrt(target_area / aspect)))
        if 0 < w <= width and 0 < h <= height:
            top = int(rng.integers(0, height - h + 1))
            left = int(rng.integers(0, width - w + 1))
            return top, left, h, w
    # Fallback: central crop with the aspect ratio clamped into `ratio`.
    in_ratio = width / height
    if in_ratio < min(ratio):
        w, h = width, int(round(width / min(ratio)))
    elif in_ratio > max(ratio):
        h, w = height, int(round(height * max(ratio)))
    else:
        w, h = width, height
    return (height - h) // 2, (width - w) // 2, h, w


def augment(images, rng, scale=(0.2, 1.0), jitter=0.4, size=28):
    """images [B, 1, H, W] in [0, 1] -> augmented and normalised [B, 1, size, size]."""
    b, _, hgt, wid = images.shape
    out = torch.empty(b, 1, size, size)
    for i in range(b):
        top, left, h, w = rrc_box(rng, hgt, wid, scale)
        crop = images[i:i + 1, :, top:top + h, left:left + w]
        out[i:i + 1] = F.interpolate(crop, size=(size, size), mode="bilinear",
                                     align_corners=False, antialias=True)
    # ColorJitter(brightness=jitter, contrast=jitter) on grey images: a random order of the two
    # (torchvision draws a permutation of four operations; only the relative order matters here).
    lo, hi = max(0.0, 1.0 - jitter), 1.0 + jitter
    bf = torch.from_numpy(rng.uniform(lo, hi, size=b).astype(np.float32)).view(b, 1, 1, 1)
    cf = torch.from_numpy(rng.uniform(lo, hi, size=b).astype(np.float32)).view(b, 1, 1, 1)
    brightness_first = torch.from_numpy(rng.random(b) < 0.5).view(b, 1, 1, 1)

    def brightness(x):
        return (x * bf).clamp_(0.0, 1.0)

    def contrast(x):
        mean = x.mean(dim=(1, 2, 3), keepdim=True)  # mean of the grey image
        return (cf * x + (1.0 - cf) * mean).clamp_(0.0, 1.0)

    x = torch.where(brightness_first, brightness(out), contrast(out))
    x = torch.where(brightness_first, contrast(x), brightness(x))
    return (x - MEAN) / STD


# ------------------------------------------------------------------------------------ losses

def invp_loss(f, idx, bank, neigh, cfg, labels=None):
    """The authors' InvariancePropagationLoss.forward (exclusive, hard positives, reference
    propagation) in float32. Returns (L_ins, L_inv, purity tuple or None); updates `neigh` in
    place after the loss is formed (update_nn)."""
    v = l2_normalize(f)
    all_sim = torch.exp(torch.matmul(v, bank.t()) / cfg["temperature"])
    rows = torch.arange(f.size(0))
    self_sim = all_sim[rows, idx]
    background_sim, background_indices = all_sim.topk(k=cfg["M"], dim=1, largest=True, sorted=True)
    bg_sum = background_sim.sum(dim=1)
    loss_ins = -(self_sim / bg_sum + EPS).log().mean()

    neighs = propagate_reference(neigh, idx, cfg["L"])  # reads the table before this step
    pos_sim = torch.gather(all_sim, index=neighs, dim=1)
    hp_sim, hp_idx = pos_sim.topk(k=min(cfg["P"], pos_sim.size(1)), dim=1, largest=False, sorted=True)
    den = bg_sum - self_sim  # exclusive denominator
    loss_inv = -(hp_sim.sum(dim=1) / den + EPS).log().mean()

    purity = None
    if labels is not None:
        anchor = labels[idx].unsqueeze(1)
        purity = ((labels[neighs] == anchor).float().mean().item(),
                  (labels[torch.gather(neighs, index=hp_idx, dim=1)] == anchor).float().mean().item())

    # update_nn: first k+1 background indices, the anchor replaced by the (k+1)-th, keep k.
    k = cfg["k"]
    with torch.no_grad():
        nei = background_indices[:, :k + 1]
        backup = nei[:, k:k + 1].expand_as(nei)
        neigh[idx] = torch.where(nei == idx.unsqueeze(1), backup, nei)[:, :k]
    return loss_ins, loss_inv, purity


def npid_loss(f, idx, bank, temperature):
    """The authors' PointLoss (NPID with a full softmax over the bank)."""
    points_sim = torch.exp(torch.matmul(l2_normalize(f), bank.t()) / temperature)
    positive_sim = points_sim[torch.arange(f.size(0)), idx]
    return -(positive_sim / points_sim.sum(dim=1) + EPS).log().mean()


# ------------------------------------------------------------------------------------- kNN

@torch.no_grad()
def eval_features(model, images, batch=500):
    """Normalised head outputs of `images` ([0, 1]) in eval mode with normalisation only."""
    model.eval()
    out = torch.cat([l2_normalize(model((images[i:i + batch] - MEAN) / STD))
                     for i in range(0, images.size(0), batch)])
    model.train()
    return out


@torch.no_grad()
def knn_monitor(model, test_x, test_y, bank, bank_labels, k=200, sigma=0.07, batch=500):
    """Weighted kNN (the authors' kNN in main.py): top-1 and top-5 in percent."""
    model.eval()
    classes = int(bank_labels.max().item()) + 1
    k = min(k, bank.size(0))
    top1 = top5 = 0
    for start in range(0, test_x.size(0), batch):
        x = (test_x[start:start + batch] - MEAN) / STD
        y = test_y[start:start + batch]
        feats = l2_normalize(model(x))
        dist = torch.matmul(feats, bank.t())
        yd, yi = dist.topk(k, dim=1, largest=True, sorted=True)
        retrieval = bank_labels[yi]  # [b, K]
        one_hot = torch.zeros(x.size(0), k, classes).scatter_(2, retrieval.unsqueeze(2), 1.0)
        probs = (one_hot * yd.div(sigma).exp().unsqueeze(2)).sum(dim=1)
        pred = probs.argsort(dim=1, descending=True)
        correct = pred.eq(y.view(-1, 1))
        top1 += correct[:, :1].sum().item()
        top5 += correct[:, :min(5, classes)].sum().item()
    model.train()
    n = test_x.size(0)
    return 100.0 * top1 / n, 100.0 * top5 / n


# ------------------------------------------------------------------------------------- main

def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--method", choices=("invp", "npid"), default="invp")
    p.add_argument("--subset", type=int, default=20000, help="first N training images")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=0.03)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--weight-decay", type=float, default=5e-4)
    p.add_argument("--temperature", type=float, default=0.1)
    p.add_argument("--background", type=int, default=4096, help="M")
    p.add_argument("--neighbours", type=int, default=4, help="k")
    p.add_argument("--hops", type=int, default=3, help="L")
    p.add_argument("--positives", type=int, default=20, help="P")
    p.add_argument("--lambda", dest="lam", type=float, default=0.6)
    p.add_argument("--warmup-epochs", type=int, default=5,
                   help="T of the binary ramp: w = 1 once the 0-based epoch exceeds T")
    p.add_argument("--bank-momentum", type=float, default=0.5)
    p.add_argument("--crop-scale", type=float, default=0.2, help="lower bound of the RRC area")
    p.add_argument("--jitter", type=float, default=0.4, help="brightness and contrast strength")
    p.add_argument("--width", type=float, default=0.25)
    p.add_argument("--knn-k", type=int, default=200)
    p.add_argument("--knn-sigma", type=float, default=0.07)
    p.add_argument("--knn-every", type=int, default=1, help="kNN every N epochs (and after the last)")
    p.add_argument("--knn-recompute", action="store_true",
                   help="also report kNN against training features recomputed with the evaluation "
                        "transform (knn_recompute_top1/top5; its time is in knn_seconds)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-dir", default=DATA_DIR)
    return p.parse_args(argv)


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    aug_rng = np.random.default_rng(args.seed + 1)
    shuffle_gen = torch.Generator().manual_seed(args.seed + 2)

    train_x, train_y = load_split(args.data_dir, "train", args.subset)
    test_x, test_y = load_split(args.data_dir, "test")
    n, d = train_x.size(0), 128
    steps = n // args.batch
    if steps < 1:
        sys.exit(f"error: {n} training images make no full batch of {args.batch}")
    m_background = min(args.background, n)
    if m_background < args.background:
        log(f"note: background M {args.background} > {n} images; using M = {m_background}")
    cfg = {"temperature": args.temperature, "M": m_background, "k": args.neighbours,
           "L": args.hops, "P": args.positives}

    model = ResNet("resnet18", stem="cifar", in_channels=1, width=args.width, head="linear",
                   out_dim=d).train()
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum,
                          weight_decay=args.weight_decay)
    stdv = 1.0 / math.sqrt(d / 3)
    bank = torch.rand(n, d).mul_(2 * stdv).add_(-stdv)  # MemoryBank_v1.random_init_bank
    neigh = torch.zeros(n, args.neighbours, dtype=torch.long)
    total_steps = args.epochs * steps
    n_params = sum(p.numel() for p in model.parameters())
    log(f"{args.method}: {n} training images, {steps} steps/epoch, {args.epochs} epochs, "
        f"{n_params:,} parameters, {args.threads} threads, torch {torch.__version__}")

    wall_start = time.perf_counter()
    global_step = 0
    for epoch in range(args.epochs):  # 0-based, as the reference loop's i_epoch
        weight = args.lam * ramp("binary", epoch, args.warmup_epochs) if args.method == "invp" else 0.0
        order = torch.randperm(n, generator=shuffle_gen)
        sums = {"loss": 0.0, "ins": 0.0, "inv": 0.0, "pc": 0.0, "ph": 0.0}
        purity_steps = 0
        t0 = time.perf_counter()
        report_every = max(1, steps // 10)
        lr = args.lr
        for s in range(steps):
            lr = 0.5 * args.lr * (1.0 + math.cos(math.pi * global_step / total_steps))
            for group in opt.param_groups:
                group["lr"] = lr
            idx = order[s * args.batch:(s + 1) * args.batch]
            x = augment(train_x[idx], aug_rng, scale=(args.crop_scale, 1.0), jitter=args.jitter)
            f = model(x)
            if args.method == "invp":
                loss_ins, loss_inv, purity = invp_loss(f, idx, bank, neigh, cfg, labels=train_y)
                loss = loss_ins + weight * loss_inv
                sums["inv"] += loss_inv.item()
                if purity is not None:
                    sums["pc"] += purity[0]
                    sums["ph"] += purity[1]
                    purity_steps += 1
            else:
                loss_ins = npid_loss(f, idx, bank, args.temperature)
                loss = loss_ins
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            with torch.no_grad():  # MemoryBank_v1.update_points
                m = args.bank_momentum
                bank[idx] = l2_normalize(m * bank[idx] + (1 - m) * l2_normalize(f.detach()))
            sums["loss"] += loss.item()
            sums["ins"] += loss_ins.item()
            global_step += 1
            if (s + 1) % report_every == 0 or s + 1 == steps:
                el = time.perf_counter() - t0
                inv = f" inv {sums['inv'] / (s + 1):.4f}" if args.method == "invp" else ""
                log(f"epoch {epoch + 1}/{args.epochs} step {s + 1}/{steps} loss {sums['loss'] / (s + 1):.4f} "
                    f"(ins {sums['ins'] / (s + 1):.4f}{inv}) lr {lr:.5f} w {weight:g} "
                    f"{(s + 1) * args.batch / el:.1f} img/s")
        train_seconds = time.perf_counter() - t0

        top1 = top5 = rtop1 = rtop5 = None
        knn_seconds = 0.0
        if (epoch + 1) % args.knn_every == 0 or epoch + 1 == args.epochs:
            t1 = time.perf_counter()
            top1, top5 = knn_monitor(model, test_x, test_y, bank, train_y, k=args.knn_k,
                                     sigma=args.knn_sigma)
            log(f"epoch {epoch + 1}: kNN top-1 {top1:.2f} top-5 {top5:.2f}")
            if args.knn_recompute:
                rtop1, rtop5 = knn_monitor(model, test_x, test_y, eval_features(model, train_x), train_y,
                                           k=args.knn_k, sigma=args.knn_sigma)
                log(f"epoch {epoch + 1}: kNN (recomputed training features) top-1 {rtop1:.2f} top-5 {rtop5:.2f}")
            knn_seconds = time.perf_counter() - t1
        record = {
            "epoch": epoch + 1,
            "loss": sums["loss"] / steps,
            "loss_instance": sums["ins"] / steps,
            "loss_invariance": sums["inv"] / steps if args.method == "invp" else None,
            "knn_top1": top1,
            "seconds": round(train_seconds + knn_seconds, 3),
            "images_per_second": round(steps * args.batch / train_seconds, 2),
            "knn_top5": top5,
            "learning_rate": lr,
            "invariance_weight": weight if args.method == "invp" else None,
            "train_seconds": round(train_seconds, 3),
            "knn_seconds": round(knn_seconds, 3),
            "wall_seconds": round(time.perf_counter() - wall_start, 3),
            "purity_candidates": sums["pc"] / purity_steps if purity_steps else None,
            "purity_hard": sums["ph"] / purity_steps if purity_steps else None,
            "method": args.method,
        }
        if args.knn_recompute:
            record["knn_recompute_top1"], record["knn_recompute_top5"] = rtop1, rtop5
        print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main()
