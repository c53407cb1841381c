# Set-up and the two everyday jobs. Each target creates .venv on first use.
#
# TORCH_SPEC is installed before the project so pip's resolver keeps it: torch==2.13.0
# resolves to the CPU build on the project's machines (see README, "Installing torch").
# GPU users: make demo TORCH_SPEC='torch>=2.2,<3' (or install their CUDA build into .venv first).

PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
BIN := $(VENV)/bin
DEMO_TABLE := build/tiny-digits.h5
EXAMPLE := |nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|

.PHONY: demo test bench lint clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@if [ -n "$(TORCH_SPEC)" ]; then $(BIN)/python -m pip install --quiet "$(TORCH_SPEC)"; fi
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

demo: $(BIN)/.installed
	$(BIN)/nasbench space --preset nb201
	$(BIN)/nasbench generate --preset tiny --dataset digits --out $(DEMO_TABLE)
	$(BIN)/nasbench validate $(DEMO_TABLE)
	$(BIN)/nasbench info $(DEMO_TABLE)
	$(BIN)/nasbench query $(DEMO_TABLE) '$(EXAMPLE)' --metric flops_m --json

test: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

bench: $(BIN)/.installed
	$(BIN)/python -m pytest tests/benchmarks --benchmark-only

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check nasbench

clean:
	rm -rf build .pytest_cache .benchmarks
