/**
 * Opens a store by driver name. Drivers register here and nowhere else; each lives in
 * `drivers/<name>.ts` and passes the shared conformance suite.
 */
import * as path from "node:path";
import { CertstageError } from "../errors";
import { createFileStore, FILE_DRIVER } from "./drivers/file";
import type { Store } from "./store";

export * from "./store";

/** Where the store is; `location` is a directory for the file driver. */
export interface StoreSettings {
  readonly driver: string;
  readonly location: string;
}

export const DEFAULT_STORE_DIRECTORY = ".certstage";

const DRIVERS: Record<string, (settings: StoreSettings, baseDirectory: string) => Store> = {
  [FILE_DRIVER]: (settings, baseDirectory) => createFileStore({ root: path.resolve(baseDirectory, settings.location) }),
};

/**
 * Reads a store setting as users write it: `file:/srv/certs`, or a bare path meaning the file
 * driver. Relative paths resolve against `baseDirectory` (the Pulumi program's directory).
 */
export function parseStoreSetting(value: string | undefined): StoreSettings {
  const text = value?.trim() || DEFAULT_STORE_DIRECTORY;
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

export function openStore(settings: StoreSettings, baseDirectory: string = process.cwd()): Store {
  const factory = DRIVERS[settings.driver];
  if (!factory) {
    throw new CertstageError("STORE_DRIVER_UNKNOWN", `store driver '${settings.driver}' does not exist`, {
      field: "certstage:store",
      fix: `use one of: ${Object.keys(DRIVERS).join(", ")}`,
    });
  }
  return factory(settings, baseDirectory);
}
