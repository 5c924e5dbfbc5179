#!/bin/bash
# A capsim sweep as N separate processes on one machine (xargs -P), each
# doing its share (--shard K/N) into its own store, then the merge and the
# analysis. One process already uses every core; separate processes pay
# when a sweep must survive an interruption piecewise (a shard that
# finished is kept), or to run shards on several machines by hand. See
# README.md, "Sweeps on a cluster" and "Performance".
#
#   N=2 REPS=10 scenarios/cluster/xargs.sh scenarios/build-queue
#   N=2 REPS=3 COMMAND=sensitivity scenarios/cluster/xargs.sh \
#       scenarios/scale-tests/published-v2.8.4-2000-users.toml
#   N=4 REPS=3 COMMAND=size scenarios/cluster/xargs.sh \
#       scenarios/compare/herd-1500-3x4.toml --resources coderd_replicas,coderd_vcpu
#
# COMMAND is `batch` (the default), `run` (add --uncertainty N to the
# arguments for its study too), `sensitivity` or `size` (the shards evaluate
# every candidate of its grid: keep the grid small, see README.md); the
# arguments are the command's own, the same for every shard and for the
# finish.
set -euo pipefail
N=${N:-$(nproc)}
REPS=${REPS:-10}
CAPSIM=${CAPSIM:-capsim}
COMMAND=${COMMAND:-batch}
OUT=${OUT:-shards}
mkdir -p "$OUT"
seq 0 $((N - 1)) | xargs -P "$N" -I{} \
    "$CAPSIM" "$COMMAND" "$@" --replications "$REPS" --shard "{}/$N" --jobs 1 --db "$OUT/shard-{}.db" --quiet
"$CAPSIM" runs merge "$OUT"/shard-*.db --into "$OUT/sweep.db"
"$CAPSIM" "$COMMAND" "$@" --replications "$REPS" --from "$OUT/sweep.db" --out "$OUT/reports"
