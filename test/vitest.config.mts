import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

/**
 * One project per test tier. The slow tiers start real processes (Pulumi CLI, many store
 * writers), so they get long timeouts; no test relies on wall-clock speed to pass.
 */
export default defineConfig({
  test: {
    root: fileURLToPath(new URL("..", import.meta.url)),
    projects: [
      // The unit tier's property tests build and parse hundreds of certificates: CPU work whose
      // duration follows the machine's load. vitest's 5 s default made one fail on a loaded
      // 2-core CI machine, a failure on wall-clock time; like every tier's, this bound only
      // catches a hang.
      { extends: true, test: { name: "unit", include: ["test/unit/**/*.test.ts"], testTimeout: 120_000 } },
      { extends: true, test: { name: "store", include: ["test/store/**/*.test.ts"], testTimeout: 120_000, globalSetup: ["test/build-once.ts"] } },
      { extends: true, test: { name: "provider", include: ["test/provider/**/*.test.ts"], testTimeout: 60_000, globalSetup: ["test/build-once.ts"] } },
      {
        extends: true,
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          testTimeout: 600_000,
          hookTimeout: 900_000,
          // Each file drives Pulumi stacks end to end; two at once saturate two cores.
          fileParallelism: false,
          // The real-server scenario needs Debian's nginx and HAProxy too, and the team scenario PostgreSQL.
          globalSetup: ["test/build-once.ts", "test/e2e/global-setup.ts", "test/servers/global-setup.ts", "test/postgres/global-setup.ts"],
        },
      },
      {
        extends: true,
        test: {
          name: "packaging",
          include: ["test/packaging/**/*.test.ts"],
          testTimeout: 600_000,
          // Hooks pack certstage and npm-install it with another SDK into a fresh project.
          hookTimeout: 900_000,
          globalSetup: ["test/build-once.ts", "test/e2e/global-setup.ts"],
        },
      },
      {
        extends: true,
        test: {
          // The oldest supported pair: Node 20, Pulumi CLI and SDK 3.248.0. Global setup installs
          // the packed certstage with that SDK and gives the e2e files below a bin directory whose
          // `node` is Node 20, so the program and the provider run there.
          name: "compat",
          include: ["test/compat/**/*.test.ts", "test/e2e/certificate-lifecycle.test.ts"],
          testTimeout: 600_000,
          hookTimeout: 900_000,
          fileParallelism: false,
          globalSetup: ["test/build-once.ts", "test/compat/global-setup.ts"],
        },
      },
      {
        extends: true,
        test: {
          name: "acme",
          include: ["test/acme/**/*.test.ts"],
          testTimeout: 120_000,
          // Hooks start real ACME servers; global setup builds Pebble first on a cold machine.
          hookTimeout: 600_000,
          // Each file starts its own ACME servers; running files one at a time keeps two cores free for them.
          fileParallelism: false,
          globalSetup: ["test/build-once.ts", "test/acme/global-setup.ts"],
        },
      },
      {
        extends: true,
        test: {
          name: "zlint",
          include: ["test/zlint/**/*.test.ts"],
          testTimeout: 300_000,
          // Global setup builds zlint with Go on a cold machine (scripts/zlint.sh).
          hookTimeout: 600_000,
          globalSetup: ["test/build-once.ts", "test/zlint/global-setup.ts"],
        },
      },
      {
        extends: true,
        test: {
          name: "workflows",
          include: ["test/workflows/**/*.test.ts"],
          testTimeout: 120_000,
          // Global setup builds actionlint with Go and installs Debian's shellcheck on a cold
          // machine (scripts/actionlint.sh).
          hookTimeout: 600_000,
          globalSetup: ["test/workflows/global-setup.ts"],
        },
      },
      {
        extends: true,
        test: {
          name: "agent",
          include: ["test/agent/**/*.test.ts"],
          testTimeout: 300_000,
          // Global setup installs Debian's nginx on a cold machine (scripts/servers.sh), and
          // PostgreSQL 15 for the files that follow a postgres store (scripts/postgres.sh).
          hookTimeout: 300_000,
          // Files start agents, nginx and reload bursts whose counts matter; one file at a time.
          fileParallelism: false,
          globalSetup: ["test/build-once.ts", "test/servers/global-setup.ts", "test/postgres/global-setup.ts"],
        },
      },
      {
        extends: true,
        test: {
          name: "servers",
          include: ["test/servers/**/*.test.ts"],
          testTimeout: 120_000,
          // Global setup installs Debian's nginx and HAProxy on a cold machine (scripts/servers.sh).
          hookTimeout: 300_000,
          fileParallelism: false,
          globalSetup: ["test/build-once.ts", "test/servers/global-setup.ts"],
        },
      },
      {
        extends: true,
        test: {
          name: "postgres",
          include: ["test/postgres/**/*.test.ts"],
          testTimeout: 120_000,
          // Global setup installs Debian's postgresql-15 on a cold machine (scripts/postgres.sh);
          // hooks start a real cluster per file (initdb, TLS, a server on a loopback port).
          hookTimeout: 300_000,
          // Each file starts its own cluster; one file at a time leaves the cores to it and its clients.
          fileParallelism: false,
          globalSetup: ["test/build-once.ts", "test/postgres/global-setup.ts"],
        },
      },
      {
        extends: true,
        test: {
          name: "pages",
          include: ["test/pages/**/*.test.ts"],
          testTimeout: 120_000,
          // Global setup installs Debian's chromium on a cold machine (scripts/chromium.sh); hooks
          // build a store, run the built command and start a headless browser.
          hookTimeout: 300_000,
          fileParallelism: false,
          globalSetup: ["test/build-once.ts", "test/pages/global-setup.ts"],
        },
      },
      {
        extends: true,
        test: {
          name: "monitoring",
          include: ["test/monitoring/**/*.test.ts"],
          testTimeout: 180_000,
          // Global setup installs Debian's prometheus (with promtool) on a cold machine
          // (scripts/prometheus.sh); hooks start an agent and a Prometheus on loopback ports.
          hookTimeout: 300_000,
          fileParallelism: false,
          globalSetup: ["test/build-once.ts", "test/monitoring/global-setup.ts"],
        },
      },
    ],
  },
});
