#!/bin/sh
# benchmarks/old_vs_new.sh SIDE MODE TEXT: one answer from an old revision or from this tree, default model,
# temperature 0, each side on its own index of the seeds (built on first use). For farm-bench, A B A B:
#   OLD_REV=acbd0b3 farm-bench -n 2 --warmup 0 --pin 0,1 --timeout 1500 \
#     --vs "benchmarks/old_vs_new.sh old rebut 'CLAIM'" -- benchmarks/old_vs_new.sh new rebut 'CLAIM'
# The old tree is a `git archive` of OLD_REV under $BENCH_DIR (default /tmp/assistant-bench).
set -e
side=$1; mode=$2; text=$3
here=$(cd "$(dirname "$0")/.." && pwd)
dir=${BENCH_DIR:-/tmp/assistant-bench}
if [ "$side" = old ]; then
  tree=$dir/old-${OLD_REV:?set OLD_REV}
  [ -d "$tree" ] || { mkdir -p "$tree" && git -C "$here" archive "$OLD_REV" | tar -x -C "$tree"; }
else
  tree=$here
fi
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 ANONYMIZED_TELEMETRY=False PYTHONPATH=$tree ASSISTANT_HOME=$tree
index=$dir/index-$side
cd "$tree"
[ -d "$index" ] || "$here/.venv/bin/python" -m assistant --index "$index" sync >/dev/null
exec "$here/.venv/bin/python" -m assistant --index "$index" --model default "$mode" "$text" --no-history --temperature 0
