# The two commands: `make run` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export LEGIONARY_HOME ?= $(CURDIR)/.legionary

.PHONY: assets run test install install-dev system-deps lint typecheck test-sqlite test-postgres messages app-messages screenshot bench clean

# followthemoney (screening lists) needs PyICU, which compiles against ICU: Debian's libicu-dev,
# pkg-config and g++, installed only when missing (the Python machines have them already).
$(BIN)/.installed: pyproject.toml
	@pkg-config --exists icu-uc 2>/dev/null && command -v g++ >/dev/null 2>&1 || { \
	  echo "Installing from Debian's packages: libicu-dev pkg-config g++"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libicu-dev pkg-config g++ >/dev/null; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(BIN)/.installed-dev: pyproject.toml $(BIN)/.installed
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/.installed
install-dev: $(BIN)/.installed-dev

# PostgreSQL (for the second run of the suite), Chromium (browser tests) and nginx (the example
# reverse-proxy site in deploy/, tests/deploy) from Debian's packages, each installed only when
# missing. Where systemd runs, Debian's nginx package starts its default site on port 80; the
# tests start their own nginx on free loopback ports and never use it.
system-deps:
	@missing=""; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null 2>&1 || missing="$$missing nginx"; \
	if [ -n "$$missing" ]; then \
	  echo "Installing from Debian's packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

run: $(BIN)/.installed
	@LEGIONARY_HTTPS=0 $(BIN)/legionary init
	@# A new home gets demo data, and `legionary demo` prints its accounts; a home that has them
	@# already gets them printed from the file. Either way they are printed once.
	@if [ ! -f "$(LEGIONARY_HOME)/demo-credentials.txt" ]; then LEGIONARY_HTTPS=0 $(BIN)/legionary demo; \
	else echo; echo "Demo accounts (username, password):"; cat "$(LEGIONARY_HOME)/demo-credentials.txt"; fi
	@echo; echo "Applicants: http://127.0.0.1:8000/  ·  staff: http://127.0.0.1:8000/login/"; echo
	LEGIONARY_HTTPS=0 exec $(BIN)/legionary serve --host 127.0.0.1 --port 8000

lint: $(BIN)/.installed-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(BIN)/.installed-dev
	$(BIN)/mypy

# Each run of the suite gets its own throwaway LEGIONARY_HOME (never the one `make run` uses, and
# never the other run's), removed when it ends.
test-sqlite: $(BIN)/.installed-dev system-deps
	@home=$$(mktemp -d -t legionary-test-sqlite-XXXXXX) && trap 'rm -rf "$$home"' EXIT && \
	  echo "LEGIONARY_HOME=$$home $(BIN)/python -m pytest" && \
	  LEGIONARY_HOME=$$home $(BIN)/python -m pytest

test-postgres: $(BIN)/.installed-dev system-deps
	@home=$$(mktemp -d -t legionary-test-postgres-XXXXXX) && trap 'rm -rf "$$home"' EXIT && \
	  echo "LEGIONARY_HOME=$$home $(BIN)/python -m tests.pgserver -- $(BIN)/python -m pytest" && \
	  LEGIONARY_HOME=$$home $(BIN)/python -m tests.pgserver -- $(BIN)/python -m pytest

# Lint and types first, then the suite on SQLite and on PostgreSQL at the same time: two processes,
# each with its own home and database, which a 2-core machine runs in about the time of the longer
# one. Each run's output is printed whole, one after the other, as it ends (--output-sync), and
# `make test` fails if either run does (after both have finished).
test: lint typecheck
	@echo "The suite on SQLite and on PostgreSQL at once; each run's output follows when it ends."
	@$(MAKE) --no-print-directory -j2 --output-sync=target test-sqlite test-postgres

# The project's catalogues (uk, ru; be and ka for the public templates) cover the shared templates, access, core and settings; each other
# domain app keeps its own under src/legionary/APP/locale (as intake does). This collects new strings;
# then translate every entry in the .po files (tests/core/test_translations.py fails on an
# untranslated or fuzzy one) and run it again to compile.
MESSAGES_APPS := intake api audit identity vetting training units reports
messages: $(BIN)/.installed-dev app-messages
	cd src/legionary && DJANGO_SETTINGS_MODULE=tests.settings PYTHONPATH=$(CURDIR) $(CURDIR)/$(BIN)/django-admin \
	  makemessages -l uk -l ru $(foreach app,$(MESSAGES_APPS),--ignore='$(app)/*') --no-location --no-obsolete --no-wrap
	# Belarusian and Georgian: public pages only, so only what the public side shows (its base, the
	# error pages, the shared components), none of the staff-only templates and code.
	cd src/legionary && DJANGO_SETTINGS_MODULE=tests.settings PYTHONPATH=$(CURDIR) $(CURDIR)/$(BIN)/django-admin \
	  makemessages -l be -l ka $(foreach app,$(MESSAGES_APPS) access core,--ignore='$(app)/*') \
	  --ignore='templates/access/*' --ignore='templates/staff_base.html' --ignore='*.py' --no-location --no-obsolete --no-wrap
	for lang in uk ru be ka; do msgfmt --check -o src/legionary/locale/$$lang/LC_MESSAGES/django.mo \
	  src/legionary/locale/$$lang/LC_MESSAGES/django.po; done

# The domain apps' own catalogues (uk, ru), refreshed the same way from inside each app's folder
# (`make app-messages` alone leaves the project catalogues alone). The `locale` folder must exist
# first, or makemessages would write into the project catalogues instead.
APP_CATALOGUES := identity audit vetting training units reports
app-messages: $(BIN)/.installed-dev
	set -e; for app in $(APP_CATALOGUES); do \
	  mkdir -p src/legionary/$$app/locale; \
	  (cd src/legionary/$$app && DJANGO_SETTINGS_MODULE=tests.settings PYTHONPATH=$(CURDIR) $(CURDIR)/$(BIN)/django-admin \
	    makemessages -l uk -l ru --no-location --no-obsolete --no-wrap); \
	  for lang in uk ru; do msgfmt --check -o src/legionary/$$app/locale/$$lang/LC_MESSAGES/django.mo \
	    src/legionary/$$app/locale/$$lang/LC_MESSAGES/django.po; done; \
	done

# The README's gallery (docs/img/: landing, form, confirmation, dashboard, gradebook), from real
# instances driven by the browser tests; the vetting journey's shots go to docs/img/vetting-*.png.
screenshot: $(BIN)/.installed-dev system-deps
	LEGIONARY_SCREENSHOT=1 $(BIN)/python -m pytest tests/browser/test_public_pages.py tests/browser/test_dashboard.py -q

# The design system's compiled assets under src/legionary/static/legionary/ are committed, so `make run`
# and `make test` need no Node. This rebuilds them from frontend/package-lock.json (npm ci, then Dart
# Sass): our stylesheet (GOV.UK Frontend + MOJ Frontend with our own look), both libraries' ES module
# bundles, and the few icons the stylesheet refers to. No GOV.UK font, crown or logo is copied.
STATIC := src/legionary/static/legionary
MOJ_ICONS := icon-close-cross-black icon-document icon-tag-remove-cross-white icon-tag-remove-cross icon-toggle-plus-minus
assets:
	cd frontend && npm ci --no-audit --no-fund --ignore-scripts
	cd frontend && node_modules/.bin/sass --load-path=. --style=compressed --no-source-map --quiet-deps \
	  scss/legionary.scss ../$(STATIC)/legionary.min.css
	mkdir -p $(STATIC)/images
	sed 's,//# sourceMappingURL=.*,,' frontend/node_modules/govuk-frontend/dist/govuk/govuk-frontend.min.js > $(STATIC)/govuk-frontend.min.js
	sed 's,//# sourceMappingURL=.*,,' frontend/node_modules/@ministryofjustice/frontend/moj/moj-frontend.min.js > $(STATIC)/moj-frontend.min.js
	for icon in $(MOJ_ICONS); do cp frontend/node_modules/@ministryofjustice/frontend/moj/assets/images/$$icon.svg $(STATIC)/images/; done
	@if grep -qiE 'GDS Transport|@font-face|crest|crown' $(STATIC)/legionary.min.css; then \
	  echo "legionary.min.css refers to a GOV.UK font, crown or crest"; exit 1; fi

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
