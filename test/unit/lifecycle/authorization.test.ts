import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { accessRefusal, CERTIFICATE_ACTIONS, CertificateAction, decideAccess, relationOf, requireAccess } from "../../../provider/lifecycle/authorization";
import type { Principal } from "../../../provider/store";

const api = { name: "api", owner: "team-edge", shareWith: ["team-web"] };

const advisory = (name: string, ...teams: string[]): Principal => ({ name, roles: [name, ...teams], enforcedBy: "advisory" });

const OWNER = advisory("alice", "team-edge");
const SHARED = advisory("bob", "team-web");
const STRANGER = advisory("mallory", "team-db");

/** The seeds' table: the owner does everything; shared principals read and reference; strangers nothing. */
const EXPECTED: Record<CertificateAction, { shared: boolean }> = {
  "certificate.create": { shared: false },
  "certificate.update": { shared: false },
  "certificate.transfer": { shared: false },
  "certificate.delete": { shared: false },
  "version.create": { shared: false },
  "version.delete": { shared: false },
  deploy: { shared: false },
  undeploy: { shared: false },
  read: { shared: true },
  reference: { shared: true },
};

describe("who may do what to a certificate", () => {
  it("covers every action", () => {
    expect([...CERTIFICATE_ACTIONS].sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  for (const action of CERTIFICATE_ACTIONS) {
    it(`${action}: the owner may; a shared principal ${EXPECTED[action].shared ? "may" : "may not"}; a stranger may not`, () => {
      expect(decideAccess(OWNER, action, api)).toEqual({ allowed: true, relation: "owner" });
      expect(decideAccess(SHARED, action, api).allowed).toBe(EXPECTED[action].shared);
      expect(decideAccess(SHARED, action, api).relation).toBe("shared");
      expect(decideAccess(STRANGER, action, api)).toMatchObject({ allowed: false, relation: "stranger" });
      expect(accessRefusal(STRANGER, action, api, "api-production")?.code).toBe("NOT_OWNER");
    });
  }

  it("an owner or share entry matches the principal's own name as well as its teams", () => {
    expect(relationOf(advisory("team-edge"), api)).toBe("owner");
    expect(relationOf(advisory("team-web"), api)).toBe("shared");
    expect(relationOf({ name: "team-edge", roles: [], enforcedBy: "database" }, api)).toBe("owner");
    expect(relationOf(advisory("carol", "team-edge", "team-web"), api)).toBe("owner");
  });

  it("owners and shares are exact names: no prefix, no case folding", () => {
    expect(relationOf(advisory("team"), api)).toBe("stranger");
    expect(relationOf(advisory("Team-Edge"), api)).toBe("stranger");
    expect(relationOf(advisory("team-edge-2"), api)).toBe("stranger");
  });

  it("refuses a stranger's change naming the resource, the owner, the principal and its teams, with the fix", () => {
    expect(() => requireAccess(advisory("team-web"), "deploy", { name: "api", owner: "team-edge", shareWith: [] }, "api-production")).toThrow(
      "[NOT_OWNER] resource 'api-production': certificate 'api' belongs to 'team-edge', not 'team-web'; only its owner may deploy it. " +
        "Fix: run this stack as a member of 'team-edge' (certstage:principal, or certstage:teams listing 'team-edge'), or ask team-edge to transfer the certificate to you",
    );
    expect(accessRefusal(STRANGER, "certificate.delete", api, "api")?.message).toBe(
      "[NOT_OWNER] resource 'api': certificate 'api' belongs to 'team-edge', not 'mallory' or a team it acts for (team-db); only its owner may delete it. " +
        "Fix: run this stack as a member of 'team-edge' (certstage:principal, or certstage:teams listing 'team-edge'), or ask team-edge to transfer the certificate to you",
    );
  });

  it("tells a shared principal what sharing allows it, and a stranger who may read", () => {
    expect(accessRefusal(SHARED, "version.create", api, "api-v2")?.problem).toBe(
      "certificate 'api' belongs to 'team-edge', not 'bob' or a team it acts for (team-web); it is shared with 'team-web', which may read it and use its versions, but only its owner may create its versions",
    );
    const read = accessRefusal(STRANGER, "reference", api, "api-v1")!;
    expect(read.problem).toBe("certificate 'api' belongs to 'team-edge', not 'mallory' or a team it acts for (team-db); only its owner and the principals it is shared with may use its versions, and it is shared with 'team-web'");
    expect(read.fix).toBe("run this stack as a member of 'team-edge' (certstage:principal, or certstage:teams listing 'team-edge'), or ask team-edge to transfer the certificate or to add you to shareWith");
    expect(accessRefusal(STRANGER, "read", { ...api, shareWith: [] })?.problem).toMatch(/may read it, and it is shared with no one$/);
  });

  it("names the database role in the fix where the database enforces the rules", () => {
    const role: Principal = { name: "team-web", roles: ["team-web"], enforcedBy: "database" };
    expect(accessRefusal(role, "undeploy", { ...api, shareWith: [] }, "api-production")?.fix).toBe(
      "run this stack as a member of 'team-edge' (the database role it connects as), or ask team-edge to transfer the certificate to you",
    );
  });

  it("the resource defaults to the certificate (the command line has no Pulumi resource)", () => {
    expect(accessRefusal(STRANGER, "version.delete", api)?.resource).toBe("api");
  });
});

describe("creating a certificate", () => {
  it("is allowed for an owner the principal is, or a team it acts for", () => {
    expect(decideAccess(OWNER, "certificate.create", { name: "new", owner: "alice", shareWith: [] }).allowed).toBe(true);
    expect(decideAccess(OWNER, "certificate.create", { name: "new", owner: "team-edge", shareWith: [] }).allowed).toBe(true);
  });

  it("is refused for a team the principal does not act for, even one that would share it with the principal", () => {
    const refusal = accessRefusal(OWNER, "certificate.create", { name: "new", owner: "team-db", shareWith: ["alice"] }, "new-cert");
    expect(refusal?.message).toBe(
      "[NOT_OWNER] resource 'new-cert': certificate 'new' would belong to 'team-db', which is not 'alice' or a team it acts for (team-edge); a principal creates only certificates it owns. " +
        "Fix: set owner to 'alice' (or leave it unset) or one of 'team-edge', or run this stack as a member of 'team-db' (certstage:principal, or certstage:teams listing 'team-db')",
    );
    expect(accessRefusal(advisory("bob"), "certificate.create", { name: "new", owner: "team-db", shareWith: [] })?.fix).toMatch(/^set owner to 'bob' \(or leave it unset\), or run this stack/);
  });
});

describe("the rules as properties", () => {
  const name = fc.constantFrom("alice", "bob", "team-a", "team-b", "team-c", "ci@host");
  const principal = fc.record({ name, roles: fc.array(name, { maxLength: 3 }), enforcedBy: fc.constantFrom("database" as const, "advisory" as const) });
  const certificate = fc.record({ name: fc.constant("api"), owner: name, shareWith: fc.array(name, { maxLength: 3 }) });
  const action = fc.constantFrom(...CERTIFICATE_ACTIONS);

  it("allowed exactly when one of the principal's roles owns it, or shares it for read and reference", () => {
    fc.assert(
      fc.property(principal, certificate, action, (who, what, doing) => {
        const roles = new Set([who.name, ...who.roles]);
        const owns = roles.has(what.owner);
        const shares = what.shareWith.some((entry) => roles.has(entry));
        expect(decideAccess(who, doing, what).allowed).toBe(owns || (shares && (doing === "read" || doing === "reference")));
      }),
    );
  });

  it("every refusal is NOT_OWNER naming the owner and a fix", () => {
    fc.assert(
      fc.property(principal, certificate, action, (who, what, doing) => {
        const refusal = accessRefusal(who, doing, what, "res");
        if (refusal === undefined) return;
        expect(refusal.code).toBe("NOT_OWNER");
        expect(refusal.message).toContain(`'${what.owner}'`);
        expect(refusal.fix).toContain(`'${what.owner}'`);
      }),
    );
  });
});

describe("a read-only reviewer (a pull request's preview role)", () => {
  it("is refused nothing at preview, since it previews what the owner's runner will do and the store refuses it every write", () => {
    const reviewer: Principal = { name: "pr-preview", roles: ["pr-preview", "certstage_reader"], enforcedBy: "database", readOnly: true };
    for (const action of CERTIFICATE_ACTIONS) expect(decideAccess(reviewer, action, api)).toEqual({ allowed: true, relation: "stranger" });
    // The same role without the read-only mark is a stranger like any other.
    expect(decideAccess({ ...reviewer, readOnly: undefined }, "deploy", api).allowed).toBe(false);
  });
});
