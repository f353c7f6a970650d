# The README's two commands are `make run` and `make test`; the rest are steps.
SHELL := /bin/bash
APP := .venv/app/bin/python
.DEFAULT_GOAL := help

.PHONY: help setup lock lock-upgrade audit migrate seed train run run-production chat test bench bench-load policy-report retention clean

help:
	@echo "make run    set up, migrate, seed demo data, train if needed, start everything"
	@echo "make test   the whole test suite (what CI runs)"
	@echo "make run-production  local trial of the production topology (PostgreSQL, Redis, 2 Rasa replicas, gunicorn)"
	@echo "make chat   talk to the running assistant in this terminal"
	@echo "make bench  benchmark: training, start-up, memory, per-turn latency"
	@echo "make bench-load  load benchmark: the production topology against bare Rasa (BENCH_ARGS=...)"
	@echo "make lock   regenerate requirements/*.lock after changing a pin in pyproject.toml"
	@echo "make audit  known vulnerabilities in the locked packages (pip-audit)"
	@echo "make retention  delete or mask personal data past its period (retention.yml; DRY_RUN=1 counts)"

setup:
	@bash scripts/setup.sh

# The lock files (exact versions, sha256 hashes) that `make setup` installs from.
# lock keeps the locked versions the pins still allow; lock-upgrade takes the newest.
lock:
	@bash scripts/lock.sh

lock-upgrade:
	@bash scripts/lock.sh --upgrade

audit:
	@bash scripts/setup.sh tools
	@.venv/tools/bin/python scripts/audit.py

migrate: setup
	@echo "==> Applying database migrations"
	@$(APP) -m bot.records.migrate

seed: migrate
	@echo "==> Loading synthetic demo data (skipped if already loaded)"
	@$(APP) -m bot.records.seed --reference-date $$(date +%Y-%m-01)
	@echo "==> Loading the policy knowledge base (topics not yet in the records)"
	@$(APP) -m bot.knowledge seed

train: setup
	@bash scripts/train.sh

run: seed train
	@echo "==> Starting Rasa, the action server, the gateway (honcho, Procfile)"
	@$(APP) -m honcho start -f Procfile

# The production topology on this machine (README, "Deploying for real"): settings
# and keys in var/production.env (written once), PostgreSQL databases created if
# missing, demo data seeded as a clearly local trial, then Procfile.production.
run-production: setup train
	@$(APP) scripts/production.py
	@echo "==> Starting 2 Rasa replicas, the action server (2 workers), the gateway (gunicorn)"
	@$(APP) -m honcho start -f Procfile.production -e var/production.env

chat:
	@$(APP) -m bot.chat

test: setup train
	@bash scripts/test.sh

bench: setup train
	@$(APP) -m bench.run

# Load benchmark (README "Benchmark"): make run-production's topology against bare Rasa.
bench-load: setup train
	@$(APP) -m bench.load $(BENCH_ARGS)

policy-report: migrate
	@$(APP) -m bot.knowledge seed > /dev/null
	@$(APP) -m bot.knowledge report

# Daily in production (cron / CronJob); periods in retention.yml. DRY_RUN=1 only counts.
retention: migrate
	@$(APP) -m bot.records.retention $(if $(DRY_RUN),--dry-run)

clean:
	rm -rf var .rasa results
