"""Weighted kNN on raw pixels: the floor any learned Fashion-MNIST representation should beat.

Same protocol as invprop's monitor (SPEC.md): cosine similarity of L2-normalised vectors, top
K = 200 neighbours, class score sum of exp(sim / sigma) with sigma = 0.07, top-1 in percent.
Pixels are scaled to [0, 1] and centred by the training mean before normalising (without centring
every image is mostly positive and cosine similarity saturates). Needs numpy only.

    python3 scripts/raw_pixel_knn.py [--subset N] [--no-center]
"""
import argparse, gzip
import numpy as np

def idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)

def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dir", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--subset", type=int, default=60000)
    p.add_argument("--k", type=int, default=200)
    p.add_argument("--sigma", type=float, default=0.07)
    p.add_argument("--no-center", action="store_true")
    a = p.parse_args()
    xtr = idx(f"{a.dir}/train-images-idx3-ubyte.gz")[: a.subset].reshape(-1, 784).astype(np.float32) / 255
    ytr = idx(f"{a.dir}/train-labels-idx1-ubyte.gz")[: a.subset].astype(np.int64)
    xte = idx(f"{a.dir}/t10k-images-idx3-ubyte.gz").reshape(-1, 784).astype(np.float32) / 255
    yte = idx(f"{a.dir}/t10k-labels-idx1-ubyte.gz").astype(np.int64)
    if not a.no_center:
        mean = xtr.mean(0, keepdims=True)
        xtr, xte = xtr - mean, xte - mean
    xtr /= np.linalg.norm(xtr, axis=1, keepdims=True) + 1e-12
    xte /= np.linalg.norm(xte, axis=1, keepdims=True) + 1e-12
    correct1 = correct5 = 0
    for s in range(0, len(xte), 500):
        sim = xte[s:s + 500] @ xtr.T
        top = np.argpartition(-sim, a.k, axis=1)[:, : a.k]
        w = np.exp(np.take_along_axis(sim, top, 1) / a.sigma)
        scores = np.zeros((len(top), 10))
        np.add.at(scores, (np.arange(len(top))[:, None], ytr[top]), w)
        order = np.argsort(-scores, axis=1)
        correct1 += (order[:, 0] == yte[s:s + 500]).sum()
        correct5 += (order[:, :5] == yte[s:s + 500, None]).any(1).sum()
    print(f"raw pixels ({'uncentred' if a.no_center else 'centred'}), {len(xtr)} train images: "
          f"kNN top-1 {100 * correct1 / len(xte):.2f} %, top-5 {100 * correct5 / len(xte):.2f} %")

if __name__ == "__main__":
    main()
