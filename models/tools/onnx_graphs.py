"""ONNX graphs for glassbox's model bundles, written with the `onnx` and `numpy` packages alone.

Every initializer is an exact copy (transpose or reorder, no arithmetic) of the source weights,
and node names are fixed, so the same inputs give byte-identical `model.onnx` files.

- `bert_classifier`: a BERT encoder (all-MiniLM-L6-v2), mean pooling over the attention mask,
  L2 normalisation (output `sentence_embedding`), then an MLP head with sigmoid outputs
  (output `scores`).
- `bilstm_classifier`: Keras Embedding -> Bidirectional(LSTM) -> GlobalMaxPooling1D -> Dense(relu)
  -> Dense(sigmoid) (the toxic-comment-classifier network), output `scores`.
"""

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
MS = "com.microsoft"  # ONNX Runtime's contrib operators (fused attention, skip layer norm)
IR_VERSION = 8


class _Graph:
    def __init__(self):
        self.nodes = []
        self.inits = []
        self.n = 0

    def const(self, name, array):
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def op(self, op_type, inputs, name, domain="", **attrs):
        self.n += 1
        self.nodes.append(
            helper.make_node(op_type, inputs, [name], name=f"n{self.n}_{op_type}", domain=domain or None, **attrs)
        )
        return name

    def linear(self, x, w_out_in, b, name):
        """y = x @ W^T + b for a torch-style (out, in) weight."""
        w = self.const(f"{name}.weight_t", np.ascontiguousarray(w_out_in.T))
        bb = self.const(f"{name}.bias", b)
        return self.op("Add", [self.op("MatMul", [x, w], f"{name}.mm"), bb], f"{name}.out")

    def dense(self, x, w_in_out, b, name):
        """y = x @ W + b for a Keras-style (in, out) kernel."""
        w = self.const(f"{name}.kernel", w_in_out)
        bb = self.const(f"{name}.bias", b)
        return self.op("Add", [self.op("MatMul", [x, w], f"{name}.mm"), bb], f"{name}.out")

    def model(self, inputs, outputs, doc):
        g = helper.make_graph(self.nodes, "glassbox", inputs, outputs, self.inits)
        opsets = [helper.make_opsetid("", OPSET)]
        if any(n.domain == MS for n in self.nodes):
            opsets.append(helper.make_opsetid(MS, 1))
        m = helper.make_model(g, opset_imports=opsets, producer_name="glassbox-models")
        m.ir_version = IR_VERSION
        m.doc_string = doc
        onnx.checker.check_model(m, full_check=True)
        return m


def bert_classifier(w, heads, num_layers=6, num_heads=12, eps=1e-12, doc="", fused=False):
    """`w`: safetensors dict of a BertModel; `heads`: list of (W (out,in), b, activation) layers
    applied to the sentence embedding, the last followed by a sigmoid."""
    g = _Graph()
    hidden = w["embeddings.word_embeddings.weight"].shape[1]
    head_dim = hidden // num_heads
    ids, mask, tt = "input_ids", "attention_mask", "token_type_ids"

    word = g.op("Gather", [g.const("word_embeddings", w["embeddings.word_embeddings.weight"]), ids], "emb.word")
    shape = g.op("Shape", [ids], "ids.shape")
    seq = g.op(
        "Slice",
        [shape, g.const("one_1d", np.array([1], dtype=np.int64)), g.const("two_1d", np.array([2], dtype=np.int64))],
        "ids.seq_len",
    )
    pos = g.op(
        "Slice",
        [
            g.const("position_embeddings", w["embeddings.position_embeddings.weight"]),
            g.const("zero_1d", np.array([0], dtype=np.int64)),
            seq,
            g.const("axis0_1d", np.array([0], dtype=np.int64)),
        ],
        "emb.pos",
    )
    tte = g.op("Gather", [g.const("token_type_embeddings", w["embeddings.token_type_embeddings.weight"]), tt], "emb.tt")
    x = g.op("Add", [g.op("Add", [word, pos], "emb.wp"), tte], "emb.sum")

    def ln(x, prefix, name):
        return g.op(
            "LayerNormalization",
            [x, g.const(f"{prefix}.gamma", w[f"{prefix}.weight"]), g.const(f"{prefix}.beta", w[f"{prefix}.bias"])],
            name,
            axis=-1,
            epsilon=eps,
        )

    h = ln(x, "embeddings.LayerNorm", "emb.ln")

    mask_f = g.op("Cast", [mask], "mask.f", to=TensorProto.FLOAT)
    if fused:
        h = _fused_layers(g, w, h, mask, num_layers, num_heads, eps)
    else:
        h = _plain_layers(g, w, h, mask_f, ln, num_layers, num_heads, head_dim, hidden)

    mask3 = g.op("Unsqueeze", [mask_f, g.const("axes_2", np.array([2], dtype=np.int64))], "pool.mask3")
    axes1 = g.const("axes_1", np.array([1], dtype=np.int64))
    summed = g.op("ReduceSum", [g.op("Mul", [h, mask3], "pool.masked"), axes1], "pool.sum", keepdims=0)
    counts = g.op("ReduceSum", [mask3, axes1], "pool.count", keepdims=0)
    counts = g.op("Max", [counts, g.const("min_count", np.array(1e-9, dtype=np.float32))], "pool.count_c")
    mean = g.op("Div", [summed, counts], "pool.mean")
    sq = g.op("ReduceSum", [g.op("Mul", [mean, mean], "norm.sq"), axes1], "norm.sumsq", keepdims=1)
    norm = g.op("Max", [g.op("Sqrt", [sq], "norm.sqrt"), g.const("min_norm", np.array(1e-12, dtype=np.float32))], "norm.c")
    emb = g.op("Div", [mean, norm], "sentence_embedding")

    x = emb
    for j, (hw, hb, act) in enumerate(heads):
        x = g.linear(x, hw, hb, f"head.{j}")
        if act == "relu":
            x = g.op("Relu", [x], f"head.{j}.relu")
    scores = g.op("Sigmoid", [x], "scores")
    n_labels = heads[-1][0].shape[0]

    dyn = lambda t: helper.make_tensor_value_info(t, TensorProto.INT64, ["batch", "sequence"])  # noqa: E731
    return g.model(
        [dyn(ids), dyn(mask), dyn(tt)],
        [
            helper.make_tensor_value_info(scores, TensorProto.FLOAT, ["batch", n_labels]),
            helper.make_tensor_value_info(emb, TensorProto.FLOAT, ["batch", hidden]),
        ],
        doc,
    )


def _plain_layers(g, w, h, mask_f, ln, num_layers, num_heads, head_dim, hidden):
    """The encoder layers in standard ONNX operators, written the way BertModel computes them."""
    inv = g.op("Sub", [g.const("one_f", np.array(1.0, dtype=np.float32)), mask_f], "mask.inv")
    bias2 = g.op("Mul", [inv, g.const("neg_big", np.array(-10000.0, dtype=np.float32))], "mask.bias2")
    attn_bias = g.op("Unsqueeze", [bias2, g.const("axes_1_2", np.array([1, 2], dtype=np.int64))], "mask.bias")
    split_shape = g.const("split_heads_shape", np.array([0, 0, num_heads, head_dim], dtype=np.int64))
    merge_shape = g.const("merge_heads_shape", np.array([0, 0, hidden], dtype=np.int64))
    scale = g.const("attn_scale", np.array(1.0 / np.sqrt(head_dim), dtype=np.float32))
    sqrt2 = g.const("sqrt2", np.array(np.sqrt(2.0), dtype=np.float32))
    half = g.const("half", np.array(0.5, dtype=np.float32))
    for i in range(num_layers):
        p = f"encoder.layer.{i}"
        q = g.linear(h, w[f"{p}.attention.self.query.weight"], w[f"{p}.attention.self.query.bias"], f"{p}.q")
        k = g.linear(h, w[f"{p}.attention.self.key.weight"], w[f"{p}.attention.self.key.bias"], f"{p}.k")
        v = g.linear(h, w[f"{p}.attention.self.value.weight"], w[f"{p}.attention.self.value.bias"], f"{p}.v")
        q = g.op("Transpose", [g.op("Reshape", [q, split_shape], f"{p}.q4")], f"{p}.qt", perm=[0, 2, 1, 3])
        k = g.op("Transpose", [g.op("Reshape", [k, split_shape], f"{p}.k4")], f"{p}.kt", perm=[0, 2, 3, 1])
        v = g.op("Transpose", [g.op("Reshape", [v, split_shape], f"{p}.v4")], f"{p}.vt", perm=[0, 2, 1, 3])
        s = g.op("Mul", [g.op("MatMul", [q, k], f"{p}.qk"), scale], f"{p}.scaled")
        s = g.op("Add", [s, attn_bias], f"{p}.masked")
        probs = g.op("Softmax", [s], f"{p}.probs", axis=-1)
        ctx = g.op("Transpose", [g.op("MatMul", [probs, v], f"{p}.ctx4")], f"{p}.ctxt", perm=[0, 2, 1, 3])
        ctx = g.op("Reshape", [ctx, merge_shape], f"{p}.ctx")
        a = g.linear(ctx, w[f"{p}.attention.output.dense.weight"], w[f"{p}.attention.output.dense.bias"], f"{p}.attn_out")
        h1 = ln(g.op("Add", [a, h], f"{p}.res1"), f"{p}.attention.output.LayerNorm", f"{p}.ln1")
        inter = g.linear(h1, w[f"{p}.intermediate.dense.weight"], w[f"{p}.intermediate.dense.bias"], f"{p}.inter")
        erf = g.op("Erf", [g.op("Div", [inter, sqrt2], f"{p}.gelu.div")], f"{p}.gelu.erf")
        gelu = g.op(
            "Mul",
            [g.op("Mul", [inter, half], f"{p}.gelu.half"), g.op("Add", [erf, "one_f"], f"{p}.gelu.plus1")],
            f"{p}.gelu",
        )
        o = g.linear(gelu, w[f"{p}.output.dense.weight"], w[f"{p}.output.dense.bias"], f"{p}.out")
        h = ln(g.op("Add", [o, h1], f"{p}.res2"), f"{p}.output.LayerNorm", f"{p}.ln2")
    return h


def _fused_layers(g, w, h, mask, num_layers, num_heads, eps):
    """The encoder layers as ONNX Runtime's fused contrib operators: one `Attention` per layer
    (Q, K and V weights concatenated column-wise into one (hidden, 3*hidden) MatMul, the 0/1
    attention mask as its raw mask), `SkipLayerNormalization` for residual + bias + layer norm, and
    `BiasGelu`. Same arithmetic as the plain graph in fewer, larger kernels; the weights are still
    exact copies (transposed and concatenated)."""

    def dense_skip_ln(x, residual, module, name):
        """LayerNorm(x @ W + b + residual) for a BERT output block `module` (its `dense` Linear
        and its `LayerNorm`) as one MatMul and one `SkipLayerNormalization`."""
        mm = g.op("MatMul", [x, g.const(f"{module}.dense.weight_t", w[f"{module}.dense.weight"].T)], f"{name}.mm")
        ln = f"{module}.LayerNorm"
        return g.op(
            "SkipLayerNormalization",
            [
                mm,
                residual,
                g.const(f"{ln}.gamma", w[f"{ln}.weight"]),
                g.const(f"{ln}.beta", w[f"{ln}.bias"]),
                g.const(f"{module}.dense.bias", w[f"{module}.dense.bias"]),
            ],
            name,
            domain=MS,
            epsilon=eps,
        )

    mask_i = g.op("Cast", [mask], "mask.i32", to=TensorProto.INT32)
    for i in range(num_layers):
        p = f"encoder.layer.{i}"
        a = f"{p}.attention.self"
        qkv_w = np.concatenate([w[f"{a}.{n}.weight"].T for n in ("query", "key", "value")], axis=1)
        qkv_b = np.concatenate([w[f"{a}.{n}.bias"] for n in ("query", "key", "value")])
        ctx = g.op(
            "Attention",
            [h, g.const(f"{p}.qkv.weight", qkv_w), g.const(f"{p}.qkv.bias", qkv_b), mask_i],
            f"{p}.ctx",
            domain=MS,
            num_heads=num_heads,
        )
        h1 = dense_skip_ln(ctx, h, f"{p}.attention.output", f"{p}.ln1")
        inter = g.op(
            "MatMul", [h1, g.const(f"{p}.inter.weight_t", w[f"{p}.intermediate.dense.weight"].T)], f"{p}.inter.mm"
        )
        gelu = g.op(
            "BiasGelu", [inter, g.const(f"{p}.inter.bias", w[f"{p}.intermediate.dense.bias"])], f"{p}.gelu", domain=MS
        )
        h = dense_skip_ln(gelu, h1, f"{p}.output", f"{p}.ln2")
    return h


def _keras_gates_to_onnx(m, units):
    """Keras packs LSTM gates as i, f, c, o along the last axis; ONNX wants i, o, f, c."""
    i, f, c, o = (m[..., k * units : (k + 1) * units] for k in range(4))
    return np.concatenate([i, o, f, c], axis=-1)


def bilstm_classifier(embedding, fwd, bwd, dense1, dense2, doc=""):
    """`fwd`/`bwd`: (kernel (in, 4H), recurrent (H, 4H), bias (4H)) of the Keras LSTM cells;
    `dense1`/`dense2`: (kernel (in, out), bias)."""
    g = _Graph()
    units = fwd[1].shape[0]
    W = np.stack([_keras_gates_to_onnx(d[0], units).T for d in (fwd, bwd)])
    R = np.stack([_keras_gates_to_onnx(d[1], units).T for d in (fwd, bwd)])
    B = np.stack(
        [np.concatenate([_keras_gates_to_onnx(d[2], units), np.zeros(4 * units, dtype=np.float32)]) for d in (fwd, bwd)]
    )
    emb = g.op("Gather", [g.const("embedding", embedding), "input_ids"], "emb")
    x = g.op("Transpose", [emb], "emb.tbd", perm=[1, 0, 2])
    y = g.op(
        "LSTM",
        [x, g.const("lstm.W", W), g.const("lstm.R", R), g.const("lstm.B", B)],
        "lstm.Y",
        hidden_size=units,
        direction="bidirectional",
    )
    pooled = g.op("ReduceMax", [y], "pool.max", axes=[0], keepdims=0)
    pooled = g.op("Transpose", [pooled], "pool.bdh", perm=[1, 0, 2])
    pooled = g.op("Reshape", [pooled, g.const("concat_shape", np.array([0, 2 * units], dtype=np.int64))], "pool.concat")
    h = g.op("Relu", [g.dense(pooled, dense1[0], dense1[1], "dense")], "dense.relu")
    scores = g.op("Sigmoid", [g.dense(h, dense2[0], dense2[1], "dense_1")], "scores")
    return g.model(
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "sequence"])],
        [helper.make_tensor_value_info(scores, TensorProto.FLOAT, ["batch", dense2[0].shape[1]])],
        doc,
    )


def quantize_per_token(model, skip=("head.",)):
    """int8 weight MatMuls with activations quantised per token, so that no row's result depends
    on another row or on padding (ONNX Runtime's `quantize_dynamic` scales activations once per
    batch tensor, which does).

    Every MatMul whose second input is a constant (K, N) float weight, except outputs starting
    with `skip_prefix`, becomes (per token: lo, hi = min, max over the last axis of x):

        s   = (hi - lo) / 255
        q   = uint8(round((x - lo) / s))                        0..255, zero point 0
        y   = (MatMulInteger(q, Wq) as float) * s * w_scale  +  lo * colsum(Wq * w_scale)

    Asymmetric per-token ranges keep all 8 bits for the one-sided, heavy-tailed GELU outputs
    that feed the FFN output projection (a symmetric per-token scale lost a cosine of ~0.02 on
    the sentence embedding there). Weights are int8 per output column with 7-bit values
    (-64..63), so the u8 x s8 pair products of AVX2's VPMADDUBSW cannot saturate and AVX2,
    AVX-512 and VNNI CPUs compute the same integers. A MatMul input shared by several weights (Q,
    K and V read the same hidden states) is quantised once. Deterministic: the same float model
    gives the same bytes.
    """
    g = model.graph
    inits = {i.name: i for i in g.initializer}
    nodes, extra, quantised = [], [], {}
    consts = {"q8.eps": np.array(1e-8, np.float32), "q8.inv255": np.array(1.0 / 255.0, np.float32)}

    def op(op_type, inputs, out, **attrs):
        nodes.append(helper.make_node(op_type, inputs, [out], name=f"{out}.node", **attrs))
        return out

    for n in g.node:
        w = inits.get(n.input[1]) if n.op_type == "MatMul" and len(n.input) == 2 else None
        if w is None or len(w.dims) != 2 or any(k in n.output[0] for k in skip):
            nodes.append(n)
            continue
        x, y = n.input[0], n.output[0]
        if x not in quantised:
            p = f"{x}.q8"
            lo = op("ReduceMin", [x], f"{p}.lo", axes=[-1], keepdims=1)
            hi = op("ReduceMax", [x], f"{p}.hi", axes=[-1], keepdims=1)
            span = op("Max", [op("Sub", [hi, lo], f"{p}.span"), "q8.eps"], f"{p}.span_c")
            s = op("Mul", [span, "q8.inv255"], f"{p}.scale")
            r = op("Round", [op("Div", [op("Sub", [x, lo], f"{p}.shift"), s], f"{p}.div")], f"{p}.round")
            q = op("Cast", [r], f"{p}.u8", to=TensorProto.UINT8)
            quantised[x] = (q, s, lo)
        q, s, lo = quantised[x]
        wf = numpy_helper.to_array(w)
        w_scale = (np.maximum(np.abs(wf).max(axis=0), 1e-12) / 63.0).astype(np.float32)
        wq = np.clip(np.round(wf / w_scale), -64, 63).astype(np.int8)
        colsum = (wq.astype(np.float32) * w_scale).sum(axis=0).astype(np.float32)
        extra += [
            numpy_helper.from_array(wq, f"{y}.w_int8"),
            numpy_helper.from_array(w_scale, f"{y}.w_scale"),
            numpy_helper.from_array(colsum, f"{y}.w_colsum"),
        ]
        acc = op("MatMulInteger", [q, f"{y}.w_int8"], f"{y}.i32")
        scaled = op("Mul", [op("Cast", [acc], f"{y}.f32", to=TensorProto.FLOAT), s], f"{y}.xs")
        offset = op("Mul", [lo, f"{y}.w_colsum"], f"{y}.offset")
        op("Add", [op("Mul", [scaled, f"{y}.w_scale"], f"{y}.ws"), offset], y)

    used = {i for node in nodes for i in node.input}
    keep = [i for i in g.initializer if i.name in used]
    extra += [numpy_helper.from_array(v, k) for k, v in consts.items()]
    del g.node[:]
    g.node.extend(nodes)
    del g.initializer[:]
    g.initializer.extend(keep + extra)
    onnx.checker.check_model(model, full_check=True)
    return model
