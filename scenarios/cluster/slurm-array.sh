#!/bin/bash
# A capsim sweep as a Slurm job array: one array task per shard, the task's
# SLURM_ARRAY_TASK_ID (0 .. N-1) as K in --shard K/N, each writing its own
# store. Submit it, then the finishing step once every task has succeeded:
#
#   jid=$(sbatch --parsable scenarios/cluster/slurm-array.sh)
#   sbatch --dependency=afterok:$jid scenarios/cluster/slurm-finish.sh
#
# Run from the repository (or wherever capsim, scenarios/ and models/ are).
# A failed task can be resubmitted alone (sbatch --array=K ...): its share is
# the same tasks with the same seeds. See README.md, "Sweeps on a cluster".
# A sensitivity study is sharded the same way: set CAPSIM_COMMAND, e.g.
#   sbatch --export=ALL,CAPSIM_COMMAND="sensitivity scenarios/scale-tests/published-v2.8.4-2000-users.toml --replications 3" ...
# for both scripts; and a `size` search too (its shards evaluate every
# candidate of the grid, so keep the grid small: README.md, "Sweeps on a
# cluster"):
#   sbatch --export=ALL,CAPSIM_COMMAND="size scenarios/compare/herd-1500-3x4.toml --resources coderd_replicas,coderd_vcpu --replications 3" ...
#SBATCH --job-name=capsim-sweep
#SBATCH --array=0-7
#SBATCH --cpus-per-task=2
#SBATCH --mem=2G
#SBATCH --time=04:00:00
#SBATCH --output=shards/slurm-%A_%a.out
set -euo pipefail
mkdir -p shards
# Word splitting of the command is deliberate (a command line, not a path).
# shellcheck disable=SC2086
capsim ${CAPSIM_COMMAND:-batch scenarios/scale-tests --replications 40} \
    --shard "${SLURM_ARRAY_TASK_ID}/${SLURM_ARRAY_TASK_COUNT}" \
    --jobs "${SLURM_CPUS_PER_TASK}" \
    --db "shards/shard-${SLURM_ARRAY_TASK_ID}.db" --quiet
