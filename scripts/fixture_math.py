"""Helpers shared by the numpy fixture scripts (make_unmix_fixtures.py, make_odc_fixtures.py,
make_coke_fixtures.py): central differences in float64 to check analytic gradients."""
import numpy as np


def numeric_gradient(fun, x, h=1e-6):
    """d fun / d x by central differences, one coordinate at a time (x: float64 array)."""
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[i] += h
        down[i] -= h
        g[i] = (fun(up) - fun(down)) / (2 * h)
    return g
