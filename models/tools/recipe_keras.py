"""Toxicity bundle: the toxic-comment-classifier Keras BiLSTM as ONNX, and its Keras tokenizer as
a `tokenizers` WordLevel tokenizer.json. Checked against a numpy re-implementation of the Keras
forward pass and of `Tokenizer.texts_to_sequences` before anything is written."""

import json
import os
import pickle

import h5py
import numpy as np
import onnx

import onnx_graphs

CHECK_TEXTS = [
    "You are a complete idiot and I hate you",
    "Thank you for the helpful edit, the article reads much better now.",
    "I will find you and kill you",
    "What a stupid, useless piece of garbage",
    "The meeting is moved to Tuesday at 10:00; please update the wiki page.",
]


class _Opaque:
    """Stands in for keras' Tokenizer class so the pickle loads without keras."""

    def __setstate__(self, state):
        self.__dict__.update(state)


class _Unpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if module in ("builtins", "collections"):
            return super().find_class(module, name)
        if module.startswith("keras") and name == "Tokenizer":
            return _Opaque
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from the tokenizer pickle")


def keras_sequence(tok, text):
    """keras' Tokenizer.texts_to_sequences for one text (char_level False, no oov token)."""
    t = text.lower() if tok["lower"] else text
    t = t.translate(str.maketrans({c: tok["split"] for c in tok["filters"]}))
    out = []
    for w in (w for w in t.split(tok["split"]) if w):
        i = tok["word_index"].get(w)
        if i is not None and i < tok["num_words"]:
            out.append(i)
    return out


def pad_pre(seqs, maxlen):
    out = np.zeros((len(seqs), maxlen), dtype=np.int64)
    for r, s in enumerate(seqs):
        s = s[-maxlen:]
        if s:
            out[r, maxlen - len(s) :] = s
    return out


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def keras_forward(ids, emb, fwd, bwd, d1, d2):
    """numpy reference of the Keras model (gate order i, f, c, o)."""
    x = emb[ids]  # (B, T, E)

    def run(cell, xs):
        k, r, b = cell
        units = r.shape[0]
        h = np.zeros((xs.shape[0], units), np.float64)
        c = np.zeros_like(h)
        outs = []
        for t in range(xs.shape[1]):
            z = xs[:, t] @ k + h @ r + b
            i, f, g, o = (z[:, j * units : (j + 1) * units] for j in range(4))
            c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
            h = sigmoid(o) * np.tanh(c)
            outs.append(h)
        return np.stack(outs, axis=1)

    yf = run(fwd, x)
    yb = run(bwd, x[:, ::-1])[:, ::-1]
    pooled = np.concatenate([yf, yb], axis=-1).max(axis=1)
    h = np.maximum(pooled @ d1[0] + d1[1], 0)
    return sigmoid(h @ d2[0] + d2[1])


def tokenizer_json(tok):
    vocab = {"[PAD]": 0}
    for w, i in sorted(tok["word_index"].items(), key=lambda kv: kv[1]):
        if i < tok["num_words"]:
            vocab[w] = i
    unk = tok["num_words"]
    vocab["[UNK]"] = unk
    klass = "".join("\\" + c if not c.isalnum() else c for c in tok["filters"] if c not in "\t\n")
    klass += "\\t\\n" if "\t" in tok["filters"] else ""
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {"id": 0, "content": "[PAD]", "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": False, "special": True},
            {"id": unk, "content": "[UNK]", "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": False, "special": True},
        ],
        "normalizer": {
            "type": "Sequence",
            "normalizers": [
                {"type": "Lowercase"},
                {"type": "Replace", "pattern": {"Regex": f"[{klass}]"}, "content": tok["split"]},
            ],
        },
        "pre_tokenizer": {"type": "Split", "pattern": {"String": tok["split"]}, "behavior": "Removed",
                          "invert": False},
        "post_processor": None,
        "decoder": None,
        "model": {"type": "WordLevel", "vocab": vocab, "unk_token": "[UNK]"},
    }


def build(bundle, manifest, sources, out_dir):
    with open(sources["tokenizer_pickle"], "rb") as f:
        tok = _Unpickler(f).load().__dict__
    if tok.get("char_level") or tok.get("oov_token") is not None or tok.get("analyzer") is not None:
        raise SystemExit("toxicity: unexpected Keras tokenizer settings (char_level/oov_token/analyzer)")
    with h5py.File(sources["weights"], "r") as f:
        L = lambda p: np.asarray(f[p], dtype=np.float32)  # noqa: E731
        emb = L("layers/embedding/vars/0")
        fwd = tuple(L(f"layers/bidirectional/forward_layer/cell/vars/{i}") for i in range(3))
        bwd = tuple(L(f"layers/bidirectional/backward_layer/cell/vars/{i}") for i in range(3))
        d1 = (L("layers/dense/vars/0"), L("layers/dense/vars/1"))
        d2 = (L("layers/dense_1/vars/0"), L("layers/dense_1/vars/1"))
    maxlen = manifest["max_tokens"]

    model = onnx_graphs.bilstm_classifier(
        emb, fwd, bwd, d1, d2, doc=f"glassbox bundle {bundle}: {manifest['upstream_model']}"
    )
    tj = tokenizer_json(tok)

    # Check the tokenizer against keras' algorithm and the graph against the Keras forward pass.
    import onnxruntime as ort
    from tokenizers import Tokenizer

    t = Tokenizer.from_str(json.dumps(tj))
    unk = tj["model"]["vocab"]["[UNK]"]
    seqs = []
    for text in CHECK_TEXTS:
        ids = [i for i in t.encode(text, add_special_tokens=False).ids if i != unk]
        want = keras_sequence(tok, text)
        if ids != want:
            raise SystemExit(f"toxicity: tokenizer.json gives {ids} for {text!r}, keras gives {want}")
        seqs.append(ids)
    x = pad_pre(seqs, maxlen)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    got = sess.run(["scores"], {"input_ids": x})[0]
    ref = keras_forward(x, emb.astype(np.float64), fwd, bwd, d1, d2)
    err = float(np.abs(got - ref).max())
    if err > 1e-4:
        raise SystemExit(f"toxicity: ONNX graph differs from the Keras reference by {err}")
    for text, row in zip(CHECK_TEXTS, got):
        print(f"  {np.round(row, 3)}  {text}")

    onnx.save(model, os.path.join(out_dir, "model.onnx"))
    with open(os.path.join(out_dir, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tj, f, ensure_ascii=False, separators=(",", ":"))
