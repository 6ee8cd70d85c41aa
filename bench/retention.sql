-- Retention benchmark data: :rows documents of :rows / 10 employees, in
-- date order as a table fills over the years.  Two fifths are payslips,
-- kept under the payroll_record type (seven years from the end of the
-- calendar year); the oldest quarter of the table predates that, so one row
-- in ten is expired.  A handful of employees are under a legal hold.
--
--   ret.employee           the subject's root table
--   ret.document_template  the data, never touched by a run
--   ret.document           registered, reached from employee through its
--                          foreign key, with the retention rule on it
--   ret.document_plain     an identical copy, for the plain DELETE
--
-- The benchmark reloads ret.document and ret.document_plain from the
-- template before every measurement (session_replication_role = replica
-- skips the foreign-key checks of a reload of rows that are known to fit).
-- psql variables: rows.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

CREATE SCHEMA ret;

CREATE TABLE ret.employee (
    id       int  PRIMARY KEY,
    name     text NOT NULL,
    hired_on date NOT NULL,
    left_on  date
);
INSERT INTO ret.employee
SELECT e, 'Medewerker ' || e, DATE '2005-01-01' + (e * 37 % 6000),
       CASE WHEN e % 3 = 0 THEN DATE '2005-01-01' + (e * 37 % 6000) + 400 END
  FROM generate_series(1, greatest(:rows / 10, 1)) e;

-- The first quarter of the rows is dated in the four years before the
-- first day that is not expired yet (1 January, seven years ago), the rest
-- from that day to yesterday; g % 5 in (0, 1) are payslips.
CREATE TABLE ret.document_template (
    id          bigint NOT NULL,
    employee_id int    NOT NULL,
    doc_type    text   NOT NULL,
    doc_date    date   NOT NULL,
    title       text   NOT NULL,
    body        text
);
INSERT INTO ret.document_template
SELECT g, (g * 7919 % greatest(:rows / 10, 1)) + 1, t, d,
       t || ' ' || to_char(d, 'YYYY-MM') || ' #' || g, repeat(md5(g::text), 3)
  FROM (SELECT g,
               (ARRAY['payslip', 'payslip', 'contract', 'timesheet', 'correspondence'])[g % 5 + 1] AS t,
               CASE WHEN g <= q
                    THEN c - 1 - ((q - g) * 1460 / q)::int
                    ELSE c + ((g - q - 1) * (CURRENT_DATE - 1 - c) / greatest(n - q, 1))::int
               END AS d
          FROM (SELECT greatest(:rows::bigint / 4, 1) AS q, :rows::bigint AS n,
                       make_date(extract(year FROM CURRENT_DATE)::int - 7, 1, 1) AS c) k,
               generate_series(1::bigint, :rows::bigint) g) s;

CREATE TABLE ret.document (
    id          bigint PRIMARY KEY,
    employee_id int    NOT NULL REFERENCES ret.employee,
    doc_type    text   NOT NULL,
    doc_date    date   NOT NULL,
    title       text   NOT NULL,
    body        text
);
CREATE INDEX ON ret.document (employee_id);
CREATE TABLE ret.document_plain (LIKE ret.document INCLUDING ALL);
ALTER TABLE ret.document_plain ADD FOREIGN KEY (employee_id) REFERENCES ret.employee;

SELECT privacy.register_subject_type('bench_employee', 'ret.employee', 'id');
SELECT privacy.register_table('ret.employee', 'bench_employee');
SELECT privacy.register_table('ret.document', 'bench_employee', via => ARRAY['ret.employee']::regclass[]);
SELECT privacy.load_retention_preset();
SELECT privacy.create_retention_rule('bench_payslips', 'ret.document', 'payroll_record',
                                     start_expr => 'doc_date', condition => $$doc_type = 'payslip'$$);

-- five employees with expired payslips under a legal hold
SELECT privacy.place_hold('bench_employee', d.employee_id::text, 'Pending dispute')
  FROM ret.document_template d
 WHERE d.id IN (5, 1005, 2005, 3005, 4005) AND d.id <= :rows;

VACUUM ANALYZE ret.employee, ret.document_template;
