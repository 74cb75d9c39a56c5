#!/usr/bin/env bash
# Plaintext reference generator on the shipped models/tiny: median ms per token over the 32
# tokens after the prompt, fixed point and float. The secure path's figure (issue "secure
# generation") is compared against the fixed-point one. Prints JSON lines.
set -euo pipefail
cd "$(dirname "$0")/.."
prompt="Once upon a time"
for mode in fixed float; do
    flag=; [ $mode = float ] && flag=--float
    # shellcheck disable=SC2086
    bin/mimir-generate --plaintext $flag --json --quiet --tokens 33 "$prompt" |
        python3 -c '
import json, statistics, sys
ms = [json.loads(l)["ms"] for l in sys.stdin]
after = ms[1:]  # the first step also evaluates the prompt
print(json.dumps({"bench": "plaintext_generate", "model": "models/tiny", "mode": sys.argv[1],
                  "prompt_chars": len(sys.argv[2]), "tokens": len(after),
                  "first_step_ms": ms[0], "ms_per_token_median": statistics.median(after)}))
' "$mode" "$prompt"
done
