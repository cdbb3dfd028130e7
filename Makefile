# Two commands: `make demo` (install + the whole method on the demo data) and `make test`.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

# No telemetry prompt, no model hub look-ups: every default run is offline and from scratch.
export KEDRO_DISABLE_TELEMETRY := true
export DO_NOT_TRACK := 1
export HF_HUB_OFFLINE := 1

.PHONY: demo test install lint viz jupyter benchmarks gpu-check clean-outputs

demo: install  ## run the whole method end to end on the demo data (CPU, minutes)
	$(BIN)/kedro run

test: install  ## lint, then the whole test suite
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/pytest

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -e ".[test]"
	touch $@

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

viz: install  ## static kedro-viz build into build/ (works offline)
	$(BIN)/kedro viz build

jupyter: install
	$(BIN)/kedro jupyter lab

benchmarks: install
	$(BIN)/python benchmarks/run_all.py

gpu-check: install  ## on a GPU (<= 8 min): measure the paper-size models, rewrite the planning table
	$(BIN)/python benchmarks/gpu_check.py

clean-outputs:  ## delete every generated output (never data/01_raw)
	find data/02_intermediate data/03_primary data/04_feature data/05_model_input \
	     data/06_models data/07_model_output data/08_reporting \
	     -mindepth 1 -maxdepth 1 ! -name .gitkeep -exec rm -rf {} +
