/**
 * The Pulumi project directory: the nearest directory at or above `start` holding Pulumi.yaml.
 *
 * Pulumi runs a program (and its providers) in the directory of the project's `main`, which is
 * not the project directory when `main` points into a build folder. certstage resolves relative
 * paths (the default `.certstage` store, certificate files in examples) against the project
 * directory, so they mean the same thing whatever `main` says.
 */
import { existsSync } from "node:fs";
import * as path from "node:path";

export function projectDirectory(start: string = process.cwd()): string {
  for (let directory = path.resolve(start); ; directory = path.dirname(directory)) {
    if (existsSync(path.join(directory, "Pulumi.yaml")) || existsSync(path.join(directory, "Pulumi.yml"))) return directory;
    if (path.dirname(directory) === directory) return path.resolve(start);
  }
}
