#!/bin/bash
# The second step of slurm-array.sh (submit with --dependency=afterok on the
# array): merge the shards' stores and finish the analysis with the same
# command line as the shards' without --shard, with --from.
#SBATCH --job-name=capsim-sweep-finish
#SBATCH --cpus-per-task=1
#SBATCH --mem=2G
#SBATCH --output=shards/slurm-finish-%j.out
set -euo pipefail
capsim runs merge shards/shard-*.db --into shards/sweep.db
# The shards' command (CAPSIM_COMMAND, see slurm-array.sh), with --from.
# shellcheck disable=SC2086
capsim ${CAPSIM_COMMAND:-batch scenarios/scale-tests --replications 40} --from shards/sweep.db --out reports/sweep
