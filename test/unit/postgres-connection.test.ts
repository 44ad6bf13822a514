/**
 * Reading a postgres:// store setting and the libpq environment variables into a pg config
 * (provider/store/postgres/connection.ts): precedence, libpq's defaults and sslmode semantics, the
 * files it reads (sslrootcert, client certificates, ~/.pgpass), and refusals that name the
 * setting and never the password. The real-server side is test/postgres/tls.test.ts.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { inspect } from "node:util";
import type { ConnectionOptions } from "node:tls";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CertstageError } from "../../provider/errors";
import { isPostgresSetting, postgresConnectionFrom, SSL_MODES, type SslMode } from "../../provider/store/postgres/connection";
import { temporaryDirectory } from "../support/certificates";
import { outcomeOf } from "../support/refusals";

let directory: string;
/** A HOME with nothing in it, so no test reads the machine's own ~/.pgpass or ~/.postgresql. */
let emptyHome: string;
let caFile: string;
let client: { certFile: string; keyFile: string; encryptedKeyFile: string; otherKeyFile: string };

beforeAll(() => {
  directory = temporaryDirectory("pg-connection");
  emptyHome = path.join(directory, "empty-home");
  mkdirSync(emptyHome);
  const run = (...args: string[]) => execFileSync("openssl", args, { cwd: directory, stdio: ["ignore", "pipe", "pipe"] });
  run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=unit test CA");
  run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "client.key", "-out", "client.crt", "-days", "2", "-subj", "/CN=ci");
  run("pkey", "-in", "client.key", "-aes256", "-passout", "pass:key passphrase", "-out", "client-encrypted.key");
  run("genpkey", "-algorithm", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-out", "other.key");
  for (const key of ["client.key", "client-encrypted.key", "other.key"]) chmodSync(path.join(directory, key), 0o600);
  caFile = path.join(directory, "ca.crt");
  client = {
    certFile: path.join(directory, "client.crt"),
    keyFile: path.join(directory, "client.key"),
    encryptedKeyFile: path.join(directory, "client-encrypted.key"),
    otherKeyFile: path.join(directory, "other.key"),
  };
});

afterAll(() => {
  execFileSync("rm", ["-rf", directory]);
});

function connect(setting: string, env: NodeJS.ProcessEnv = {}, overrides?: { password?: string; applicationName?: string }) {
  return postgresConnectionFrom(setting, { HOME: emptyHome, ...env }, overrides);
}

function passwordOf(config: { password?: unknown }): string | undefined {
  return (config.password as () => string | undefined)();
}

function refusal(call: () => unknown): CertstageError {
  try {
    call();
  } catch (error) {
    expect(error).toBeInstanceOf(CertstageError);
    const refused = error as CertstageError;
    expect(refused.code).toBe("STORE_SETTING_INVALID");
    expect(refused.field).toBe("certstage:store");
    expect(refused.fix).toBeTruthy();
    return refused;
  }
  throw new Error("expected a refusal");
}

describe("isPostgresSetting", () => {
  it.each([
    ["postgres://ci@db/certs", true],
    ["postgresql://ci@db/certs", true],
    ["  PostgreSQL://db", true],
    ["file:.certstage", false],
    ["./postgres", false],
    ["postgres:/db", false],
  ])("%s -> %s", (text, expected) => {
    expect(isPostgresSetting(text)).toBe(expected);
  });
});

describe("postgresConnectionFrom: the URL and the environment", () => {
  it("reads every part of the URL, percent-decoded", () => {
    const { config, description } = connect("postgres://conformance%40test:p%40ss%3Aw%2Frd@db.example.test:6543/certs%20main?application_name=runner%201&sslmode=disable");
    expect(config).toMatchObject({ host: "db.example.test", port: 6543, user: "conformance@test", database: "certs main", application_name: "runner 1", ssl: false });
    expect(passwordOf(config)).toBe("p@ss:w/rd");
    expect(description).toBe("postgres store conformance@test@db.example.test:6543/certs main");
  });

  it("takes the last '@' as the end of the credentials, so an unencoded '@' in a role name works", () => {
    const { config } = connect("postgresql://team@edge:secret@127.0.0.1/certs?sslmode=disable");
    expect(config).toMatchObject({ user: "team@edge", host: "127.0.0.1" });
    expect(passwordOf(config)).toBe("secret");
  });

  it("reads an IPv6 address in brackets", () => {
    const { config, description } = connect("postgres://ci@[::1]:5433/certs?sslmode=disable");
    expect(config).toMatchObject({ host: "::1", port: 5433 });
    expect(description).toBe("postgres store ci@[::1]:5433/certs");
  });

  it("uses libpq's defaults: the local socket, port 5432, the OS user and a database of that name, sslmode prefer", () => {
    const user = os.userInfo().username;
    const { config, sslmode, description } = connect("postgres://");
    expect(config).toMatchObject({ host: "/var/run/postgresql", port: 5432, user, database: user, ssl: false, application_name: "certstage" });
    expect(sslmode).toBe("prefer");
    expect(description).toBe(`postgres store ${user}@/var/run/postgresql:5432/${user}`);
  });

  it("fills what the URL leaves out from PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, PGAPPNAME, PGCONNECT_TIMEOUT, PGOPTIONS", () => {
    const { config } = connect("postgres://", {
      PGHOST: "db.example.test",
      PGPORT: "6000",
      PGUSER: "ci",
      PGPASSWORD: "from-env",
      PGDATABASE: "certs",
      PGSSLMODE: "disable",
      PGAPPNAME: "nightly",
      PGCONNECT_TIMEOUT: "7",
      PGOPTIONS: "-c statement_timeout=5s",
    });
    expect(config).toMatchObject({ host: "db.example.test", port: 6000, user: "ci", database: "certs", application_name: "nightly", connectionTimeoutMillis: 7000, options: "-c statement_timeout=5s" });
    expect(passwordOf(config)).toBe("from-env");
  });

  it("lets URL parameters win over the environment, and the overrides win over both", () => {
    const env = { PGHOST: "env-host", PGUSER: "env-user", PGPASSWORD: "env-password", PGAPPNAME: "env-app", PGSSLMODE: "verify-full" };
    const fromUrl = connect("postgres://url-user:url-password@url-host/certs?sslmode=disable&application_name=url-app", env);
    expect(fromUrl.config).toMatchObject({ host: "url-host", user: "url-user", application_name: "url-app", ssl: false });
    expect(passwordOf(fromUrl.config)).toBe("url-password");
    const overridden = connect("postgres://url-user:url-password@url-host/certs?sslmode=disable&application_name=url-app", env, { password: "pulumi-secret", applicationName: "certstage agent" });
    expect(passwordOf(overridden.config)).toBe("pulumi-secret");
    expect(overridden.config.application_name).toBe("certstage agent");
  });

  it("reads host, port and dbname given as URL parameters over the URL's own parts, as libpq does", () => {
    const { config } = connect("postgres://ignored:1/ignored?host=%2Ftmp%2Fsockets&port=7000&dbname=certs&user=ci");
    expect(config).toMatchObject({ host: "/tmp/sockets", port: 7000, database: "certs", user: "ci" });
  });

  it("turns libpq's connect_timeout into milliseconds: 0 waits forever, 1 means 2 seconds", () => {
    const timeout = (value: string) => connect(`postgres://db/certs?sslmode=disable&connect_timeout=${value}`).config.connectionTimeoutMillis;
    expect([timeout("0"), timeout("-3"), timeout("1"), timeout(" 10 ")]).toEqual([0, 0, 2000, 10_000]);
  });

  it("keeps TCP keepalives on, as libpq does, unless keepalives=0", () => {
    expect(connect("postgres://db/certs?sslmode=disable").config).toMatchObject({ keepAlive: true, keepAliveInitialDelayMillis: 0 });
    expect(connect("postgres://db/certs?sslmode=disable&keepalives=0").config.keepAlive).toBe(false);
    expect(connect("postgres://db/certs?sslmode=disable&keepalives_idle=30").config.keepAliveInitialDelayMillis).toBe(30_000);
  });

  it("reads ssl=true as sslmode=require (libpq's JDBC compatibility)", () => {
    expect(connect("postgres://db/certs?ssl=true").sslmode).toBe("require");
  });

  it("accepts the libpq parameters that change nothing here only with their no-op values", () => {
    expect(() => connect("postgres://db/certs?target_session_attrs=any&gssencmode=disable&sslsni=1&client_encoding=UTF8")).not.toThrow();
    expect(refusal(() => connect("postgres://db/certs?target_session_attrs=read-write")).message).toMatch(/target_session_attrs "read-write" \(from the URL\) is not supported/);
    expect(refusal(() => connect("postgres://db/certs", { PGCLIENTENCODING: "LATIN1" })).message).toMatch(/from PGCLIENTENCODING/);
  });

  it("hands pg a password function, so the config neither prints nor serialises the password, and survives a spread into a pool config", () => {
    const { config, description } = connect("postgres://ci:hunter2-very-secret@db/certs?sslmode=disable");
    const pool = { ...config, max: 4 };
    expect(passwordOf(pool)).toBe("hunter2-very-secret");
    for (const shown of [description, JSON.stringify(config), inspect(config, { depth: 5, showHidden: false })]) expect(shown).not.toContain("hunter2");
  });

  it("has pg fill nothing from process.env: every field pg would look up there is set", () => {
    const { config } = connect("postgres://ci@db/certs?sslmode=disable");
    for (const field of ["host", "port", "user", "database", "password", "ssl", "application_name", "sslnegotiation"] as const) expect(config[field], field).not.toBeUndefined();
  });
});

describe("postgresConnectionFrom: sslmode as libpq means it", () => {
  type Expected = false | { verifiesChain: boolean; verifiesHost: boolean };
  const tls = (ssl: unknown): Expected => {
    if (ssl === false) return false;
    const options = ssl as ConnectionOptions;
    return { verifiesChain: options.rejectUnauthorized === true && options.ca !== undefined, verifiesHost: options.rejectUnauthorized === true && options.checkServerIdentity === undefined };
  };
  const none = { verifiesChain: false, verifiesHost: false };
  const chain = { verifiesChain: true, verifiesHost: false };
  const full = { verifiesChain: true, verifiesHost: true };
  const table: Array<[SslMode, Expected, Expected | "refused"]> = [
    // sslmode, without a root certificate file, with one
    ["disable", false, false],
    ["allow", false, false],
    ["prefer", none, chain],
    ["require", none, chain],
    ["verify-ca", "refused" as never, chain],
    ["verify-full", "refused" as never, full],
  ];
  it.each(table)("%s: without a root certificate %j, with one %j", (sslmode, withoutRoot, withRoot) => {
    const setting = `postgres://ci@db.example.test/certs?sslmode=${sslmode}`;
    if ((withoutRoot as unknown) === "refused") expect(refusal(() => connect(setting)).message).toMatch(/needs the CA certificate/);
    else expect(tls(connect(setting).config.ssl)).toEqual(withoutRoot);
    expect(tls(connect(`${setting}&sslrootcert=${encodeURIComponent(caFile)}`).config.ssl)).toEqual(withRoot);
  });

  it("covers every sslmode libpq has", () => {
    expect([...SSL_MODES]).toEqual(table.map(([mode]) => mode));
  });

  it("finds the root certificate in ~/.postgresql/root.crt, as libpq does, and then verifies under require", () => {
    const home = path.join(directory, "home-with-root");
    mkdirSync(path.join(home, ".postgresql"), { recursive: true });
    writeFileSync(path.join(home, ".postgresql", "root.crt"), execFileSync("cat", [caFile]));
    const { config } = postgresConnectionFrom("postgres://ci@db/certs?sslmode=require", { HOME: home });
    expect(tls(config.ssl)).toEqual(chain);
  });

  it("reads sslmode and sslrootcert from PGSSLMODE and PGSSLROOTCERT", () => {
    const { config, sslmode } = connect("postgres://ci@db/certs", { PGSSLMODE: "verify-full", PGSSLROOTCERT: caFile });
    expect(sslmode).toBe("verify-full");
    expect(tls(config.ssl)).toEqual(full);
    expect((config.ssl as ConnectionOptions).ca).toContain("BEGIN CERTIFICATE");
  });

  it("ignores sslmode on a Unix socket, as libpq does", () => {
    expect(connect(`postgres://ci@%2Ftmp/certs?sslmode=verify-full&sslrootcert=${encodeURIComponent(caFile)}`).config).toMatchObject({ ssl: false, keepAlive: false });
  });

  it("with hostaddr, connects to the address and checks the certificate (and SNI) against host", () => {
    const { config, description } = connect(`postgres://ci@db.example.test/certs?hostaddr=127.0.0.1&sslmode=verify-full&sslrootcert=${encodeURIComponent(caFile)}`);
    expect(config.host).toBe("127.0.0.1");
    const ssl = config.ssl as ConnectionOptions;
    expect(ssl.servername).toBe("db.example.test");
    expect(typeof ssl.checkServerIdentity).toBe("function");
    expect(description).toBe("postgres store ci@db.example.test (127.0.0.1):5432/certs");
    expect(refusal(() => connect(`postgres://ci@/certs?hostaddr=127.0.0.1&sslmode=verify-full&sslrootcert=${encodeURIComponent(caFile)}`)).message).toMatch(/needs a host name/);
  });

  it("keeps libpq's minimum of TLS 1.2 unless told otherwise", () => {
    expect((connect("postgres://db/certs?sslmode=require").config.ssl as ConnectionOptions).minVersion).toBe("TLSv1.2");
    expect((connect("postgres://db/certs?sslmode=require&ssl_min_protocol_version=TLSv1.3").config.ssl as ConnectionOptions).minVersion).toBe("TLSv1.3");
  });

  it("refuses an unknown sslmode, naming where it came from", () => {
    expect(refusal(() => connect("postgres://db/certs?sslmode=verify_full")).message).toMatch(/sslmode "verify_full" \(from the URL\) is not one of disable, allow, prefer, require, verify-ca, verify-full/);
    expect(refusal(() => connect("postgres://db/certs", { PGSSLMODE: "strict" })).message).toMatch(/\(from PGSSLMODE\)/);
  });

  it("refuses an sslrootcert file it cannot read, naming the whole path", () => {
    const missing = path.join(directory, "a-directory-with-a-long-name", "no-such-ca.pem");
    const message = refusal(() => connect(`postgres://db/certs?sslmode=require&sslrootcert=${encodeURIComponent(missing)}`)).message;
    expect(message).toContain(`'${missing}'`);
    expect(message).toContain("ENOENT");
  });

  it("refuses an sslrootcert file that holds no certificate, and sslrootcert=system", () => {
    const garbage = path.join(directory, "not-a-ca.pem");
    writeFileSync(garbage, "hello\n");
    expect(refusal(() => connect(`postgres://db/certs?sslmode=verify-ca&sslrootcert=${encodeURIComponent(garbage)}`)).message).toMatch(/holds no PEM certificate/);
    expect(refusal(() => connect("postgres://db/certs?sslmode=verify-full&sslrootcert=system")).message).toMatch(/sslrootcert=system .* is not supported/);
  });
});

describe("postgresConnectionFrom: client certificates", () => {
  const setting = (extra: string) => `postgres://ci@db/certs?sslmode=verify-full&sslrootcert=${encodeURIComponent(caFile)}&sslcert=${encodeURIComponent(client.certFile)}${extra}`;

  it("loads the certificate and its key, the key hidden from enumeration", () => {
    const ssl = connect(setting(`&sslkey=${encodeURIComponent(client.keyFile)}`)).config.ssl as ConnectionOptions;
    expect(ssl.cert).toContain("BEGIN CERTIFICATE");
    expect(String(ssl.key)).toContain("BEGIN PRIVATE KEY");
    expect(Object.keys(ssl)).not.toContain("key");
    expect(JSON.stringify(ssl)).not.toContain("PRIVATE KEY");
  });

  it("opens an encrypted key with sslpassword, so no passphrase travels in the config", () => {
    const ssl = connect(setting(`&sslkey=${encodeURIComponent(client.encryptedKeyFile)}&sslpassword=key%20passphrase`)).config.ssl as ConnectionOptions;
    expect(String(ssl.key)).toContain("BEGIN PRIVATE KEY");
    expect(JSON.stringify(ssl)).not.toContain("key passphrase");
    const refused = refusal(() => connect(setting(`&sslkey=${encodeURIComponent(client.encryptedKeyFile)}&sslpassword=wrong`)));
    expect(refused.message).toMatch(/cannot be read as a private key with the sslpassword given/);
    expect(refused.message).not.toContain("wrong");
  });

  it("holds the key to libpq's rules: it must exist, be private to its owner and belong to the certificate", () => {
    expect(refusal(() => connect(setting(`&sslkey=${encodeURIComponent(path.join(directory, "absent.key"))}`))).message).toMatch(/private key file .*absent\.key' cannot be read \(ENOENT\)/);
    expect(refusal(() => connect(setting(`&sslkey=${encodeURIComponent(client.otherKeyFile)}`))).message).toMatch(/does not belong to the certificate/);
    const readable = path.join(directory, "readable.key");
    writeFileSync(readable, execFileSync("cat", [client.keyFile]), { mode: 0o644 });
    chmodSync(readable, 0o644);
    expect(refusal(() => connect(setting(`&sslkey=${encodeURIComponent(readable)}`))).message).toMatch(/has group or world access/);
  });

  it("sends no client certificate with sslcertmode=disable", () => {
    expect((connect(setting("&sslcertmode=disable")).config.ssl as ConnectionOptions).cert).toBeUndefined();
  });
});

describe("postgresConnectionFrom: the password file", () => {
  const passfile = (name: string, lines: string[], mode = 0o600) => {
    const file = path.join(directory, name);
    writeFileSync(file, `${lines.join("\n")}\n`, { mode });
    chmodSync(file, mode);
    return file;
  };

  it("takes the first matching line, with * wildcards and \\: escapes", () => {
    const file = passfile("pgpass", [
      "# comment",
      "other.example.test:5432:*:ci:not-this-one",
      "db.example.test:5432:certs:ci:pa\\:ss\\\\word",
      "*:*:*:*:fallback",
    ]);
    expect(passwordOf(connect("postgres://ci@db.example.test/certs?sslmode=disable", { PGPASSFILE: file }).config)).toBe("pa:ss\\word");
    expect(passwordOf(connect("postgres://ci@db.example.test/other?sslmode=disable", { PGPASSFILE: file }).config)).toBe("fallback");
    expect(passwordOf(connect(`postgres://ci@db.example.test/certs?sslmode=disable&passfile=${encodeURIComponent(file)}`).config)).toBe("pa:ss\\word");
  });

  it("matches a connection over the default socket as localhost, and reads ~/.pgpass by default", () => {
    const home = path.join(directory, "home-with-pgpass");
    mkdirSync(home);
    writeFileSync(path.join(home, ".pgpass"), "localhost:5432:certs:ci:socket-password\n", { mode: 0o600 });
    expect(passwordOf(postgresConnectionFrom("postgres://ci@/certs", { HOME: home }).config)).toBe("socket-password");
  });

  it("never overrides a password given otherwise", () => {
    const file = passfile("pgpass-any", ["*:*:*:*:from-file"]);
    expect(passwordOf(connect("postgres://ci:from-url@db/certs?sslmode=disable", { PGPASSFILE: file }).config)).toBe("from-url");
    expect(passwordOf(connect("postgres://ci@db/certs?sslmode=disable", { PGPASSFILE: file, PGPASSWORD: "from-env" }).config)).toBe("from-env");
  });

  it("ignores, with a warning, a password file others may read, as libpq does", () => {
    const file = passfile("pgpass-open", ["*:*:*:*:from-file"], 0o644);
    const { config, warnings } = connect("postgres://ci@db/certs?sslmode=disable", { PGPASSFILE: file });
    expect(passwordOf(config)).toBeUndefined();
    expect(warnings).toEqual([expect.stringMatching(/has group or world access/)]);
  });
});

describe("postgresConnectionFrom: refusals", () => {
  it.each([
    ["not a postgres URL", "mysql://db/certs", /not a postgres:\/\/ or postgresql:\/\/ URL/],
    ["several hosts", "postgres://a:5432,b:5432/certs", /names several hosts/],
    ["a port that is not one", "postgres://db:99999/certs", /port "99999" \(from the URL\) is not a TCP port/],
    ["an unknown parameter", "postgres://db/certs?sslmod=require", /sets "sslmod", which is not a connection parameter/],
    ["a parameter without a value", "postgres://db/certs?sslmode", /without '='/],
    ["a libpq parameter certstage cannot honour", "postgres://db/certs?sslcrl=%2Fetc%2Fcrl.pem", /sslcrl, which certstage does not support: certstage does not check certificate revocation lists/],
    ["a hostaddr that is no address", "postgres://db/certs?hostaddr=db.example.test", /hostaddr "db.example.test" \(from the URL\) is not an IP address/],
    ["a bad connect_timeout", "postgres://db/certs?connect_timeout=soon", /connect_timeout "soon" \(from the URL\) is not a whole number/],
    ["a bad percent-escape", "postgres://ci:100%zz@db/certs", /password holds a malformed percent-escape/],
    ["an unencoded '/' in a password", "postgres://ci:12/34@db/certs", /has an '@' after its host/],
    ["an unknown sslnegotiation", "postgres://db/certs?sslnegotiation=fast", /sslnegotiation "fast"/],
    ["channel_binding=require", "postgres://db/certs?channel_binding=require", /channel_binding "require" \(from the URL\) is not supported/],
  ])("refuses %s", (_what, setting, message) => {
    expect(refusal(() => connect(setting)).message).toMatch(message);
  });

  it("refuses PGSERVICE, whose file it does not read", () => {
    expect(refusal(() => connect("postgres://db/certs", { PGSERVICE: "prod" })).message).toMatch(/PGSERVICE is set/);
  });

  it("never shows the password, in the description or in any refusal, however the URL is damaged", () => {
    const special = fc.constantFrom("@", "/", "?", "&", "=", ":", "%", "#", "[", ",", " ");
    const password = fc.tuple(fc.stringMatching(/^[a-z0-9]{10}$/), special, fc.stringMatching(/^[a-z0-9]{10}$/)).map((parts) => parts.join(""));
    const placement = fc.constantFrom("userinfo-encoded", "userinfo-raw", "query-encoded", "query-raw", "override");
    const damage = fc.constantFrom("", "&sslmode=bogus", "&nonsense", "&port=x", ":99999", ",other", "&sslrootcert=%2Fnope", "&hostaddr=zz", "%zz");
    fc.assert(
      fc.property(password, placement, damage, (secret, where, extra) => {
        const userinfo = where === "userinfo-encoded" ? `ci:${encodeURIComponent(secret)}@` : where === "userinfo-raw" ? `ci:${secret}@` : "ci@";
        const query = where === "query-encoded" ? `&password=${encodeURIComponent(secret)}` : where === "query-raw" ? `&password=${secret}` : "";
        const setting = extra.startsWith(":") || extra.startsWith(",") ? `postgres://${userinfo}db${extra}/certs?sslmode=disable${query}` : `postgres://${userinfo}db/certs?sslmode=disable${query}${extra}`;
        const outcome = outcomeOf(() => connect(setting, {}, where === "override" ? { password: secret } : undefined));
        const shown = outcome.refused ? outcome.refused.message : `${outcome.accepted.description} ${JSON.stringify(outcome.accepted.config)} ${inspect(outcome.accepted.config)}`;
        for (let start = 0; start + 6 <= secret.length; start += 1) expect(shown, setting).not.toContain(secret.slice(start, start + 6));
      }),
      { numRuns: 400 },
    );
  });
});
