/**
 * The postgres store's schema, as numbered migrations that certstage runs itself (`certstage
 * store migrate`, or automatically by a role allowed to). Each runs once, in one transaction,
 * under a transaction-scoped advisory lock, so two runners meeting an empty database at once
 * neither race on `CREATE` nor leave a session lock behind a pooler.
 *
 * The database enforces the store's invariants itself, so no client, modified or buggy, can
 * break them:
 *   - one deployment per (certificate, environment): the primary key;
 *   - every deployment change bumps its environment's generation, checked by a trigger, and the
 *     change is a compare-and-swap on it;
 *   - a saved version's rows and bytes never change (triggers refuse UPDATE, and DELETE unless
 *     the removal was recorded first); only the wrapping of its data key can be replaced (rekey);
 *   - version numbers follow the certificate's last number, under its row lock, never reused;
 *   - history is append-only;
 *   - at most one pending task per (certificate, environment).
 *
 * Ownership is row-level security keyed on the connecting role (FORCE on every table, so the
 * tables' owner is held to it too): a certificate's owner is a role, and its members may change
 * it; `share_with` roles and the reader/agent groups may read. Private keys live in their own
 * tables, which the read-only group has no privilege on at all.
 */

import { RELEASE } from "../../lifecycle/ownership";

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/** The schema every certstage object lives in; one store per database. */
export const SCHEMA = "certstage";

/**
 * Group roles the migrations grant to. A team's runner roles join `certstage_runner` and their
 * team role; previews connect as a member of `certstage_reader`; agents as a member of
 * `certstage_agent`; `certstage_admin` may act for every owner (store copy, rekey).
 */
export const GROUP_ROLES = {
  runner: "certstage_runner",
  reader: "certstage_reader",
  agent: "certstage_agent",
  admin: "certstage_admin",
} as const;

/** Advisory lock keys, two-int form so they cannot collide with another application's one-int locks. */
export const ADVISORY_LOCK_CLASS = 0x63657274; // "cert"
export const MIGRATION_LOCK_KEY = 1;

/** The channel deployment changes are announced on; the payload is `{"environment":…,"generation":…}`. */
export const DEPLOYMENT_CHANNEL = "certstage_deployments";

const NAME_CHECK = (column: string) => `CHECK (${column} ~ '^[a-z0-9]([a-z0-9._-]{0,62}[a-z0-9])?$' AND ${column} NOT LIKE '%..%')`;

/** Roles the connecting role acts for, once per statement (an initplan), not once per row. */
const MY_ROLES = "(SELECT certstage.my_roles())";
const READS_ALL = "(SELECT certstage.reads_everything())";
const IS_ADMIN = "(SELECT certstage.is_admin())";
/** Certificates the connecting role may change: it acts for their owner (or is an admin). */
const OWNED = `(SELECT c.id FROM certstage.certificates c WHERE c.owner = ANY (${MY_ROLES}::text[]) OR ${IS_ADMIN})`;
/** Certificates it may see; RLS on certificates filters this subquery. */
const VISIBLE = "(SELECT c.id FROM certstage.certificates c)";

const INITIAL = `
DO $roles$
DECLARE
  wanted text;
BEGIN
  FOREACH wanted IN ARRAY ARRAY['${GROUP_ROLES.runner}', '${GROUP_ROLES.reader}', '${GROUP_ROLES.agent}', '${GROUP_ROLES.admin}'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = wanted) THEN
      -- Needs CREATEROLE; without it, a database administrator makes these four first (README).
      EXECUTE format('CREATE ROLE %I NOLOGIN', wanted);
    END IF;
  END LOOP;
END
$roles$;

CREATE SCHEMA ${SCHEMA};
REVOKE ALL ON SCHEMA ${SCHEMA} FROM PUBLIC;
GRANT USAGE ON SCHEMA ${SCHEMA} TO ${GROUP_ROLES.runner}, ${GROUP_ROLES.reader}, ${GROUP_ROLES.agent}, ${GROUP_ROLES.admin};

CREATE TABLE certstage.migrations (
  version int PRIMARY KEY,
  name text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now(),
  applied_by text NOT NULL DEFAULT current_user
);

-- Every role the connecting role is a member of (directly or through teams), itself included.
CREATE FUNCTION certstage.my_roles() RETURNS text[] LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
  SELECT coalesce(array_agg(r.rolname::text), '{}') FROM pg_catalog.pg_roles r WHERE pg_catalog.pg_has_role(current_user, r.oid, 'MEMBER')
$$;
CREATE FUNCTION certstage.is_admin() RETURNS boolean LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
  SELECT '${GROUP_ROLES.admin}' = ANY (certstage.my_roles())
$$;
CREATE FUNCTION certstage.reads_everything() RETURNS boolean LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
  SELECT certstage.my_roles() && ARRAY['${GROUP_ROLES.reader}', '${GROUP_ROLES.agent}', '${GROUP_ROLES.admin}']
$$;

CREATE FUNCTION certstage.refuse(code text, message text, fix text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  -- SQLSTATE class CS: certstage's own refusals; the driver turns them into CertstageErrors.
  RAISE EXCEPTION USING ERRCODE = 'CS001', MESSAGE = code || ': ' || message, HINT = fix;
END
$$;

CREATE TABLE certstage.store_identity (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE certstage.certificates (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name text NOT NULL UNIQUE ${NAME_CHECK("name")},
  display_name text NOT NULL,
  type text NOT NULL CHECK (type IN ('server', 'ca')),
  owner text NOT NULL,
  share_with text[] NOT NULL DEFAULT '{}',
  description text NOT NULL DEFAULT '',
  profile text CHECK (profile IN ('public', 'private')),
  last_version int NOT NULL DEFAULT 0 CHECK (last_version >= 0),
  origin jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  -- A deleted certificate keeps its row, so a certificate made again under its name goes on numbering.
  deleted_at timestamptz
);
CREATE INDEX certificates_owner ON certstage.certificates (owner);

CREATE FUNCTION certstage.certificate_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.last_version < OLD.last_version THEN
    PERFORM certstage.refuse('VERSION_IMMUTABLE', format('certificate %L would go back from version %s to %s', OLD.name, OLD.last_version, NEW.last_version), 'version numbers are never reused; this is a client bug, report it');
  END IF;
  IF NEW.name <> OLD.name OR NEW.id <> OLD.id THEN
    PERFORM certstage.refuse('NAME_INVALID', format('certificate %L cannot change its name', OLD.name), 'rename it through displayName; the name is its identity');
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER certificate_guard BEFORE UPDATE ON certstage.certificates FOR EACH ROW EXECUTE FUNCTION certstage.certificate_guard();

CREATE TABLE certstage.versions (
  certificate_id bigint NOT NULL REFERENCES certstage.certificates (id),
  version int NOT NULL CHECK (version >= 1),
  -- The version's public facts (VersionRecord without the names above); never key material.
  record jsonb NOT NULL,
  certificate_pem text NOT NULL,
  chain_pem text NOT NULL,
  fullchain_pem text NOT NULL,
  csr_pem text,
  has_private_key boolean NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  created_by text NOT NULL DEFAULT current_user,
  PRIMARY KEY (certificate_id, version)
);

-- Removals are recorded before a version's rows may go (retention, certstage versions remove, a
-- certificate's delete): a version never disappears without a trace.
CREATE TABLE certstage.version_removals (
  certificate_id bigint NOT NULL REFERENCES certstage.certificates (id),
  version int NOT NULL,
  removed_at timestamptz NOT NULL DEFAULT now(),
  removed_by text NOT NULL DEFAULT current_user,
  PRIMARY KEY (certificate_id, version)
);

-- The private key, sealed under a data key that the key-encryption key wraps (key-envelope.ts).
CREATE TABLE certstage.version_keys (
  certificate_id bigint NOT NULL,
  version int NOT NULL,
  kek_id text NOT NULL,
  wrapped_key bytea NOT NULL,
  ciphertext bytea NOT NULL,
  PRIMARY KEY (certificate_id, version),
  FOREIGN KEY (certificate_id, version) REFERENCES certstage.versions (certificate_id, version) ON DELETE CASCADE
);

CREATE FUNCTION certstage.version_numbering() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE certstage.certificates SET last_version = NEW.version, updated_at = now()
    WHERE id = NEW.certificate_id AND last_version = NEW.version - 1 AND deleted_at IS NULL;
  IF NOT FOUND THEN
    PERFORM certstage.refuse('VERSION_IMMUTABLE', format('version %s is not the next number of certificate %s', NEW.version, NEW.certificate_id), 'versions are numbered by the store under the certificate''s row lock; this is a client bug, report it');
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER version_numbering BEFORE INSERT ON certstage.versions FOR EACH ROW EXECUTE FUNCTION certstage.version_numbering();

CREATE FUNCTION certstage.version_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    PERFORM certstage.refuse('VERSION_IMMUTABLE', format('version %s of certificate %s was saved and cannot change', OLD.version, OLD.certificate_id), 'save a new version instead');
  END IF;
  IF NOT EXISTS (SELECT 1 FROM certstage.version_removals r WHERE r.certificate_id = OLD.certificate_id AND r.version = OLD.version) THEN
    PERFORM certstage.refuse('VERSION_IMMUTABLE', format('version %s of certificate %s cannot be deleted without recording its removal', OLD.version, OLD.certificate_id), 'remove versions with certstage versions remove, or by retention');
  END IF;
  RETURN OLD;
END
$$;
CREATE TRIGGER version_immutable BEFORE UPDATE OR DELETE ON certstage.versions FOR EACH ROW EXECUTE FUNCTION certstage.version_immutable();

-- A sealed key's bytes stay as they were; a rekey may only re-wrap its data key.
CREATE FUNCTION certstage.version_key_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.certificate_id = OLD.certificate_id AND NEW.version = OLD.version AND NEW.ciphertext = OLD.ciphertext THEN
    RETURN NEW;
  END IF;
  PERFORM certstage.refuse('VERSION_IMMUTABLE', format('the sealed key of version %s of certificate %s cannot change', OLD.version, OLD.certificate_id), 'save a new version instead; certstage store rekey re-wraps data keys only');
  RETURN NULL;
END
$$;
CREATE TRIGGER version_key_guard BEFORE UPDATE ON certstage.version_keys FOR EACH ROW EXECUTE FUNCTION certstage.version_key_guard();
CREATE TRIGGER version_key_immutable BEFORE DELETE ON certstage.version_keys FOR EACH ROW EXECUTE FUNCTION certstage.version_immutable();

CREATE TABLE certstage.environments (
  name text PRIMARY KEY ${NAME_CHECK("name")},
  -- Bumped by every deployment change in the environment: the fencing token agents and writers compare.
  generation bigint NOT NULL DEFAULT 0 CHECK (generation >= 0)
);

CREATE FUNCTION certstage.generation_forward() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.generation < OLD.generation OR NEW.name <> OLD.name THEN
    PERFORM certstage.refuse('DEPLOYMENT_CONFLICT', format('environment %L cannot go back from generation %s to %s', OLD.name, OLD.generation, NEW.generation), 'generations only move forward; this is a client bug, report it');
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER generation_forward BEFORE UPDATE ON certstage.environments FOR EACH ROW EXECUTE FUNCTION certstage.generation_forward();

CREATE TABLE certstage.deployments (
  certificate_id bigint NOT NULL REFERENCES certstage.certificates (id),
  environment text NOT NULL REFERENCES certstage.environments (name),
  version int NOT NULL,
  -- The environment's generation this deployment was made at.
  generation bigint NOT NULL,
  deployed_at timestamptz NOT NULL DEFAULT now(),
  deployed_by text NOT NULL DEFAULT current_user,
  PRIMARY KEY (certificate_id, environment),
  FOREIGN KEY (certificate_id, version) REFERENCES certstage.versions (certificate_id, version) ON DELETE RESTRICT
);
CREATE INDEX deployments_environment ON certstage.deployments (environment);

-- A deployment change must come with its environment's generation bumped in the same
-- transaction (the compare-and-swap the client made): a writer that skipped it, or one working
-- from a stale generation, is refused.
CREATE FUNCTION certstage.deployment_fenced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  current_generation bigint;
  row_environment text := CASE WHEN TG_OP = 'DELETE' THEN OLD.environment ELSE NEW.environment END;
BEGIN
  SELECT e.generation INTO current_generation FROM certstage.environments e WHERE e.name = row_environment;
  IF TG_OP = 'DELETE' THEN
    IF current_generation <= OLD.generation THEN
      PERFORM certstage.refuse('DEPLOYMENT_CONFLICT', format('undeploying from %L needs its generation bumped first', row_environment), 'bump certstage.environments.generation in the same transaction; this is a client bug, report it');
    END IF;
    RETURN OLD;
  END IF;
  IF NEW.generation IS DISTINCT FROM current_generation OR (TG_OP = 'UPDATE' AND NEW.generation <= OLD.generation) THEN
    PERFORM certstage.refuse('DEPLOYMENT_CONFLICT', format('a deployment in %L was written at generation %s while the environment is at %s', row_environment, NEW.generation, current_generation), 'another writer changed the environment first: read it again (pulumi refresh) and retry');
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER deployment_fenced BEFORE INSERT OR UPDATE OR DELETE ON certstage.deployments FOR EACH ROW EXECUTE FUNCTION certstage.deployment_fenced();

-- Agents follow their environment by this; the payload names no certificate and no key.
CREATE FUNCTION certstage.deployment_announced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  row_environment text := CASE WHEN TG_OP = 'DELETE' THEN OLD.environment ELSE NEW.environment END;
BEGIN
  PERFORM pg_notify('${DEPLOYMENT_CHANNEL}', json_build_object('environment', row_environment, 'generation', (SELECT e.generation FROM certstage.environments e WHERE e.name = row_environment))::text);
  RETURN NULL;
END
$$;
CREATE TRIGGER deployment_announced AFTER INSERT OR UPDATE OR DELETE ON certstage.deployments FOR EACH ROW EXECUTE FUNCTION certstage.deployment_announced();

CREATE TABLE certstage.history (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at timestamptz NOT NULL DEFAULT clock_timestamp(),
  actor text NOT NULL DEFAULT current_user,
  action text NOT NULL,
  certificate text NOT NULL,
  environment text,
  from_version int,
  to_version int,
  result text NOT NULL CHECK (result IN ('ok', 'failed')),
  detail text
);
CREATE INDEX history_certificate ON certstage.history (certificate, id);

CREATE FUNCTION certstage.append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM certstage.refuse('STORE_READ_ONLY', format('%s is append-only: %s refused', TG_TABLE_NAME, TG_OP), 'history is never rewritten; record a new entry instead');
  RETURN NULL;
END
$$;
CREATE TRIGGER history_append_only BEFORE UPDATE OR DELETE ON certstage.history FOR EACH ROW EXECUTE FUNCTION certstage.append_only();
CREATE TRIGGER history_no_truncate BEFORE TRUNCATE ON certstage.history FOR EACH STATEMENT EXECUTE FUNCTION certstage.append_only();
CREATE TRIGGER removals_append_only BEFORE UPDATE OR DELETE ON certstage.version_removals FOR EACH ROW EXECUTE FUNCTION certstage.append_only();

CREATE TABLE certstage.tasks (
  id text PRIMARY KEY,
  certificate_id bigint NOT NULL REFERENCES certstage.certificates (id),
  environment text NOT NULL ${NAME_CHECK("environment")},
  version int NOT NULL,
  state text NOT NULL CHECK (state IN ('pending', 'running', 'done', 'failed', 'cancelled')),
  -- The rest of the DeploymentTask (dates, runner, the stack's environment definitions).
  record jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE UNIQUE INDEX tasks_one_pending ON certstage.tasks (certificate_id, environment) WHERE state = 'pending';

CREATE TABLE certstage.acme_accounts (
  directory_url text PRIMARY KEY,
  account_url text,
  kek_id text NOT NULL,
  wrapped_key bytea NOT NULL,
  ciphertext bytea NOT NULL
);

-- Orders and renewal records are keyed by the certificate's name: AcmeRenewal keeps them before and
-- beside the certificate's rows. The role they were written for owns them.
CREATE TABLE certstage.acme_orders (
  certificate text PRIMARY KEY ${NAME_CHECK("certificate")},
  owner text NOT NULL,
  record jsonb NOT NULL,
  kek_id text NOT NULL,
  wrapped_key bytea NOT NULL,
  ciphertext bytea NOT NULL
);

CREATE TABLE certstage.acme_renewals (
  certificate text PRIMARY KEY ${NAME_CHECK("certificate")},
  owner text NOT NULL,
  record jsonb NOT NULL
);

-- What each agent serves: observations, not changes, so no history. An agent writes only its own rows.
CREATE TABLE certstage.agent_reports (
  agent_id text NOT NULL ${NAME_CHECK("agent_id")},
  environment text NOT NULL,
  certificate text NOT NULL,
  host text NOT NULL,
  version int,
  served_fingerprint text,
  last_seen timestamptz NOT NULL,
  last_error text,
  reported_by text NOT NULL DEFAULT current_user,
  PRIMARY KEY (agent_id, environment, certificate)
);

-- Row-level security everywhere, forced, so the tables' owner is held to it too.
DO $rls$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['migrations', 'store_identity', 'certificates', 'versions', 'version_removals', 'version_keys', 'environments', 'deployments', 'history', 'tasks', 'acme_accounts', 'acme_orders', 'acme_renewals', 'agent_reports'] LOOP
    EXECUTE format('ALTER TABLE certstage.%I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE certstage.%I FORCE ROW LEVEL SECURITY', t);
  END LOOP;
END
$rls$;

CREATE POLICY migrations_read ON certstage.migrations FOR SELECT USING (true);
CREATE POLICY migrations_record ON certstage.migrations FOR INSERT WITH CHECK (true);

CREATE POLICY identity_read ON certstage.store_identity FOR SELECT USING (true);
CREATE POLICY identity_make ON certstage.store_identity FOR INSERT WITH CHECK (true);

CREATE POLICY certificates_read ON certstage.certificates FOR SELECT
  USING (owner = ANY (${MY_ROLES}::text[]) OR share_with && ${MY_ROLES} OR ${READS_ALL});
CREATE POLICY certificates_create ON certstage.certificates FOR INSERT
  WITH CHECK (owner = ANY (${MY_ROLES}::text[]) OR ${IS_ADMIN});
-- Only the owner changes a certificate; the new row may name another owner (a transfer is the owner's act).
CREATE POLICY certificates_change ON certstage.certificates FOR UPDATE
  USING (owner = ANY (${MY_ROLES}::text[]) OR ${IS_ADMIN}) WITH CHECK (true);

CREATE POLICY versions_read ON certstage.versions FOR SELECT USING (certificate_id IN ${VISIBLE});
CREATE POLICY versions_create ON certstage.versions FOR INSERT WITH CHECK (certificate_id IN ${OWNED} AND (created_by = current_user OR ${IS_ADMIN}));
CREATE POLICY versions_remove ON certstage.versions FOR DELETE USING (certificate_id IN ${OWNED});

CREATE POLICY removals_read ON certstage.version_removals FOR SELECT USING (certificate_id IN ${VISIBLE});
CREATE POLICY removals_record ON certstage.version_removals FOR INSERT WITH CHECK (certificate_id IN ${OWNED} AND removed_by = current_user);

CREATE POLICY keys_read ON certstage.version_keys FOR SELECT USING (certificate_id IN ${VISIBLE});
CREATE POLICY keys_create ON certstage.version_keys FOR INSERT WITH CHECK (certificate_id IN ${OWNED});
CREATE POLICY keys_rewrap ON certstage.version_keys FOR UPDATE USING (certificate_id IN ${OWNED}) WITH CHECK (certificate_id IN ${OWNED});
CREATE POLICY keys_remove ON certstage.version_keys FOR DELETE USING (certificate_id IN ${OWNED});

CREATE POLICY environments_read ON certstage.environments FOR SELECT USING (true);
CREATE POLICY environments_create ON certstage.environments FOR INSERT WITH CHECK (generation = 0);
CREATE POLICY environments_bump ON certstage.environments FOR UPDATE USING (true) WITH CHECK (true);

CREATE POLICY deployments_read ON certstage.deployments FOR SELECT USING (certificate_id IN ${VISIBLE});
CREATE POLICY deployments_create ON certstage.deployments FOR INSERT WITH CHECK (certificate_id IN ${OWNED} AND (deployed_by = current_user OR ${IS_ADMIN}));
CREATE POLICY deployments_change ON certstage.deployments FOR UPDATE USING (certificate_id IN ${OWNED}) WITH CHECK (certificate_id IN ${OWNED} AND deployed_by = current_user);
CREATE POLICY deployments_remove ON certstage.deployments FOR DELETE USING (certificate_id IN ${OWNED});

CREATE POLICY history_read ON certstage.history FOR SELECT
  USING (certificate IN (SELECT c.name FROM certstage.certificates c));
-- Anyone who may see a certificate may say what they saw of it (a verification); nobody may speak
-- for another role, except an admin copying a file store's history in (certstage store copy).
CREATE POLICY history_append ON certstage.history FOR INSERT
  WITH CHECK ((actor = current_user OR ${IS_ADMIN}) AND certificate IN (SELECT c.name FROM certstage.certificates c));

CREATE POLICY tasks_read ON certstage.tasks FOR SELECT USING (certificate_id IN ${VISIBLE});
CREATE POLICY tasks_create ON certstage.tasks FOR INSERT WITH CHECK (certificate_id IN ${OWNED});
CREATE POLICY tasks_change ON certstage.tasks FOR UPDATE USING (certificate_id IN ${OWNED}) WITH CHECK (certificate_id IN ${OWNED});

-- ACME accounts belong to the store's runners together: one account per directory, shared.
CREATE POLICY accounts_use ON certstage.acme_accounts FOR ALL USING (true) WITH CHECK (true);

CREATE POLICY orders_read ON certstage.acme_orders FOR SELECT USING (owner = ANY (${MY_ROLES}::text[]) OR ${IS_ADMIN});
CREATE POLICY orders_write ON certstage.acme_orders FOR ALL USING (owner = ANY (${MY_ROLES}::text[]) OR ${IS_ADMIN}) WITH CHECK (owner = ANY (${MY_ROLES}::text[]) OR ${IS_ADMIN});

CREATE POLICY renewals_read ON certstage.acme_renewals FOR SELECT USING (owner = ANY (${MY_ROLES}::text[]) OR ${READS_ALL});
CREATE POLICY renewals_write ON certstage.acme_renewals FOR ALL USING (owner = ANY (${MY_ROLES}::text[]) OR ${IS_ADMIN}) WITH CHECK (owner = ANY (${MY_ROLES}::text[]) OR ${IS_ADMIN});

CREATE POLICY reports_read ON certstage.agent_reports FOR SELECT USING (true);
CREATE POLICY reports_write ON certstage.agent_reports FOR INSERT WITH CHECK (reported_by = current_user);
CREATE POLICY reports_change ON certstage.agent_reports FOR UPDATE USING (reported_by = current_user) WITH CHECK (reported_by = current_user);

-- Privileges: what each group may attempt at all; the policies above decide which rows.
GRANT SELECT ON ALL TABLES IN SCHEMA ${SCHEMA} TO ${GROUP_ROLES.runner}, ${GROUP_ROLES.admin};
GRANT INSERT ON certstage.store_identity, certstage.certificates, certstage.versions, certstage.version_removals, certstage.version_keys,
  certstage.environments, certstage.deployments, certstage.history, certstage.tasks, certstage.acme_accounts, certstage.acme_orders, certstage.acme_renewals
  TO ${GROUP_ROLES.runner}, ${GROUP_ROLES.admin};
GRANT UPDATE ON certstage.certificates, certstage.version_keys, certstage.environments, certstage.deployments, certstage.tasks,
  certstage.acme_accounts, certstage.acme_orders, certstage.acme_renewals
  TO ${GROUP_ROLES.runner}, ${GROUP_ROLES.admin};
GRANT DELETE ON certstage.versions, certstage.version_keys, certstage.deployments, certstage.acme_orders, certstage.acme_renewals
  TO ${GROUP_ROLES.runner}, ${GROUP_ROLES.admin};
-- Previews: everything but the tables that hold sealed keys, and no writes of any kind.
GRANT SELECT ON certstage.migrations, certstage.store_identity, certstage.certificates, certstage.versions, certstage.version_removals,
  certstage.environments, certstage.deployments, certstage.history, certstage.tasks, certstage.acme_renewals
  TO ${GROUP_ROLES.reader};
-- Agents: what their environment serves, keys included, and their own reports.
GRANT SELECT ON certstage.migrations, certstage.store_identity, certstage.certificates, certstage.versions, certstage.version_keys,
  certstage.environments, certstage.deployments, certstage.agent_reports
  TO ${GROUP_ROLES.agent};
-- Runners may report too (an agent run from CI with --once); like agents, only their own rows.
GRANT INSERT, UPDATE ON certstage.agent_reports TO ${GROUP_ROLES.agent}, ${GROUP_ROLES.runner};
GRANT SELECT ON certstage.agent_reports TO ${GROUP_ROLES.reader};
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA ${SCHEMA} TO ${GROUP_ROLES.runner}, ${GROUP_ROLES.reader}, ${GROUP_ROLES.agent}, ${GROUP_ROLES.admin};
`;

/**
 * What a listing of every version reads (Store.listAllVersions, for `certstage status`): the
 * record without its JWK and chain fingerprints, kept by the database itself beside the record.
 * The record is mostly its JWK and is stored out of line; the summary is small enough to stay in
 * the row, so a listing neither fetches nor converts the rest. Generated, so it can never differ
 * from its record (and a version's row still never changes).
 */
const VERSION_SUMMARY = `
ALTER TABLE certstage.versions ADD COLUMN summary jsonb GENERATED ALWAYS AS (record - 'jwk' - 'chainFingerprints') STORED;
`;

/**
 * What `certstage notify` sent or is sending, one row per notice key, so a notice goes out once
 * whichever runner sees it. Row-level security like the other tables, forced: a role sees and
 * writes the rows of certificates it may see (telling of a certificate changes nothing of it),
 * and previews (the reader group) get SELECT only, so a pull request's job can never mark a
 * notice sent. Claims are taken with `SELECT … FOR UPDATE` on the row, or an INSERT that
 * conflicts, in one transaction.
 */
const NOTIFICATIONS = `
CREATE TABLE certstage.notifications (
  -- PostgreSQL's regular expressions repeat at most 255 times: the length is its own check.
  key text PRIMARY KEY CHECK (key ~ '^(expiry|failure):[!-~]+$' AND length(key) <= 408),
  certificate text NOT NULL ${NAME_CHECK("certificate")},
  environment text,
  state text NOT NULL CHECK (state IN ('claimed', 'sent', 'failed')),
  -- The rest of the NotificationRecord (attempts, claim, times, last error).
  record jsonb NOT NULL,
  written_by text NOT NULL DEFAULT current_user
);
ALTER TABLE certstage.notifications ENABLE ROW LEVEL SECURITY;
ALTER TABLE certstage.notifications FORCE ROW LEVEL SECURITY;
CREATE POLICY notifications_read ON certstage.notifications FOR SELECT USING (certificate IN (SELECT c.name FROM certstage.certificates c));
CREATE POLICY notifications_write ON certstage.notifications FOR INSERT WITH CHECK (certificate IN (SELECT c.name FROM certstage.certificates c) AND written_by = current_user);
CREATE POLICY notifications_change ON certstage.notifications FOR UPDATE
  USING (certificate IN (SELECT c.name FROM certstage.certificates c)) WITH CHECK (certificate IN (SELECT c.name FROM certstage.certificates c) AND written_by = current_user);
GRANT SELECT, INSERT, UPDATE ON certstage.notifications TO ${GROUP_ROLES.runner}, ${GROUP_ROLES.admin};
GRANT SELECT ON certstage.notifications TO ${GROUP_ROLES.reader};
`;

/**
 * Task retention (lifecycle/retention.ts): a runner may remove finished tasks of certificates its
 * roles own, and nothing else. A pending or running task is refused to anybody, the tables' owner
 * included, by a trigger: retention must never take what a runner is about to do. History keeps
 * every task's outcome and stays append-only.
 */
const TASK_RETENTION = `
CREATE FUNCTION certstage.keep_unfinished_tasks() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.state IN ('pending', 'running') THEN
    PERFORM certstage.refuse('TASK_STATE', format('task %s is %s and cannot be removed', OLD.id, OLD.state), 'cancel it first with certstage tasks cancel; only finished tasks are pruned');
  END IF;
  RETURN OLD;
END
$$;
CREATE TRIGGER tasks_keep_unfinished BEFORE DELETE ON certstage.tasks FOR EACH ROW EXECUTE FUNCTION certstage.keep_unfinished_tasks();
CREATE POLICY tasks_remove ON certstage.tasks FOR DELETE USING (certificate_id IN ${OWNED} AND state IN ('done', 'failed', 'cancelled'));
GRANT DELETE ON certstage.tasks TO ${GROUP_ROLES.runner}, ${GROUP_ROLES.admin};
`;

/**
 * A version's PKCS#12 keystore (keystore.p12, pki/pkcs12.ts), base64. It holds the private key
 * under its password, and is sealed like the key itself (key-envelope.ts): the same guards (its
 * bytes never change, a rekey re-wraps its data key only), the same row-level security, and the
 * same roles may read it; previews (the reader group) may not.
 */
const VERSION_KEYSTORES = `
CREATE TABLE certstage.version_keystores (
  certificate_id bigint NOT NULL,
  version int NOT NULL,
  kek_id text NOT NULL,
  wrapped_key bytea NOT NULL,
  ciphertext bytea NOT NULL,
  PRIMARY KEY (certificate_id, version),
  FOREIGN KEY (certificate_id, version) REFERENCES certstage.versions (certificate_id, version) ON DELETE CASCADE
);
CREATE TRIGGER version_keystore_guard BEFORE UPDATE ON certstage.version_keystores FOR EACH ROW EXECUTE FUNCTION certstage.version_key_guard();
CREATE TRIGGER version_keystore_immutable BEFORE DELETE ON certstage.version_keystores FOR EACH ROW EXECUTE FUNCTION certstage.version_immutable();
ALTER TABLE certstage.version_keystores ENABLE ROW LEVEL SECURITY;
ALTER TABLE certstage.version_keystores FORCE ROW LEVEL SECURITY;
CREATE POLICY keystores_read ON certstage.version_keystores FOR SELECT USING (certificate_id IN ${VISIBLE});
CREATE POLICY keystores_create ON certstage.version_keystores FOR INSERT WITH CHECK (certificate_id IN ${OWNED});
CREATE POLICY keystores_rewrap ON certstage.version_keystores FOR UPDATE USING (certificate_id IN ${OWNED}) WITH CHECK (certificate_id IN ${OWNED});
CREATE POLICY keystores_remove ON certstage.version_keystores FOR DELETE USING (certificate_id IN ${OWNED});
GRANT SELECT, INSERT, UPDATE, DELETE ON certstage.version_keystores TO ${GROUP_ROLES.runner}, ${GROUP_ROLES.admin};
GRANT SELECT ON certstage.version_keystores TO ${GROUP_ROLES.agent};
`;

/**
 * Undeploy tasks (a standby undeploy, queued by an EnvironmentDeployment with state undeployed):
 * a task is a swap to a version or an undeploy, which has none. Rows written before are swaps,
 * which the default says. The table's row-level security and the one-pending-task index apply to
 * both alike: only the certificate's owner queues, runs or cancels an undeploy.
 */
const UNDEPLOY_TASKS = `
ALTER TABLE certstage.tasks ADD COLUMN action text NOT NULL DEFAULT 'deploy' CHECK (action IN ('deploy', 'undeploy'));
ALTER TABLE certstage.tasks ALTER COLUMN version DROP NOT NULL;
ALTER TABLE certstage.tasks ADD CONSTRAINT tasks_version_of_action CHECK ((action = 'undeploy') = (version IS NULL));
`;

/**
 * The summary kept as json text rather than jsonb: a listing of every version only sends it, and
 * jsonb is turned back into text for every row of every listing (10,000 summaries cost the
 * server some 40 ms of a `certstage status` that way, against a copy of the text now). The
 * record stays jsonb: the generated column and the store's queries use its operators.
 */
const VERSION_SUMMARY_TEXT = `
ALTER TABLE certstage.versions DROP COLUMN summary;
ALTER TABLE certstage.versions ADD COLUMN summary json GENERATED ALWAYS AS ((record - 'jwk' - 'chainFingerprints')::json) STORED;
`;

/**
 * Which versions were released (Store.listReleasedVersions, for `certstage status`), kept by the
 * database as history is appended: a trigger on history adds the version of every release line
 * (lifecycle/ownership.ts's rule, written from its constants), whoever inserts it, so the record
 * can never miss one, and the migration folds in the lines written before it. Keyed like history,
 * by certificate name, and read under history's policy: a role sees the releases of exactly the
 * history lines it sees. Nobody may write it directly (no grant; the trigger's function acts as
 * the schema's owner), nor change it (append-only, like history).
 *
 * The backfill reads history as the tables' owner, which FORCE row-level security would hold to
 * the policies (an owner that is not in certstage_admin would see no line): it is lifted for the
 * two tables for the length of the statement, inside the migration's transaction.
 */
const RELEASED = `${SCHEMA}.history.action = '${RELEASE.action}' AND ${SCHEMA}.history.result = '${RELEASE.result}' AND ${SCHEMA}.history.from_version IS NOT NULL`;
const VERSION_RELEASES = `
CREATE TABLE certstage.version_releases (
  certificate text NOT NULL,
  version int NOT NULL CHECK (version >= 1),
  PRIMARY KEY (certificate, version)
);
CREATE FUNCTION certstage.record_release() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
  INSERT INTO certstage.version_releases (certificate, version) VALUES (NEW.certificate, NEW.from_version) ON CONFLICT DO NOTHING;
  RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION certstage.record_release() FROM PUBLIC;
CREATE TRIGGER history_records_release AFTER INSERT ON certstage.history FOR EACH ROW
  WHEN (${RELEASED.replaceAll(`${SCHEMA}.history.`, "NEW.")}) EXECUTE FUNCTION certstage.record_release();
CREATE TRIGGER version_releases_append_only BEFORE UPDATE OR DELETE ON certstage.version_releases FOR EACH ROW EXECUTE FUNCTION certstage.append_only();

ALTER TABLE certstage.history NO FORCE ROW LEVEL SECURITY;
INSERT INTO certstage.version_releases (certificate, version) SELECT DISTINCT certificate, from_version FROM certstage.history WHERE ${RELEASED};
ALTER TABLE certstage.history FORCE ROW LEVEL SECURITY;

ALTER TABLE certstage.version_releases ENABLE ROW LEVEL SECURITY;
ALTER TABLE certstage.version_releases FORCE ROW LEVEL SECURITY;
CREATE POLICY releases_read ON certstage.version_releases FOR SELECT USING (certificate IN (SELECT c.name FROM certstage.certificates c));
CREATE POLICY releases_record ON certstage.version_releases FOR INSERT WITH CHECK (true);
GRANT SELECT ON certstage.version_releases TO ${GROUP_ROLES.runner}, ${GROUP_ROLES.reader}, ${GROUP_ROLES.admin};
`;

/**
 * The summary kept in the row itself (storage MAIN): a version's row holds its PEMs and its
 * record, well over the 2 kB at which PostgreSQL moves values out of line, and the summary went
 * with them, so a listing of every version fetched each summary from the TOAST table (three
 * buffer reads a row, some 40 ms of 60 for 10,000). MAIN keeps it inline unless the row cannot
 * fit in a page without it; the larger record and PEMs still go out of line first. Made again so
 * that rows already stored are rewritten that way (adding a stored column rewrites the table,
 * which fires no trigger: a version's row is not changed, only laid out anew).
 */
const VERSION_SUMMARY_INLINE = `
ALTER TABLE certstage.versions
  DROP COLUMN summary,
  ADD COLUMN summary json GENERATED ALWAYS AS ((record - 'jwk' - 'chainFingerprints')::json) STORED,
  ALTER COLUMN summary SET STORAGE MAIN;
`;

/**
 * What `certstage status` reads of each version (Store.readStatusListings, VersionStatusSummary),
 * kept in the row beside the summary: status reads every version of the
 * store, and the fields it does not show (issuer, notBefore, key algorithm, public-key hash, CA
 * flag, who made it and when, the origin's inputs) were 42 % of the bytes it fetched and parsed,
 * some 30 ms of 10,000 versions. The record minus those fields, so a field added to records later
 * shows up here too, and the upgrade test, which holds the column to exactly its keys, catches it.
 */
const VERSION_STATUS_SUMMARY = `
ALTER TABLE certstage.versions
  ADD COLUMN status_summary json GENERATED ALWAYS AS (((record - ARRAY['jwk', 'chainFingerprints', 'issuer', 'notBefore', 'keyAlgorithm', 'publicKeySha256', 'isCa', 'createdAt', 'createdBy']) #- '{origin,inputs}')::json) STORED,
  ALTER COLUMN status_summary SET STORAGE MAIN;
`;

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: "initial schema: certificates, versions, deployments, history, tasks, ACME", sql: INITIAL },
  { version: 2, name: "versions.summary: what a listing of every version reads", sql: VERSION_SUMMARY },
  { version: 3, name: "notifications: what certstage notify sent, once per notice", sql: NOTIFICATIONS },
  { version: 4, name: "task retention: finished tasks may be removed by their owners, unfinished ones by nobody", sql: TASK_RETENTION },
  { version: 5, name: "version_keystores: a version's PKCS#12 keystore, sealed like its key", sql: VERSION_KEYSTORES },
  { version: 6, name: "undeploy tasks: a task undeploys, or swaps to its version", sql: UNDEPLOY_TASKS },
  { version: 7, name: "versions.summary as json text: a listing sends it without converting it", sql: VERSION_SUMMARY_TEXT },
  { version: 8, name: "version_releases: which versions were released, kept by a trigger on history", sql: VERSION_RELEASES },
  { version: 9, name: "versions.summary kept in the row: a listing reads no TOAST", sql: VERSION_SUMMARY_INLINE },
  { version: 10, name: "versions.status_summary: what certstage status reads of each version", sql: VERSION_STATUS_SUMMARY },
];

export const LATEST_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;
