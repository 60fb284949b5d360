# The two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint format migrate run worker beat stop clean messages

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: install
	$(BIN)/python manage.py demo

test: install
	$(BIN)/python -m pytest $(ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run

format: install
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
	$(BIN)/celery -A sdp worker -Q tss,messages,default --loglevel INFO

beat: install
	$(BIN)/celery -A sdp beat --loglevel INFO

stop:
	$(BIN)/python -m sdp.devservices stop

clean: stop
	rm -rf .sdp $(VENV)
