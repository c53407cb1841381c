# Set-up and the two everyday jobs. Each target creates .venv on first use.
#
# TORCH_SPEC is installed before the project so pip's resolver keeps it: torch==2.13.0
# resolves to the CPU build on the project's machines (see README, "Installing torch").
# GPU users: make demo TORCH_SPEC='torch>=2.2,<3' (or install their CUDA build into .venv first).

PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
BIN := $(VENV)/bin
TINY_TABLE := build/tiny-digits.h5
EXAMPLE := |nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|

# The shipped default table (tables/README.md, data card): 8 resumable shards, merged with
# float16 losses and seconds, then device probes and the fidelity figures. About 11
# core-hours of training; run it again after an interruption and it goes on.
DEFAULT_TABLE := tables/nb201-fmnist-cpu.h5
SHARDS := 0 1 2 3 4 5 6 7
SHARD_DIR := build/default-table

.PHONY: demo tiny test test-slow bench lint clean default-table predictors one-shot extended-space nb201-tables reproduce protocol-study

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@if [ -n "$(TORCH_SPEC)" ]; then $(BIN)/python -m pip install --quiet "$(TORCH_SPEC)"; fi
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

# The main job: every built-in strategy, 10 seeds, on the shipped default table.
demo: $(BIN)/.installed
	$(BIN)/nasbench info $(DEFAULT_TABLE)
	$(BIN)/nasbench demo

# A small real table from scratch: 48 cells x 2 seeds on digits, probed, validated, queried.
tiny: $(BIN)/.installed
	$(BIN)/nasbench space --preset nb201
	$(BIN)/nasbench generate --preset tiny --dataset digits --out $(TINY_TABLE)
	$(BIN)/nasbench validate $(TINY_TABLE)
	$(BIN)/nasbench info $(TINY_TABLE)
	$(BIN)/nasbench query $(TINY_TABLE) '$(EXAMPLE)' --metric flops_m --json

# Lint (ruff, formatting, the import contracts of pyproject.toml), then the test suite.
test: lint
	$(BIN)/python -m pytest -q

# The slow reliability tests (SIGKILL of a Dask cluster and of one of its workers): about 3 min.
test-slow: $(BIN)/.installed
	$(BIN)/python -m pytest -q -m slow

bench: $(BIN)/.installed
	$(BIN)/python -m pip install --quiet -e ".[dev,bench]"
	$(BIN)/python -m pytest tests/benchmarks --benchmark-only

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check nasbench strategies surrogates
	$(BIN)/lint-imports

default-table: $(BIN)/.installed
	mkdir -p $(SHARD_DIR)
	for k in $(SHARDS); do \
	  $(BIN)/nasbench generate --preset fmnist-cpu --shard $$k/8 --no-probes --quiet \
	    --out $(SHARD_DIR)/nb201-fmnist-cpu-$$k-of-8.h5 || exit 1; \
	done
	$(BIN)/nasbench merge --compact --overwrite $(DEFAULT_TABLE) $(SHARD_DIR)/nb201-fmnist-cpu-*-of-8.h5
	$(BIN)/nasbench generate --preset fmnist-cpu --out $(DEFAULT_TABLE)
	$(BIN)/nasbench fidelity --preset fmnist-cpu --archs 6466 --quiet --out $(DEFAULT_TABLE)
	$(BIN)/nasbench validate $(DEFAULT_TABLE)

# The protocol study of the default table (tables/README.md, "Protocol study judged by
# external validity"): every candidate of tables/fidelity/external-300/candidates.txt (a
# name, then its changes to the fmnist-cpu preset) trained on the same 300 classes with
# seeds 0 and 1 and judged against NAS-Bench-201's CIFAR 12-epoch tables; each report is
# copied beside the list. Resumable; roughly 0.7 to 3 core-hours per candidate.
STUDY_DIR := build/protocol-study
STUDY_ROWS := tables/fidelity/external-300
protocol-study: $(BIN)/.installed
	mkdir -p $(STUDY_DIR)
	while read -r name changes; do \
	  [ -n "$$name" ] || continue; \
	  $(BIN)/nasbench fidelity --preset fmnist-cpu --archs 300 --workers 2 --quiet $$changes \
	    --against tables/nb201-cifar10-hp12.h5 --against tables/nb201-cifar100-hp12.h5 \
	    --out $(STUDY_DIR)/$$name.h5 > /dev/null || exit 1; \
	  cp $(STUDY_DIR)/$$name.h5.json $(STUDY_ROWS)/$$name.json; \
	done < $(STUDY_ROWS)/candidates.txt
	$(BIN)/nasbench frontier $(STUDY_ROWS)

# The predictor studies of the default table (issue figures): zero-cost proxies stored beside
# the table, XGBoost tuning, every surrogate's evaluation, the weight-sharing study; their
# JSON goes to reports/predictors/ and the tables to reports/predictors.md. About 27 minutes.
STUDIES := reports/predictors
SURROGATE_EVAL := $(BIN)/nasbench surrogate eval --table $(DEFAULT_TABLE) --seeds 3 --json

predictors: $(BIN)/.installed
	mkdir -p $(STUDIES)
	$(BIN)/nasbench proxies $(DEFAULT_TABLE) --quiet --json > $(STUDIES)/proxies.json.tmp
	$(BIN)/nasbench surrogate tune --table $(DEFAULT_TABLE) --model xgb --configs 20 --quiet --json \
	  > $(STUDIES)/tune-xgb.json.tmp
	$(SURROGATE_EVAL) --model xgb --train-size 10,100,1000,5000 --noise-comparison > $(STUDIES)/eval-xgb.json.tmp
	for m in rf gp mlp-ensemble gin ensemble; do \
	  $(SURROGATE_EVAL) --model $$m --train-size 10,100,1000 > $(STUDIES)/eval-$$m.json.tmp || exit 1; \
	done
	$(SURROGATE_EVAL) --model lc-extrapolation --train-size 100,1000 > $(STUDIES)/eval-lc-extrapolation.json.tmp
	$(BIN)/nasbench surrogate weight-sharing --table $(DEFAULT_TABLE) --epochs 5,20,50 --seeds 2 --json \
	  > $(STUDIES)/weight-sharing.json.tmp
	for f in $(STUDIES)/*.json.tmp; do mv $$f $${f%.tmp}; done
	$(BIN)/nasbench surrogate report $(STUDIES)/*.json --out reports/predictors.md \
	  --title "Predictors judged against the default table"

# One-shot searches (3 seeds each) beside two black-box strategies under one budget of
# 600 seconds per run: reports/one-shot.html and .md. About 19 minutes on 2 cores.
one-shot: $(BIN)/.installed
	$(BIN)/nasbench compare --table $(DEFAULT_TABLE) --strategies darts-v1,darts-v2,gdas,rsps,spos,enas,rs,re \
	  --seeds 3 --budget-seconds 600 --workers 2 --overwrite --out build/one-shot-results
	$(BIN)/nasbench report build/one-shot-results --out reports/one-shot

# The extended space (7 ops: NAS-Bench-201's plus sep_conv_3x3 and max_pool_3x3, 66,943
# classes): a seeded sample of 300 classes x 2 seeds under the default protocol (about 40
# core-minutes), its fidelity, and the surrogate benchmark that covers the rest (build/).
SEVEN_OP := tables/nb201-7op-fmnist-cpu-sample.h5

extended-space: $(BIN)/.installed
	$(BIN)/nasbench generate --preset fmnist-cpu --space nb201-7op --limit 300 --no-probes --quiet --out $(SEVEN_OP)
	$(BIN)/nasbench fidelity --preset fmnist-cpu --space nb201-7op --archs 300 --quiet --out $(SEVEN_OP)
	$(BIN)/nasbench validate $(SEVEN_OP)
	$(BIN)/nasbench surrogate fit --table $(SEVEN_OP) --out build/nb201-7op-surrogate --overwrite

# The shipped NAS-Bench-201 12-epoch tables, imported from the MIT-licensed reference file
# in tables/sources (tables/README.md). SOURCE_DATE_EPOCH fixes the recorded creation time
# (the source's release date), so the import is byte-identical every time.
NB201_SOURCE := tables/sources/nb201-hp12.csv
nb201-tables: $(BIN)/.installed
	for d in cifar10 cifar100 imagenet16; do \
	  SOURCE_DATE_EPOCH=1577836800 $(BIN)/nasbench import csv $(NB201_SOURCE) --preset nb201-hp12-$$d \
	    --out tables/nb201-$$d-hp12.h5 --overwrite || exit 1; \
	  $(BIN)/nasbench validate tables/nb201-$$d-hp12.h5 || exit 1; \
	done

# NAS-Bench-201's search results reproduced on the three 12-epoch tables: rs, re, reinforce,
# bananas x 200 seeds x 500 evaluations (about 2 hours on 2 cores, almost all of it
# BANANAS); resumable: run it again after an interruption and it goes on.
reproduce: $(BIN)/.installed
	$(BIN)/nasbench reproduce --workers 2 --quiet

clean:
	rm -rf build .pytest_cache .benchmarks
