/**
 * The postgres store's invariants, checked by SQL from outside certstage: a connection of the
 * cluster's superuser (row-level security is forced on every table, for the tables' owner too, so
 * only a superuser sees every team's rows). Two kinds of check:
 *
 * - on one snapshot: what must hold at any moment (one deployment per pair, every deployment
 *   names a version of its certificate, version numbers 1..last with no unexplained gap, every
 *   change of a deployment and every version has its history row, at most one pending task);
 * - between the previous snapshot and this one: what may only grow (versions keep their number
 *   and their bytes, environments' generations never go back, history rows stay as they were).
 *
 * Each check counts its violations and describes each one, so a failure says which rows broke what.
 */

/** One statement as the superuser in the store's database. */
export type SuperuserQuery = (sql: string) => Promise<Record<string, unknown>[]>;

export interface StoreSnapshot {
  /** certificate name -> last_version */
  readonly lastVersions: ReadonlyMap<string, number>;
  /** `<certificate>/<version>` -> digest of the version's row and its sealed key */
  readonly versions: ReadonlyMap<string, string>;
  /** environment -> generation */
  readonly generations: ReadonlyMap<string, number>;
  /** history id -> digest of the row */
  readonly history: ReadonlyMap<number, string>;
  /** `<environment>/<certificate>` -> version served */
  readonly deployments: ReadonlyMap<string, number>;
  /** `<certificate>/<version>` -> the version's SHA-256 fingerprint (as certstage's records write it) */
  readonly fingerprints: ReadonlyMap<string, string>;
}

export interface InvariantReport {
  /** check name -> violations found (0 for every check when the store is sound) */
  readonly counts: Record<string, number>;
  /** One line per violation, naming the check and the rows. */
  readonly violations: string[];
}

/** Violating rows, one description each. */
const SNAPSHOT_CHECKS: Record<string, string> = {
  "one deployment per (certificate, environment)": `
    SELECT format('%s in %s: %s deployments', c.name, d.environment, count(*)) AS problem
      FROM certstage.deployments d JOIN certstage.certificates c ON c.id = d.certificate_id
     GROUP BY c.name, d.environment HAVING count(*) > 1`,
  "every deployment names a version of its certificate": `
    SELECT format('%s in %s names version %s, which it does not have', c.name, d.environment, d.version) AS problem
      FROM certstage.deployments d JOIN certstage.certificates c ON c.id = d.certificate_id
     WHERE NOT EXISTS (SELECT 1 FROM certstage.versions v WHERE v.certificate_id = d.certificate_id AND v.version = d.version)`,
  "every deployment carries a generation of its environment, none twice": `
    SELECT format('%s in %s at generation %s (environment at %s, %s deployments at it)', c.name, d.environment, d.generation, e.generation,
                  count(*) OVER (PARTITION BY d.environment, d.generation)) AS problem
      FROM certstage.deployments d JOIN certstage.certificates c ON c.id = d.certificate_id JOIN certstage.environments e ON e.name = d.environment
     WHERE d.generation < 1 OR d.generation > e.generation
        OR EXISTS (SELECT 1 FROM certstage.deployments o WHERE o.environment = d.environment AND o.generation = d.generation AND o.certificate_id <> d.certificate_id)`,
  "version numbers run 1..last_version, a gap only where a removal was recorded": `
    SELECT format('%s: version %s is missing and no removal was recorded (last_version %s)', c.name, n, c.last_version) AS problem
      FROM certstage.certificates c CROSS JOIN LATERAL generate_series(1, c.last_version) AS n
     WHERE NOT EXISTS (SELECT 1 FROM certstage.versions v WHERE v.certificate_id = c.id AND v.version = n)
       AND NOT EXISTS (SELECT 1 FROM certstage.version_removals r WHERE r.certificate_id = c.id AND r.version = n)
    UNION ALL
    SELECT format('%s: version %s is above last_version %s', c.name, v.version, c.last_version)
      FROM certstage.versions v JOIN certstage.certificates c ON c.id = v.certificate_id WHERE v.version > c.last_version`,
  "every version has exactly one version.create in history": `
    SELECT format('%s: version %s has %s version.create rows', c.name, v.version,
                  (SELECT count(*) FROM certstage.history h WHERE h.action = 'version.create' AND h.certificate = c.name AND h.to_version = v.version)) AS problem
      FROM certstage.versions v JOIN certstage.certificates c ON c.id = v.certificate_id
     WHERE (SELECT count(*) FROM certstage.history h WHERE h.action = 'version.create' AND h.certificate = c.name AND h.to_version = v.version) <> 1`,
  "every version with a key has its sealed key": `
    SELECT format('%s: version %s has no sealed key', c.name, v.version) AS problem
      FROM certstage.versions v JOIN certstage.certificates c ON c.id = v.certificate_id
     WHERE v.has_private_key AND NOT EXISTS (SELECT 1 FROM certstage.version_keys k WHERE k.certificate_id = v.certificate_id AND k.version = v.version)`,
  // Each deployment change bumps its environment's generation by one and writes one history row
  // (deploy, rollback or undeploy); a redeploy of the version already served does neither.
  "each generation of an environment is one deployment change in history": `
    SELECT format('%s is at generation %s but history has %s deployment changes there', e.name, e.generation, count(h.id)) AS problem
      FROM certstage.environments e
      LEFT JOIN certstage.history h ON h.environment = e.name AND h.action IN ('deploy', 'rollback', 'undeploy') AND h.result = 'ok'
     GROUP BY e.name, e.generation HAVING count(h.id) <> e.generation`,
  "every deployment is its pair's last change in history": `
    SELECT format('%s in %s serves version %s, but its last history row says %s', c.name, d.environment, d.version, coalesce(last.action || ' to ' || last.to_version, 'nothing')) AS problem
      FROM certstage.deployments d JOIN certstage.certificates c ON c.id = d.certificate_id
      LEFT JOIN LATERAL (SELECT h.action, h.to_version FROM certstage.history h
                          WHERE h.certificate = c.name AND h.environment = d.environment AND h.action IN ('deploy', 'rollback', 'undeploy') AND h.result = 'ok'
                          ORDER BY h.id DESC LIMIT 1) last ON true
     WHERE last.action IS NULL OR last.action = 'undeploy' OR last.to_version <> d.version`,
  "at most one pending task per (certificate, environment)": `
    SELECT format('%s in %s: %s pending tasks', c.name, t.environment, count(*)) AS problem
      FROM certstage.tasks t JOIN certstage.certificates c ON c.id = t.certificate_id
     WHERE t.state = 'pending' GROUP BY c.name, t.environment HAVING count(*) > 1`,
};

export async function snapshotStore(query: SuperuserQuery): Promise<StoreSnapshot> {
  const [certificates, versions, environments, history, deployments] = await Promise.all([
    query("SELECT name, last_version FROM certstage.certificates"),
    // The whole row as text, and the sealed key's bytes (a rekey may re-wrap its data key only).
    query(`SELECT c.name || '/' || v.version AS id, md5(v::text || coalesce(encode(k.ciphertext, 'hex'), '')) AS digest, v.record->>'fingerprintSha256' AS fingerprint
             FROM certstage.versions v JOIN certstage.certificates c ON c.id = v.certificate_id
             LEFT JOIN certstage.version_keys k ON k.certificate_id = v.certificate_id AND k.version = v.version`),
    query("SELECT name, generation FROM certstage.environments"),
    query("SELECT id, md5(h::text) AS digest FROM certstage.history h"),
    query("SELECT d.environment || '/' || c.name AS id, d.version FROM certstage.deployments d JOIN certstage.certificates c ON c.id = d.certificate_id"),
  ]);
  return {
    lastVersions: new Map(certificates.map((row) => [String(row.name), Number(row.last_version)])),
    versions: new Map(versions.map((row) => [String(row.id), String(row.digest)])),
    fingerprints: new Map(versions.map((row) => [String(row.id), String(row.fingerprint)])),
    generations: new Map(environments.map((row) => [String(row.name), Number(row.generation)])),
    history: new Map(history.map((row) => [Number(row.id), String(row.digest)])),
    deployments: new Map(deployments.map((row) => [String(row.id), Number(row.version)])),
  };
}

/** What only grows: `previous` against `current`, each violation described. */
function growthViolations(previous: StoreSnapshot, current: StoreSnapshot, removed: ReadonlySet<string>): Record<string, string[]> {
  const found: Record<string, string[]> = {
    "versions keep their number and bytes": [],
    "last_version never goes back": [],
    "generations never go back": [],
    "history only grows, its rows unchanged": [],
  };
  for (const [id, digest] of previous.versions) {
    const now = current.versions.get(id);
    if (now === undefined && !removed.has(id)) found["versions keep their number and bytes"].push(`version ${id} vanished without a recorded removal`);
    else if (now !== undefined && now !== digest) found["versions keep their number and bytes"].push(`version ${id} changed (its row or sealed key)`);
  }
  // A version's bytes under two numbers would be a renumbering or a copy: every generated key is new.
  const numbersByDigest = new Map<string, string[]>();
  for (const [id, digest] of current.versions) numbersByDigest.set(digest, [...(numbersByDigest.get(digest) ?? []), id]);
  for (const ids of numbersByDigest.values()) if (ids.length > 1) found["versions keep their number and bytes"].push(`the same bytes under ${ids.join(" and ")}`);
  for (const [name, last] of previous.lastVersions) {
    const now = current.lastVersions.get(name);
    if (now === undefined || now < last) found["last_version never goes back"].push(`${name}: last_version ${last} -> ${now ?? "gone"}`);
  }
  for (const [environment, generation] of previous.generations) {
    const now = current.generations.get(environment);
    if (now === undefined || now < generation) found["generations never go back"].push(`${environment}: generation ${generation} -> ${now ?? "gone"}`);
  }
  const previousLast = Math.max(0, ...previous.history.keys());
  for (const [id, digest] of previous.history) {
    const now = current.history.get(id);
    if (now !== digest) found["history only grows, its rows unchanged"].push(`history row ${id} ${now === undefined ? "vanished" : "changed"}`);
  }
  for (const id of current.history.keys()) {
    if (!previous.history.has(id) && id < previousLast) found["history only grows, its rows unchanged"].push(`history row ${id} appeared before the previous last row ${previousLast}`);
  }
  return found;
}

/**
 * Every check on `current`, and, given the previous round's snapshot, every check of what may
 * only grow. Run after each round; a sound store reports 0 for every check.
 */
export async function checkInvariants(query: SuperuserQuery, current: StoreSnapshot, previous?: StoreSnapshot): Promise<InvariantReport> {
  const counts: Record<string, number> = {};
  const violations: string[] = [];
  const record = (check: string, problems: readonly string[]) => {
    counts[check] = problems.length;
    violations.push(...problems.map((problem) => `${check}: ${problem}`));
  };
  const results = await Promise.all(Object.entries(SNAPSHOT_CHECKS).map(async ([check, sql]) => [check, (await query(sql)).map((row) => String(row.problem))] as const));
  for (const [check, problems] of results) record(check, problems);
  if (previous) {
    const removals = await query("SELECT c.name || '/' || r.version AS id FROM certstage.version_removals r JOIN certstage.certificates c ON c.id = r.certificate_id");
    for (const [check, problems] of Object.entries(growthViolations(previous, current, new Set(removals.map((row) => String(row.id)))))) record(check, problems);
  }
  return { counts, violations };
}

/** What a stack's `pulumi stack export` says it deployed and which versions its resources hold. */
export interface StackClaims {
  /** `<environment>/<certificate>` -> deployedVersion */
  readonly deployments: ReadonlyMap<string, number>;
  /** `<certificate>/<version>` -> fingerprintSha256 */
  readonly versions: ReadonlyMap<string, string>;
}

const TYPE_PREFIX = "pulumi-nodejs:dynamic/certstage:";

export function stackClaims(exported: string): StackClaims {
  const resources = (JSON.parse(exported).deployment?.resources ?? []) as Array<{ type: string; outputs?: Record<string, unknown> }>;
  const deployments = new Map<string, number>();
  const versions = new Map<string, string>();
  for (const resource of resources) {
    const outputs = resource.outputs ?? {};
    if (resource.type === `${TYPE_PREFIX}EnvironmentDeployment`) deployments.set(`${outputs.environment}/${outputs.certificate}`, Number(outputs.deployedVersion));
    if (resource.type === `${TYPE_PREFIX}CertificateVersion`) versions.set(`${outputs.certificate}/${outputs.version}`, String(outputs.fingerprintSha256));
  }
  return { deployments, versions };
}

/** Where a stack's state and the store disagree: each deployment it claims is the store's, each version it holds the store's. */
export function claimDisagreements(stack: string, claims: StackClaims, store: StoreSnapshot): string[] {
  const problems: string[] = [];
  for (const [pair, version] of claims.deployments) {
    const served = store.deployments.get(pair);
    if (served !== version) problems.push(`${stack}: state says ${pair} serves version ${version}, the store says ${served ?? "nothing"}`);
  }
  for (const [id, fingerprint] of claims.versions) {
    const stored = store.fingerprints.get(id);
    if (stored !== fingerprint) problems.push(`${stack}: state holds version ${id} (${fingerprint.slice(0, 17)}…), the store ${stored === undefined ? "has no such version" : `holds ${stored.slice(0, 17)}…`}`);
  }
  return problems;
}
