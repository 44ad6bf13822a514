/**
 * Turns a `postgres://` store setting and the libpq environment variables into a node-postgres
 * connection config, with libpq's meaning (https://www.postgresql.org/docs/15/libpq-connect.html):
 * URL parameters win over PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, PGSSLMODE, …, which win
 * over libpq's defaults (the local socket /var/run/postgresql, port 5432, the OS user, a
 * database named as the user, sslmode=prefer, ~/.pgpass and the files in ~/.postgresql).
 *
 * node-postgres has its own reading of sslmode (and fills unset fields from process.env), so
 * nothing here is left to it: sslmode is parsed here, stripped, and every field pg would
 * otherwise look up is set. What each sslmode does here:
 *
 *   disable      no TLS.
 *   allow        no TLS: libpq's first attempt. libpq would try again with TLS if the server
 *                refused a plaintext connection; pg cannot, so that connect fails with the
 *                server's reason (use require then).
 *   prefer       TLS: libpq's first attempt. libpq would fall back to plaintext against a server
 *                without TLS; pg cannot, so that connect fails (use disable then). The default.
 *   require      TLS, no verification of the server's certificate…
 *   (and prefer)  …unless a root certificate file is there (sslrootcert, or ~/.postgresql/root.crt):
 *                then libpq verifies the chain against it, as verify-ca does (initialize_SSL in
 *                fe-secure-openssl.c sets SSL_VERIFY_PEER whenever it loaded one), and so do we.
 *   verify-ca    TLS; the chain must lead to a certificate in the root file; any host name.
 *   verify-full  TLS; as verify-ca, and the certificate must name the host (or its IP address).
 *
 * sslmode is ignored on a Unix socket (host starting with `/`), as libpq does. `sslrootcert=system`
 * is refused: Node's bundled roots are not the system's, so we would not check what libpq checks.
 * An sslrootcert, sslcert or sslkey named explicitly must be readable (libpq silently skips a
 * missing sslrootcert under require, which would quietly turn verification off); the default files
 * in ~/.postgresql are used when they exist, as libpq does.
 *
 * hostaddr works as in libpq: pg connects to that address, and the certificate is checked against
 * (and SNI names) `host`. Parameters libpq has and certstage cannot honour (service files, CRLs,
 * several hosts, requirepeer, …) are refused rather than ignored, and so are unknown ones.
 *
 * The password never appears in the description or in an error, and is handed to pg as a function,
 * so a config that is logged, serialised or spread into a PoolConfig does not show it.
 */
import { createPrivateKey, createPublicKey, X509Certificate } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import * as tls from "node:tls";
import type { ClientConfig } from "pg";
import { CertstageError, escaped, quoted } from "../../errors";

export const SSL_MODES = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] as const;
export type SslMode = (typeof SSL_MODES)[number];

export interface PostgresConnection {
  /** For `new pg.Client(config)` or `new pg.Pool({ ...config, max })`. */
  readonly config: ClientConfig;
  /** `postgres store ci@127.0.0.1:5432/certs`: for messages; never holds the password. */
  readonly description: string;
  readonly sslmode: SslMode;
  /** What libpq would warn about on stderr (an ignored ~/.pgpass), for the caller to log. */
  readonly warnings: readonly string[];
}

export interface ConnectionOverrides {
  /** From the Pulumi secret `certstage:storePassword`: wins over the URL, PGPASSWORD and ~/.pgpass. */
  readonly password?: string;
  /** Wins over application_name and PGAPPNAME, so certstage's own processes can be told apart. */
  readonly applicationName?: string;
}

export { isPostgresSetting } from "./store-setting";

/** libpq's defaults where it has them (Debian's libpq puts the socket in /var/run/postgresql). */
const DEFAULT_SOCKET_DIRECTORY = "/var/run/postgresql";
const DEFAULT_PORT = 5432;
const DEFAULT_SSLMODE: SslMode = "prefer";
const DEFAULT_APPLICATION_NAME = "certstage";
const FIELD = "certstage:store";

/** The connection parameters read here, and the environment variable libpq reads for each. */
const PARAMETERS = {
  host: "PGHOST",
  hostaddr: "PGHOSTADDR",
  port: "PGPORT",
  dbname: "PGDATABASE",
  user: "PGUSER",
  password: "PGPASSWORD",
  passfile: "PGPASSFILE",
  options: "PGOPTIONS",
  application_name: "PGAPPNAME",
  fallback_application_name: undefined,
  connect_timeout: "PGCONNECT_TIMEOUT",
  keepalives: undefined,
  keepalives_idle: undefined,
  sslmode: "PGSSLMODE",
  sslrootcert: "PGSSLROOTCERT",
  sslcert: "PGSSLCERT",
  sslkey: "PGSSLKEY",
  sslpassword: undefined,
  sslcertmode: "PGSSLCERTMODE",
  sslnegotiation: "PGSSLNEGOTIATION",
  ssl_min_protocol_version: "PGSSLMINPROTOCOLVERSION",
  ssl_max_protocol_version: "PGSSLMAXPROTOCOLVERSION",
  channel_binding: "PGCHANNELBINDING",
  // Accepted only with the values that change nothing for a client that connects to one host,
  // never uses GSSAPI and never compresses (see NO_OP_VALUES).
  gssencmode: "PGGSSENCMODE",
  target_session_attrs: "PGTARGETSESSIONATTRS",
  load_balance_hosts: "PGLOADBALANCEHOSTS",
  sslsni: "PGSSLSNI",
  sslcompression: "PGSSLCOMPRESSION",
  client_encoding: "PGCLIENTENCODING",
  krbsrvname: "PGKRBSRVNAME",
  gsslib: "PGGSSLIB",
} as const satisfies Record<string, string | undefined>;
type Parameter = keyof typeof PARAMETERS;

const NO_OP_VALUES: Partial<Record<Parameter, readonly string[]>> = {
  gssencmode: ["disable", "prefer", "allow"],
  target_session_attrs: ["any"],
  load_balance_hosts: ["disable"],
  sslsni: ["1"],
  sslcompression: ["0"],
  client_encoding: ["UTF8", "utf8", "UTF-8", "utf-8"],
};

/** libpq parameters certstage cannot honour, and why; set in the URL or the environment, they are refused. */
const UNSUPPORTED: Record<string, { readonly env?: string; readonly why: string }> = {
  service: { env: "PGSERVICE", why: "certstage does not read pg_service.conf; write the settings into the URL instead" },
  servicefile: { env: "PGSERVICEFILE", why: "certstage does not read pg_service.conf; write the settings into the URL instead" },
  sslcrl: { env: "PGSSLCRL", why: "certstage does not check certificate revocation lists" },
  sslcrldir: { env: "PGSSLCRLDIR", why: "certstage does not check certificate revocation lists" },
  requirepeer: { env: "PGREQUIREPEER", why: "node-postgres cannot check the server's OS user on a Unix socket" },
  require_auth: { env: "PGREQUIREAUTH", why: "node-postgres cannot restrict the authentication methods it accepts" },
  replication: { why: "certstage does not open replication connections" },
  tcp_user_timeout: { why: "Node's sockets do not expose TCP_USER_TIMEOUT" },
  keepalives_interval: { why: "Node's sockets do not expose TCP_KEEPINTVL" },
  keepalives_count: { why: "Node's sockets do not expose TCP_KEEPCNT" },
};

interface Setting {
  readonly value: string;
  /** Where it came from, for messages: `the URL` or the environment variable. */
  readonly source: string;
}

export function postgresConnectionFrom(setting: string, env: NodeJS.ProcessEnv, overrides: ConnectionOverrides = {}): PostgresConnection {
  const fromUrl = parsePostgresUrl(setting);
  refuseUnsupportedEnvironment(env);
  const get = (parameter: Parameter): Setting | undefined => {
    const inUrl = fromUrl.get(parameter);
    if (inUrl !== undefined && inUrl !== "") return { value: inUrl, source: "the URL" };
    const variable = PARAMETERS[parameter];
    const inEnv = variable === undefined ? undefined : env[variable];
    return inEnv !== undefined && inEnv !== "" ? { value: inEnv, source: variable as string } : undefined;
  };
  for (const [parameter, accepted] of Object.entries(NO_OP_VALUES) as Array<[Parameter, readonly string[]]>) {
    const found = get(parameter);
    if (found && !accepted.includes(found.value)) {
      throw invalid(`${parameter} ${quoted(found.value)} (from ${found.source}) is not supported`, `remove it, or use ${accepted.map((value) => `${parameter}=${value}`).join(" or ")}`);
    }
  }

  const hostaddr = get("hostaddr");
  if (hostaddr && net.isIP(hostaddr.value) === 0) {
    throw invalid(`hostaddr ${quoted(hostaddr.value)} (from ${hostaddr.source}) is not an IP address`, "give hostaddr as a numeric IPv4 or IPv6 address, or use host for a name");
  }
  const hostSetting = get("host");
  if (hostSetting?.value.includes(",")) throw multipleHosts(hostSetting.source);
  const host = hostSetting?.value ?? (hostaddr ? undefined : DEFAULT_SOCKET_DIRECTORY);
  const overSocket = hostaddr === undefined && host !== undefined && host.startsWith("/");
  const port = parsePort(get("port"));
  const user = get("user")?.value ?? operatingSystemUser();
  const database = get("dbname")?.value ?? user;
  const sslmode = parseSslMode(get("sslmode"));
  const home = env.HOME || safeHomeDirectory();

  const warnings: string[] = [];
  const password =
    (overrides.password || get("password")?.value) ??
    passwordFromFile(get("passfile")?.value ?? (home ? path.join(home, ".pgpass") : undefined), {
      host: hostaddr && !hostSetting ? hostaddr.value : host === DEFAULT_SOCKET_DIRECTORY ? "localhost" : (host as string),
      port: String(port),
      database,
      user,
    }, warnings);

  const ssl = overSocket ? false : tlsOptions(sslmode, { host, hostaddr: hostaddr?.value, home, get });
  const negotiation = get("sslnegotiation");
  if (negotiation && !["postgres", "direct"].includes(negotiation.value)) {
    throw invalid(`sslnegotiation ${quoted(negotiation.value)} (from ${negotiation.source}) is not postgres or direct`, "use sslnegotiation=postgres (the default) or sslnegotiation=direct");
  }
  if (negotiation?.value === "direct" && ssl === false) {
    throw invalid(`sslnegotiation=direct (from ${negotiation.source}) needs TLS, but sslmode is ${sslmode}${overSocket ? " over a Unix socket" : ""}`, "use sslmode=require or stricter with sslnegotiation=direct, or drop sslnegotiation");
  }
  const channelBinding = get("channel_binding");
  if (channelBinding && !["disable", "prefer"].includes(channelBinding.value)) {
    throw invalid(`channel_binding ${quoted(channelBinding.value)} (from ${channelBinding.source}) is not supported`, "use channel_binding=prefer (the default: used when the server offers it over TLS) or channel_binding=disable");
  }
  const keepalives = parseInteger("keepalives", get("keepalives"), 0);
  const keepalivesIdle = parseInteger("keepalives_idle", get("keepalives_idle"), 0);
  const connectTimeout = parseInteger("connect_timeout", get("connect_timeout"));
  const options = get("options")?.value;

  const config: ClientConfig = {
    host: hostaddr?.value ?? host,
    port,
    user,
    database,
    // A function: pg then never falls back to process.env.PGPASSWORD or its own ~/.pgpass reading,
    // and the secret is not an enumerable string on the config.
    password: (() => password) as () => string,
    ssl,
    sslnegotiation: negotiation?.value === "direct" ? "direct" : "postgres",
    enableChannelBinding: channelBinding?.value !== "disable",
    application_name: overrides.applicationName || get("application_name")?.value || get("fallback_application_name")?.value || DEFAULT_APPLICATION_NAME,
    // libpq: zero or negative waits forever, and less than 2 seconds means 2.
    connectionTimeoutMillis: connectTimeout === undefined || connectTimeout <= 0 ? 0 : Math.max(connectTimeout, 2) * 1000,
    // libpq turns TCP keepalives on unless keepalives=0.
    keepAlive: !overSocket && keepalives !== 0,
    keepAliveInitialDelayMillis: (keepalivesIdle ?? 0) * 1000,
    ...(options === undefined ? {} : { options }),
  };
  const where = hostaddr && hostSetting ? `${displayHost(hostSetting.value)} (${hostaddr.value})` : displayHost((hostaddr?.value ?? host) as string);
  return {
    config,
    description: `postgres store ${escaped(user)}@${where}:${port}/${escaped(database)}`,
    sslmode,
    warnings,
  };
}

// ---------------------------------------------------------------------------------------------
// The URL: postgresql://[user[:password]@][host][:port][/dbname][?param=value&…]
// (libpq's "Connection URIs"; every part percent-decoded).

function parsePostgresUrl(setting: string): Map<string, string> {
  const text = setting.trim();
  const scheme = /^postgres(?:ql)?:\/\//i.exec(text);
  if (!scheme) throw invalid("the store setting is not a postgres:// or postgresql:// URL", "write it as postgres://user@host:5432/database?sslmode=verify-full");
  const rest = text.slice(scheme[0].length);
  const authorityEnd = rest.search(/[/?]/);
  const authority = authorityEnd === -1 ? rest : rest.slice(0, authorityEnd);
  const afterAuthority = authorityEnd === -1 ? "" : rest.slice(authorityEnd);
  // An '@' past the host, before any parameter value: most likely a '/' or '?' in a password
  // that was not percent-encoded, which would otherwise make part of it a port or database name.
  const firstValue = afterAuthority.indexOf("=");
  if (!authority.includes("@") && afterAuthority.slice(0, firstValue === -1 ? undefined : firstValue).includes("@")) {
    throw invalid("the URL has an '@' after its host", "percent-encode '/', '?' and '@' in the user name, password and database name (%2F, %3F, %40)");
  }
  const parameters = new Map<string, string>();

  const at = authority.lastIndexOf("@");
  if (at !== -1) {
    const userinfo = authority.slice(0, at);
    const colon = userinfo.indexOf(":");
    parameters.set("user", decode(colon === -1 ? userinfo : userinfo.slice(0, colon), "user name"));
    if (colon !== -1) parameters.set("password", decode(userinfo.slice(colon + 1), "password"));
  }
  const hostPort = authority.slice(at + 1);
  if (hostPort.includes(",")) throw multipleHosts("the URL");
  const bracketed = /^\[([^\]]*)\](?::(.*))?$/.exec(hostPort);
  const [hostText, portText] = bracketed ? [bracketed[1], bracketed[2]] : splitOnce(hostPort, ":");
  if (!bracketed && hostText.includes("[")) throw invalid("the URL's host has an unclosed '['", "write an IPv6 address in brackets, as postgres://user@[::1]:5432/database");
  if (hostText !== "") parameters.set("host", decode(hostText, "host"));
  if (portText !== undefined && portText !== "") parameters.set("port", decode(portText, "port"));

  const queryStart = afterAuthority.indexOf("?");
  const pathPart = queryStart === -1 ? afterAuthority : afterAuthority.slice(0, queryStart);
  if (pathPart.length > 1) parameters.set("dbname", decode(pathPart.slice(1), "database name"));
  const query = queryStart === -1 ? "" : afterAuthority.slice(queryStart + 1);
  // With a password among the parameters, an '&' in it (not percent-encoded) would make part of it
  // look like another parameter: then no parameter name is quoted.
  const nameShown = (name: string) => (/(^|&)password=/.test(query) ? "a parameter" : quoted(name));
  for (const pair of query.split("&")) {
    if (pair === "") continue;
    const equals = pair.indexOf("=");
    if (equals === -1) throw invalid(`the URL has ${nameShown(pair)} without '='`, "write URL parameters as name=value, joined by '&', and percent-encode '&' in values (%26)");
    let name = decode(pair.slice(0, equals), "parameter name");
    let value = decode(pair.slice(equals + 1), name === "password" ? "password" : `value of ${name}`);
    // libpq's compatibility with JDBC URLs.
    if (name === "ssl" && value === "true") [name, value] = ["sslmode", "require"];
    if (UNSUPPORTED[name]) throw invalid(`the URL sets ${name}, which certstage does not support: ${UNSUPPORTED[name].why}`, `remove ${name} from the URL`);
    if (!(name in PARAMETERS)) {
      throw invalid(`the URL sets ${nameShown(name)}, which is not a connection parameter certstage knows`, `remove it, or use one of: ${Object.keys(PARAMETERS).join(", ")}`);
    }
    parameters.set(name, value);
  }
  return parameters;
}

function splitOnce(text: string, separator: string): [string, string | undefined] {
  const index = text.indexOf(separator);
  return index === -1 ? [text, undefined] : [text.slice(0, index), text.slice(index + 1)];
}

/** Percent-decoding; a bad escape is reported by part name only (it may be in the password). */
function decode(text: string, part: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw invalid(`the URL's ${part} holds a malformed percent-escape`, "percent-encode special characters in the user name, password and database name (%40 for @, %3A for :, %2F for /, %25 for %)");
  }
}

function refuseUnsupportedEnvironment(env: NodeJS.ProcessEnv): void {
  for (const [parameter, { env: variable, why }] of Object.entries(UNSUPPORTED)) {
    if (variable !== undefined && env[variable]) {
      throw invalid(`${variable} is set (libpq's ${parameter}), which certstage does not support: ${why}`, `unset ${variable} for certstage`);
    }
  }
}

function multipleHosts(source: string): CertstageError {
  return invalid(`${source} names several hosts, which node-postgres cannot try in turn`, "name one host (a load balancer or the primary's address)");
}

function parsePort(setting: Setting | undefined): number {
  if (setting === undefined) return DEFAULT_PORT;
  const port = /^\d{1,5}$/.test(setting.value.trim()) ? Number(setting.value.trim()) : NaN;
  if (!(port >= 1 && port <= 65535)) throw invalid(`port ${quoted(setting.value)} (from ${setting.source}) is not a TCP port`, "give a port number from 1 to 65535");
  return port;
}

/** An integer as libpq's pqParseIntParam reads it: optional sign and surrounding blanks. */
function parseInteger(parameter: Parameter, setting: Setting | undefined, minimum?: number): number | undefined {
  if (setting === undefined) return undefined;
  const match = /^\s*([+-]?\d+)\s*$/.exec(setting.value);
  const value = match ? Number(match[1]) : NaN;
  if (!Number.isSafeInteger(value) || (minimum !== undefined && value < minimum)) {
    throw invalid(`${parameter} ${quoted(setting.value)} (from ${setting.source}) is not a whole number${minimum === undefined ? "" : ` of at least ${minimum}`}`, parameter === "keepalives" ? "use keepalives=1 (the default) or keepalives=0" : `give ${parameter} in whole seconds`);
  }
  return value;
}

function parseSslMode(setting: Setting | undefined): SslMode {
  if (setting === undefined) return DEFAULT_SSLMODE;
  if ((SSL_MODES as readonly string[]).includes(setting.value)) return setting.value as SslMode;
  throw invalid(`sslmode ${quoted(setting.value)} (from ${setting.source}) is not one of ${SSL_MODES.join(", ")}`, "use sslmode=verify-full with sslrootcert=<the CA file> (or sslmode=disable on a trusted local network)");
}

function operatingSystemUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    throw invalid("no database user is given and the operating system user has no name", "name the user in the URL (postgres://user@host/database) or in PGUSER");
  }
}

function safeHomeDirectory(): string | undefined {
  try {
    return os.userInfo().homedir || undefined;
  } catch {
    return undefined;
  }
}

function displayHost(host: string): string {
  // Only a colon can make an IPv6 literal: net.isIPv6's first call compiles its expression, some
  // 5 ms of every postgres command, for a host name or an IPv4 address that cannot be one.
  return escaped(host.includes(":") && net.isIPv6(host) ? `[${host}]` : host);
}

// ---------------------------------------------------------------------------------------------
// TLS

interface TlsContext {
  readonly host: string | undefined;
  readonly hostaddr: string | undefined;
  readonly home: string | undefined;
  readonly get: (parameter: Parameter) => Setting | undefined;
}

function tlsOptions(sslmode: SslMode, context: TlsContext): false | tls.ConnectionOptions {
  if (sslmode === "disable" || sslmode === "allow") return false;
  const { host, hostaddr, home, get } = context;
  const defaultFile = (name: string) => (home ? path.join(home, ".postgresql", name) : undefined);

  const rootSetting = get("sslrootcert");
  if (rootSetting?.value === "system") {
    throw invalid(`sslrootcert=system (from ${rootSetting.source}) is not supported`, "give the path of a PEM file with the CA certificates that may sign the server's certificate");
  }
  const rootFile = rootSetting?.value ?? defaultFile("root.crt");
  const rootPem = rootSetting ? readPemFile(rootSetting.value, "sslrootcert", rootSetting.source) : readIfExists(rootFile, "sslrootcert");
  if (rootPem !== undefined) {
    try {
      new X509Certificate(rootPem);
    } catch {
      throw invalid(`the sslrootcert file ${shown(rootFile as string)} holds no PEM certificate`, "point sslrootcert at the PEM file of the CA that signed the server's certificate");
    }
  }
  const verifyChain = rootPem !== undefined;
  if (sslmode.startsWith("verify-") && !verifyChain) {
    throw invalid(`sslmode=${sslmode} needs the CA certificate to verify the server with, and there is none (no sslrootcert, and ${rootFile ? `no ${rootFile}` : "no home directory"})`, "set sslrootcert=<path of the CA's PEM file> in the URL or PGSSLROOTCERT");
  }
  const verifyHost = sslmode === "verify-full";
  if (verifyHost && host === undefined) {
    throw invalid("sslmode=verify-full needs a host name to check the server's certificate against, and only hostaddr is given", "add host=<the name in the server's certificate> beside hostaddr");
  }

  const options: tls.ConnectionOptions = {
    rejectUnauthorized: verifyChain,
    ...(verifyChain ? { ca: rootPem } : {}),
    ...protocolVersions(get),
    // verify-ca (and require/prefer with a root file): the chain only, any name.
    ...(verifyChain && !verifyHost ? { checkServerIdentity: () => undefined } : {}),
  };
  // With hostaddr, pg connects to the address and would check the certificate against it; libpq
  // checks `host`, and sends it as SNI.
  if (hostaddr !== undefined && host !== undefined) {
    if (net.isIP(host) === 0) options.servername = host;
    if (verifyHost) options.checkServerIdentity = (_name, certificate) => tls.checkServerIdentity(host, certificate);
  }
  const certificate = clientCertificate(get, defaultFile);
  if (certificate) {
    options.cert = certificate.cert;
    // Not enumerable: a logged or serialised config does not show it (pg reads it by name).
    Object.defineProperty(options, "key", { value: certificate.key, enumerable: false, writable: true, configurable: true });
  }
  return options;
}

function protocolVersions(get: TlsContext["get"]): Pick<tls.ConnectionOptions, "minVersion" | "maxVersion"> {
  const versions: Record<string, tls.SecureVersion> = { "TLSv1": "TLSv1", "TLSv1.1": "TLSv1.1", "TLSv1.2": "TLSv1.2", "TLSv1.3": "TLSv1.3" };
  const read = (parameter: "ssl_min_protocol_version" | "ssl_max_protocol_version"): tls.SecureVersion | undefined => {
    const setting = get(parameter);
    if (setting === undefined) return undefined;
    const version = versions[setting.value];
    if (!version) throw invalid(`${parameter} ${quoted(setting.value)} (from ${setting.source}) is not a TLS version`, "use TLSv1.2 or TLSv1.3");
    return version;
  };
  // libpq's default minimum is TLSv1.2.
  const minVersion = read("ssl_min_protocol_version") ?? "TLSv1.2";
  const maxVersion = read("ssl_max_protocol_version");
  return maxVersion === undefined ? { minVersion } : { minVersion, maxVersion };
}

/**
 * The client certificate: sslcert/PGSSLCERT, else ~/.postgresql/postgresql.crt if it exists, with
 * its key (sslkey/PGSSLKEY, else ~/.postgresql/postgresql.key), held to libpq's rules: the key must
 * exist once the certificate does, be a regular file without group or world access (0640 if owned
 * by root), and belong to the certificate. An encrypted key is opened here with sslpassword, so no
 * passphrase travels in the config.
 */
function clientCertificate(get: TlsContext["get"], defaultFile: (name: string) => string | undefined): { cert: string; key: string } | undefined {
  const mode = get("sslcertmode");
  if (mode && !["allow", "disable"].includes(mode.value)) {
    throw invalid(`sslcertmode ${quoted(mode.value)} (from ${mode.source}) is not supported`, "use sslcertmode=allow (the default) or sslcertmode=disable");
  }
  if (mode?.value === "disable") return undefined;
  const certSetting = get("sslcert");
  const certFile = certSetting?.value ?? defaultFile("postgresql.crt");
  const certPem = certSetting ? readPemFile(certSetting.value, "sslcert", certSetting.source) : readIfExists(certFile, "sslcert");
  if (certPem === undefined) return undefined;
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(certPem);
  } catch {
    throw invalid(`the sslcert file ${shown(certFile as string)} holds no PEM certificate`, "point sslcert at the PEM file of the client certificate");
  }
  const keySetting = get("sslkey");
  const keyFile = keySetting?.value ?? defaultFile("postgresql.key");
  if (keyFile === undefined) throw invalid(`there is a client certificate (${certFile}) but no sslkey, and no home directory to find postgresql.key in`, "set sslkey=<path of its private key>");
  let stat;
  try {
    stat = statSync(keyFile);
  } catch (error) {
    throw invalid(`there is a client certificate (${certFile}), but its private key file ${shown(keyFile)} cannot be read (${(error as NodeJS.ErrnoException).code})`, "set sslkey (or PGSSLKEY) to the certificate's private key file");
  }
  if (!stat.isFile()) throw invalid(`the private key file ${shown(keyFile)} is not a regular file`, "point sslkey at the PEM file of the private key");
  if (stat.uid === 0 ? stat.mode & 0o037 : stat.mode & 0o077) {
    throw invalid(`the private key file ${shown(keyFile)} has group or world access`, `chmod 0600 ${keyFile} (or 0640 if root owns it)`);
  }
  const passphrase = get("sslpassword")?.value;
  let key;
  try {
    key = createPrivateKey({ key: readFileSync(keyFile), ...(passphrase === undefined ? {} : { passphrase }) });
  } catch {
    throw invalid(`the private key file ${shown(keyFile)} cannot be read as a private key${passphrase === undefined ? " (if it is encrypted, give sslpassword)" : " with the sslpassword given"}`, "point sslkey at the certificate's PEM private key, and give sslpassword if it is encrypted");
  }
  const matches = createPublicKey(key).export({ format: "der", type: "spki" }).equals(certificate.publicKey.export({ format: "der", type: "spki" }));
  if (!matches) throw invalid(`the private key file ${shown(keyFile)} does not belong to the certificate in ${shown(certFile as string)}`, "give the key the client certificate was issued for");
  return { cert: certPem, key: key.export({ format: "pem", type: "pkcs8" }) as string };
}

/** A file named explicitly must be there and readable; the error names the path and the setting. */
function readPemFile(file: string, parameter: string, source: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    throw invalid(`the ${parameter} file ${shown(file)} (from ${source}) cannot be read (${(error as NodeJS.ErrnoException).code ?? "unreadable"})`, `point ${parameter} at a readable PEM file, or check the path and its permissions`);
  }
}

/** A default file is used if it exists (libpq stats it); any other failure to read it is an error, as in libpq. */
function readIfExists(file: string | undefined, parameter: string): string | undefined {
  if (file === undefined) return undefined;
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw invalid(`the default ${parameter} file ${shown(file)} exists but cannot be read (${code})`, `fix its permissions, or set ${parameter} to another file`);
  }
}

// ---------------------------------------------------------------------------------------------
// The password file (https://www.postgresql.org/docs/15/libpq-pgpass.html)

interface PasswordTarget {
  readonly host: string;
  readonly port: string;
  readonly database: string;
  readonly user: string;
}

/**
 * The password of the first line `host:port:database:user:password` that matches (`*` matches
 * anything; `\:` and `\\` escape). Like libpq, a missing file is silently no password, and a file
 * that is not a regular file or that group or others may read is ignored with a warning.
 */
function passwordFromFile(file: string | undefined, target: PasswordTarget, warnings: string[]): string | undefined {
  if (file === undefined) return undefined;
  let stat;
  try {
    stat = statSync(file);
  } catch {
    return undefined;
  }
  if (!stat.isFile()) {
    warnings.push(`password file ${shown(file)} is not a plain file; it is ignored`);
    return undefined;
  }
  if (stat.mode & 0o077) {
    warnings.push(`password file ${shown(file)} has group or world access (permissions should be u=rw, 0600, or less); it is ignored`);
    return undefined;
  }
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
  const wanted = [target.host, target.port, target.database, target.user];
  for (const line of text.split(/\r?\n/)) {
    if (line === "" || line.startsWith("#")) continue;
    const fields = splitPassFileLine(line);
    if (fields.length < 5) continue;
    if (wanted.every((value, index) => fields[index].wildcard || fields[index].text === value)) return fields[4].text;
  }
  return undefined;
}

/** Fields split at unescaped colons, unescaped; a field written as a bare `*` is a wildcard (`\*` is a star). */
function splitPassFileLine(line: string): Array<{ text: string; wildcard: boolean }> {
  const fields: Array<{ text: string; wildcard: boolean }> = [];
  let text = "";
  let raw = "";
  for (let index = 0; index <= line.length; index += 1) {
    const character = line[index];
    if (character === undefined || character === ":") {
      fields.push({ text, wildcard: raw === "*" });
      text = "";
      raw = "";
    } else if (character === "\\" && index + 1 < line.length) {
      raw += character + line[index + 1];
      text += line[++index];
    } else {
      raw += character;
      text += character;
    }
  }
  return fields;
}

/** A file path, whole (a path is no secret, and a cut one would not say which file). */
function shown(file: string): string {
  return `'${escaped(file)}'`;
}

function invalid(problem: string, fix: string): CertstageError {
  return new CertstageError("STORE_SETTING_INVALID", problem, { field: FIELD, fix });
}
