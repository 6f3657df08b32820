"""Times a bundle's model.onnx alone in ONNX Runtime (no tokenisation, no queue), for comparing
with glassbox-classify's benches (crates/glassbox-classify/BENCH.md):

    .venv/bin/python models/tools/bench_model.py [--model PATH] [--rows 1 2 64] [--spin both]
    .venv/bin/python models/tools/bench_model.py --rows 2 --threads 2 --side-by-side

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
    ap.add_argument(
        "--side-by-side",
        action="store_true",
        help="also run each shape's rows as 1-row runs in parallel threads, one single-threaded "
        "session per row (glassbox-classify's default layout: one session per core), alternating "
        "with the batched run",
    )
    args = ap.parse_args()
    if args.side_by_side:
        return side_by_side(args)
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
            feeds = random_feeds(rng, rows, args.tokens, names)
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


def random_feeds(rng, rows, tokens, names):
    """`rows` x `tokens` random token ids between [CLS] and [SEP], full attention mask, for the
    graph inputs in `names`."""
    ids = rng.integers(1000, 20000, (rows, tokens)).astype(np.int64)
    ids[:, 0], ids[:, -1] = 101, 102
    feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
    return {k: v for k, v in feeds.items() if k in names}


def side_by_side(args):
    """One `rows` x `tokens` batch on one session with `--threads` intra-op threads, against the
    same rows as 1-row runs in parallel threads on single-threaded sessions, call by call."""
    from concurrent.futures import ThreadPoolExecutor

    import onnxruntime as ort

    def session(threads):
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        return ort.InferenceSession(args.model, opts, providers=["CPUExecutionProvider"])

    rng = np.random.default_rng(0)
    print(f"{args.model}, load average {os.getloadavg()[0]:.2f}")
    for rows in args.rows:
        batched = session(args.threads)
        feeds = random_feeds(rng, rows, args.tokens, {i.name for i in batched.get_inputs()})
        singles = [session(1) for _ in range(rows)]
        one = [{k: v[r : r + 1] for k, v in feeds.items()} for r in range(rows)]
        pool = ThreadPoolExecutor(rows)

        def parallel():
            list(pool.map(lambda r: singles[r].run(["scores"], one[r]), range(rows)))

        def batch():
            batched.run(["scores"], feeds)

        for f in (batch, parallel, batch, parallel):
            f()
        times = {batch: [], parallel: []}
        end = time.perf_counter() + 2 * args.seconds
        while time.perf_counter() < end or len(times[batch]) < 5:
            for f in (batch, parallel):
                t = time.perf_counter()
                f()
                times[f].append(time.perf_counter() - t)
        for f, label in ((batch, f"one {rows}x{args.tokens} batch, {args.threads or 'ORT-chosen'} threads"),
                         (parallel, f"{rows} x 1x{args.tokens} side by side, 1 thread each")):
            t = np.array(times[f]) * 1e3
            print(f"{label}: min {t.min():.1f} ms, p50 {np.median(t):.1f} ms, {len(t)} runs")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
