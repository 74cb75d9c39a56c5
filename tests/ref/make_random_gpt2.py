#!/usr/bin/python3
"""make_random_gpt2.py: writes a small random GPT-2 model directory for the tests.

    make_random_gpt2.py OUTDIR [--seed N] [--layers 2] [--embd 32] [--heads 4] [--ctx 64]
                               [--vocab N] [--wrong-shape TENSOR] [--no-config]

OUTDIR gets config.json, model.safetensors (float32, Hugging Face GPT-2 tensor names and
Conv1D layout) and tokenizer.json (Mimir's character tokenizer, 40 characters). Weights are
drawn from a fixed-seed generator with scales that keep activations O(1) and logits well
separated, so greedy decoding is stable under fixed-point error. --vocab N makes the vocabulary
N tokens and writes no tokenizer (for a BPE vocab.json + merges.txt the caller copies in).
--wrong-shape writes TENSOR with its last dimension two short, --no-config leaves config.json
out (for error tests).
Python 3 standard library only.
"""
import argparse
import json
import math
import os
import random
import struct
import sys

CHARS = ["\n", " ", "!", "'", ",", "-", ".", ":", "?"] + \
    [chr(c) for c in range(ord("a"), ord("z") + 1)] + ["A", "B", "C", "D", "E"]


def tensors(cfg, rng):
    """(name, shape, values) in the canonical order."""
    C, V, T = cfg["n_embd"], cfg["vocab_size"], cfg["n_positions"]

    def normal(n, std, mean=0.0):
        return [rng.gauss(mean, std) for _ in range(n)]

    out = [("wte.weight", [V, C], normal(V * C, 0.3)),
           ("wpe.weight", [T, C], normal(T * C, 0.5))]
    for l in range(cfg["n_layer"]):
        p = "h.%d." % l
        out += [
            (p + "ln_1.weight", [C], normal(C, 0.1, 1.0)),
            (p + "ln_1.bias", [C], normal(C, 0.1)),
            (p + "attn.c_attn.weight", [C, 3 * C], normal(3 * C * C, 1.0 / math.sqrt(C))),
            (p + "attn.c_attn.bias", [3 * C], normal(3 * C, 0.1)),
            (p + "attn.c_proj.weight", [C, C], normal(C * C, 1.0 / math.sqrt(C))),
            (p + "attn.c_proj.bias", [C], normal(C, 0.1)),
            (p + "ln_2.weight", [C], normal(C, 0.1, 1.0)),
            (p + "ln_2.bias", [C], normal(C, 0.1)),
            (p + "mlp.c_fc.weight", [C, 4 * C], normal(4 * C * C, 1.0 / math.sqrt(C))),
            (p + "mlp.c_fc.bias", [4 * C], normal(4 * C, 0.1)),
            (p + "mlp.c_proj.weight", [4 * C, C], normal(4 * C * C, 1.0 / math.sqrt(4 * C))),
            (p + "mlp.c_proj.bias", [C], normal(C, 0.1)),
        ]
    out += [("ln_f.weight", [C], normal(C, 0.1, 1.0)), ("ln_f.bias", [C], normal(C, 0.1))]
    return out


def write_safetensors(path, items):
    header, blobs, off = {}, [], 0
    for name, shape, vals in items:
        blob = struct.pack("<%df" % len(vals), *vals)
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [off, off + len(blob)]}
        blobs.append(blob)
        off += len(blob)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as fp:
        fp.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--embd", type=int, default=32)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--ctx", type=int, default=64)
    ap.add_argument("--vocab", type=int)
    ap.add_argument("--wrong-shape")
    ap.add_argument("--no-config", action="store_true")
    a = ap.parse_args()
    cfg = {"model_type": "gpt2", "activation_function": "gelu_new", "n_layer": a.layers,
           "n_head": a.heads, "n_embd": a.embd, "vocab_size": a.vocab or len(CHARS),
           "n_positions": a.ctx, "layer_norm_epsilon": 1e-5}
    items = tensors(cfg, random.Random(a.seed))
    if a.wrong_shape:
        names = [n for n, _, _ in items]
        if a.wrong_shape not in names:
            print("make_random_gpt2.py: no tensor %s" % a.wrong_shape, file=sys.stderr)
            return 2
        i = names.index(a.wrong_shape)
        name, shape, vals = items[i]
        shape = shape[:-1] + [shape[-1] - 2]
        n = 1
        for d in shape:
            n *= d
        items[i] = (name, shape, vals[:n])
    os.makedirs(a.outdir, exist_ok=True)
    if not a.no_config:
        with open(os.path.join(a.outdir, "config.json"), "w") as fp:
            json.dump(cfg, fp, indent=1)
    write_safetensors(os.path.join(a.outdir, "model.safetensors"), items)
    if a.vocab:
        return 0
    with open(os.path.join(a.outdir, "tokenizer.json"), "w") as fp:
        json.dump({"mimir_tokenizer": "char", "version": 1, "tokens": CHARS, "unknown": None},
                  fp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
