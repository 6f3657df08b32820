"""Times a bundle's model.onnx alone in ONNX Runtime (no tokenisation, no queue), for comparing
with glassbox-classify's benches (crates/glassbox-classify/BENCH.md):

    .venv/bin/python models/tools/bench_model.py [--model PATH] [--rows 1 2 64] [--spin both]

Feeds `rows` x 64 tokens (random ids, full attention mask), the shape of the bench text's two
windows, and prints min / p50 per run and per row, with ONNX Runtime's intra-op threads spinning
(Python's default) and not spinning (glassbox-classify's default, `spin_wait: false`).
"""

import argparse
import os
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=os.path.join(ROOT, "models", "prompt-injection", "model.onnx"))
    ap.add_argument("--rows", type=int, nargs="+", default=[1, 2, 64])
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--threads", type=int, default=0, help="intra-op threads (0: ONNX Runtime's choice)")
    ap.add_argument("--spin", choices=["on", "off", "both"], default="both")
    ap.add_argument("--seconds", type=float, default=3.0, help="per shape and setting")
    args = ap.parse_args()
    import onnxruntime as ort

    spins = {"on": ["1"], "off": ["0"], "both": ["1", "0"]}[args.spin]
    rng = np.random.default_rng(0)
    print(f"{args.model} ({os.path.getsize(args.model) / 1e6:.0f} MB), load average {os.getloadavg()[0]:.2f}")
    for spin in spins:
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = args.threads
        opts.add_session_config_entry("session.intra_op.allow_spinning", spin)
        sess = ort.InferenceSession(args.model, opts, providers=["CPUExecutionProvider"])
        names = {i.name for i in sess.get_inputs()}
        for rows in args.rows:
            ids = rng.integers(1000, 20000, (rows, args.tokens)).astype(np.int64)
            ids[:, 0], ids[:, -1] = 101, 102
            feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
            feeds = {k: v for k, v in feeds.items() if k in names}
            for _ in range(3):
                sess.run(["scores"], feeds)
            times = []
            end = time.perf_counter() + args.seconds
            while time.perf_counter() < end or len(times) < 5:
                t = time.perf_counter()
                sess.run(["scores"], feeds)
                times.append(time.perf_counter() - t)
            t = np.array(times) * 1e3
            print(
                f"spin {'on ' if spin == '1' else 'off'} {rows}x{args.tokens}: min {t.min():.1f} ms, "
                f"p50 {np.median(t):.1f} ms ({np.median(t) / rows:.2f} ms/row), {len(t)} runs"
            )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
