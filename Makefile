# Everything a fresh machine needs: `make report` builds the seed report, `make test` runs the tests.
# Each creates .venv when missing (pip, not uv/poetry: torch 2.13.0's CPU build is a local file).
VENV := .venv
BIN := $(VENV)/bin

.PHONY: report test bench clean

$(BIN)/verify: pyproject.toml
	test -x $(BIN)/python || python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[test]'
	touch $(BIN)/verify

report: $(BIN)/verify
	$(BIN)/verify build seeds --db reports/verify.db --out reports

test: $(BIN)/verify
	$(BIN)/python -m pytest -q

bench: $(BIN)/verify
	$(BIN)/python benchmarks/build_speed.py

clean:
	rm -rf reports/verify.db reports/index.html .pytest_cache
