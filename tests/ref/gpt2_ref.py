#!/usr/bin/python3
"""gpt2_ref.py: an independent GPT-2 forward pass in plain Python (double precision).

Written from Hugging Face's GPT2LMHeadModel (pre-LayerNorm, learned positions, gelu_new,
causal attention scaled by 1/sqrt(head size), tied embeddings), without the C code's help, to
check lib/gpt2_ref.c and mimir-generate. Character tokenizer (tokenizer.json) only.

    gpt2_ref.py generate DIR PROMPT N
        greedy-generates N tokens, prints exactly the generated text
    gpt2_ref.py compare DIR PROMPT N LOGITS.npy TOL
        runs the same generation and checks that LOGITS.npy (positions, vocab) float32 holds
        the logits of every evaluated position (prompt included) within TOL; prints the max
        abs difference; exit 1 if above TOL or the shapes differ
    gpt2_ref.py diff A.npy B.npy TOL
        max abs difference of two logit arrays and whether their argmaxes agree; exit 1 if the
        difference is above TOL, the shapes differ or an argmax differs

Python 3 standard library only (struct reads safetensors and .npy).
"""
import ast
import json
import math
import os
import struct
import sys


def load_model(d):
    with open(os.path.join(d, "config.json")) as fp:
        cfg = json.load(fp)
    with open(os.path.join(d, "model.safetensors"), "rb") as fp:
        buf = fp.read()
    n = struct.unpack_from("<Q", buf, 0)[0]
    header = json.loads(buf[8:8 + n])
    base = 8 + n
    w = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        assert t["dtype"] == "F32", name
        b, e = t["data_offsets"]
        w[name] = list(struct.unpack_from("<%df" % ((e - b) // 4), buf, base + b))
    with open(os.path.join(d, "tokenizer.json")) as fp:
        tokens = json.load(fp)["tokens"]
    return cfg, w, tokens


def layernorm(x, g, b, eps):
    n = len(x)
    mean = sum(x) / n
    var = sum((v - mean) ** 2 for v in x) / n
    r = 1.0 / math.sqrt(var + eps)
    return [(x[i] - mean) * r * g[i] + b[i] for i in range(n)]


def linear(x, W, b, n):
    """x (k) W (k, n) + b: Conv1D layout."""
    out = list(b)
    for i, xi in enumerate(x):
        row = W[i * n:(i + 1) * n]
        for j in range(n):
            out[j] += xi * row[j]
    return out


def gelu(x):
    c = math.sqrt(2.0 / math.pi)
    return 0.5 * x * (1.0 + math.tanh(c * (x + 0.044715 * x ** 3)))


class GPT2:
    def __init__(self, d):
        self.cfg, self.w, self.tokens = load_model(d)
        self.C = self.cfg["n_embd"]
        self.kv = [([], []) for _ in range(self.cfg["n_layer"])]

    def step(self, tok):
        """Logits of the next token after tok at the next position."""
        cfg, w, C = self.cfg, self.w, self.C
        nh, eps = cfg["n_head"], cfg.get("layer_norm_epsilon", 1e-5)
        hs = C // nh
        pos = len(self.kv[0][0])
        x = [w["wte.weight"][tok * C + i] + w["wpe.weight"][pos * C + i] for i in range(C)]
        for l in range(cfg["n_layer"]):
            p = "h.%d." % l
            h = layernorm(x, w[p + "ln_1.weight"], w[p + "ln_1.bias"], eps)
            qkv = linear(h, w[p + "attn.c_attn.weight"], w[p + "attn.c_attn.bias"], 3 * C)
            q, k, v = qkv[:C], qkv[C:2 * C], qkv[2 * C:]
            ks, vs = self.kv[l]
            ks.append(k)
            vs.append(v)
            att = []
            for hd in range(nh):
                sl = slice(hd * hs, (hd + 1) * hs)
                sc = [sum(a * b for a, b in zip(q[sl], kt[sl])) / math.sqrt(hs) for kt in ks]
                m = max(sc)
                e = [math.exp(s - m) for s in sc]
                z = sum(e)
                att += [sum(e[t] / z * vs[t][hd * hs + i] for t in range(len(ks)))
                        for i in range(hs)]
            a = linear(att, w[p + "attn.c_proj.weight"], w[p + "attn.c_proj.bias"], C)
            x = [x[i] + a[i] for i in range(C)]
            h = layernorm(x, w[p + "ln_2.weight"], w[p + "ln_2.bias"], eps)
            h = [gelu(v) for v in linear(h, w[p + "mlp.c_fc.weight"], w[p + "mlp.c_fc.bias"],
                                         4 * C)]
            m = linear(h, w[p + "mlp.c_proj.weight"], w[p + "mlp.c_proj.bias"], C)
            x = [x[i] + m[i] for i in range(C)]
        x = layernorm(x, w["ln_f.weight"], w["ln_f.bias"], eps)
        wte = w["wte.weight"]
        return [sum(x[i] * wte[t * C + i] for i in range(C))
                for t in range(self.cfg["vocab_size"])]


def generate(d, prompt, n):
    """(generated text, logits of every evaluated position)."""
    g = GPT2(d)
    ids = [g.tokens.index(ch) for ch in prompt]
    logits, out = [], []
    for t in ids:
        logits.append(g.step(t))
    for i in range(n):
        nxt = max(range(len(logits[-1])), key=lambda j: (logits[-1][j], -j))
        out.append(nxt)
        if i + 1 < n:
            logits.append(g.step(nxt))
    return "".join(g.tokens[t] for t in out), logits


def read_npy(path):
    with open(path, "rb") as fp:
        buf = fp.read()
    assert buf[:6] == b"\x93NUMPY", "not a .npy file"
    major = buf[6]
    if major == 1:
        hl, start = struct.unpack_from("<H", buf, 8)[0], 10
    else:
        hl, start = struct.unpack_from("<I", buf, 8)[0], 12
    hdr = ast.literal_eval(buf[start:start + hl].decode("latin1"))
    assert hdr["descr"] == "<f4" and not hdr["fortran_order"], hdr
    shape = hdr["shape"]
    n = 1
    for s in shape:
        n *= s
    vals = struct.unpack_from("<%df" % n, buf, start + hl)
    rows = [list(vals[i * shape[1]:(i + 1) * shape[1]]) for i in range(shape[0])]
    return tuple(shape), rows


def argmax(row):
    return max(range(len(row)), key=lambda j: (row[j], -j))


def main(argv):
    if len(argv) == 4 and argv[0] == "generate":
        text, _ = generate(argv[1], argv[2], int(argv[3]))
        sys.stdout.write(text)
        return 0
    if len(argv) == 6 and argv[0] == "compare":
        _, want = generate(argv[1], argv[2], int(argv[3]))
        shape, got = read_npy(argv[4])
        if shape != (len(want), len(want[0])):
            print("shape %s, expected %s" % (shape, (len(want), len(want[0]))))
            return 1
        d = max(abs(a - b) for r, s in zip(want, got) for a, b in zip(r, s))
        print("max abs diff %.3e" % d)
        return 0 if d <= float(argv[5]) else 1
    if len(argv) == 4 and argv[0] == "diff":
        sa, a = read_npy(argv[1])
        sb, b = read_npy(argv[2])
        if sa != sb:
            print("shapes %s and %s differ" % (sa, sb))
            return 1
        d = max(abs(x - y) for r, s in zip(a, b) for x, y in zip(r, s))
        same = sum(argmax(r) == argmax(s) for r, s in zip(a, b))
        print("max abs diff %.3e, argmax agrees at %d of %d positions" % (d, same, len(a)))
        return 0 if d <= float(argv[3]) and same == len(a) else 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
