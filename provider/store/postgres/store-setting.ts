/**
 * Telling a postgres store setting from a file store's, in a file of its own: deciding which
 * driver a setting names must not load what connecting needs (node:tls, node:net, node:crypto in
 * connection.ts), which a file store never uses and which cost every file-store command some
 * 10 ms to load.
 */

/** Whether a store setting names the postgres driver: `postgres://…` or `postgresql://…`. */
export function isPostgresSetting(text: string): boolean {
  return /^postgres(?:ql)?:\/\//i.test(text.trim());
}
