/* pg_privacy--0.1.0--0.2.0.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION pg_privacy UPDATE TO '0.2.0'" to load this file. \quit

-- Every change to the SQL of 0.1.0 that 0.2.0 makes, in the order of the
-- pieces of sql/src it belongs to.  An updated installation must equal a
-- fresh one of 0.2.0: test/upgrade compares the two over pg_catalog.
