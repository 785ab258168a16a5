"""`make bench`: what the task6 proxy costs and what scaling buys, as figures (never pass/fail).

One run, on the task6 stack as its own Compose project (``bench-task6``), on free 127.0.0.1
ports, torn down at the end whatever happens:

1. requests/s through the proxy vs straight to the same single replica (its port 5252 published
   on 127.0.0.1 by a Compose override written to a temporary directory). The proxy's JSON
   access log stays on. Twice: with the replica held to 1 CPU, so the proxy and the generator
   have the other core as they would have their own CPU in production (the headline ratio:
   what the proxy adds in the path); and with the replica unrestricted, so on a 2-core box the
   proxy's CPU comes out of the replica's (what colocating everything costs).
2. requests/s through the proxy with 1, 2 and 3 replicas, each replica held to 0.5 CPU
   (``docker update --cpus``), so that horizontal scaling shows on a 2-core machine.
3. p50/p99 latency at a fixed request rate, from an open-loop client (below), proxy and direct.
4. image sizes (total, and over their base) and the time from nothing, and from stopped
   containers, to a healthy stack.
5. memory of every container at rest and under load.

Method: the cases of (1)+(3) are interleaved and repeated (ROUNDS rounds of proxy, direct), the
replica counts of (2) in a serpentine (1,2,3 / 3,2,1 / 1,2,3) so each count is measured early
and late and a scale step changes one replica at a time. Every figure is a median with its
min-max. The generator is `wrk` (same threads and connections for every case); its own CPU time
comes from wait4()'s rusage of that very process, so the reader can see it is not the limit.
Writes reports/bench.json, prints a table and draws docs/charts/*.svg (charts.py).
`make bench BENCH=deploy` runs deploys.py (shipping a change) instead,
`make bench BENCH=images` images.py (every image's size over its base, beside a naive
curriculum image; a back-end's build cold and warm), and `make bench` all three.

- command.py      the subcommand: the parts asked for, reports/bench.json, the table, the charts
- throughput.py   part 1 above;  deploys.py  shipping a change;  images.py  sizes and builds
- wrk.py          the load generators (wrk_report.lua: wrk's result as JSON)
- figures.py      medians, ratios, percentiles;  report.py  the table;  charts.py  the SVGs
"""
