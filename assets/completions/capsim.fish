# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_capsim_global_optspecs
    string join \n q/quiet color= h/help V/version
end

function __fish_capsim_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_capsim_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_capsim_using_subcommand
    set -l cmd (__fish_capsim_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c capsim -n "__fish_capsim_needs_command" -l color -d 'Colour: auto (when a terminal, and NO_COLOR is not set), always or never' -r -f -a "auto\t'When the stream is a terminal and `NO_COLOR` is not set'
always\t''
never\t''"
complete -c capsim -n "__fish_capsim_needs_command" -s q -l quiet -d 'No progress and no informational lines on stderr (errors and warnings still show)'
complete -c capsim -n "__fish_capsim_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c capsim -n "__fish_capsim_needs_command" -s V -l version -d 'Print version'
complete -c capsim -n "__fish_capsim_needs_command" -f -a "run" -d 'Run scenarios, print a summary per scenario, store the runs and write their reports'
complete -c capsim -n "__fish_capsim_needs_command" -f -a "batch" -d 'Run every scenario of folders and files in parallel, then write batch-summary.csv'
complete -c capsim -n "__fish_capsim_needs_command" -f -a "runs" -d 'Stored runs: list, show, export, delete'
complete -c capsim -n "__fish_capsim_needs_command" -f -a "compare" -d 'Run architectures on the same seeds: side-by-side table, paired differences, costs, plots'
complete -c capsim -n "__fish_capsim_needs_command" -f -a "size" -d 'Search for the cheapest architecture that meets every SLO with 95% confidence'
complete -c capsim -n "__fish_capsim_needs_command" -f -a "sensitivity" -d 'Which uncertain model parameter (or scenario key) decides each SLO: one at a time at the ends of each range, tornado plots, sensitivity.md'
complete -c capsim -n "__fish_capsim_needs_command" -f -a "validate" -d 'Check scenario files without running them'
complete -c capsim -n "__fish_capsim_needs_command" -f -a "calibrate" -d 'Fit a model file\'s free parameters to measured targets'
complete -c capsim -n "__fish_capsim_needs_command" -f -a "import" -d 'Build a scenario (and calibration targets) from a live deployment\'s metrics'
complete -c capsim -n "__fish_capsim_needs_command" -f -a "completions" -d 'Print a shell completion script (bash, zsh or fish) on stdout'
complete -c capsim -n "__fish_capsim_needs_command" -f -a "man" -d 'Print the man page (roff) on stdout, or write one page per command into DIR'
complete -c capsim -n "__fish_capsim_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c capsim -n "__fish_capsim_using_subcommand run" -l format -d 'Output format on stdout' -r -f -a "table\t''
json\t''"
complete -c capsim -n "__fish_capsim_using_subcommand run" -l prices -d 'Price file for the monthly cost [default: each scenario\'s `prices`]' -r -F
complete -c capsim -n "__fish_capsim_using_subcommand run" -l uncertainty -d 'Also run N model-parameter sets drawn by Latin hypercube over the model file\'s ranges (same replication seeds) and report simulation noise, model uncertainty and a combined 95% prediction interval (printed, uncertainty.csv in the report folder, and a study of kind `uncertainty` in the store; with --shard and --from like the run)' -r
complete -c capsim -n "__fish_capsim_using_subcommand run" -l seed -d 'Master seed (overrides the scenario\'s `seed`)' -r
complete -c capsim -n "__fish_capsim_using_subcommand run" -l replications -d 'Independent replications (seeds derived from the master seed), run in parallel' -r
complete -c capsim -n "__fish_capsim_using_subcommand run" -l jobs -d 'Worker threads (default and at most: the cores available; more would not help). Results do not depend on it' -r
complete -c capsim -n "__fish_capsim_using_subcommand run" -l out -d 'Write each scenario\'s report under DIR/<scenario>/ [default: reports/<scenario>/<run-id>/]' -r -F
complete -c capsim -n "__fish_capsim_using_subcommand run" -l db -d 'Run store (SQLite) to keep every run in' -r -F
complete -c capsim -n "__fish_capsim_using_subcommand run" -l shard -d 'Run only shard K of N of the sweep\'s tasks (each replication of each scenario, with the seed it has in one process; 0 <= K < N, as JOB_COMPLETION_INDEX and SLURM_ARRAY_TASK_ID count) and store them in --db, with no summary or report: `capsim runs merge` joins the shards\' stores, then the same command with --from finishes the analysis' -r
complete -c capsim -n "__fish_capsim_using_subcommand run" -l from -d 'Finish a sharded sweep from a merged store: the same command line as the shards\' (without --shard) reads every replication from DB instead of simulating it, then summarises, stores (in DB) and reports as one process would have' -r -F
complete -c capsim -n "__fish_capsim_using_subcommand run" -l start -d 'With --openmetrics: the date of t = 0 (`2025-03-10`: the scenario\'s start_time on that day, UTC) or an instant (`2025-03-10T08:00:00Z`)' -r
complete -c capsim -n "__fish_capsim_using_subcommand run" -l color -d 'Colour: auto (when a terminal, and NO_COLOR is not set), always or never' -r -f -a "auto\t'When the stream is a terminal and `NO_COLOR` is not set'
always\t''
never\t''"
complete -c capsim -n "__fish_capsim_using_subcommand run" -s v -l verbose -l all -d 'Print every statistic after the verdict and the headline table'
complete -c capsim -n "__fish_capsim_using_subcommand run" -l no-store -d 'Do not store the runs'
complete -c capsim -n "__fish_capsim_using_subcommand run" -l no-report -d 'Do not write report folders (CSV, PNG, Markdown)'
complete -c capsim -n "__fish_capsim_using_subcommand run" -l timings -d 'Print where the time went (simulation, reports, SQLite) on stderr'
complete -c capsim -n "__fish_capsim_using_subcommand run" -l openmetrics -d 'Also write each run\'s time series in the OpenMetrics text format (`openmetrics.txt` in its report folder), under Coder\'s metric names'
complete -c capsim -n "__fish_capsim_using_subcommand run" -s q -l quiet -d 'No progress and no informational lines on stderr (errors and warnings still show)'
complete -c capsim -n "__fish_capsim_using_subcommand run" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c capsim -n "__fish_capsim_using_subcommand batch" -l seed -d 'Master seed (overrides the scenario\'s `seed`)' -r
complete -c capsim -n "__fish_capsim_using_subcommand batch" -l replications -d 'Independent replications (seeds derived from the master seed), run in parallel' -r
complete -c capsim -n "__fish_capsim_using_subcommand batch" -l jobs -d 'Worker threads (default and at most: the cores available; more would not help). Results do not depend on it' -r
complete -c capsim -n "__fish_capsim_using_subcommand batch" -l out -d 'Write each scenario\'s report under DIR/<scenario>/ [default: reports/<scenario>/<run-id>/]' -r -F
complete -c capsim -n "__fish_capsim_using_subcommand batch" -l db -d 'Run store (SQLite) to keep every run in' -r -F
complete -c capsim -n "__fish_capsim_using_subcommand batch" -l shard -d 'Run only shard K of N of the sweep\'s tasks (each replication of each scenario, with the seed it has in one process; 0 <= K < N, as JOB_COMPLETION_INDEX and SLURM_ARRAY_TASK_ID count) and store them in --db, with no summary or report: `capsim runs merge` joins the shards\' stores, then the same command with --from finishes the analysis' -r
complete -c capsim -n "__fish_capsim_using_subcommand batch" -l from -d 'Finish a sharded sweep from a merged store: the same command line as the shards\' (without --shard) reads every replication from DB instead of simulating it, then summarises, stores (in DB) and reports as one process would have' -r -F
complete -c capsim -n "__fish_capsim_using_subcommand batch" -l start -d 'With --openmetrics: the date of t = 0 (`2025-03-10`: the scenario\'s start_time on that day, UTC) or an instant (`2025-03-10T08:00:00Z`)' -r
complete -c capsim -n "__fish_capsim_using_subcommand batch" -l color -d 'Colour: auto (when a terminal, and NO_COLOR is not set), always or never' -r -f -a "auto\t'When the stream is a terminal and `NO_COLOR` is not set'
always\t''
never\t''"
complete -c capsim -n "__fish_capsim_using_subcommand batch" -l no-store -d 'Do not store the runs'
complete -c capsim -n "__fish_capsim_using_subcommand batch" -l no-report -d 'Do not write report folders (CSV, PNG, Markdown)'
complete -c capsim -n "__fish_capsim_using_subcommand batch" -l timings -d 'Print where the time went (simulation, reports, SQLite) on stderr'
complete -c capsim -n "__fish_capsim_using_subcommand batch" -l openmetrics -d 'Also write each run\'s time series in the OpenMetrics text format (`openmetrics.txt` in its report folder), under Coder\'s metric names'
complete -c capsim -n "__fish_capsim_using_subcommand batch" -s q -l quiet -d 'No progress and no informational lines on stderr (errors and warnings still show)'
complete -c capsim -n "__fish_capsim_using_subcommand batch" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c capsim -n "__fish_capsim_using_subcommand runs; and not __fish_seen_subcommand_from list show export merge delete help" -l db -d 'Run store (SQLite)' -r -F
complete -c capsim -n "__fish_capsim_using_subcommand runs; and not __fish_seen_subcommand_from list show export merge delete help" -l color -d 'Colour: auto (when a terminal, and NO_COLOR is not set), always or never' -r -f -a "auto\t'When the stream is a terminal and `NO_COLOR` is not set'
always\t''
never\t''"
complete -c capsim -n "__fish_capsim_using_subcommand runs; and not __fish_seen_subcommand_from list show export merge delete help" -s q -l quiet -d 'No progress and no informational lines on stderr (errors and warnings still show)'
complete -c capsim -n "__fish_capsim_using_subcommand runs; and not __fish_seen_subcommand_from list show export merge delete help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c capsim -n "__fish_capsim_using_subcommand runs; and not __fish_seen_subcommand_from list show export merge delete help" -f -a "list" -d 'List stored runs, newest first'
complete -c capsim -n "__fish_capsim_using_subcommand runs; and not __fish_seen_subcommand_from list show export merge delete help" -f -a "show" -d 'Show stored runs: metadata and summary (`--format json`: the same JSON as `capsim run`)'
complete -c capsim -n "__fish_capsim_using_subcommand runs; and not __fish_seen_subcommand_from list show export merge delete help" -f -a "export" -d 'Export runs: summary.csv and timeseries.csv into DIR/<run-id>/ (--csv DIR), or their time series as OpenMetrics text (--format openmetrics)'
complete -c capsim -n "__fish_capsim_using_subcommand runs; and not __fish_seen_subcommand_from list show export merge delete help" -f -a "merge" -d 'Merge run stores (the shards of a sweep run with --shard, or any others) into one. Idempotent: a run the target holds already is left as it is. Refused, with nothing written, when shards of one sweep ran different scenario files, model files or capsim versions'
complete -c capsim -n "__fish_capsim_using_subcommand runs; and not __fish_seen_subcommand_from list show export merge delete help" -f -a "delete" -d 'Delete runs from the store (report folders are left alone)'
complete -c capsim -n "__fish_capsim_using_subcommand runs; and not __fish_seen_subcommand_from list show export merge delete help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c capsim -n "__fish_capsim_using_subcommand runs; and __fish_seen_subcommand_from list" -l scenario -d 'Only runs of this scenario (its `name`)' -r
complete -c capsim -n "__fish_capsim_using_subcommand runs; and __fish_seen_subcommand_from list" -l limit -d 'At most N runs (0: all)' -r
complete -c capsim -n "__fish_capsim_using_subcommand runs; and __fish_seen_subcommand_from list" -l format -r -f -a "table\t''
json\t''"
complete -c capsim -n "__fish_capsim_using_subcommand runs; and __fish_seen_subcommand_from list" -l db -d 'Run store (SQLite)' -r -F
complete -c capsim -n "__fish_capsim_using_subcommand runs; and __fish_seen_subcommand_from list" -l color -d 'Colour: auto (when a terminal, and NO_COLOR is not set), always or never' -r -f -a "auto\t'When the stream is a terminal and `NO_COLOR` is not set'
always\t''
never\t''"
complete -c capsim -n "__fish_capsim_using_subcommand runs; and __fish_seen_subcommand_from list" -s q -l quiet -d 'No progress and no informational lines on stderr (errors and warnings still show)'
complete -c capsim -n "__fish_capsim_using_subcommand runs; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c capsim -n "__fish_capsim_using_subcommand runs; and __fish_seen_subcommand_from show" -l format -r -f -a "table\t''
json\t''"
complete -c capsim -n "__fish_capsim_using_subcommand runs; and __fish_seen_subcommand_from show" -l db -d 'Run store (SQLite)' -r -F
complete -c capsim -n "__fish_capsim_using_subcommand runs; and __fish_seen_subcommand_from show" -l color -d 'Colour: auto (when a terminal, and NO_COLOR is not set), always or never' -r -f -a "auto\t'When the stream is a terminal and `NO_COLOR` is not set'
always\t''
never\t''"
complete -c capsim -n "__fish_capsim_using_subcommand runs; and __fish_seen_subcommand_from show" -s q -l quiet -d 'No progress and no informational lines on stderr (errors and warnings still show)'
complete -c capsim -n "__fish_capsim_using_subcommand runs; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c capsim -n "__fish_capsim_using_subcommand runs; and __fish_seen_subcommand_from export" -l csv -d 'Folder to write the CSV files into' -r -F
complete -c capsim -n "__fish_capsim_using_subcommand runs; and __fish_seen_subcommand_from export" -l format -r -f -a "csv\t'summary.csv and timeseries.csv per run, into --csv DIR'
openmetrics\t'The runs\' time series as OpenMetrics text (one exposition), to --out FILE or stdout'"
complete -c capsim -n "__fish_capsim_using_subcommand runs; and __fish_seen_subcommand_from export" -l start -d 'OpenMetrics: the date of t = 0 (`2025-03-10`: each scenario\'s start_time on that day, UTC) or an instant (`2025-03-10T08:00:00Z`)' -r
complete -c capsim -n "__fish_capsim_using_subcommand runs; and __fish_seen_subcommand_from export" -l out -d 'OpenMetrics: write to FILE instead of stdout' -r -F
complete -c capsim -n "__fish_capsim_using_subcommand runs; and __fish_seen_subcommand_from export" -l db -d 'Run store (SQLite)' -r -F
complete -c capsim -n "__fish_capsim_using_subcommand runs; and __fish_seen_subcommand_from export" -l color -d 'Colour: auto (when a terminal, and NO_COLOR is not set), always or never' -r -f -a "auto\t'When the stream is a terminal and `NO_COLOR` is not set'
always\t''
never\t''"
complete -c capsim -n "__fish_capsim_using_subcommand runs; and __fish_seen_subcommand_from export" -s q -l quiet -d 'No progress and no informational lines on stderr (errors and warnings still show)'
complete -c capsim -n "__fish_capsim_using_subcommand runs; and __fish_seen_subcommand_from export" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c capsim -n "__fish_capsim_using_subcommand runs; and __fish_seen_subcommand_from merge" -l into -d 'The store to merge into (created if needed)' -r -F
complete -c capsim -n "__fish_capsim_using_subcommand runs; and __fish_seen_subcommand_from merge" -l db -d 'Run store (SQLite)' -r -F
complete -c capsim -n "__fish_capsim_using_subcommand runs; and __fish_seen_subcommand_from merge" -l color -d 'Colour: auto (when a terminal, and NO_COLOR is not set), always or never' -r -f -a "auto\t'When the stream is a terminal and `NO_COLOR` is not set'
always\t''
never\t''"
complete -c capsim -n "__fish_capsim_using_subcommand runs; and __fish_seen_subcommand_from merge" -s q -l quiet -d 'No progress and no informational lines on stderr (errors and warnings still show)'
complete -c capsim -n "__fish_capsim_using_subcommand runs; and __fish_seen_subcommand_from merge" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c capsim -n "__fish_capsim_using_subcommand runs; and __fish_seen_subcommand_from delete" -l db -d 'Run store (SQLite)' -r -F
complete -c capsim -n "__fish_capsim_using_subcommand runs; and __fish_seen_subcommand_from delete" -l color -d 'Colour: auto (when a terminal, and NO_COLOR is not set), always or never' -r -f -a "auto\t'When the stream is a terminal and `NO_COLOR` is not set'
always\t''
never\t''"
complete -c capsim -n "__fish_capsim_using_subcommand runs; and __fish_seen_subcommand_from delete" -s q -l quiet -d 'No progress and no informational lines on stderr (errors and warnings still show)'
complete -c capsim -n "__fish_capsim_using_subcommand runs; and __fish_seen_subcommand_from delete" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c capsim -n "__fish_capsim_using_subcommand runs; and __fish_seen_subcommand_from help" -f -a "list" -d 'List stored runs, newest first'
complete -c capsim -n "__fish_capsim_using_subcommand runs; and __fish_seen_subcommand_from help" -f -a "show" -d 'Show stored runs: metadata and summary (`--format json`: the same JSON as `capsim run`)'
complete -c capsim -n "__fish_capsim_using_subcommand runs; and __fish_seen_subcommand_from help" -f -a "export" -d 'Export runs: summary.csv and timeseries.csv into DIR/<run-id>/ (--csv DIR), or their time series as OpenMetrics text (--format openmetrics)'
complete -c capsim -n "__fish_capsim_using_subcommand runs; and __fish_seen_subcommand_from help" -f -a "merge" -d 'Merge run stores (the shards of a sweep run with --shard, or any others) into one. Idempotent: a run the target holds already is left as it is. Refused, with nothing written, when shards of one sweep ran different scenario files, model files or capsim versions'
complete -c capsim -n "__fish_capsim_using_subcommand runs; and __fish_seen_subcommand_from help" -f -a "delete" -d 'Delete runs from the store (report folders are left alone)'
complete -c capsim -n "__fish_capsim_using_subcommand runs; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c capsim -n "__fish_capsim_using_subcommand compare" -l vary -d 'Variants of one scenario: a dotted field and its values, e.g. deployment.coderd.replicas=2,3,4. Several --vary make a grid' -r
complete -c capsim -n "__fish_capsim_using_subcommand compare" -l replications -d 'Replications per architecture (replication r of every one uses the same seed)' -r
complete -c capsim -n "__fish_capsim_using_subcommand compare" -l seed -d 'Master seed [default: the first scenario\'s `seed`]' -r
complete -c capsim -n "__fish_capsim_using_subcommand compare" -l prices -d 'Price file for every architecture [default: each scenario\'s `prices`]' -r -F
complete -c capsim -n "__fish_capsim_using_subcommand compare" -l out -d 'Write the comparison here [default: reports/compare/<id>/]' -r -F
complete -c capsim -n "__fish_capsim_using_subcommand compare" -l jobs -d 'Worker threads (default and at most: the cores available; more would not help). Results do not depend on it' -r
complete -c capsim -n "__fish_capsim_using_subcommand compare" -l policy -d '`coder`: an architecture must also keep to Coder\'s deployment guidance (the scenario\'s [sizing] table) to be recommended; `none` ignores it' -r -f -a "coder\t''
none\t''"
complete -c capsim -n "__fish_capsim_using_subcommand compare" -l format -d 'Output on stdout: the table, or compare.json' -r -f -a "table\t''
json\t''"
complete -c capsim -n "__fish_capsim_using_subcommand compare" -l uncertainty -d 'Also run every architecture on the same N model-parameter sets (Latin hypercube over the model files\' ranges, same seeds) and report, per architecture and per difference from the first, simulation noise, model uncertainty and both combined (after the plain comparison; uncertainty.csv, compare.md, compare.json)' -r
complete -c capsim -n "__fish_capsim_using_subcommand compare" -l color -d 'Colour: auto (when a terminal, and NO_COLOR is not set), always or never' -r -f -a "auto\t'When the stream is a terminal and `NO_COLOR` is not set'
always\t''
never\t''"
complete -c capsim -n "__fish_capsim_using_subcommand compare" -s q -l quiet -d 'No progress and no informational lines on stderr (errors and warnings still show)'
complete -c capsim -n "__fish_capsim_using_subcommand compare" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c capsim -n "__fish_capsim_using_subcommand size" -l slo -d 'Replace the scenario\'s SLOs: METRIC[{label=value}].STAT<=TARGET (or >=), e.g. \'api_latency_seconds{class=dashboard}.p95<=300ms\'. Repeatable' -r
complete -c capsim -n "__fish_capsim_using_subcommand size" -l prices -d 'Price file [default: the scenario\'s `prices`]' -r -F
complete -c capsim -n "__fish_capsim_using_subcommand size" -l replications -d 'Replications per candidate (the 95% bound needs at least 2)' -r
complete -c capsim -n "__fish_capsim_using_subcommand size" -l seed -d 'Master seed [default: the scenario\'s `seed`]' -r
complete -c capsim -n "__fish_capsim_using_subcommand size" -l growth -d 'Repeat the search for these user counts (workload.users.count), e.g. 500,1000,2000' -r
complete -c capsim -n "__fish_capsim_using_subcommand size" -l resources -d 'Resources to search [default: all the scenario has]: coderd_replicas, coderd_vcpu, provisioners, database_vcpu, proxy_vcpu, node_vcpu, node_min, node_max' -r
complete -c capsim -n "__fish_capsim_using_subcommand size" -l node-shapes -d 'Instance types to try as every node pool\'s shape (sets `[sizing] node_shapes`), or with POOL= as that pool\'s (sets `[sizing.node_pools.POOL] shapes`). Repeatable' -r
complete -c capsim -n "__fish_capsim_using_subcommand size" -l node-mins -d 'Warm minimums to try for every node pool (sets `[sizing] node_pool_mins`), or with POOL= for that pool. Repeatable' -r
complete -c capsim -n "__fish_capsim_using_subcommand size" -l node-maxs -d 'Maximums (the autoscaler\'s cap) to try for every node pool (sets `[sizing] node_pool_maxs`), or with POOL= for that pool. Repeatable' -r
complete -c capsim -n "__fish_capsim_using_subcommand size" -l max-replicas -d 'Most coderd replicas to try [default: max(12, 2 x the scenario\'s)]' -r
complete -c capsim -n "__fish_capsim_using_subcommand size" -l max-provisioners -d 'Most external provisioner daemons to try [default: max(64, 4 x the scenario\'s)]' -r
complete -c capsim -n "__fish_capsim_using_subcommand size" -l max-evaluations -d 'Evaluations allowed after the per-resource binary searches' -r
complete -c capsim -n "__fish_capsim_using_subcommand size" -l set -d 'Set a scenario field for the whole search, e.g. duration=4h or start_time=07:00 (to simulate only the peak). Repeatable' -r
complete -c capsim -n "__fish_capsim_using_subcommand size" -l out -d 'Write size.md, size.json, candidates.csv and candidates.png (with --growth: growth.*, and candidates-<users>.csv/.png per user count) here [default: reports/size/<id>/]' -r -F
complete -c capsim -n "__fish_capsim_using_subcommand size" -l policy -d 'Bounds from Coder\'s deployment guidance: `coder` applies the scenario\'s [sizing] table (at least 3 and at most 10 coderd replicas, replicas of 1 vCPU / 2 GB or more, a database of 2 vCPU / 8 GB or more, external provisioners, peak CPU at most 80%); `none` searches without them, for experiments' -r -f -a "coder\t''
none\t''"
complete -c capsim -n "__fish_capsim_using_subcommand size" -l resilience -d '`n-1`: a candidate must also meet its SLOs when one coderd replica is lost at the workload\'s busiest time; `none` skips the drill' -r -f -a "n-1\t''
none\t''"
complete -c capsim -n "__fish_capsim_using_subcommand size" -l uncertainty -d 'Also judge over the model\'s own uncertainty: N parameter sets drawn by Latin hypercube over the model file\'s ranges, each with the replications (see --confidence-over)' -r
complete -c capsim -n "__fish_capsim_using_subcommand size" -l confidence-over -d 'With --uncertainty: `both` accepts a candidate only when every SLO and CPU ceiling (and the N-1 drill) also holds at 95% one-sided over simulation noise and model uncertainty combined; `noise` judges on noise as without --uncertainty and reports the recommendation over both' -r -f -a "both\t''
noise\t''"
complete -c capsim -n "__fish_capsim_using_subcommand size" -l format -d '`table` for people; `json` prints the size.json document' -r -f -a "table\t''
json\t''"
complete -c capsim -n "__fish_capsim_using_subcommand size" -l jobs -d 'Worker threads (default and at most: the cores available; more would not help). Results do not depend on it' -r
complete -c capsim -n "__fish_capsim_using_subcommand size" -l db -d 'Run store (SQLite) a shard (--shard) writes its simulations to' -r -F
complete -c capsim -n "__fish_capsim_using_subcommand size" -l shard -d 'Evaluate only shard K of N of every candidate the search could visit (the whole grid, for every --growth user count; each with all its replications, its N-1 drill and parameter sets when it passes, and the seeds it has in one process) and store the simulations in --db, with no recommendation: `capsim runs merge` joins the shards\' stores, then the same command with --from finishes the search. 0 <= K < N, as JOB_COMPLETION_INDEX and SLURM_ARRAY_TASK_ID count' -r
complete -c capsim -n "__fish_capsim_using_subcommand size" -l from -d 'Finish a sharded search from a merged store: the same command line as the shards\' (without --shard; --out, --format, --jobs, --max-evaluations, --exhaustive and --confidence-over may differ) runs the search reading every simulation from DB instead of running it, and writes what one process would have' -r -F
complete -c capsim -n "__fish_capsim_using_subcommand size" -l color -d 'Colour: auto (when a terminal, and NO_COLOR is not set), always or never' -r -f -a "auto\t'When the stream is a terminal and `NO_COLOR` is not set'
always\t''
never\t''"
complete -c capsim -n "__fish_capsim_using_subcommand size" -l exhaustive -d 'The plain search, to check the default against: every candidate runs all its replications (no early stop once it fails for certain), and the per-resource binary searches run one after the other from the middle. Same recommendation, more simulations'
complete -c capsim -n "__fish_capsim_using_subcommand size" -s q -l quiet -d 'No progress and no informational lines on stderr (errors and warnings still show)'
complete -c capsim -n "__fish_capsim_using_subcommand size" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c capsim -n "__fish_capsim_using_subcommand sensitivity" -l params -d 'Only these uncertain model parameters (comma-separated) [default: every parameter of the model file with a range of non-zero width]' -r
complete -c capsim -n "__fish_capsim_using_subcommand sensitivity" -l vary -d 'Also vary a scenario key over a range, e.g. workload.users.count=1200..1800 (repeatable)' -r
complete -c capsim -n "__fish_capsim_using_subcommand sensitivity" -l replications -d 'Replications per variant (replication r of every variant uses the same seed)' -r
complete -c capsim -n "__fish_capsim_using_subcommand sensitivity" -l morris -d 'Also a global study: R Morris trajectories over every factor\'s range (R x (factors + 1) more variants), giving mu*, its bootstrap interval, and sigma (interactions)' -r
complete -c capsim -n "__fish_capsim_using_subcommand sensitivity" -l seed -d 'Master seed [default: the scenario\'s `seed`]' -r
complete -c capsim -n "__fish_capsim_using_subcommand sensitivity" -l out -d 'Write the study here [default: reports/sensitivity/<scenario>/]' -r -F
complete -c capsim -n "__fish_capsim_using_subcommand sensitivity" -l jobs -d 'Worker threads (default: all cores). Results do not depend on it' -r
complete -c capsim -n "__fish_capsim_using_subcommand sensitivity" -l db -d 'Run store (SQLite) to keep the study in' -r -F
complete -c capsim -n "__fish_capsim_using_subcommand sensitivity" -l shard -d 'Run only shard K of N of the study\'s simulations (each with the seed it has in one process; 0 <= K < N, as JOB_COMPLETION_INDEX and SLURM_ARRAY_TASK_ID count) and store them in --db, with no answer: `capsim runs merge` joins the shards\' stores, then the same command with --from finishes the study' -r
complete -c capsim -n "__fish_capsim_using_subcommand sensitivity" -l from -d 'Finish a sharded study from a merged store: the same command line as the shards\' (without --shard) reads every simulation from DB instead of running it, then analyses, writes and stores (in DB) the study as one process would have' -r -F
complete -c capsim -n "__fish_capsim_using_subcommand sensitivity" -l color -d 'Colour: auto (when a terminal, and NO_COLOR is not set), always or never' -r -f -a "auto\t'When the stream is a terminal and `NO_COLOR` is not set'
always\t''
never\t''"
complete -c capsim -n "__fish_capsim_using_subcommand sensitivity" -l no-store -d 'Do not store the study'
complete -c capsim -n "__fish_capsim_using_subcommand sensitivity" -s q -l quiet -d 'No progress and no informational lines on stderr (errors and warnings still show)'
complete -c capsim -n "__fish_capsim_using_subcommand sensitivity" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c capsim -n "__fish_capsim_using_subcommand validate" -l color -d 'Colour: auto (when a terminal, and NO_COLOR is not set), always or never' -r -f -a "auto\t'When the stream is a terminal and `NO_COLOR` is not set'
always\t''
never\t''"
complete -c capsim -n "__fish_capsim_using_subcommand validate" -s q -l quiet -d 'No progress and no informational lines on stderr (errors and warnings still show)'
complete -c capsim -n "__fish_capsim_using_subcommand validate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c capsim -n "__fish_capsim_using_subcommand calibrate" -l targets -d 'Targets file (CSV; format in the README and src/calibrate/targets.rs)' -r -F
complete -c capsim -n "__fish_capsim_using_subcommand calibrate" -l model -d 'Model file whose `free = true` parameters are fitted' -r -F
complete -c capsim -n "__fish_capsim_using_subcommand calibrate" -l seed -d 'Master seed for every scenario (default: each scenario\'s own seed)' -r
complete -c capsim -n "__fish_capsim_using_subcommand calibrate" -l replications -d 'Replications for the fit table and leave-one-out predictions' -r
complete -c capsim -n "__fish_capsim_using_subcommand calibrate" -l search-replications -d 'Replications per evaluation during the search' -r
complete -c capsim -n "__fish_capsim_using_subcommand calibrate" -l max-evals -d 'Evaluations per fit at most' -r
complete -c capsim -n "__fish_capsim_using_subcommand calibrate" -l format -d 'Output format on stdout' -r -f -a "table\t''
json\t''"
complete -c capsim -n "__fish_capsim_using_subcommand calibrate" -l jobs -d 'Worker threads (default and at most: the cores available; more would not help). Results do not depend on it' -r
complete -c capsim -n "__fish_capsim_using_subcommand calibrate" -l color -d 'Colour: auto (when a terminal, and NO_COLOR is not set), always or never' -r -f -a "auto\t'When the stream is a terminal and `NO_COLOR` is not set'
always\t''
never\t''"
complete -c capsim -n "__fish_capsim_using_subcommand calibrate" -l write -d 'Store the fitted values, their provenance and their 95% intervals (`range`) in the model file'
complete -c capsim -n "__fish_capsim_using_subcommand calibrate" -l keep-values -d 'Take the model file\'s values as the fit (no search): the fit table, intervals and leave-one-out of an existing fit; with --write only the ranges change'
complete -c capsim -n "__fish_capsim_using_subcommand calibrate" -l loo -d 'Leave-one-out: refit without each target and predict it'
complete -c capsim -n "__fish_capsim_using_subcommand calibrate" -s q -l quiet -d 'No progress and no informational lines on stderr (errors and warnings still show)'
complete -c capsim -n "__fish_capsim_using_subcommand calibrate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c capsim -n "__fish_capsim_using_subcommand import; and not __fish_seen_subcommand_from prometheus help" -l color -d 'Colour: auto (when a terminal, and NO_COLOR is not set), always or never' -r -f -a "auto\t'When the stream is a terminal and `NO_COLOR` is not set'
always\t''
never\t''"
complete -c capsim -n "__fish_capsim_using_subcommand import; and not __fish_seen_subcommand_from prometheus help" -s q -l quiet -d 'No progress and no informational lines on stderr (errors and warnings still show)'
complete -c capsim -n "__fish_capsim_using_subcommand import; and not __fish_seen_subcommand_from prometheus help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c capsim -n "__fish_capsim_using_subcommand import; and not __fish_seen_subcommand_from prometheus help" -f -a "prometheus" -d 'From Prometheus\'s answers to the documented queries (README, "Importing from Prometheus")'
complete -c capsim -n "__fish_capsim_using_subcommand import; and not __fish_seen_subcommand_from prometheus help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c capsim -n "__fish_capsim_using_subcommand import; and __fish_seen_subcommand_from prometheus" -l out -d 'The scenario file to write' -r -F
complete -c capsim -n "__fish_capsim_using_subcommand import; and __fish_seen_subcommand_from prometheus" -l targets -d 'Also write calibration targets (for `capsim calibrate`)' -r -F
complete -c capsim -n "__fish_capsim_using_subcommand import; and __fish_seen_subcommand_from prometheus" -l model -d 'The model file the scenario names (written relative to the scenario)' -r -F
complete -c capsim -n "__fish_capsim_using_subcommand import; and __fish_seen_subcommand_from prometheus" -l name -d 'The scenario\'s name [default: the file stem of --out]' -r
complete -c capsim -n "__fish_capsim_using_subcommand import; and __fish_seen_subcommand_from prometheus" -l utc-offset -d 'Local time minus UTC (`+2h`, `-6h`, `5.5h`): times of day and weekdays are local' -r
complete -c capsim -n "__fish_capsim_using_subcommand import; and __fish_seen_subcommand_from prometheus" -l color -d 'Colour: auto (when a terminal, and NO_COLOR is not set), always or never' -r -f -a "auto\t'When the stream is a terminal and `NO_COLOR` is not set'
always\t''
never\t''"
complete -c capsim -n "__fish_capsim_using_subcommand import; and __fish_seen_subcommand_from prometheus" -s q -l quiet -d 'No progress and no informational lines on stderr (errors and warnings still show)'
complete -c capsim -n "__fish_capsim_using_subcommand import; and __fish_seen_subcommand_from prometheus" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c capsim -n "__fish_capsim_using_subcommand import; and __fish_seen_subcommand_from help" -f -a "prometheus" -d 'From Prometheus\'s answers to the documented queries (README, "Importing from Prometheus")'
complete -c capsim -n "__fish_capsim_using_subcommand import; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c capsim -n "__fish_capsim_using_subcommand completions" -l color -d 'Colour: auto (when a terminal, and NO_COLOR is not set), always or never' -r -f -a "auto\t'When the stream is a terminal and `NO_COLOR` is not set'
always\t''
never\t''"
complete -c capsim -n "__fish_capsim_using_subcommand completions" -s q -l quiet -d 'No progress and no informational lines on stderr (errors and warnings still show)'
complete -c capsim -n "__fish_capsim_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c capsim -n "__fish_capsim_using_subcommand man" -l out -d 'Write capsim.1 and capsim-<command>.1 into DIR' -r -F
complete -c capsim -n "__fish_capsim_using_subcommand man" -l color -d 'Colour: auto (when a terminal, and NO_COLOR is not set), always or never' -r -f -a "auto\t'When the stream is a terminal and `NO_COLOR` is not set'
always\t''
never\t''"
complete -c capsim -n "__fish_capsim_using_subcommand man" -s q -l quiet -d 'No progress and no informational lines on stderr (errors and warnings still show)'
complete -c capsim -n "__fish_capsim_using_subcommand man" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c capsim -n "__fish_capsim_using_subcommand help; and not __fish_seen_subcommand_from run batch runs compare size sensitivity validate calibrate import completions man help" -f -a "run" -d 'Run scenarios, print a summary per scenario, store the runs and write their reports'
complete -c capsim -n "__fish_capsim_using_subcommand help; and not __fish_seen_subcommand_from run batch runs compare size sensitivity validate calibrate import completions man help" -f -a "batch" -d 'Run every scenario of folders and files in parallel, then write batch-summary.csv'
complete -c capsim -n "__fish_capsim_using_subcommand help; and not __fish_seen_subcommand_from run batch runs compare size sensitivity validate calibrate import completions man help" -f -a "runs" -d 'Stored runs: list, show, export, delete'
complete -c capsim -n "__fish_capsim_using_subcommand help; and not __fish_seen_subcommand_from run batch runs compare size sensitivity validate calibrate import completions man help" -f -a "compare" -d 'Run architectures on the same seeds: side-by-side table, paired differences, costs, plots'
complete -c capsim -n "__fish_capsim_using_subcommand help; and not __fish_seen_subcommand_from run batch runs compare size sensitivity validate calibrate import completions man help" -f -a "size" -d 'Search for the cheapest architecture that meets every SLO with 95% confidence'
complete -c capsim -n "__fish_capsim_using_subcommand help; and not __fish_seen_subcommand_from run batch runs compare size sensitivity validate calibrate import completions man help" -f -a "sensitivity" -d 'Which uncertain model parameter (or scenario key) decides each SLO: one at a time at the ends of each range, tornado plots, sensitivity.md'
complete -c capsim -n "__fish_capsim_using_subcommand help; and not __fish_seen_subcommand_from run batch runs compare size sensitivity validate calibrate import completions man help" -f -a "validate" -d 'Check scenario files without running them'
complete -c capsim -n "__fish_capsim_using_subcommand help; and not __fish_seen_subcommand_from run batch runs compare size sensitivity validate calibrate import completions man help" -f -a "calibrate" -d 'Fit a model file\'s free parameters to measured targets'
complete -c capsim -n "__fish_capsim_using_subcommand help; and not __fish_seen_subcommand_from run batch runs compare size sensitivity validate calibrate import completions man help" -f -a "import" -d 'Build a scenario (and calibration targets) from a live deployment\'s metrics'
complete -c capsim -n "__fish_capsim_using_subcommand help; and not __fish_seen_subcommand_from run batch runs compare size sensitivity validate calibrate import completions man help" -f -a "completions" -d 'Print a shell completion script (bash, zsh or fish) on stdout'
complete -c capsim -n "__fish_capsim_using_subcommand help; and not __fish_seen_subcommand_from run batch runs compare size sensitivity validate calibrate import completions man help" -f -a "man" -d 'Print the man page (roff) on stdout, or write one page per command into DIR'
complete -c capsim -n "__fish_capsim_using_subcommand help; and not __fish_seen_subcommand_from run batch runs compare size sensitivity validate calibrate import completions man help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c capsim -n "__fish_capsim_using_subcommand help; and __fish_seen_subcommand_from runs" -f -a "list" -d 'List stored runs, newest first'
complete -c capsim -n "__fish_capsim_using_subcommand help; and __fish_seen_subcommand_from runs" -f -a "show" -d 'Show stored runs: metadata and summary (`--format json`: the same JSON as `capsim run`)'
complete -c capsim -n "__fish_capsim_using_subcommand help; and __fish_seen_subcommand_from runs" -f -a "export" -d 'Export runs: summary.csv and timeseries.csv into DIR/<run-id>/ (--csv DIR), or their time series as OpenMetrics text (--format openmetrics)'
complete -c capsim -n "__fish_capsim_using_subcommand help; and __fish_seen_subcommand_from runs" -f -a "merge" -d 'Merge run stores (the shards of a sweep run with --shard, or any others) into one. Idempotent: a run the target holds already is left as it is. Refused, with nothing written, when shards of one sweep ran different scenario files, model files or capsim versions'
complete -c capsim -n "__fish_capsim_using_subcommand help; and __fish_seen_subcommand_from runs" -f -a "delete" -d 'Delete runs from the store (report folders are left alone)'
complete -c capsim -n "__fish_capsim_using_subcommand help; and __fish_seen_subcommand_from import" -f -a "prometheus" -d 'From Prometheus\'s answers to the documented queries (README, "Importing from Prometheus")'
