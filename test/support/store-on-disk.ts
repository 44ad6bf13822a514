/**
 * Reads a file store straight from disk (links and directories, not through certstage) and checks
 * that `certstage status --json` tells the same story.
 */
import { createHash, createPrivateKey, X509Certificate } from "node:crypto";
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, realpathSync } from "node:fs";
import * as path from "node:path";
import { expect } from "vitest";
import type { StatusReport } from "../../provider/cli/status";

export interface DiskView {
  /** certificate -> version numbers present on disk */
  readonly versions: Record<string, number[]>;
  /** certificate -> environment -> version the link points at */
  readonly deployments: Record<string, Record<string, number>>;
}

export function readStoreFromDisk(root: string): DiskView {
  const versions: DiskView["versions"] = {};
  const deployments: DiskView["deployments"] = {};
  const certificates = path.join(root, "certificates");
  for (const name of existsSync(certificates) ? readdirSync(certificates) : []) {
    const record = JSON.parse(readFileSync(path.join(certificates, name, "certificate.json"), "utf8"));
    if (record.deletedAt) continue;
    const directory = path.join(certificates, name, "versions");
    versions[name] = (existsSync(directory) ? readdirSync(directory) : []).filter((entry) => /^\d+$/.test(entry)).map(Number).sort((a, b) => a - b);
  }
  const environments = path.join(root, "environments");
  for (const environment of existsSync(environments) ? readdirSync(environments) : []) {
    for (const name of readdirSync(path.join(environments, environment)).filter((entry) => !entry.startsWith("."))) {
      const target = readlinkSync(path.join(environments, environment, name));
      (deployments[name] ??= {})[environment] = Number(path.basename(target));
    }
  }
  return { versions, deployments };
}

/** Asserts status and disk agree, including the served certificate's fingerprint. */
export function expectStatusMatchesDisk(root: string, status: StatusReport): void {
  const disk = readStoreFromDisk(root);
  expect(Object.keys(disk.versions).sort()).toEqual(status.certificates.map((certificate) => certificate.name).sort());
  for (const certificate of status.certificates) {
    expect(certificate.versions.map((version) => version.version)).toEqual(disk.versions[certificate.name]);
    const served = Object.fromEntries(Object.entries(certificate.deployments).map(([environment, deployment]) => [environment, deployment.version]));
    expect(served).toEqual(disk.deployments[certificate.name] ?? {});
    for (const [environment, version] of Object.entries(served)) {
      const pem = readFileSync(path.join(root, "environments", environment, certificate.name, "cert.pem"));
      const listed = certificate.versions.find((entry) => entry.version === version);
      expect(new X509Certificate(pem).fingerprint256).toBe(listed?.fingerprintSha256);
    }
  }
}

/** Every file's bytes, every link's target and every mode under `root`, as one digest. */
export function storeFingerprint(root: string): string {
  const hash = createHash("sha256");
  const walk = (directory: string) => {
    for (const entry of readdirSync(directory).sort()) {
      const file = path.join(directory, entry);
      const stats = lstatSync(file);
      hash.update(`${path.relative(root, file)}:${stats.mode}\n`);
      if (stats.isSymbolicLink()) hash.update(readlinkSync(file));
      else if (stats.isDirectory()) walk(file);
      else hash.update(readFileSync(file));
    }
  };
  walk(root);
  return hash.digest("hex");
}

/**
 * Every environment link resolves to a whole version: its metadata is there, fullchain.pem is
 * cert.pem + chain.pem, and the certificate belongs to privkey.pem. Returns the version each
 * link serves, as `environment/certificate -> version`.
 */
export function expectEnvironmentsWhole(root: string): Record<string, number> {
  const served: Record<string, number> = {};
  const environments = path.join(root, "environments");
  for (const environment of existsSync(environments) ? readdirSync(environments) : []) {
    for (const name of readdirSync(path.join(environments, environment)).filter((entry) => !entry.startsWith("."))) {
      const where = `${environment}/${name}`;
      const version = realpathSync(path.join(environments, environment, name));
      const read = (file: string) => readFileSync(path.join(version, file), "utf8");
      expect(existsSync(path.join(version, "version.json")), `${where}: version.json`).toBe(true);
      expect(read("fullchain.pem"), `${where}: fullchain.pem`).toBe(read("cert.pem") + read("chain.pem"));
      expect(new X509Certificate(read("fullchain.pem")).checkPrivateKey(createPrivateKey(read("privkey.pem"))), `${where}: key matches`).toBe(true);
      served[where] = Number(path.basename(version));
    }
  }
  return served;
}

/** `certstage status --json` as a test reads it: it must succeed, and tell the same story as the disk. */
export async function statusMatchingDisk(workspace: { certstage(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> }, storeRoot: string): Promise<StatusReport> {
  const result = await workspace.certstage(["status", "--json"]);
  expect(result.code, `certstage status\n${result.stderr}`).toBe(0);
  const report = JSON.parse(result.stdout) as StatusReport;
  expectStatusMatchesDisk(storeRoot, report);
  return report;
}
