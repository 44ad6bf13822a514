/**
 * Opens a store by driver name. Drivers register here and nowhere else; each lives in
 * `drivers/<name>.ts` and passes the shared conformance suite.
 */
import * as path from "node:path";
import { CertstageError } from "../errors";
import { createFileStore, FILE_DRIVER } from "./drivers/file";
import { isPostgresSetting } from "./postgres/store-setting";
import type { Store } from "./store";

export * from "./store";

/** Where the store is; `location` is a directory for the file driver, the whole URL for postgres. */
export interface StoreSettings {
  readonly driver: string;
  readonly location: string;
}

/** What a driver may need besides its location; secrets come from Pulumi secrets or the environment. */
export interface StoreOpenOptions {
  readonly environment?: NodeJS.ProcessEnv;
  /** Key-encryption keys (certstage:storeKey, else CERTSTAGE_STORE_KEY): the first seals, all open. */
  readonly storeKey?: string;
  /** The database password (certstage:storePassword), else the URL's or PGPASSWORD. */
  readonly storePassword?: string;
}

export const DEFAULT_STORE_DIRECTORY = ".certstage";

const POSTGRES_DRIVER = "postgres";

const DRIVERS: Record<string, (settings: StoreSettings, baseDirectory: string, options: StoreOpenOptions) => Store> = {
  [FILE_DRIVER]: (settings, baseDirectory) => createFileStore({ root: path.resolve(baseDirectory, settings.location) }),
  [POSTGRES_DRIVER]: (settings, _baseDirectory, options) => {
    // Loaded only for a postgres store, as the driver below: with node:tls, node:net and
    // node:crypto they cost every file-store command some 10 ms to load.
    const { postgresConnectionFrom } = require("./postgres/connection") as typeof import("./postgres/connection");
    const { parseKeyRing } = require("./key-envelope") as typeof import("./key-envelope");
    const environment = options.environment ?? process.env;
    const { config, description } = postgresConnectionFrom(settings.location, environment, { password: options.storePassword, applicationName: "certstage" });
    const keyText = options.storeKey ?? environment.CERTSTAGE_STORE_KEY;
    const keyRing = keyText !== undefined && keyText.trim() !== "" ? parseKeyRing(keyText, options.storeKey !== undefined ? "certstage:storeKey" : "CERTSTAGE_STORE_KEY") : undefined;
    // Loaded only for a postgres store: node-postgres costs every file-store run about 100 ms to load.
    const { createPostgresStore } = require("./drivers/postgres") as typeof import("./drivers/postgres");
    return createPostgresStore({ connection: config, description, keyRing });
  },
};

/**
 * Reads a store setting as users write it: `file:/srv/certs`, or a bare path meaning the file
 * driver. Relative paths resolve against `baseDirectory` (the Pulumi program's directory).
 */
export function parseStoreSetting(value: string | undefined): StoreSettings {
  const text = value?.trim() || DEFAULT_STORE_DIRECTORY;
  // The whole URL is the location: host, database and TLS settings all live in it.
  if (isPostgresSetting(text)) return { driver: POSTGRES_DRIVER, location: text };
  const match = /^([a-z][a-z0-9+-]*):(?!\/\/)(.*)$/.exec(text) ?? /^([a-z][a-z0-9+-]*):\/\/(.*)$/.exec(text);
  if (match && match[1] in DRIVERS) return { driver: match[1], location: match[2] || DEFAULT_STORE_DIRECTORY };
  if (match && match[1].length > 1) {
    throw new CertstageError("STORE_DRIVER_UNKNOWN", `store '${text}' names driver '${match[1]}', which certstage does not have`, {
      field: "certstage:store",
      fix: `use one of: ${Object.keys(DRIVERS).join(", ")} (for example 'file:.certstage' or a plain directory path)`,
    });
  }
  return { driver: FILE_DRIVER, location: text };
}

export function openStore(settings: StoreSettings, baseDirectory: string = process.cwd(), options: StoreOpenOptions = {}): Store {
  const factory = DRIVERS[settings.driver];
  if (!factory) {
    throw new CertstageError("STORE_DRIVER_UNKNOWN", `store driver '${settings.driver}' does not exist`, {
      field: "certstage:store",
      fix: `use one of: ${Object.keys(DRIVERS).join(", ")}`,
    });
  }
  return factory(settings, baseDirectory, options);
}
