# Two commands do all the set-up on a fresh machine:
#   make up     create .venv, install tickscope, run broker + worker + dashboard + live feeds
#   make test   create .venv, install tickscope with test extras, run the whole test suite
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3

.PHONY: up test install bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

up: install
	$(VENV)/bin/tickscope up

test: install
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -p no:cacheprovider -ra

clean:
	rm -rf $(VENV) data
