# Two commands: `make demo` (install + the whole method on the demo data) and `make test`.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

# No telemetry prompt, no model hub look-ups: every default run is offline and from scratch.
export KEDRO_DISABLE_TELEMETRY := true
export DO_NOT_TRACK := 1
export HF_HUB_OFFLINE := 1
export MLFLOW_DISABLE_TELEMETRY := true

# Where `kedro run` records its MLflow runs (conf/base/mlflow.yml) and what `make serve` serves.
MLFLOW_STORE ?= sqlite:///mlruns.db
MODEL ?= models:/rakuten_kedro/latest
SERVE_PORT ?= 5001
UI_PORT ?= 5000

.PHONY: demo test install lint viz jupyter benchmarks gpu-check rehearsal clean-outputs serve mlflow-ui

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

serve: install  ## answer POST http://127.0.0.1:$(SERVE_PORT)/invocations with the latest registered model
	PATH="$(abspath $(BIN)):$$PATH" MLFLOW_TRACKING_URI=$(MLFLOW_STORE) $(BIN)/mlflow models serve -m $(MODEL) \
	  --env-manager local --host 127.0.0.1 --port $(SERVE_PORT)

mlflow-ui: install  ## the MLflow UI on the project's runs, http://127.0.0.1:$(UI_PORT)
	PATH="$(abspath $(BIN)):$$PATH" MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false $(BIN)/mlflow ui --backend-store-uri $(MLFLOW_STORE) --host 127.0.0.1 --port $(UI_PORT)

benchmarks: install
	$(BIN)/python benchmarks/run_all.py

gpu-check: install  ## on a GPU (<= 8 min): measure the paper-size models, rewrite the planning table
	$(BIN)/python benchmarks/gpu_check.py

rehearsal: install  ## conf/rakuten end to end on the CPU with stand-in weights (minutes, no GPU)
	$(BIN)/python benchmarks/rehearsal.py

clean-outputs:  ## delete every generated output (never data/01_raw)
	find data/02_intermediate data/03_primary data/04_feature data/05_model_input \
	     data/06_models data/07_model_output data/08_reporting \
	     -mindepth 1 -maxdepth 1 ! -name .gitkeep -exec rm -rf {} +
