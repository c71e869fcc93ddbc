#!/usr/bin/env python3
"""Reference values for Un-Mix (Tests/MethodsTests/Fixtures/unmix_fixtures.json).

Transcribes the steps of the authors' code (szq0214/Un-Mix, unmix_c10.py and utils.rand_bbox):
the global mixture lam*x + (1 - lam)*flip(x), the region mixture that pastes the box rand_bbox
gives (here with a fixed centre instead of a random one) from flip(x) and sets
lam = 1 - box area / image area, and the loss L(q) + lam*L(q_m) + (1 - lam)*L(flip(q_m)) with
the same positive and negatives for the three terms. L is NPID's full softmax over a memory bank
(the authors' MoCo queue replaced by the bank, as RELATED.md states), -log(p_idx + 1e-7).
Gradients with respect to q and q_m are central differences in float64 (h = 1e-6).
Inputs are float32 values, so the Swift tests read exactly these numbers. numpy only.

Run: python3 scripts/make_unmix_fixtures.py
"""
import json
import os

import numpy as np

from fixture_math import numeric_gradient

EPS = 1e-7


def rand_bbox_at(height, width, lam, cx, cy):
    """utils.rand_bbox with the centre given (W = size[2] are rows, H = size[3] columns there)."""
    cut_rat = np.sqrt(1.0 - lam)
    cut_w, cut_h = int(height * cut_rat), int(width * cut_rat)
    bbx1, bby1 = np.clip(cx - cut_w // 2, 0, height), np.clip(cy - cut_h // 2, 0, width)
    bbx2, bby2 = np.clip(cx + cut_w // 2, 0, height), np.clip(cy + cut_h // 2, 0, width)
    return int(bbx1), int(bby1), int(bbx2), int(bby2)


def npid_loss(q, bank, idx, tau):
    v = q / np.sqrt((q ** 2).sum(axis=1, keepdims=True))
    z = v @ bank.T / tau
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    return float(np.mean(-np.log(p[np.arange(len(idx)), idx] + EPS)))


def unmix_loss(q, qm, bank, idx, tau, lam):
    return npid_loss(q, bank, idx, tau) + lam * npid_loss(qm, bank, idx, tau) + (1 - lam) * npid_loss(qm[::-1], bank, idx, tau)



def main():
    rng = np.random.default_rng(7)
    b, c, h, w = 4, 2, 6, 5
    images = rng.standard_normal((b, c, h, w)).astype(np.float32).astype(np.float64)
    lam_global = 0.37
    mixed_global = lam_global * images + (1 - lam_global) * images[::-1]
    lam_region = 0.6
    bbx1, bby1, bbx2, bby2 = rand_bbox_at(h, w, lam_region, cx=2, cy=3)
    mixed_region = images.copy()
    mixed_region[:, :, bbx1:bbx2, bby1:bby2] = images[::-1][:, :, bbx1:bbx2, bby1:bby2]
    lam_adjusted = 1 - (bbx2 - bbx1) * (bby2 - bby1) / (h * w)

    n, d, tau, lam = 12, 8, 0.1, 0.3
    bank = rng.standard_normal((n, d)).astype(np.float32).astype(np.float64)
    bank /= np.sqrt((bank ** 2).sum(axis=1, keepdims=True))
    bank = bank.astype(np.float32).astype(np.float64)
    q = rng.standard_normal((b, d)).astype(np.float32).astype(np.float64)
    qm = rng.standard_normal((b, d)).astype(np.float32).astype(np.float64)
    idx = np.array([3, 0, 11, 7])
    fixture = {
        "images": {"shape": [b, c, h, w], "values": images.ravel().tolist()},
        "global": {"lambda": lam_global, "mixed": mixed_global.ravel().tolist()},
        "region": {"lambda_drawn": lam_region, "centre": [2, 3], "cut": [int(h * np.sqrt(1 - lam_region)), int(w * np.sqrt(1 - lam_region))],
                   "rows": [bbx1, bbx2], "columns": [bby1, bby2], "lambda": lam_adjusted, "mixed": mixed_region.ravel().tolist()},
        "loss": {"bank": bank.ravel().tolist(), "dimension": d, "tau": tau, "lambda": lam, "indices": idx.tolist(),
                 "q": q.ravel().tolist(), "qm": qm.ravel().tolist(),
                 "clean": npid_loss(q, bank, idx, tau),
                 "mixed": lam * npid_loss(qm, bank, idx, tau) + (1 - lam) * npid_loss(qm[::-1], bank, idx, tau),
                 "grad_q": numeric_gradient(lambda x: unmix_loss(x, qm, bank, idx, tau, lam), q).ravel().tolist(),
                 "grad_qm": numeric_gradient(lambda x: unmix_loss(q, x, bank, idx, tau, lam), qm).ravel().tolist()},
    }
    out = os.path.join(os.path.dirname(__file__), "..", "Tests", "MethodsTests", "Fixtures", "unmix_fixtures.json")
    with open(out, "w") as f:
        json.dump(fixture, f, indent=1)
    print(f"wrote {os.path.normpath(out)}: box rows {bbx1}..<{bbx2}, columns {bby1}..<{bby2}, lambda {lam_adjusted:.4f}")


if __name__ == "__main__":
    main()
