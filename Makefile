# Makefile for pg_privacy
#
# The extension is built with PGXS.  The targets test, demo, bench and fuzz
# are driven by scripts that first install whatever the machine is missing,
# so they work on a fresh Debian 12 machine before PostgreSQL is installed.

EXTENSION = pg_privacy
MODULE_big = pg_privacy
OBJS = $(patsubst %.c,%.o,$(wildcard src/*.c))
# The install script of the current version is a build product: the pieces
# of sql/src, one per concern, joined in the order of their names.  Released
# install scripts and the upgrade scripts are committed and never change.
EXTVERSION := $(shell sed -n "s/^default_version *= *'\(.*\)'/\1/p" $(dir $(firstword $(MAKEFILE_LIST)))pg_privacy.control)
SQL_PIECES = $(sort $(wildcard sql/src/*.sql))
DATA_built = sql/pg_privacy--$(EXTVERSION).sql
DATA = $(filter-out $(DATA_built),$(wildcard sql/pg_privacy--*.sql))
DOCS = README.md
SCRIPTS = bin/pg_privacy_lint

REGRESS = $(patsubst test/sql/%.sql,%,$(sort $(wildcard test/sql/*.sql)))
REGRESS_OPTS = --inputdir=test
ISOLATION = $(patsubst test/isolation/specs/%.spec,%,$(sort $(wildcard test/isolation/specs/*.spec)))
ISOLATION_OPTS = --inputdir=test/isolation

PG_CPPFLAGS = -I$(srcdir)/src
# -Wclobbered (part of -Wextra) misfires on PG_TRY blocks whose variables are
# not changed inside the block, as PostgreSQL's own code relies on.
PG_CFLAGS = -Wall -Wextra -Werror -Wno-unused-parameter -Wno-clobbered \
	-Wno-missing-field-initializers -Wno-sign-compare

PG_CONFIG ?= $(firstword $(wildcard /usr/lib/postgresql/15/bin/pg_config) pg_config)
PGXS := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)
ifneq ($(wildcard $(PGXS)),)
include $(PGXS)
endif

$(OBJS): $(wildcard src/*.h)

$(DATA_built): $(SQL_PIECES) pg_privacy.control
	{ printf '/* pg_privacy--%s.sql: assembled from sql/src by the Makefile; edit the pieces */\n\n' '$(EXTVERSION)'; \
	  printf '%s\n' '-- complain if script is sourced in psql, rather than via CREATE EXTENSION'; \
	  printf '%s\n' '\echo Use "CREATE EXTENSION pg_privacy CASCADE" to load this file. \quit'; \
	  for f in $(SQL_PIECES); do printf '\n'; cat "$$f"; done; } > $@.tmp && mv $@.tmp $@

.PHONY: test test-all demo demo-stop bench fuzz deps installcheck-pgtap uninstall-lint deb dist

# make installcheck (PGXS) runs the pg_regress suite and the isolation specs
# against the server PGHOST, PGPORT and PGUSER name, which must preload
# pg_privacy; the pgTAP files run there too, each in a transaction it rolls
# back, in a database of their own.
installcheck: installcheck-pgtap

# PGXS removes scripts by their path in the tree (bin/...), not by the name
# it installed them under: remove the command by its name.
uninstall: uninstall-lint
uninstall-lint:
	rm -f '$(DESTDIR)$(bindir)/pg_privacy_lint'

installcheck-pgtap:
	bash test/pgtap_run.sh pg_privacy_pgtap $(CURDIR)/pgtap.log || { cat $(CURDIR)/pgtap.log; exit 1; }
	@grep -E '^(Files|Result)' $(CURDIR)/pgtap.log

deps:
	bash tools/deps.sh

test:
	bash test/run.sh

# the slow checks too: crashes, dumps across clusters, replicas,
# sanitizers, load (test/hardening)
test-all: test
	bash test/hardening/run.sh

demo:
	bash demo/run.sh

demo-stop:
	bash demo/run.sh stop

bench:
	bash bench/run.sh

fuzz:
	bash test/fuzz/run.sh

# the Debian package postgresql-15-pg-privacy, in build/ (tools/deb.sh)
deb:
	bash tools/deb.sh

# the PGXN archive pg_privacy-$(EXTVERSION).zip (tools/dist.sh)
dist:
	bash tools/dist.sh
