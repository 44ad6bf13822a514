/**
 * Making the CA ask for a challenge again. A CA may reuse an account's valid authorization for a
 * name instead of validating it again (RFC 8555 §7.1.4 lets it; Let's Encrypt keeps them for
 * hours): an order for that name is then ready without any challenge. Pebble does this even at
 * PEBBLE_AUTHZREUSE=0, for about 1 order in 100: v2.10.1 makes a new authorization only when
 * `rand.Intn(100) > percent` (wfe.go, makeAuthorizations), and 0 > 0 is false. A test that needs
 * the CA to validate a name it validated before deactivates those authorizations first
 * (RFC 8555 §7.5.2).
 */
import { trustAcmeServerRoots } from "../../provider/acme/trust";

export interface AcmeAccountAccess {
  readonly directoryUrl: string;
  /** The HTTPS listener's CA, to trust the directory. */
  readonly listenerCaPem: string;
  readonly accountKeyPem: string;
  readonly accountUrl: string;
}

/** Deactivates every valid authorization the account holds for `name`; returns how many there were. */
export async function deactivateValidAuthorizations(access: AcmeAccountAccess, name: string): Promise<number> {
  const acme = require("acme-client") as typeof import("acme-client");
  trustAcmeServerRoots(access.listenerCaPem);
  const client = new acme.Client({ directoryUrl: access.directoryUrl, accountKey: access.accountKeyPem, accountUrl: access.accountUrl });
  const api = (client as unknown as { api: { apiRequest(url: string, payload: null, validStatusCodes: number[]): Promise<{ data: unknown }> } }).api;
  // POST-as-GET on the account (RFC 8555 §7.3.3) names its orders list (§7.1.2.1).
  const account = (await client.updateAccount()) as { orders?: string };
  if (!account.orders) throw new Error("the CA lists no orders for this account, so its authorizations cannot be found");
  const { orders } = (await api.apiRequest(account.orders, null, [200])).data as { orders: string[] };
  let deactivated = 0;
  for (const orderUrl of orders) {
    const order = (await api.apiRequest(orderUrl, null, [200])).data as import("acme-client").Order;
    for (const authorization of await client.getAuthorizations(order)) {
      if (authorization.status !== "valid" || authorization.identifier.value !== name) continue;
      await client.deactivateAuthorization(authorization);
      deactivated += 1;
    }
  }
  return deactivated;
}
