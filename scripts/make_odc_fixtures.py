#!/usr/bin/env python3
"""Reference values for ODC, online deep clustering (Tests/MethodsTests/Fixtures/odc_fixtures.json).

Follows the steps of the canonical code in open-mmlab/mmselfsup:
  mmselfsup/models/memories/odc_memory.py (commit 8cee32538b2f64699637c83bf47d3d05b069dea5):
    init_memory, update_samples_memory, update_centroids_memory, deal_with_small_clusters,
    _redirect_empty_clusters, _partition_max_cluster;
  mmselfsup/engine/hooks/odc_hook.py (commit 4f2bfecc4d214b72892d7b37461fc154de79de96):
    after_train_iter (centroid update every centroid_interval iterations, small clusters every
    iteration, then set_reweight);
  mmselfsup/models/algorithms/odc.py (commit e6b68865e44400582c519e23307571e0756d247d):
    loss (head loss on the samples' current labels, then the samples-memory update).
One iteration here is, in order: (a) class-weighted cross-entropy of z = f W^T + b against the current
labels, with nn.CrossEntropyLoss(weight=w) normalisation sum_i w[y_i] nll_i / sum_i w[y_i];
(b) momentum update of the batch's memory rows and relabelling against the centroids; (c) every
centroid_interval-th iteration (1-based) every non-empty centroid becomes its members' mean;
(d) small clusters are emptied into the nearest non-small cluster and refilled by splitting the
largest cluster; (e) loss weights (1 / (count + 1e-10)) ** 0.5, normalised to sum 1.

The split is this project's deterministic 2-means, not sklearn's KMeans with random init that
mmselfsup calls: the points are the members' memory rows in ascending index order; centre 0 is the
first point, centre 1 the point with the smallest dot product with it (first on ties); then at most
20 rounds of (assign each point to the nearer centre by squared Euclidean distance, ties to centre 0;
stop if no assignment changed; stop if a side is empty; centres become the means). The side holding
the first point keeps the old label, the other side gets the small cluster's label. If a side ends
empty, the points at odd positions (1, 3, 5, ... 0-based) get the small cluster's label instead.

Gradients of the loss with respect to f, W and b are analytic and checked against float64 central
differences (h = 1e-6) before anything is written. Inputs are float32 values (so the Swift test reads
exactly these numbers) and all arithmetic runs in float64. Every argmax, argmin and 2-means assignment
is checked to win by a clear margin, so float32 arithmetic in Swift makes the same discrete choices.
numpy only.

Run: python3 scripts/make_odc_fixtures.py
"""
import json
import os

import numpy as np

from fixture_math import numeric_gradient

N, D, K, B = 24, 4, 5, 6
MOMENTUM = 0.5
MIN_CLUSTER = 3
CENTROID_INTERVAL = 2
REWEIGHT_POW = 0.5
MARGIN = 1e-3  # smallest gap allowed between the winner and the runner-up of any discrete choice


def f32(x):
    return np.asarray(x, dtype=np.float64).astype(np.float32).astype(np.float64)


def unit(v):
    v = np.asarray(v, dtype=np.float64)
    return v / np.sqrt((v ** 2).sum())


def memory_normalize(x):
    """Rows divided by (norm + 1e-10), as odc_memory.py does."""
    return x / (np.sqrt((x ** 2).sum(axis=1, keepdims=True)) + 1e-10)


class Margins:
    def __init__(self):
        self.smallest = np.inf
        self.where = None

    def note(self, gap, what):
        if gap < self.smallest:
            self.smallest, self.where = gap, what


def first_argmax(scores, margins, what):
    k = int(np.argmax(scores))
    if len(scores) > 1:
        margins.note(scores[k] - np.max(np.delete(scores, k)), what)
    return k


def reweight(labels):
    counts = np.bincount(labels, minlength=K).astype(np.float64)
    inv = (1.0 / (counts + 1e-10)) ** REWEIGHT_POW
    return inv / inv.sum()


def centroids_of(memory, labels, old):
    """Every non-empty cluster's mean memory row; empty clusters keep their old centroid."""
    out = old.copy()
    for k in range(K):
        members = np.where(labels == k)[0]
        if len(members) > 0:
            out[k] = memory[members].mean(axis=0)
    return out


def weighted_ce(f, W, b, targets, weights):
    """Loss and analytic gradients of sum_i w[y_i] (-log softmax(z_i)[y_i]) / sum_i w[y_i]."""
    z = f @ W.T + b
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    rows = np.arange(len(targets))
    wi = weights[targets]
    total = wi.sum()
    loss = float((wi * -np.log(p[rows, targets])).sum() / total)
    dz = p.copy()
    dz[rows, targets] -= 1.0
    dz *= (wi / total)[:, None]
    return loss, dz @ W, dz.T @ f, dz.sum(axis=0)



def check_gradients(f, W, b, targets, weights):
    _, gf, gW, gb = weighted_ce(f, W, b, targets, weights)
    pairs = [
        (gf, numeric_gradient(lambda x: weighted_ce(x, W, b, targets, weights)[0], f)),
        (gW, numeric_gradient(lambda x: weighted_ce(f, x, b, targets, weights)[0], W)),
        (gb, numeric_gradient(lambda x: weighted_ce(f, W, x, targets, weights)[0], b)),
    ]
    worst = max(float(np.abs(a - n).max()) for a, n in pairs)
    assert worst < 1e-6, f"analytic and numeric gradients differ by {worst}"
    return worst


def two_means(points, margins, what):
    """Side (0 or 1) of every point; side 1 is relabelled. See the module docstring."""
    n = len(points)
    dots = points @ points[0]
    far = int(np.argmin(dots))
    margins.note(np.min(np.delete(dots, far)) - dots[far], what + " far point")
    centres = np.stack([points[0], points[far]])
    side = None
    for _ in range(20):
        d = ((points[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
        for i in range(n):
            margins.note(abs(d[i, 0] - d[i, 1]), f"{what} point {i}")
        new = (d[:, 1] < d[:, 0]).astype(int)
        if side is not None and np.array_equal(new, side):
            break
        side = new
        if side.all() or not side.any():
            break
        centres = np.stack([points[side == 0].mean(axis=0), points[side == 1].mean(axis=0)])
    side = (side != side[0]).astype(int)  # the side with the first point keeps the old label
    if side.all() or not side.any():
        side = np.arange(n) % 2
    return side


def iterate(state, it, indices, feats, W, b, margins):
    """One ODC iteration (a)-(e); updates state in place and returns the fixture step."""
    memory, labels, centroids, weights = state["memory"], state["labels"], state["centroids"], state["weights"]
    targets = labels[indices].copy()
    loss, gf, gW, gb = weighted_ce(feats, W, b, targets, weights)
    step = {"indices": indices.tolist(), "features": feats.ravel().tolist(), "targets": targets.tolist(),
            "loss_weights": weights.tolist(), "loss": loss, "grad_features": gf.ravel().tolist(),
            "grad_weight": gW.ravel().tolist(), "grad_bias": gb.tolist()}

    # (b) samples memory
    fresh = memory_normalize(feats)
    mixed = (1 - MOMENTUM) * memory[indices] + MOMENTUM * fresh
    memory[indices] = memory_normalize(mixed)
    new = np.array([first_argmax(centroids @ memory[i], margins, f"iteration {it} label of {i}") for i in indices])
    change = float(np.mean(new != labels[indices]))
    labels[indices] = new
    step.update({"memory": memory.ravel().tolist(), "labels_after_update": labels.tolist(), "change_ratio": change})

    # (c) centroids memory
    updated = it % CENTROID_INTERVAL == 0
    if updated:
        centroids[:] = centroids_of(memory, labels, centroids)
    step.update({"centroids_updated": updated, "centroids_after_update": centroids.ravel().tolist()})

    # (d) small clusters: empty them, then refill each by splitting the largest cluster
    counts = np.bincount(labels, minlength=K)
    small = np.where(counts < MIN_CLUSTER)[0]
    keep = np.setdiff1d(np.arange(K), small)
    emptied = {}
    for s in small:
        members = np.where(labels == s)[0]
        emptied[int(s)] = members.tolist()
        for i in members:
            labels[i] = keep[first_argmax(centroids[keep] @ memory[i], margins, f"iteration {it} dissolve {i}")]
    splits = []
    for e in small:
        largest = int(np.argmax(np.bincount(labels, minlength=K)))
        members = np.where(labels == largest)[0]
        assert len(members) >= 2
        side = two_means(memory[members], margins, f"iteration {it} split for {e}")
        labels[members[side == 1]] = e
        centroids[largest] = memory[labels == largest].mean(axis=0)
        centroids[e] = memory[labels == e].mean(axis=0)
        splits.append((int(e), largest, members[side == 0].tolist(), members[side == 1].tolist()))

    # (e) loss weights for the next iteration
    state["weights"] = reweight(labels)
    step.update({"small_clusters": small.tolist(), "labels": labels.tolist(), "centroids": centroids.ravel().tolist(),
                 "next_loss_weights": state["weights"].tolist(), "counts": np.bincount(labels, minlength=K).tolist()})
    return step, counts, emptied, splits


def main():
    rng = np.random.default_rng(11)
    e = np.eye(D)
    # Sub-groups: cluster 0 holds two clearly separated groups (A, B) for the first split; cluster 4
    # lies close to cluster 1, so its members are absorbed by cluster 1 when it is dissolved.
    prototypes = {
        "A": unit(e[0] + 0.4 * e[3]), "B": unit(e[0] - 0.4 * e[3]),
        "one": e[1], "two": unit(-e[1] - 0.3 * e[2] + 0.2 * e[3]),
        "three": unit(-e[0] + 0.3 * e[2]), "four": unit(e[1] + 0.6 * e[2]),
    }
    plan = [("A", 0)] * 5 + [("B", 0)] * 4 + [("one", 1)] * 5 + [("two", 2)] * 4 + [("three", 3)] * 3 + [("four", 4)] * 3
    order = rng.permutation(N)
    groups = [plan[j][0] for j in order]
    start_labels = np.array([plan[j][1] for j in order])
    scales = rng.uniform(0.5, 2.0, size=(N, 1))
    start_features = f32(scales * (np.stack([prototypes[g] for g in groups]) + 0.05 * rng.standard_normal((N, D))))

    memory = memory_normalize(start_features)
    centroids = centroids_of(memory, start_labels, np.zeros((K, D)))
    state = {"memory": memory, "labels": start_labels.copy(), "centroids": centroids, "weights": reweight(start_labels)}
    start = {"features": start_features.ravel().tolist(), "labels": start_labels.tolist(),
             "memory": memory.ravel().tolist(), "centroids": centroids.ravel().tolist(),
             "loss_weights": state["weights"].tolist()}

    W = f32(0.5 * rng.standard_normal((K, D)))
    b = f32(0.1 * rng.standard_normal(K))
    margins = Margins()

    def members_of(k):
        return [int(i) for i in np.where(state["labels"] == k)[0]]

    # Planned moves per iteration (sample -> cluster it is pushed towards); the rest of the batch stays.
    steps, worst_grad = [], 0.0
    for it in range(1, 5):
        if it == 1:
            moves = {members_of(4)[0]: 1}  # cluster 4 drops to 2 members: dissolved, cluster 0 split
        elif it == 2:
            moves = {members_of(2)[0]: 3}  # cluster 2 drops to 3: not small
        elif it == 3:
            moves = dict(zip(members_of(2), [0, 3, 4]))  # cluster 2 empties completely
        else:
            moves = {members_of(0)[-1]: 1}
        others = np.setdiff1d(np.arange(N), list(moves))
        stay = rng.choice(others, size=B - len(moves), replace=False)
        indices = rng.permutation(np.concatenate([np.array(list(moves), dtype=int), stay]))
        rows = []
        for i in indices:
            m = state["memory"][i]
            if i in moves:
                direction = 2 * unit(state["centroids"][moves[i]]) - m
            else:
                direction = m
            rows.append(rng.uniform(0.5, 2.0) * (unit(direction) + 0.05 * rng.standard_normal(D)))
        feats = f32(np.stack(rows))
        worst_grad = max(worst_grad, check_gradients(feats, W, b, state["labels"][indices], state["weights"]))
        step, counts, emptied, splits = iterate(state, it, indices, feats, W, b, margins)
        for i, t in moves.items():
            assert step["labels_after_update"][i] == t, f"iteration {it}: sample {i} did not move to {t}"
        if it == 1:
            assert step["small_clusters"] == [4] and len(emptied[4]) == 2, (step["small_clusters"], emptied)
            _, largest, kept, moved = splits[0]
            assert largest == 0
            assert len({groups[i] for i in kept}) == 1 and len({groups[i] for i in moved}) == 1, "split mixes A and B"
        if it == 2:
            assert step["small_clusters"] == [] and step["centroids_updated"]
        if it == 3:
            assert step["small_clusters"] == [2] and counts[2] == 0 and emptied[2] == []
        steps.append(step)
        print(f"iteration {it}: batch {indices.tolist()}, loss {step['loss']:.5f}, change {step['change_ratio']:.3f}, "
              f"small {step['small_clusters']}, splits {[(s[0], s[1], len(s[2]), len(s[3])) for s in splits]}, "
              f"counts {step['counts']}")
    assert margins.smallest > MARGIN, f"a discrete choice is too close to call: {margins.smallest} at {margins.where}"

    fixture = {
        "config": {"count": N, "dimension": D, "clusters": K, "batch": B, "momentum": MOMENTUM,
                   "min_cluster": MIN_CLUSTER, "centroid_interval": CENTROID_INTERVAL, "reweight_power": REWEIGHT_POW},
        "start": start,
        "head": {"weight": W.ravel().tolist(), "bias": b.tolist()},
        "steps": steps,
    }
    out = os.path.join(os.path.dirname(__file__), "..", "Tests", "MethodsTests", "Fixtures", "odc_fixtures.json")
    with open(out, "w") as f:
        json.dump(fixture, f, indent=1)
    print(f"wrote {os.path.normpath(out)}: smallest decision margin {margins.smallest:.4f} ({margins.where}), "
          f"largest gradient error {worst_grad:.2e}")


if __name__ == "__main__":
    main()
