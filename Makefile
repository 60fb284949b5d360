# The two commands a newcomer needs: `make demo` and `make test`.
# `make demo` installs only what running needs; `make test` adds the test tools.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
# The packages go in with uv (from PyPI, installed into the venv by pip first):
# seconds where pip's resolver and installs take a minute. pip does it all when
# uv cannot be had or fails (a mirror in pip.conf only pip reads, no network):
# the same packages, slower. UV=no skips uv.
UV ?= yes

.PHONY: install install-dev demo test test-fast lint format migrate run worker beat stop clean messages

install: $(STAMP)

# $(call packages,SPEC): install SPEC into the venv, with uv or else pip, and
# show the installer's own progress.
define packages
	@if [ "$(UV)" != no ] && { test -x $(BIN)/uv || { \
	        echo "- installing uv, the fast installer, with pip"; \
	        $(BIN)/python -m pip install --progress-bar on "uv>=0.5,<1"; }; }; then \
	    echo "- installing $(1) with uv"; \
	    $(BIN)/uv pip install --python $(BIN)/python --compile-bytecode -e "$(1)" \
	    || { echo "- uv failed; installing $(1) with pip instead (its progress below)"; \
	         $(BIN)/python -m pip install --progress-bar on -e "$(1)"; }; \
	else \
	    echo "- installing $(1) with pip (its progress below)"; \
	    $(BIN)/python -m pip install --progress-bar on -e "$(1)"; \
	fi
endef

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(call packages,.)
	touch $(STAMP)

install-dev: $(DEV_STAMP)

$(DEV_STAMP): $(STAMP)
	$(call packages,.[dev])
	touch $(DEV_STAMP)

demo: install
	$(BIN)/python manage.py demo

test: install-dev
	$(BIN)/python -m pytest $(ARGS)

# Everything but the slow kinds (pyproject.toml's markers, set by tests/conftest.py),
# on the test database kept from the last run (--create-db after a new migration).
FAST := not (network or worker or browser or e2e or crash or deploy or fuzz)
test-fast: install-dev
	$(BIN)/python -m pytest --reuse-db -q -m "$(FAST)" $(ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/python manage.py makemigrations --check --dry-run

format: install-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The registration pages' catalogs: extract new strings into locale/*/django.po
# (needs GNU gettext's xgettext), then compile the .mo files that are committed,
# so running the project never needs gettext. tests/receivers/test_registration_i18n.py
# uses the same --ignore list.
messages: install
	$(BIN)/python manage.py makemessages -l es -l ru -l uk -l ht --no-obsolete --no-location \
		--ignore 'tests/*' --ignore 'bench/*' --ignore 'staticfiles/*' --ignore '.sdp/*' --ignore 'docs/*'
	$(BIN)/python -c "import pathlib, polib; [polib.pofile(str(p)).save_as_mofile(str(p.with_suffix('.mo'))) for p in pathlib.Path('locale').glob('*/LC_MESSAGES/django.po')]"

migrate: install
	$(BIN)/python manage.py migrate

run: install
	$(BIN)/python manage.py runserver

worker: install
	$(BIN)/python -m sdp.devservices run -- $(BIN)/celery -A sdp worker -Q tss,messages,default --loglevel INFO

beat: install
	$(BIN)/python -m sdp.devservices run -- $(BIN)/celery -A sdp beat --loglevel INFO

stop:
	$(BIN)/python -m sdp.devservices stop

clean: stop
	rm -rf .sdp $(VENV)
