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
