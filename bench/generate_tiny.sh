#!/usr/bin/env bash
# The product path on the shipped models/tiny, as a user runs it: `mimir-generate --json
# --tokens 33 PROMPT` with no cluster (the embedded default: split the model, a local trusted
# dealer deals the pools for the plan, three mimir-party processes on loopback TLS serve the
# steps from those pools, the client reconstructs each token). Median ms per token over the 32
# tokens after the first (each step's wall time at the client: the parties' online phase
# including their pool reads, hashing and MAC checks), bytes (all parties) and rounds per
# token, the setup time (split + dealing, the offline phase), and the plaintext fixed-point
# reference's median ms per token on the same prompt in the same run. Prints one JSON line.
set -euo pipefail
cd "$(dirname "$0")/.."
prompt="Once upon a time"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
TMPDIR=$tmp bin/mimir-generate --json --tokens 33 "$prompt" > "$tmp/secure.json" 2> "$tmp/secure.err" || {
    cat "$tmp/secure.err" >&2
    exit 1
}
bin/mimir-generate --plaintext --json --quiet --tokens 33 "$prompt" > "$tmp/plain.json"
python3 - "$tmp" "$prompt" <<'PY'
import json, re, statistics, sys
tmp, prompt = sys.argv[1], sys.argv[2]
sec = [json.loads(l) for l in open(tmp + "/secure.json")]
pla = [json.loads(l) for l in open(tmp + "/plain.json")]
summary = open(tmp + "/secure.err").read()
m = re.search(r"first token after ([0-9.]+) ms, setup ([0-9.]+) ms", summary)
after = sec[1:]
med = statistics.median(t["ms"] for t in after)
pmed = statistics.median(t["ms"] for t in pla[1:])
print(json.dumps({
    "bench": "generate_served", "model": "models/tiny", "name": "tiny",
    "route": "mimir-generate embedded default: 3 mimir-party processes, TLS 1.3 loopback, "
             "pools dealt beforehand by a local trusted dealer",
    "security": "malicious", "prompt_chars": len(prompt), "tokens_timed": len(after),
    "ms_per_token_median": med, "ms_per_token_mean": statistics.mean(t["ms"] for t in after),
    "bytes_per_token_all_parties": statistics.mean(t["bytes"] for t in after),
    "rounds_per_token": statistics.mean(t["rounds"] for t in after),
    "first_token_ms": float(m.group(1)) if m else None,
    "setup_ms": float(m.group(2)) if m else None,
    "plain_fixed_ms_per_token_median": pmed, "ratio_to_plain": med / pmed,
    "tokens_agree": [t["token"] for t in sec] == [t["token"] for t in pla],
}))
PY
