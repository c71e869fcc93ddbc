#!/usr/bin/env python3
"""Reference values for the Swift InvP / NPID losses (Tests/MethodsTests/Fixtures/loss_fixtures.json).

The losses are computed the way the authors' code (WangFeng18/InvariancePropagation, objective.py:
InvariancePropagationLoss, PointLoss, MemoryBank_v1, BinaryRampUp / GaussianRampUp) computes them,
re-written here with torch ops; dL/df comes from autograd. Inputs are drawn in float32 (so the Swift
test reads exactly the same numbers) and all arithmetic runs in float64, so the fixture holds the
exact answer for those inputs. "exact" propagation (a BFS without duplicates or the anchor) is this
project's extension; it is written here as a plain loop.

Run: python3 scripts/make_loss_fixtures.py   (torch >= 2.0; deterministic, CPU only)
"""
import json
import math
import os

import torch

EPS = 1e-7


def l2_normalize(x):
    return x / torch.sqrt(torch.sum(x ** 2, dim=1).unsqueeze(1))


def ramp(kind, epoch, T):
    if kind == "binary":
        return float(int(epoch > T))
    if kind == "gaussian":
        m = max(1 - epoch / T, 0) ** 2
        return math.exp(-5 * m)
    return 1.0


def propagate_reference(neigh, point_indices, L):
    # objective.py InvariancePropagationLoss.propagate, unchanged in substance.
    cur_point = 0
    matrix = neigh[point_indices]
    end_point = matrix.size(1) - 1
    layer = 2
    while layer <= L:
        current_nodes = matrix[:, cur_point]
        matrix = torch.cat([matrix, neigh[current_nodes]], dim=1)
        if cur_point == end_point:
            layer += 1
            end_point = matrix.size(1) - 1
        cur_point += 1
    return matrix


def propagate_exact(neigh, anchor, L):
    seen = {anchor}
    out, frontier = [], [anchor]
    for _ in range(L):
        nxt = []
        for u in frontier:
            for w in neigh[u].tolist():
                if w not in seen:
                    seen.add(w)
                    nxt.append(w)
        if not nxt:
            break
        out += nxt
        frontier = nxt
    return out


def invp_case(inputs, cfg):
    f = inputs["f"].clone().requires_grad_(True)
    idx, bank, neigh = inputs["idx"], inputs["bank"], inputs["neigh"]
    B = f.size(0)
    v = l2_normalize(f)
    all_sim = torch.exp(torch.matmul(v, bank.t()) / cfg["temperature"])
    self_sim = all_sim[list(range(B)), idx]
    background_sim, background_indices = all_sim.topk(k=cfg["M"], dim=1, largest=True, sorted=True)
    loss_ins = -(self_sim / background_sim.sum(dim=1) + EPS).log().mean()
    scale = cfg["lam"] * ramp(cfg["ramp"], cfg["epoch"], cfg["T"]) if cfg["invariance"] else 0.0
    candidates, positives = [], []
    if cfg["invariance"]:
        largest = not cfg["hard"]
        bg_excl = background_sim.sum(dim=1) - self_sim
        den = bg_excl if cfg["exclusive"] else bg_excl + self_sim
        if cfg["propagation"] == "reference":
            neighs = propagate_reference(neigh, idx, cfg["L"])
            pos_sim = torch.gather(all_sim, index=neighs, dim=1)
            p = min(cfg["P"], pos_sim.size(1))
            hp_sim, hp_idx = pos_sim.topk(k=p, dim=1, largest=largest, sorted=True)
            loss_inv = -(hp_sim.sum(dim=1) / den + EPS).log().mean()
            candidates = neighs.tolist()
            positives = torch.gather(neighs, index=hp_idx, dim=1).tolist()
        else:
            terms = []
            for b in range(B):
                cand = propagate_exact(neigh, int(idx[b]), cfg["L"])
                candidates.append(cand)
                if cand:
                    ps = all_sim[b, torch.tensor(cand, dtype=torch.long)]
                    hs, hi = ps.topk(k=min(cfg["P"], len(cand)), largest=largest, sorted=True)
                    positives.append([cand[i] for i in hi.tolist()])
                    hsum = hs.sum()
                else:
                    positives.append([])
                    hsum = torch.zeros((), dtype=torch.float64)
                terms.append(-(hsum / den[b] + EPS).log())
            loss_inv = torch.stack(terms).mean()
    else:
        loss_inv = torch.zeros((), dtype=torch.float64)
    loss = loss_ins + scale * loss_inv
    loss.backward()
    # update_nn of the reference code
    k = cfg["k"]
    nei = background_indices[:, :k + 1]
    backup = nei[:, k:k + 1].expand_as(nei)
    nei_excl = torch.where(nei == idx.unsqueeze(1), backup, nei)[:, :k]
    return {
        "loss": loss.item(), "instance_loss": loss_ins.item(), "invariance_loss": loss_inv.item(),
        "scale": scale, "gradient": f.grad.flatten().tolist(),
        "nearest": background_indices[:, :k + 1].flatten().tolist(),
        "table_rows_after": nei_excl.flatten().tolist(),
        "candidates": candidates, "positives": positives,
    }


def npid_case(inputs, tau):
    # objective.py PointLoss
    f = inputs["f"].clone().requires_grad_(True)
    idx, bank = inputs["idx"], inputs["bank"]
    points_sim = torch.exp(torch.matmul(l2_normalize(f), bank.t()) / tau)
    positive_sim = points_sim[list(range(f.size(0))), idx]
    loss = -(positive_sim / points_sim.sum(dim=1) + EPS).log().mean()
    loss.backward()
    return {"temperature": tau, "loss": loss.item(), "gradient": f.grad.flatten().tolist()}


def make_inputs(seed, B, D, N, k):
    g = torch.Generator().manual_seed(seed)
    stdv = 1.0 / math.sqrt(D / 3)
    bank = (torch.rand(N, D, generator=g) * 2 * stdv - stdv)
    # half the rows normalised, as after some bank updates
    bank[: N // 2] = l2_normalize(bank[: N // 2])
    idx = torch.randperm(N, generator=g)[:B]
    f = torch.randn(B, D, generator=g)
    # every other anchor close to its own bank entry so update_nn's anchor replacement is exercised
    f[::2] = bank[idx[::2]] * 3 + 0.05 * torch.randn(B // 2 + B % 2, D, generator=g)
    neigh = torch.randint(0, N, (N, k), generator=g)
    neigh[idx[0], 0] = idx[0]          # anchor inside its own row: duplicates and self in candidates
    neigh[neigh[idx[1], 0], 1] = idx[1]
    return {"f": f.double(), "idx": idx, "bank": bank.double(), "neigh": neigh}


def bank_update(inputs, m):
    # MemoryBank_v1.update_points
    points = inputs["bank"].clone()
    idx = inputs["idx"]
    data_replace = m * points[idx, :] + (1 - m) * l2_normalize(inputs["f"])
    return l2_normalize(data_replace).flatten().tolist()


def main():
    sets = []
    for name, seed, B, D, N, M, k, L, P, tau in [
        ("small", 1, 4, 8, 40, 16, 2, 2, 3, 0.1),
        ("medium", 2, 8, 16, 300, 64, 4, 3, 20, 0.07),
    ]:
        inputs = make_inputs(seed, B, D, N, k)
        base = {"temperature": tau, "M": M, "k": k, "L": L, "P": P, "lam": 0.6, "T": 30,
                "ramp": "binary", "epoch": 31, "hard": True, "exclusive": True,
                "propagation": "reference", "invariance": True}
        variants = [
            ("default", {}),
            ("warmup_off", {"epoch": 30}),
            ("non_exclusive", {"exclusive": False}),
            ("easy", {"hard": False}),
            ("easy_non_exclusive_gaussian", {"hard": False, "exclusive": False, "ramp": "gaussian", "epoch": 12}),
            ("exact", {"propagation": "exact"}),
            ("exact_easy", {"propagation": "exact", "hard": False, "P": min(2 * P, sum(k ** l for l in range(1, L + 1)))}),
            ("instance_only", {"invariance": False}),
        ]
        cases = []
        for vname, change in variants:
            cfg = dict(base, **change)
            out = invp_case(inputs, cfg)
            cases.append({"name": vname, "config": cfg, **out})
        sets.append({
            "name": name, "B": B, "D": D, "N": N,
            "features": inputs["f"].flatten().tolist(), "indices": inputs["idx"].tolist(),
            "bank": inputs["bank"].flatten().tolist(), "table": inputs["neigh"].flatten().tolist(),
            "bank_rows_after_update": bank_update(inputs, 0.5),
            "invp": cases, "npid": npid_case(inputs, tau),
        })
    here = os.path.dirname(os.path.abspath(__file__))
    out = os.path.join(here, "..", "Tests", "MethodsTests", "Fixtures", "loss_fixtures.json")
    with open(out, "w") as fh:
        json.dump({"generator": "scripts/make_loss_fixtures.py", "torch": torch.__version__, "sets": sets}, fh)
    print("wrote", os.path.normpath(out))


if __name__ == "__main__":
    main()
