#!/usr/bin/env python3
"""Reference values for DARLING on a memory bank (Tests/MethodsTests/Fixtures/darling_fixtures.json).

A transcription of the formulation in docs/methods.md ("DARLING"), which follows Zhang et al.,
"Towards Unsupervised Domain Generalization" (CVPR 2022, arXiv 2107.06219); the authors' code was
not found, so this script is the reference, written from the equations, not from code. For anchor
b with v = f / |f|, bank M [N, D] (constant to the loss) and dense domains c [N] in 0..K-1:
    s_j = v . M_j,  e_j = exp(s_j / tau),  Z_d = e_a + sum_{j != a, c_j = d} e_j,
    p(pos | q, d) = e_a / Z_d,  p(d | q) = softmax(W v + beta)_d   (v enters the head as a constant),
    L = mean_b -log sum_d p(d|q) p(pos|q,d)  +  lam * mean_b -log p(c_a | q).
dL/df is the gradient of L with the head's input and output held fixed; the head's gradients are
those of lam * mean_b -log p(c_a | q) alone (the mixture term takes p(d|q) as given weights).
One step: loss and the gradients with respect to f, W and beta; then plain SGD on the head
(W -= LR dW, beta -= LR dbeta) and NPID's bank update M_i = normalize(m M_i + (1 - m) v) for the
batch's (distinct) indices. Raw domain labels have a gap (0, 2, 3) to check the remapping to 0..K-1.
Analytic gradients are checked against float64 central differences before anything is written.
Inputs are float32 values; arithmetic is float64. numpy only.

Run: python3 scripts/make_darling_fixtures.py
"""
import json
import os

import numpy as np

from fixture_math import numeric_gradient

N, D, B, STEPS = 12, 4, 5, 3
TAU, MOMENTUM, LAM, LR = 0.5, 0.5, 0.7, 0.5
RAW_DOMAINS = [0, 2, 3, 0, 2, 3, 0, 2, 3, 0, 3, 2]


def f32(x):
    return np.asarray(x, dtype=np.float64).astype(np.float32).astype(np.float64)


def normalize_rows(x):
    return x / np.sqrt((x ** 2).sum(axis=1, keepdims=True))


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def parts(f, bank, domains, idx, W, beta, v_head):
    """The two loss terms; v_head is the head's (constant) input."""
    k = W.shape[0]
    v = normalize_rows(f)
    e = np.exp(v @ bank.T / TAU)                       # [B, N]
    pi = softmax(v_head @ W.T + beta)                 # [B, K]
    darling = domain = 0.0
    for r, a in enumerate(idx):
        z = np.array([e[r, a] + sum(e[r, j] for j in range(N) if j != a and domains[j] == d) for d in range(k)])
        darling -= np.log((pi[r] * e[r, a] / z).sum())
        domain -= np.log(pi[r, domains[a]])
    return darling / len(idx), domain / len(idx)


def loss(f, bank, domains, idx, W, beta, v_head):
    darling, domain = parts(f, bank, domains, idx, W, beta, v_head)
    return darling + LAM * domain


def head_loss(f, bank, domains, idx, W, beta, v_head):
    """The part of the loss the head learns from: lam times the domain term."""
    return LAM * parts(f, bank, domains, idx, W, beta, v_head)[1]


def analytic(f, bank, domains, idx, W, beta):
    """Loss terms and dL/df, dL/dW, dL/dbeta written out as in Sources/Methods/DARLINGLoss.swift."""
    k = W.shape[0]
    b = len(idx)
    norms = np.sqrt((f ** 2).sum(axis=1, keepdims=True))
    v = f / norms
    e = np.exp(v @ bank.T / TAU)
    pi = softmax(v @ W.T + beta)
    ds = np.zeros((b, N))
    dz = np.zeros((b, k))
    for r, a in enumerate(idx):
        z = np.array([e[r, a] + sum(e[r, j] for j in range(N) if j != a and domains[j] == d) for d in range(k)])
        joint = pi[r] * e[r, a] / z
        resp = joint / joint.sum()
        for j in range(N):
            if j != a:
                ds[r, j] = resp[domains[j]] * e[r, j] / z[domains[j]] / TAU
        ds[r, a] = -(resp * (1 - e[r, a] / z)).sum() / TAU
        onehot = np.eye(k)[domains[a]]
        dz[r] = LAM * (pi[r] - onehot)   # the head learns from the domain term only
    ds /= b
    dz /= b
    dv = ds @ bank
    df = (dv - v * (v * dv).sum(axis=1, keepdims=True)) / norms
    darling, domain = parts(f, bank, domains, idx, W, beta, v)
    return darling, domain, df, dz.T @ v, dz.sum(axis=0)


def main():
    rng = np.random.default_rng(2107)
    present = sorted(set(RAW_DOMAINS))
    domains = np.array([present.index(x) for x in RAW_DOMAINS])
    k = len(present)
    bank = f32(normalize_rows(rng.standard_normal((N, D))))
    W = f32(0.3 * rng.standard_normal((k, D)))
    beta = f32(0.1 * rng.standard_normal(k))
    start = {"bank": bank.ravel().tolist(), "weight": W.ravel().tolist(), "bias": beta.tolist()}
    steps, worst = [], 0.0
    for it in range(STEPS):
        idx = rng.permutation(N)[:B]
        f = f32(rng.standard_normal((B, D)))
        darling, domain, df, dW, dbeta = analytic(f, bank, domains, idx, W, beta)
        v = normalize_rows(f)
        checks = [
            (df, numeric_gradient(lambda x: loss(x.reshape(B, D), bank, domains, idx, W, beta, v), f.ravel()).reshape(B, D)),
            (dW, numeric_gradient(lambda x: head_loss(f, bank, domains, idx, x.reshape(k, D), beta, v), W.ravel()).reshape(k, D)),
            (dbeta, numeric_gradient(lambda x: head_loss(f, bank, domains, idx, W, x, v), beta.copy())),
        ]
        for got, want in checks:
            err = np.abs(got - want).max()
            worst = max(worst, err)
            assert err < 1e-7, f"analytic gradient off by {err}"
        W = W - LR * dW
        beta = beta - LR * dbeta
        for r, i in enumerate(idx):
            x = MOMENTUM * bank[i] + (1 - MOMENTUM) * v[r]
            bank[i] = x / np.sqrt((x ** 2).sum())
        steps.append({"indices": idx.tolist(), "features": f.ravel().tolist(), "loss": darling + LAM * domain,
                      "darling": darling, "domain": domain, "grad_features": df.ravel().tolist(),
                      "grad_weight": dW.ravel().tolist(), "grad_bias": dbeta.tolist(), "bank_after": bank.ravel().tolist()})
        print(f"step {it}: batch {idx.tolist()}, loss {darling + LAM * domain:.6f} (darling {darling:.6f}, domain {domain:.6f})")
    fixture = {"config": {"count": N, "dimension": D, "batch": B, "temperature": TAU, "momentum": MOMENTUM,
                          "domain_weight": LAM, "learning_rate": LR, "raw_domains": RAW_DOMAINS,
                          "dense_domains": domains.tolist()},
               "start": start, "steps": steps}
    out = os.path.join(os.path.dirname(__file__), "..", "Tests", "MethodsTests", "Fixtures", "darling_fixtures.json")
    with open(out, "w") as fh:
        json.dump(fixture, fh, indent=1)
    print(f"wrote {os.path.normpath(out)}: largest gradient error {worst:.2e}")


if __name__ == "__main__":
    main()
