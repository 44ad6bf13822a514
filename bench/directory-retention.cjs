/**
 * What a directory target's `path` holds after N swaps, and what retention costs per swap: one
 * certificate with N versions is swapped 1 → 2 → … → N through the `directory` target (from
 * dist/, default retention: the served version and the 3 most recent others), at N = 10, 100 and
 * 300 swaps.
 *
 * Floor, in the same run and on the same store: what the target did before retention, the store's
 * swap plus `publishVersion` and the link's rename, with nothing ever removed. The table gives, for
 * each, the time per swap and, after the last swap, the files, directories and bytes under
 * `<path>/.versions/`.
 */
"use strict";

const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const lib = require("./lib.cjs");
const fixtures = require("./store-fixtures.cjs");

const REPOSITORY = path.join(__dirname, "..");
const DIST = path.join(REPOSITORY, "dist", "provider");
const SIZES = (process.env.CERTSTAGE_BENCH_RETENTION_SIZES ?? "10,100,300").split(",").map(Number);
const ACTOR = { principal: "bench", teams: ["team-bench"] };

/** Files, directories and bytes (sum of file sizes) under `directory`, links not followed. */
function diskHeld(directory) {
  let files = 0;
  let directories = 0;
  let bytes = 0;
  const walk = (current) => {
    for (const entry of fs.readdirSync(current, { withFileTypes: true })) {
      const full = path.join(current, entry.name);
      if (entry.isDirectory()) {
        directories += 1;
        walk(full);
      } else {
        files += 1;
        bytes += fs.lstatSync(full).size;
      }
    }
  };
  if (fs.existsSync(directory)) walk(directory);
  return { files, directories, bytes };
}

module.exports = async function directoryRetention() {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "certstage-bench-retention-"));
  const rows = [];
  try {
    const materials = fixtures.makeMaterials(path.join(scratch, "pki"), 3);
    const { createFileStore } = require(path.join(DIST, "store", "drivers", "file.js"));
    const { directoryTarget } = require(path.join(DIST, "targets", "directory.js"));
    const { pointCertificateAt, publishVersion } = require(path.join(DIST, "targets", "published-versions.js"));
    for (const swaps of SIZES) {
      const store = createFileStore({ root: path.join(scratch, `store-${swaps}`) });
      for (const name of ["kept", "floor"]) {
        await store.createCertificate({ name, displayName: name, type: "server", owner: "team-bench", shareWith: [], description: "" }, ACTOR);
        for (let number = 1; number <= swaps; number += 1) await store.createVersion(name, "upload", materials[number % materials.length], ACTOR);
      }
      const published = path.join(scratch, `published-${swaps}`);
      const target = directoryTarget({ path: published });
      const floor = async (version) => {
        await store.deploy("floor", "edge", version, ACTOR);
        const directory = await publishVersion(published, "floor", version, () => store.readVersionFiles("floor", version));
        await pointCertificateAt(published, "floor", directory);
      };
      const timings = { kept: [], floor: [] };
      // Interleaved, so both sides share the machine's load alike.
      for (let version = 1; version <= swaps; version += 1) {
        let start = performance.now();
        await target.deploy({ store, certificate: "kept", environment: "edge", actor: ACTOR }, version);
        timings.kept.push(performance.now() - start);
        start = performance.now();
        await floor(version);
        timings.floor.push(performance.now() - start);
      }
      const served = fs.readFileSync(path.join(published, "kept", "fullchain.pem"), "utf8");
      if (served !== (await store.readVersionFiles("kept", swaps)).fullchainPem) throw new Error("the retained path does not serve the last version");
      await store.close();
      for (const [name, label] of [["kept", "directory target, default retention (served + 3)"], ["floor", "floor: publish + link swap, nothing removed"]]) {
        const held = diskHeld(path.join(published, ".versions", name));
        rows.push([String(swaps), label, ...lib.timingCells(lib.summarize(timings[name])), String(held.files), String(held.directories), String(held.bytes)]);
      }
    }
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  return {
    title: "Retention under a directory target's path",
    description: [
      `One certificate swapped 1 → 2 → … → N through the \`directory\` target with a \`path\`, N = ${SIZES.join(", ")}: the time of each swap (the store's swap, publishing the version, the link's rename, and retention's prune), and after the last swap what \`<path>/.versions/<name>/\` holds.`,
      "The floor, interleaved in the same run on the same store, is what the target did before retention: the same swap and publish, nothing removed.",
    ].join(" "),
    tables: [{ headers: ["swaps", "what", ...lib.TIMING_HEADERS, "files", "directories", "bytes"], rows }],
  };
};
