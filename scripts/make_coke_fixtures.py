#!/usr/bin/env python3
"""Reference values for CoKe, single view, first stage (Tests/MethodsTests/Fixtures/coke_fixtures.json).

Follows the authors' code (idstcv/CoKe, coke/builder_single_view.py: CoKe.gen_label, update_label,
get_label, update_center, update_center_mini_batch, forward; main_single_view.py: train, the loss
beta * sum_j CE(pred_j) / H + (1 - beta) * sum_j CE(proj_j) / H, and update_center after each epoch)
for epochs before `stage` with label size 1:
  xp = normalize(x), pp = normalize(p) (x / max(|x|, 1e-12)); proj_j = xp C_j / T, pred_j = pp C_j / T
  with C_j the previous-epoch centres of head j ([D, K_j], unit columns).
  Epoch 0: per head, labels = argmax(xp cur_j + dual_j); store them; update dual_j and cur_j; the
  target is the label just stored. Later epochs: the target is the stored label (from the previous
  epoch), then labels, dual and centre updates as above, then the labels are stored.
  Dual update: dual[k] -= lr * n_k / B for the clusters in the batch, dual += lr * ratio / K_j,
  dual = max(dual, 0). Centre update: running mean with counters (alpha = old count / new count),
  then the columns that appeared are normalised.
  End of epoch: previous centres <- current centres, counters <- 0; current centres and duals stay.
Gradients of the loss with respect to x and p (unnormalised) are analytic and checked against float64
central differences (h = 1e-6) before anything is written. Inputs are float32 values (so the Swift test
reads exactly these numbers) and all arithmetic runs in float64. Every argmax is checked to win by a
clear margin, so float32 arithmetic in Swift makes the same choices. numpy only.

Run: python3 scripts/make_coke_fixtures.py
"""
import json
import os

import numpy as np

from fixture_math import numeric_gradient

N, D, B = 12, 4, 4
CLUSTERS = [3, 4]
T, DUAL_LR, RATIO, BETA = 0.1, 20.0, 0.4, 0.5
EPOCHS = 2
MARGIN = 1e-3  # smallest gap allowed between the winning score and the runner-up


def f32(x):
    return np.asarray(x, dtype=np.float64).astype(np.float32).astype(np.float64)


def normalize_rows(x):
    return x / np.maximum(np.sqrt((x ** 2).sum(axis=1, keepdims=True)), 1e-12)


def normalize_columns(c):
    return c / np.maximum(np.sqrt((c ** 2).sum(axis=0, keepdims=True)), 1e-12)


def softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def mean_ce(z, targets):
    """Mean cross-entropy and its gradient with respect to the logits."""
    p = softmax(z)
    rows = np.arange(len(targets))
    loss = float(np.mean(-np.log(p[rows, targets])))
    dz = p.copy()
    dz[rows, targets] -= 1.0
    return loss, dz / len(targets)


def normalize_backward(v, g):
    """Gradient through v / |v| (|v| > 1e-12 here)."""
    n = np.sqrt((v ** 2).sum(axis=1, keepdims=True))
    u = v / n
    return (g - u * (u * g).sum(axis=1, keepdims=True)) / n


def coke_loss(x, p, previous, targets):
    """Loss and analytic gradients with respect to x (encoder) and p (predictor)."""
    xp, pp = normalize_rows(x), normalize_rows(p)
    heads = len(previous)
    loss, gxp, gpp = 0.0, np.zeros_like(xp), np.zeros_like(pp)
    for c, t in zip(previous, targets):
        l_pred, d_pred = mean_ce(pp @ c / T, t)
        l_proj, d_proj = mean_ce(xp @ c / T, t)
        loss += BETA * l_pred / heads + (1 - BETA) * l_proj / heads
        gpp += BETA / heads * (d_pred @ c.T) / T
        gxp += (1 - BETA) / heads * (d_proj @ c.T) / T
    return loss, normalize_backward(x, gxp), normalize_backward(p, gpp)



def check_gradients(x, p, previous, targets):
    _, gx, gp = coke_loss(x, p, previous, targets)
    nx = numeric_gradient(lambda v: coke_loss(v, p, previous, targets)[0], x)
    np_ = numeric_gradient(lambda v: coke_loss(x, v, previous, targets)[0], p)
    worst = max(float(np.abs(gx - nx).max()), float(np.abs(gp - np_).max()))
    assert worst < 1e-6, f"analytic and numeric gradients differ by {worst}"
    return worst


def assign(xp, current, dual, margins):
    scores = xp @ current + dual
    labels = np.argmax(scores, axis=1)
    for row, k in zip(scores, labels):
        margins.append(row[k] - np.max(np.delete(row, k)))
    return labels


def update_head(xp, labels, head):
    """Dual ascent step and running-mean centre update of one head (update_center_mini_batch)."""
    k_j = head["current"].shape[1]
    ks, ns = np.unique(labels, return_counts=True)
    head["dual"][ks] -= DUAL_LR / len(labels) * ns
    head["dual"] += DUAL_LR * (RATIO / k_j)
    head["dual"][head["dual"] < 0] = 0.0
    before = head["counter"][ks].copy()
    head["counter"][ks] += ns
    alpha = before / head["counter"][ks]
    head["current"][:, ks] *= alpha
    for i, k in enumerate(labels):
        head["current"][:, k] += xp[i] / head["counter"][k]
    head["current"][:, ks] = normalize_columns(head["current"][:, ks])


def snapshot(heads, key, as_int=False):
    if as_int:
        return [[int(v) for v in h[key]] for h in heads]
    return [h[key].ravel().tolist() for h in heads]


def main():
    rng = np.random.default_rng(5)
    heads = []
    for k in CLUSTERS:
        centres = f32(normalize_columns(rng.standard_normal((D, k))))
        heads.append({"previous": centres.copy(), "current": centres.copy(), "dual": np.zeros(k),
                      "counter": np.zeros(k), "assigned": np.ones(N, dtype=int)})
    initial = {"centres": snapshot(heads, "current"), "assignments": snapshot(heads, "assigned", as_int=True)}

    base_x = rng.standard_normal((N, D))
    base_p = rng.standard_normal((N, D))
    margins, worst_grad, epochs = [], 0.0, []
    for epoch in range(EPOCHS):
        order = rng.permutation(N)
        steps = []
        for start in range(0, N, B):
            indices = order[start:start + B]
            x = f32(base_x[indices] + 0.3 * rng.standard_normal((B, D)))
            p = f32(base_p[indices] + 0.3 * rng.standard_normal((B, D)))
            xp = normalize_rows(x)
            previous = [h["previous"].copy() for h in heads]
            targets, assigned = [], []
            for h in heads:
                if epoch == 0:
                    labels = assign(xp, h["current"], h["dual"], margins)
                    h["assigned"][indices] = labels
                    update_head(xp, labels, h)
                    targets.append(h["assigned"][indices].copy())
                else:
                    targets.append(h["assigned"][indices].copy())
                    labels = assign(xp, h["current"], h["dual"], margins)
                    update_head(xp, labels, h)
                    h["assigned"][indices] = labels
                assigned.append(labels)
            loss, gx, gp = coke_loss(x, p, previous, targets)
            worst_grad = max(worst_grad, check_gradients(x, p, previous, targets))
            steps.append({"indices": indices.tolist(), "encoder": x.ravel().tolist(), "predictor": p.ravel().tolist(),
                          "targets": [t.tolist() for t in targets], "assigned": [a.tolist() for a in assigned],
                          "loss": loss, "grad_encoder": gx.ravel().tolist(), "grad_predictor": gp.ravel().tolist(),
                          "duals": snapshot(heads, "dual"), "counters": snapshot(heads, "counter", as_int=True),
                          "current_centres": snapshot(heads, "current"), "previous_centres": snapshot(heads, "previous")})
            print(f"epoch {epoch} batch {indices.tolist()}: targets {[t.tolist() for t in targets]}, "
                  f"assigned {[a.tolist() for a in assigned]}, loss {loss:.5f}")
        for h in heads:  # update_center: previous <- current, counters <- 0
            h["previous"] = h["current"].copy()
            h["counter"] = np.zeros_like(h["counter"])
        epochs.append({"epoch": epoch, "steps": steps,
                       "end": {"previous_centres": snapshot(heads, "previous"), "current_centres": snapshot(heads, "current"),
                               "counters": snapshot(heads, "counter", as_int=True), "duals": snapshot(heads, "dual"),
                               "assignments": snapshot(heads, "assigned", as_int=True)}})
    smallest = float(min(margins))
    assert smallest > MARGIN, f"an assignment is too close to call: margin {smallest}"

    fixture = {
        "config": {"count": N, "dimension": D, "clusters": CLUSTERS, "batch": B, "temperature": T,
                   "dual_lr": DUAL_LR, "ratio": RATIO, "beta": BETA},
        "initial": initial,
        "epochs": epochs,
    }
    out = os.path.join(os.path.dirname(__file__), "..", "Tests", "MethodsTests", "Fixtures", "coke_fixtures.json")
    with open(out, "w") as f:
        json.dump(fixture, f, indent=1)
    print(f"wrote {os.path.normpath(out)}: smallest assignment margin {smallest:.4f}, largest gradient error {worst_grad:.2e}")


if __name__ == "__main__":
    main()
