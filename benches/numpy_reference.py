"""The reference implementation's evaluator, for a baseline in one run on this machine.

Reproduces `act()` and `applyAct()` of `wann_src/ind.py` (google/brain-tokyo-workshop, WANNRelease):
for every node in execution order, a dense dot product of all node activations with that node's column
of the weight matrix, then its activation. Runs a `.out` network at the 6 training weights over N
images (values do not change the cost) on one core, and prints edge-evaluations per second (one
enabled connection x one image x one weight value), the unit of `wann bench`.

    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 python3 benches/numpy_reference.py NET.out [IMAGES] [REPS]
"""
import sys
import time

import numpy as np


def apply_act(act_id, x):
    if act_id == 1:
        return x
    if act_id == 2:
        return 1.0 * (x > 0.0)
    if act_id == 3:
        return np.sin(np.pi * x)
    if act_id == 4:
        return np.exp(-np.multiply(x, x) / 2.0)
    if act_id == 5:
        return np.tanh(x)
    if act_id == 6:
        return (np.tanh(x / 2.0) + 1.0) / 2.0
    if act_id == 7:
        return -x
    if act_id == 8:
        return abs(x)
    if act_id == 9:
        return np.maximum(0, x)
    if act_id == 10:
        return np.cos(np.pi * x)
    if act_id == 11:
        return x ** 2
    return x


def act(w_mat, a_vec, n_input, n_output, in_pattern):
    w_mat = w_mat.copy()
    w_mat[np.isnan(w_mat)] = 0
    n_samples = in_pattern.shape[0]
    n_nodes = w_mat.shape[0]
    node_act = np.zeros((n_samples, n_nodes))
    node_act[:, 0] = 1
    node_act[:, 1:n_input + 1] = in_pattern
    for i_node in range(n_input + 1, n_nodes):
        raw = np.dot(node_act, w_mat[:, i_node]).squeeze()
        node_act[:, i_node] = apply_act(a_vec[i_node], raw)
    return node_act[:, -n_output:]


def main():
    path = sys.argv[1]
    images = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    reps = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    ind = np.loadtxt(path, delimiter=",")
    w_mat, a_vec = ind[:, :-1], ind[:, -1]
    enabled = (~np.isnan(w_mat)) & (w_mat != 0)
    n_conns = int(enabled.sum())
    x = np.random.default_rng(0).random((images, 256))
    best = None
    for _ in range(reps):
        t = time.perf_counter()
        for w in [-2.0, -1.0, -0.5, 0.5, 1.0, 2.0]:
            act(np.where(enabled, w, 0.0), a_vec, 256, 10, x)
        s = time.perf_counter() - t
        best = s if best is None else min(best, s)
    rate = n_conns * images * 6 / best
    print(f"numpy reference: {n_conns} connections, {w_mat.shape[0]} nodes, {images} images x 6 weights: "
          f"{best:.3f} s, {rate:.3e} edge-evaluations/s")


if __name__ == "__main__":
    main()
