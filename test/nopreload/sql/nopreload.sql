-- Without shared_preload_libraries the extension installs and its functions
-- work; privacy.status() says which protections are inactive.
SET client_min_messages = warning;
CREATE EXTENSION pg_privacy CASCADE;
RESET client_min_messages;
SELECT component, state FROM privacy.status()
 WHERE component IN ('preload', 'bsn update guard', 'bsn inference guard', 'log scrubber', 'version')
 ORDER BY component;
SELECT detail LIKE '%not in shared_preload_libraries%' AS explains FROM privacy.status()
 WHERE component = 'preload';

-- the type, its masking and the audit trail work
SET client_min_messages = warning;
CREATE ROLE np_clerk LOGIN;
RESET client_min_messages;
CREATE TABLE np_people (id int PRIMARY KEY, bsn privacy.bsn);
GRANT SELECT, INSERT ON np_people TO np_clerk;
INSERT INTO np_people VALUES (1, '111222333');
SELECT bsn FROM np_people;
SET ROLE np_clerk;
SELECT bsn FROM np_people;
-- the privileges on the comparison functions still refuse comparisons
SELECT count(*) FROM np_people WHERE bsn OPERATOR(privacy.=) '111222333';
RESET ROLE;
SELECT privacy.audit_append('nopreload.test');
SELECT valid, entries FROM privacy.audit_verify();
DROP TABLE np_people;
DROP ROLE np_clerk;
