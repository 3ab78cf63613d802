# Shortcuts; each target is one command you can also run by hand.
.PHONY: run test reliability bench

run:            ## the all-in-one with a demo (no servers needed)
	scripts/run.sh

test:           ## the whole test suite on real PostgreSQL and RabbitMQ
	scripts/test.sh

reliability:    ## the full fault run: kills, restarts of RabbitMQ and PostgreSQL, duplicates, poison; prints the audit
	EKTP_RELIABILITY_FULL=1 EKTP_RELIABILITY_RESTARTS=1 scripts/test.sh tests/reliability -s

bench:          ## every benchmark; each prints its figures (needs PostgreSQL and RabbitMQ, as the tests do)
	.venv/bin/python -m pip install -q -e ".[test,bench]"
	for b in bench/*.py; do .venv/bin/python $$b || exit 1; done
