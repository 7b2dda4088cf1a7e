# Two commands: `make demo` and `make test`. Both bootstrap a fresh Debian machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.jxc-installed

# mypy --strict over all of our code (DESIGN.md asks it of protocol/ and domain modules;
# we hold every service to it). firmware-bridge/ is checked as the package firmware_bridge.
STRICT := protocol edge cloud ops

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

# mypy cannot follow the editable install's folder mapping, so it sees firmware-bridge/ through
# a symlink named like the package.
typecheck: $(STAMP)
	mkdir -p $(VENV)/mypy-path && ln -sfn $(CURDIR)/firmware-bridge $(VENV)/mypy-path/firmware_bridge
	MYPYPATH=$(VENV)/mypy-path $(BIN)/mypy $(STRICT)
	MYPYPATH=$(VENV)/mypy-path $(BIN)/mypy -p firmware_bridge

test: $(STAMP) system-deps lint typecheck
	$(BIN)/pytest

demo: $(STAMP) system-deps
	$(BIN)/jxc demo

clean:
	-$(BIN)/jxc services down
	rm -rf $(VENV) .jxc
