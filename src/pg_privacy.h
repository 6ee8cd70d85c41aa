/*-------------------------------------------------------------------------
 *
 * pg_privacy.h
 *	  Declarations shared by the modules of pg_privacy: settings, the
 *	  audit trail's C interface, BSN authorization and the hooks.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_PRIVACY_H
#define PG_PRIVACY_H

#include "postgres.h"

#include "nodes/parsenodes.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#define PRIVACY_VERSION "0.2.0"
#define PRIVACY_SCHEMA "privacy"

/* settings (pg_privacy.c) */
extern char *privacy_admin_role;
extern char *privacy_officer_role;
extern char *privacy_bsn_role;
extern char *privacy_actor;
extern int	privacy_bsn_visible_digits;
extern bool privacy_hooks_active;

extern Oid	privacy_schema_oid(void);

/*
 * Nonzero while the extension acts on a table as its owner for the purge or
 * an erasure (retention.c).  For that statement only, not for the queries
 * of its triggers (privacy_acting_internally), the extension's own row
 * policies let every row through and the BSN update guard lets BSNs be
 * blanked; plans made meanwhile keep the policies as calls.
 */
extern int	privacy_internal_depth;
extern int	privacy_internal_level; /* executor level where it acts */
extern int	privacy_exec_level;		/* hooks.c */
extern bool privacy_acting_internally(int offset);
extern void privacy_spi_connect(void);
extern void privacy_spi_finish(void);

/* audit trail (audit.c) */
extern void privacy_audit_init(void);
extern void privacy_audit_append(const char *action, const char *object,
								 const char *subject_type,
								 const char *subject_key, Jsonb *details);

/* BSN type and its authorization (bsn.c) */
extern void privacy_bsn_init(void);
extern bool privacy_bsn_authorized(void);
extern bool privacy_role_bsn_authorized(Oid roleid);
extern void privacy_bsn_role_assign(const char *newval, void *extra);
extern Oid	privacy_bsn_type_oid(void);
extern bool privacy_type_involves_bsn(Oid typid);

/* registry and row-level authorization (registry.c) */
typedef struct PrivacyRegisteredTable
{
	Oid			relid;
	char	   *scope_column;	/* NULL when not scoped */
	char	   *key_columns;	/* comma-separated key and foreign-key columns, or NULL */
	bool		scoped;			/* has a privacy_scope policy */
} PrivacyRegisteredTable;

extern void privacy_registry_init(void);
extern bool privacy_role_is_admin(Oid roleid);
extern PrivacyRegisteredTable *privacy_registered_table(Oid relid);
extern void privacy_registry_exec(const char *sql, int nargs, Oid *argtypes, Datum *values);
extern void privacy_catalog_query(const char *sql, int nargs, Oid *argtypes, Datum *values);

/* column policies: masking inside the engine (masking.c) */
extern void privacy_masking_reset(void);
extern bool privacy_masking_cached(void);
extern bool privacy_masking_catalog(Oid relid);
extern bool privacy_mask_query(Query *parse);
extern bool privacy_copy_needs_query(Oid relid);
extern bool privacy_column_masked_for(Oid relid, AttrNumber attnum, Oid roleid);

/* retention and rights support (retention.c) */
extern void privacy_retention_init(void);
extern uint64 privacy_act_as_owner_run(Oid relid, const char *sql, int nargs,
									   Oid *argtypes, Datum *values, char *nulls);

/* kept plans of the statements the extension builds (plans.c) */
struct _SPI_plan;
extern struct _SPI_plan *privacy_kept_plan(const char *sql, int nargs,
										   Oid *argtypes, void **handle);
extern void privacy_kept_plan_release(struct _SPI_plan *plan, void *handle);
extern int	privacy_push_extension_path(void);
extern uint64 privacy_kept_execute(const char *sql, int nargs, Oid *argtypes,
								   Datum *values, const char *nulls);

/* support access under grants (support.c) */
struct QueryDesc;
struct PlannedStmt;
extern char *privacy_support_role;
extern int	privacy_support_max_duration;
extern bool privacy_strict;
extern void privacy_support_reset(void);
extern bool privacy_support_user(Oid roleid);
extern void privacy_support_scopes(Oid roleid, bool *all, List **values, MemoryContext cxt);
extern bool privacy_support_sees_viewer(Oid roleid, Oid viewer);
extern bool privacy_support_bsn(Oid roleid);
extern int64 privacy_support_check_relation(Oid roleid, Oid relid, bool write, TimestampTz now);
extern List *privacy_support_check(struct PlannedStmt *stmt);
extern List *privacy_support_used(struct PlannedStmt *stmt);
extern void privacy_support_log(struct QueryDesc *queryDesc, List *used);
extern void privacy_registry_reset(void);

/* hooks (hooks.c) */
extern void privacy_hooks_init(void);

/* scanning text for BSN-like numbers (scrub.c) */
extern bool privacy_text_has_bsn(const char *s, int min_digits);
extern bool privacy_scrub_bsn(char *s);
extern void privacy_find_bsn(const char *s, void (*cb) (int start, int end, void *arg), void *arg);

#endif							/* PG_PRIVACY_H */
