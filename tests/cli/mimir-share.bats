#!/usr/bin/env bats
# mimir-share: split/join round-trips (tensors, ids, text, models), reproducible seeds, and every
# malformed input refused with its exit code and a message naming the file and the field.

bats_load_library bats-support
bats_load_library bats-assert

ROOT="$(cd "$BATS_TEST_DIRNAME/../.." && pwd)"
MS="$ROOT/bin/mimir-share"

setup() {
    T="$BATS_TEST_TMPDIR"
    # A character tokenizer for the token tests (schema in docs/tokenizers.md).
    mkdir -p "$T/tok"
    python3 - "$T/tok/tokenizer.json" <<'EOF'
import json, sys
chars = list(" abcdefghijklmnopqrstuvwxyz.,!?\n") + ["é", "→"]
json.dump({"mimir_tokenizer": "char", "version": 1, "tokens": chars, "unknown": None},
          open(sys.argv[1], "w"), ensure_ascii=False)
EOF
    export MIMIR_MODEL_DIR="$T/tok"
}

# mknpy PATH DESCR SHAPE VALUES...: a .npy written with the Python standard library.
mknpy() {
    python3 - "$@" <<'EOF'
import struct, sys
path, descr, shape = sys.argv[1], sys.argv[2], sys.argv[3]
vals = sys.argv[4:]
fmt = {"<f4": "f", "<f8": "d", "<i8": "q", "<i4": "i"}[descr]
conv = float if fmt in "fd" else int
dims = [int(x) for x in shape.split(",") if x]
st = "(" + ", ".join(map(str, dims)) + ("," if len(dims) == 1 else "") + ")"
d = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, st)
pad = 64 - (10 + len(d) + 1) % 64
h = (d + " " * pad + "\n").encode()
with open(path, "wb") as f:
    f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h)
    f.write(struct.pack("<%d%s" % (len(vals), fmt), *map(conv, vals)))
EOF
}

# npyvals PATH: descr, shape and values of a .npy, one line each.
npyvals() {
    python3 - "$1" <<'EOF'
import ast, struct, sys
b = open(sys.argv[1], "rb").read()
hl = struct.unpack("<H", b[8:10])[0]
h = ast.literal_eval(b[10:10 + hl].decode())
fmt = {"<f4": "f", "<f8": "d", "<i8": "q", "<i4": "i"}[h["descr"]]
data = b[10 + hl:]
n = len(data) // struct.calcsize(fmt)
print(h["descr"]); print(h["shape"]); print(list(struct.unpack("<%d%s" % (n, fmt), data)))
EOF
}

# patch FILE OFFSET HEXBYTES [rehash]: overwrite bytes, optionally recompute the digest.
patch() {
    python3 - "$@" <<'EOF'
import hashlib, sys
path, off, hexb = sys.argv[1], int(sys.argv[2]), bytes.fromhex(sys.argv[3])
b = bytearray(open(path, "rb").read())
b[off:off + len(hexb)] = hexb
if len(sys.argv) > 4:
    b[-32:] = hashlib.sha256(bytes(b[:-32])).digest()
open(path, "wb").write(bytes(b))
EOF
}

SEED=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f

@test "--help on the tool and on every subcommand" {
    run "$MS" --help
    assert_success
    assert_output --partial "split"
    assert_output --partial "inspect"
    for sub in split join inspect; do
        run "$MS" $sub --help
        assert_success
        assert_output --partial "Usage: mimir-share $sub"
    done
}

@test "unknown command and bad usage exit 2" {
    run "$MS" frobnicate
    assert_failure 2
    assert_output --partial "'frobnicate' is not a command"
    run "$MS" join only-one
    assert_failure 2
    assert_output --partial "expected 2 or 3 SHARE arguments"
    run "$MS" split --ring 32 x.npy
    assert_failure 2
    assert_output --partial "--ring: expected 64 or 128"
    run "$MS" split --frac-bits 41 x.npy
    assert_failure 2
    run "$MS" split --text --ids x
    assert_failure 2
}

@test "int64 tensor: every pair and all three join bit-exactly" {
    cp "$ROOT/tests/data/npy/i8_2x2x2.npy" "$T/x.npy"
    run "$MS" split "$T/x.npy"
    assert_success
    [ -f "$T/x.p0" ] && [ -f "$T/x.p1" ] && [ -f "$T/x.p2" ]
    for pair in "0 1" "1 0" "1 2" "2 1" "0 2" "2 0"; do
        set -- $pair
        "$MS" join -o "$T/back.npy" "$T/x.p$1" "$T/x.p$2"
        cmp "$T/x.npy" "$T/back.npy"
    done
    "$MS" join "$T/x.p2" "$T/x.p0" "$T/x.p1" > "$T/back3.npy"
    cmp "$T/x.npy" "$T/back3.npy"
    # a share alone is not the data
    ! cmp -s "$T/x.p0" "$T/x.p1"
}

@test "ring 128: int64 extremes round-trip, shares carry 128-bit words" {
    mknpy "$T/e.npy" "<i8" 4 -9223372036854775808 9223372036854775807 -1 0
    run "$MS" split --ring 128 "$T/e.npy"
    assert_success
    run "$MS" inspect "$T/e.p1"
    assert_output --partial '"ring": 128'
    "$MS" join -o "$T/b.npy" "$T/e.p1" "$T/e.p2"
    run npyvals "$T/b.npy"
    assert_line --index 2 "[-9223372036854775808, 9223372036854775807, -1, 0]"
}

@test "float32 and float64 tensors come back within 2^-(f+1)" {
    mknpy "$T/f.npy" "<f4" 2,3 0.1 -2.71828 3.14159 1000.5 -0.00001 12345.678
    mknpy "$T/d.npy" "<f8" 3 0.1 -2.718281828459045 1e9
    for f in 16 8 30; do
        "$MS" split --force --frac-bits $f "$T/f.npy"
        "$MS" split --force --frac-bits $f "$T/d.npy"
        "$MS" join -o "$T/fb.npy" "$T/f.p0" "$T/f.p2"
        "$MS" join -o "$T/db.npy" "$T/d.p1" "$T/d.p2" "$T/d.p0"
        python3 - "$T" $f <<'EOF'
import ast, struct, sys
t, f = sys.argv[1], int(sys.argv[2])
def load(p):
    b = open(p, "rb").read(); hl = struct.unpack("<H", b[8:10])[0]
    h = ast.literal_eval(b[10:10 + hl].decode()); c = {"<f4": "f", "<f8": "d"}[h["descr"]]
    d = b[10 + hl:]; return h, struct.unpack("<%d%s" % (len(d) // struct.calcsize(c), c), d)
for a, b in (("f.npy", "fb.npy"), ("d.npy", "db.npy")):
    ha, va = load(t + "/" + a); hb, vb = load(t + "/" + b)
    assert ha == hb, (ha, hb)
    for x, y in zip(va, vb):
        # the fixed-point error bound, plus float32 rounding of the decoded value
        tol = 2.0 ** -(f + 1) + (abs(x) * 2.0 ** -24 if ha["descr"] == "<f4" else 0)
        assert abs(x - y) <= tol, (a, f, x, y)
EOF
    done
}

@test "float values out of the fixed-point range are refused, naming the element" {
    mknpy "$T/big.npy" "<f8" 3 1.0 1e30 2.0
    run "$MS" split "$T/big.npy"
    assert_failure 2
    assert_output --partial "big.npy: element 1: value is not finite or out of the fixed-point range"
    refute_output --partial "1e+30"
    [ ! -e "$T/big.p0" ]
    mknpy "$T/nan.npy" "<f4" 2 1.0 nan
    run "$MS" split "$T/nan.npy"
    assert_failure 2
    assert_output --partial "element 1"
}

@test "token ids round-trip bit-exactly, and --ids input is validated" {
    printf '3 1 4 1\n5 9 26\n' > "$T/p.ids"
    run "$MS" split --ids "$T/p.ids"
    assert_success
    run "$MS" join --ids "$T/p.p1" "$T/p.p0"
    assert_success
    assert_output "3 1 4 1 5 9 26"
    printf '1 2 x3\n' > "$T/bad.ids"
    run "$MS" split --ids "$T/bad.ids"
    assert_failure 2
    assert_output --partial "ids: token 2 is not a non-negative decimal integer"
    printf '1 999\n' > "$T/big.ids"
    run "$MS" split --ids "$T/big.ids"
    assert_failure 2
    assert_output --partial "token 1 is out of range, expected 0 to 33"
}

@test "text round-trips bit-exactly through the tokenizer (.txt implies text)" {
    printf 'hello, world!\nthe café → ok' > "$T/prompt.txt"
    sed -i 's/café/cafe/' "$T/prompt.txt"
    run "$MS" split "$T/prompt.txt"
    assert_success
    run "$MS" inspect "$T/prompt.p0"
    assert_output --partial '"kind": "tokens"'
    assert_output --partial '"kind": "char"'
    "$MS" join -o "$T/out.txt" "$T/prompt.p2" "$T/prompt.p0" "$T/prompt.p1"
    cmp "$T/prompt.txt" "$T/out.txt"
    # text from stdin with --text
    printf 'abc' | "$MS" split --text -o "$T/s" -
    run "$MS" join "$T/s.p0" "$T/s.p1"
    assert_output "abc"
    # a character the vocabulary lacks
    printf 'ABC' > "$T/upper.txt"
    run "$MS" split "$T/upper.txt"
    assert_failure 2
}

@test "join refuses a tokenizer other than the one the shares were made with" {
    printf 'abc' > "$T/a.txt"
    "$MS" split "$T/a.txt"
    mkdir -p "$T/tok2"
    python3 -c 'import json; json.dump({"mimir_tokenizer":"char","version":1,"tokens":list("cba"),"unknown":None}, open("'"$T"'/tok2/tokenizer.json","w"))'
    run "$MS" join --tokenizer "$T/tok2" "$T/a.p0" "$T/a.p1"
    assert_failure 2
    assert_output --partial "tok2: digest: this tokenizer differs"
}

@test "stdin input needs -o; -o - is refused for split" {
    run "$MS" split - < "$ROOT/tests/data/npy/i8_2x2x2.npy"
    assert_failure 2
    assert_output --partial "reading from stdin needs -o PREFIX"
    "$MS" split -o "$T/in" - < "$ROOT/tests/data/npy/i8_2x2x2.npy"
    "$MS" join "$T/in.p0" - < "$T/in.p1" > "$T/in.npy"
    cmp "$ROOT/tests/data/npy/i8_2x2x2.npy" "$T/in.npy"
    run "$MS" split -o - "$T/in.npy"
    assert_failure 2
}

@test "existing outputs are kept unless --force" {
    cp "$ROOT/tests/data/npy/f4_2x3.npy" "$T/y.npy"
    "$MS" split "$T/y.npy"
    cp "$T/y.p1" "$T/old.p1"
    run "$MS" split "$T/y.npy"
    assert_failure 2
    assert_output --partial "y.p0: already exists"
    cmp "$T/y.p1" "$T/old.p1"
    run "$MS" split --force "$T/y.npy"
    assert_success
    ! cmp -s "$T/y.p1" "$T/old.p1"
    [ -z "$(ls "$T" | grep tmp)" ]
}

@test "a failed split leaves nothing behind" {
    printf 'not an array' > "$T/junk.bin"
    run "$MS" split "$T/junk.bin"
    assert_failure 2
    assert_output --partial "cannot tell what this is"
    [ -z "$(ls "$T" | grep -E 'junk\.p|tmp')" ]
}

@test "--seed makes a split reproducible; seeds are checked" {
    cp "$ROOT/tests/data/npy/f4_2x3.npy" "$T/z.npy"
    "$MS" split --seed $SEED -o "$T/a" "$T/z.npy"
    "$MS" split --seed $SEED -o "$T/b" "$T/z.npy"
    for i in 0 1 2; do cmp "$T/a.p$i" "$T/b.p$i"; done
    echo $SEED > "$T/seed.hex"
    "$MS" split --seed-file "$T/seed.hex" -o "$T/c" "$T/z.npy"
    cmp "$T/a.p0" "$T/c.p0"
    "$MS" split --seed ${SEED/00/01} -o "$T/d" "$T/z.npy"
    ! cmp -s "$T/a.p0" "$T/d.p0"
    "$MS" split -o "$T/e" "$T/z.npy"
    ! cmp -s "$T/a.p0" "$T/e.p0"
    run "$MS" split --seed 0011 -o "$T/f" "$T/z.npy"
    assert_failure 2
    assert_output --partial "--seed: seed of 4 hex digits, expected an even number from 64"
    run "$MS" split --seed ${SEED/00/zz} -o "$T/f" "$T/z.npy"
    assert_failure 2
    assert_output --partial "not hexadecimal"
}

@test "inspect prints the public header as JSON, the same session in all three" {
    cp "$ROOT/tests/data/npy/i8_2x2x2.npy" "$T/w.npy"
    "$MS" split "$T/w.npy"
    for i in 0 1 2; do
        "$MS" inspect "$T/w.p$i" > "$T/i$i.json"
    done
    python3 - "$T" <<'EOF'
import json, sys
j = [json.load(open("%s/i%d.json" % (sys.argv[1], i))) for i in range(3)]
assert [x["party"] for x in j] == [0, 1, 2]
assert len({x["session"] for x in j}) == 1 and len(j[0]["session"]) == 32
assert len({x["digest"] for x in j}) == 3
t = j[0]["tensors"][0]
assert (j[0]["kind"], j[0]["ring"], j[0]["frac_bits"]) == ("tensor", 64, 16)
assert (t["dtype"], t["shape"]) == ("int64", [2, 2, 2]), t
assert set(j[0]) == {"file", "format", "version", "kind", "party", "ring", "frac_bits",
                     "session", "digest", "metadata", "tensors"}
EOF
}

@test "malformed share files: exit 2 naming the file and the field" {
    cp "$ROOT/tests/data/npy/i8_2x2x2.npy" "$T/m.npy"
    "$MS" split "$T/m.npy"
    size=$(stat -c %s "$T/m.p0")
    # truncated
    head -c $((size - 1)) "$T/m.p0" > "$T/trunc.p0"
    run "$MS" join "$T/trunc.p0" "$T/m.p1"
    assert_failure 2
    assert_output --partial "trunc.p0: length: truncated"
    head -c 20 "$T/m.p0" > "$T/short.p0"
    run "$MS" inspect "$T/short.p0"
    assert_failure 2
    assert_output --partial "short.p0: length: truncated"
    # oversized
    { cat "$T/m.p0"; printf 'x'; } > "$T/over.p0"
    run "$MS" join "$T/over.p0" "$T/m.p1"
    assert_failure 2
    assert_output --partial "over.p0: length: oversized"
    # wrong magic
    cp "$T/m.p0" "$T/magic.p0"; patch "$T/magic.p0" 0 58
    run "$MS" join "$T/magic.p0" "$T/m.p1"
    assert_failure 2
    assert_output --partial "magic.p0: magic: not a Mimir share file"
    # wrong version
    cp "$T/m.p0" "$T/ver.p0"; patch "$T/ver.p0" 8 0200
    run "$MS" inspect "$T/ver.p0"
    assert_failure 2
    assert_output --partial "ver.p0: version: share file version 2, expected 1"
    # digest mismatch: one payload byte changed
    cp "$T/m.p0" "$T/dig.p0"; patch "$T/dig.p0" $((size - 40)) 00
    cmp -s "$T/m.p0" "$T/dig.p0" && patch "$T/dig.p0" $((size - 40)) 01
    run "$MS" join "$T/dig.p0" "$T/m.p1"
    assert_failure 2
    assert_output --partial "dig.p0: digest: SHA-256 digest mismatch"
    # bad party index (digest recomputed, so the field check itself is reached)
    cp "$T/m.p0" "$T/party.p0"; patch "$T/party.p0" 11 07 rehash
    run "$MS" join "$T/party.p0" "$T/m.p1"
    assert_failure 2
    assert_output --partial "party.p0: party: party index 7, expected 0, 1 or 2"
    # shape overflow: metadata {"source":"npy"} is 16 bytes, the table starts at 80:
    # name length (2), "tensor" (6), dtype, ndim, then the dims at 90
    cp "$T/m.p0" "$T/shape.p0"; patch "$T/shape.p0" 90 ffffffffffffffffffffffffffffffff rehash
    run "$MS" inspect "$T/shape.p0"
    assert_failure 2
    assert_output --partial "shape.p0: shape: tensor 'tensor': number of elements overflows 64 bits"
    # not a share file at all
    run "$MS" inspect "$ROOT/tests/data/npy/f4_2x3.npy"
    assert_failure 2
    assert_output --partial "magic"
    run "$MS" inspect "$T/missing.p0"
    assert_failure 3
}

@test "mixed sessions, repeated parties and mixed kinds are refused" {
    cp "$ROOT/tests/data/npy/i8_2x2x2.npy" "$T/m.npy"
    "$MS" split -o "$T/one" "$T/m.npy"
    "$MS" split -o "$T/two" "$T/m.npy"
    run "$MS" join "$T/one.p0" "$T/two.p1"
    assert_failure 2
    assert_output --partial "two.p1: session: session id differs from"
    run "$MS" join "$T/one.p0" "$T/one.p1" "$T/two.p2"
    assert_failure 2
    assert_output --partial "session"
    run "$MS" join "$T/one.p1" "$T/one.p1"
    assert_failure 2
    assert_output --partial "one.p1: party: party 1 again"
}

@test "inconsistent replicated copies: three shares exit 1, naming component and parties" {
    cp "$ROOT/tests/data/npy/i8_2x2x2.npy" "$T/m.npy"
    "$MS" split "$T/m.npy"
    size=$(stat -c %s "$T/m.p1")
    # party 1 holds (x1, x2); the payload is x1 (64 bytes) then x2 (64 bytes) before the digest.
    # Change party 1's copy of x1 and re-seal the file so only the cross-check can notice.
    cp "$T/m.p1" "$T/bad.p1"; patch "$T/bad.p1" $((size - 32 - 128)) 5a5a5a5a rehash
    run "$MS" join "$T/m.p0" "$T/bad.p1" "$T/m.p2"
    assert_failure 1
    assert_output --partial "inconsistent shares: component x1 of party 0 and party 1 differ"
    run "$MS" join "$T/bad.p1" "$T/m.p0"
    assert_failure 1
    assert_output --partial "component x1 of party 0 and party 1 differ"
    # parties 1 and 2 share only x2, so the change to x1 is not detectable by them
    run "$MS" join -o "$T/wrong.npy" "$T/bad.p1" "$T/m.p2"
    assert_success
    ! cmp -s "$T/m.npy" "$T/wrong.npy"
}

# A tiny random GPT-2 (1 layer, 4 wide, vocab 8) written with the standard library.
mkmodel() {
    mkdir -p "$1"
    python3 - "$1" "${2:-4}" <<'EOF'
import json, random, struct, sys
d, wte_cols = sys.argv[1], int(sys.argv[2])
C, V, P, L = 4, 8, 4, 1
json.dump({"model_type": "gpt2", "n_layer": L, "n_head": 2, "n_embd": C, "vocab_size": V,
           "n_positions": P, "layer_norm_epsilon": 1e-5}, open(d + "/config.json", "w"))
shapes = {"wte.weight": [V, wte_cols], "wpe.weight": [P, C]}
for i in range(L):
    p = "h.%d." % i
    shapes.update({p + "ln_1.weight": [C], p + "ln_1.bias": [C],
                   p + "attn.c_attn.weight": [C, 3 * C], p + "attn.c_attn.bias": [3 * C],
                   p + "attn.c_proj.weight": [C, C], p + "attn.c_proj.bias": [C],
                   p + "ln_2.weight": [C], p + "ln_2.bias": [C],
                   p + "mlp.c_fc.weight": [C, 4 * C], p + "mlp.c_fc.bias": [4 * C],
                   p + "mlp.c_proj.weight": [4 * C, C], p + "mlp.c_proj.bias": [C]})
shapes.update({"ln_f.weight": [C], "ln_f.bias": [C]})
rnd = random.Random(7)
hdr, blobs, off = {}, [], 0
for name, shp in shapes.items():
    n = 1
    for s in shp: n *= s
    vals = [rnd.uniform(-2, 2) for _ in range(n)]
    blobs.append(struct.pack("<%df" % n, *vals))
    hdr[name] = {"dtype": "F32", "shape": shp, "data_offsets": [off, off + 4 * n]}
    off += 4 * n
h = json.dumps(hdr).encode(); h += b" " * (-len(h) % 8)
open(d + "/model.safetensors", "wb").write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
EOF
}

@test "model: bundle directories per party, joined back to safetensors within 2^-17" {
    mkmodel "$T/m"
    cp "$T/tok/tokenizer.json" "$T/m/"
    run "$MS" split "$T/m/"
    assert_success
    for i in 0 1 2; do
        [ -f "$T/m.p$i/model.shares" ] && [ -f "$T/m.p$i/config.json" ]
        cmp "$T/m/tokenizer.json" "$T/m.p$i/tokenizer.json"
        cmp "$T/m/config.json" "$T/m.p$i/config.json"
    done
    run "$MS" inspect "$T/m.p1"
    assert_output --partial '"kind": "model"'
    assert_output --partial '"name": "h.0.attn.c_attn.weight"'
    assert_output --partial '"n_embd": 4'
    "$MS" join -o "$T/back.safetensors" "$T/m.p2" "$T/m.p0"
    "$MS" join "$T/m.p0" "$T/m.p1/model.shares" "$T/m.p2/" > "$T/back3.safetensors"
    cmp "$T/back.safetensors" "$T/back3.safetensors"
    python3 - "$T/m/model.safetensors" "$T/back.safetensors" <<'EOF'
import json, struct, sys
def load(p):
    b = open(p, "rb").read(); n = struct.unpack("<Q", b[:8])[0]; h = json.loads(b[8:8 + n])
    out = {}
    for k, v in h.items():
        if k == "__metadata__": continue
        s, e = v["data_offsets"]; d = b[8 + n + s:8 + n + e]
        out[k] = (v["shape"], struct.unpack("<%df" % (len(d) // 4), d))
    return out
a, b = load(sys.argv[1]), load(sys.argv[2])
assert set(a) == set(b), set(a) ^ set(b)
for k in a:
    assert a[k][0] == b[k][0], k
    for x, y in zip(a[k][1], b[k][1]):
        assert abs(x - y) <= 2.0 ** -17 + 2.0 ** -22, (k, x, y)
EOF
}

@test "model: the .safetensors path, --frac-bits recorded in the bundle, and --force" {
    mkmodel "$T/m"
    run "$MS" split --frac-bits 20 -o "$T/out" "$T/m/model.safetensors"
    assert_success
    run "$MS" inspect "$T/out.p0"
    assert_output --partial '"frac_bits": 20'
    grep -q '"mimir_frac_bits": 20' "$T/out.p0/config.json"
    run "$MS" split -o "$T/out" "$T/m"
    assert_failure 2
    assert_output --partial "out.p0: already exists"
    run "$MS" split --force -o "$T/out" "$T/m"
    assert_success
    run "$MS" inspect "$T/out.p2"
    assert_output --partial '"frac_bits": 16'
    [ -z "$(ls "$T" | grep -E 'tmp|old')" ]
}

@test "model: a bad tensor shape gets the model loader's message" {
    mkmodel "$T/bad" 5
    run "$MS" split "$T/bad"
    assert_failure 2
    assert_output --partial "wte"
    assert_output --partial "expected"
    [ ! -e "$T/bad.p0" ]
    cp "$T/bad/model.safetensors" "$T/bad/weights.safetensors"
    run "$MS" split "$T/bad/weights.safetensors"
    assert_failure 2
    assert_output --partial "must be named model.safetensors"
}

@test "the shipped models/tiny: bundles, join, and a prompt with the default tokenizer" {
    [ -f "$ROOT/models/tiny/model.safetensors" ] || skip "models/tiny is not built yet"
    run "$MS" split -o "$T/tiny" "$ROOT/models/tiny"
    assert_success
    "$MS" join -o "$T/tiny.safetensors" "$T/tiny.p1" "$T/tiny.p2" "$T/tiny.p0"
    [ -s "$T/tiny.safetensors" ]
    unset MIMIR_MODEL_DIR
    printf 'hello' | "$MS" split --text -o "$T/pr" -
    run "$MS" join "$T/pr.p2" "$T/pr.p0"
    assert_success
    assert_output "hello"
}

@test "man page is lint-clean" {
    run mandoc -T lint -W warning "$ROOT/man/mimir-share.1"
    assert_success
    assert_output ""
}
