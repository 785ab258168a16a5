"""The load test of task6's round-robin (locustfile.py), which `locust -f loadtest` runs from a
checkout and the checker runs on a learner's task6; _balance.py judges the counts."""
