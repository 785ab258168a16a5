# Softy-Pinko Docker. `make up` starts the most complete stack; `make test` proves every task.
# Every target bootstraps what it needs (tools/bootstrap.sh) and is safe to run twice.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV   := .venv
PYTHON := $(VENV)/bin/python
# The project's one command (src/softy_pinko_docker): every target below is a call of it.
SOFTY  := $(PYTHON) -m softy_pinko_docker
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
# Compose and the CLI: no "What's next" hints or pulls from a registry that is not there.
export DOCKER_CLI_HINTS := false

PYTEST_ARGS ?=
REPLICAS    ?= 2
PROXY_PORT  ?= 80
TASK        ?= task6
BENCH       ?= all
JOB         ?=
RUNNER      ?= host
NODES       ?= 3
REPO        ?=
TASKS       ?=
LIST        ?=
REPOS       ?=
FILES_ONLY  ?=
JOBS        ?=
FRESH       ?=
export JOB RUNNER NODES
export REPLICAS PROXY_PORT

.PHONY: help bootstrap bases up down ps logs swarm-up swarm-down swarm-ps test test-unit lint loadtest \
        smoke e2e browser act bench lock audit sbom cluster-up cluster-ps cluster-down \
        cluster-deploy check clean

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

bootstrap: ## Install host packages, .venv and the Compose plugin (idempotent)
	@tools/bootstrap.sh

bases: bootstrap ## Pull every base image, or build a cached stand-in when offline
	@$(SOFTY) bases ensure

# A stack needs no package from the lock (the package starts it with the standard library): on a new
# machine `make up` and `make down` do not wait for the test and lint tools to install.
up: ## Build and start the most complete stack, wait until healthy, print its URLs
	@tools/bootstrap.sh --bare
	@$(SOFTY) bases ensure
	@$(SOFTY) stack up

down: ## Stop the stack started by `make up`
	@tools/bootstrap.sh --bare
	@$(SOFTY) stack down

ps: ## Show the containers of the `make up` stack and their health
	@tools/bootstrap.sh --bare
	@$(SOFTY) stack ps

logs: ## The last lines of every container's log in the `make up` stack
	@tools/bootstrap.sh --bare
	@$(SOFTY) stack logs

swarm-up: bases ## Deploy task6 as the Swarm stack softy-pinko (a swarm is made if none), wait until healthy
	@$(SOFTY) swarm up

swarm-down: bootstrap ## Remove the Swarm stack; leave the swarm only if swarm-up made it
	@$(SOFTY) swarm down

swarm-ps: bootstrap ## Show the Swarm stack's services and the health of their tasks
	@$(SOFTY) swarm ps

test: bases ## Run the whole test suite (unit, containers, compose, browser, load)
	@$(PYTHON) -m pytest $(PYTEST_ARGS)

test-unit: bootstrap ## Only the tests that need no Docker
	@$(PYTHON) -m pytest tests/unit $(PYTEST_ARGS)

lint: bootstrap ## ruff, mypy, hadolint, shellcheck, zizmor, workflow schema, compose config, gixy
	@tools/lint.sh

loadtest: bases ## Locust against task6 (started if needed); fails when the round-robin is uneven
	@$(SOFTY) stack up --task task6
	@status=0; locust -f loadtest --config loadtest/locust.conf -H http://localhost:$(PROXY_PORT) || status=$$?; \
	  echo "Locust report: reports/locust/report.html (CSV: reports/locust/stats_*.csv)"; exit $$status

smoke: bases ## The curriculum's checks on one of this repository's tasks: what CI's check job runs (TASK=taskN)
	@$(if $(TASK),,echo "make smoke: name the task: make smoke TASK=task4" >&2; exit 2)
	@$(SOFTY) check --tasks $(TASK) --output reports/check .

e2e: bases ## Only the browser tests (headless Chromium; CHROMIUM=path or =playwright picks it)
	@$(PYTHON) -m pytest -m browser $(PYTEST_ARGS)

browser: bootstrap ## Install Playwright's own Chromium (what CI uses on GitHub: CHROMIUM=playwright)
	@$(PYTHON) -m playwright install --with-deps chromium

act: bootstrap ## The GitHub Actions workflow, locally and offline (JOB=name, RUNNER=standin)
	@tools/act.sh

bench: bases ## The proxy's cost, scaling, shipping a change, image sizes (BENCH=throughput|deploy|images)
	@$(if $(filter all throughput,$(BENCH)),tools/bootstrap.sh --packages wrk)
	@$(SOFTY) bench --part $(BENCH)

cluster-up: bases ## task6 on a local Swarm of 3 engines in containers, via a registry (NODES=n)
	@REPLICAS=$(if $(filter command line,$(origin REPLICAS)),$(REPLICAS),$(NODES)) \
	  $(SOFTY) cluster up

cluster-ps: bootstrap ## The cluster's nodes, registry, back-end placement and each node's proxy URL
	@$(SOFTY) cluster ps

cluster-down: bootstrap ## Remove the cluster; nothing of it stays on the engine (base images aside)
	@$(SOFTY) cluster down

cluster-deploy: bases ## task6 onto a real swarm: REGISTRY=host:port MANAGER=ssh://user@manager
	@$(SOFTY) cluster deploy

lock: bootstrap ## Re-lock: Python from each requirements.in (UPGRADE=1: newest), base-image digests (online)
	@$(SOFTY) lock refresh $(if $(UPGRADE),--upgrade)
	@$(SOFTY) bases record

audit: bootstrap ## pip-audit of every lock (online; offline it fails, saying nothing was audited)
	@$(SOFTY) lock audit

sbom: bases ## A CycloneDX SBOM of each image in reports/sbom/ (all tasks; TASK=taskN for one)
	@$(SOFTY) sbom $(if $(filter command line environment,$(origin TASK)),$(TASK))

check: bootstrap ## The curriculum's checks on a learner's repository: REPO=path (TASKS=, FILES_ONLY=1, QUIET=1, OUTPUT=dir, LIST=1; REPOS="a b" or REPOS=@file: a table, JOBS=, FRESH=1)
	@$(if $(LIST)$(REPO)$(REPOS),,echo "make check: name the repository: make check REPO=path/to/repository (or REPOS=\"a b\")" >&2; exit 2)
	@$(if $(LIST),$(SOFTY) check --list,$(if $(REPOS),$(SOFTY) batch $(if $(TASKS),--tasks $(TASKS)) $(if $(FILES_ONLY),--files-only) $(if $(JOBS),--jobs $(JOBS)) $(if $(FRESH),--fresh) $(if $(OUTPUT),--output "$(OUTPUT)") $(REPOS),SOFTY_PINKO_CHECK_VIA=make $(SOFTY) check $(if $(TASKS),--tasks $(TASKS)) $(if $(FILES_ONLY),--files-only) $(if $(QUIET),--quiet) $(if $(OUTPUT),--output "$(OUTPUT)") "$(REPO)"))

clean: down ## Remove the stack, the project's images and reports (keeps base images)
	@docker image ls --format '{{.Repository}}:{{.Tag}}' | grep -E '^softy-pinko' \
	  | grep -v '^softy-pinko-standin-rootfs:' | xargs -r docker image rm -f >/dev/null
	@rm -rf reports
