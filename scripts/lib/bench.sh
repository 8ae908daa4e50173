# Helpers shared by scripts/loadbench.sh and scripts/server_ab.sh (sourced).

# Percentiles (ms) of the server's own span of each request, from the request log
# `$1` after byte offset `$2` (the `seconds` field: from the request reaching the outer
# service to its response being ready, durable audit included), without wrk's
# coordinated-omission correction. Prints "p99 p99.9", or "- -" at `warn`.
server_percentiles() {
  sleep 0.05 # the request log is written in batches every few milliseconds
  tail -c +$(($2 + 1)) "$1" |
    sed -n 's/.*"msg":"request".*"seconds":\([0-9.e-]*\).*/\1/p' | sort -g |
    awk '{ a[NR] = $1 }
      function at(q) { i = int(NR * q); if (i < 1) i = 1; return a[i] * 1000 }
      END { if (NR == 0) { print "- -"; exit } printf "%.3f %.3f\n", at(0.99), at(0.999) }'
}

# Clock ticks the hypervisor has stolen from this machine's CPUs so far (the `steal`
# column of /proc/stat): time a virtual CPU was ready to run and the host ran
# something else.
steal_ticks() {
  awk '/^cpu / { print $9 }' /proc/stat
}

# The log's group-commit counters of the server at `$1` (`/metrics`, no token): prints
# "commits entries commit_seconds_sum".
log_commits() {
  curl -sf "$1/metrics" | awk '
    /^aunsorm_log_batch_entries_count / { c = $2 }
    /^aunsorm_log_batch_entries_sum / { e = $2 }
    /^aunsorm_log_commit_seconds_sum / { t = $2 }
    END { printf "%d %d %s\n", c, e, (t == "" ? 0 : t) }'
}

# The group commits between two `log_commits` readings `$1` and `$2` (quoted), over a
# cell of `$3` seconds: "commits/s mean_batch mean_commit_ms".
commit_delta() {
  awk -v a="$1" -v b="$2" -v secs="$3" 'BEGIN {
    split(a, x, " "); split(b, y, " ")
    c = y[1] - x[1]; e = y[2] - x[2]; t = y[3] - x[3]
    if (c > 0) printf "%.0f %.1f %.3f\n", c / secs, e / c, 1000 * t / c
    else print "- - -" }'
}
