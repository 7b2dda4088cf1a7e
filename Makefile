# Two commands: `make demo` and `make test`. Both bootstrap a fresh Debian machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.jxc-installed

# Modules held to mypy --strict: the wire contract and every pure domain module.
STRICT := protocol $(wildcard edge/*/domain.py) $(wildcard cloud/*/domain.py) \
          $(wildcard firmware-bridge/scales) $(wildcard firmware-bridge/probes)

.PHONY: test demo lint typecheck system-deps venv clean

$(STAMP): pyproject.toml setup.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

system-deps:
	@bash ops/bootstrap/system-deps.sh

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy $(STRICT)

test: $(STAMP) system-deps lint typecheck
	$(BIN)/pytest

demo: $(STAMP) system-deps
	$(BIN)/jxc demo

clean:
	-$(BIN)/jxc services down
	rm -rf $(VENV) .jxc
