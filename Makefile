# sparseforge set-up and checks. The quick start is two commands: `make demo` and `make test`.
#
#   make demo     create .venv, install sparseforge, run the tour on the default design
#   make test     create .venv if needed and run the whole test suite (what CI runs)
#   make venv     only create/refresh .venv
#   make liberty  fetch the OSU 0.18 µm standard-cell liberty (Debian qflow-tech-osu018)
#   make reproduce  regenerate the papers' reports in docs/reproduce (about half a minute)
#   make soak     SOAK_JOBS random jobs per architecture on Verilator (benchmarks/soak.py)
#   make clean    remove .venv and generated output

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
JOBS   ?= 2
SOAK_JOBS ?= 10000

.PHONY: all demo test soak venv iverilog liberty reproduce clean

all: test

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "sparseforge needs Python 3.11 or newer as $(PYTHON)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

venv: $(STAMP)

# Icarus Verilog is a system package: install it where it is missing and we can (root + apt).
iverilog:
	@command -v iverilog >/dev/null && command -v vvp >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Icarus Verilog (apt-get install iverilog)"; \
	    apt-get install -y -qq iverilog >/dev/null 2>&1 || \
	      { apt-get update -qq && apt-get install -y -qq iverilog >/dev/null; }; \
	  else \
	    echo "Icarus Verilog (iverilog, vvp) is missing: install it, e.g. 'sudo apt-get install iverilog'"; \
	    exit 1; \
	  fi; }

liberty: $(STAMP)
	@$(BIN)/python -m sparseforge.gen.toolchain liberty

demo: $(STAMP)
	$(BIN)/sparseforge demo

test: $(STAMP) iverilog liberty
	$(BIN)/python -m pytest -n $(JOBS) --dist worksteal --durations=15

reproduce: $(STAMP) iverilog
	$(BIN)/sparseforge reproduce all -o docs/reproduce

# Long: every architecture in turn, one Verilator build each; results in benchmarks/results/soak.
soak: $(STAMP)
	$(BIN)/python benchmarks/soak.py --jobs $(SOAK_JOBS)

clean:
	rm -rf $(VENV) out .pytest_cache .hypothesis
