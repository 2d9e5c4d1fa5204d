# Self-installing targets: a fresh clone needs only `make demo` and `make test`.
# The caller's LIVEKIT_* credentials are never passed to the demo or the tests.
unexport LIVEKIT_URL LIVEKIT_API_KEY LIVEKIT_API_SECRET

VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export DEBIAN_FRONTEND := noninteractive

.PHONY: test soak demo bench tools conformance clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

tools:
	@command -v sipp >/dev/null 2>&1 || (apt-get update && apt-get install -y sip-tester)
	@command -v tshark >/dev/null 2>&1 || (apt-get update && apt-get install -y tshark)

test: $(STAMP) tools
	$(PY) -m pytest -q tests

conformance: $(STAMP)
	$(PY) -m sipconf.conformance ../shared/livekit/vectors-public.json

demo: $(STAMP) tools
	bash scenarios/demo/run.sh

# kill -9 of a 1,000-object apply at 10 random points, each followed by a re-apply that must
# converge with nothing duplicated (`make test` runs it at 300 objects and 3 points).
soak: $(STAMP)
	SIPCONF_SOAK=1 $(PY) -m pytest -q tests/cli/test_apply_kill.py

bench: $(STAMP) tools
	$(PY) -m bench

clean:
	rm -rf $(VENV) .sipconf reports
