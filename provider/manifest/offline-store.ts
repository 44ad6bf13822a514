/**
 * The store `certstage lint` checks against: one that holds nothing and refuses every write. The
 * preview checks then judge the manifest as the first preview of a new stack would (every
 * certificate, version and deployment to be created), offline and without a store to point at;
 * and should a check ever try to write, it fails loudly instead of writing somewhere.
 */
import { CertstageError } from "../errors";
import type { Actor, Principal, Store } from "../store";

function refused(operation: string): () => Promise<never> {
  return async () => {
    throw new CertstageError("STORE_READ_ONLY", `certstage lint never writes a store, and a check tried ${operation}`, { fix: "report this: a preview check must only read" });
  };
}

export function offlineStore(): Store {
  return {
    description: "no store (certstage lint checks offline)",
    principal: async (actor: Actor): Promise<Principal> => ({ name: actor.principal, roles: [...new Set([actor.principal, ...(actor.teams ?? [])])], enforcedBy: "advisory" }),
    identity: async () => undefined,
    getCertificate: async () => undefined,
    listCertificates: async () => [],
    getVersion: async () => undefined,
    listVersions: async () => [],
    listAllVersions: async () => [],
    environmentsServing: async () => [],
    getDeployment: async () => undefined,
    listDeployments: async () => [],
    readHistory: async () => [],
    streamHistory: async function* () {},
    getTask: async () => undefined,
    listTasks: async () => [],
    getAcmeAccount: async () => undefined,
    getAcmeOrder: async () => undefined,
    getAcmeRenewal: async () => undefined,
    listAgentReports: async () => [],
    listNotifications: async () => [],
    listReleasedVersions: async () => new Map(),
    readStatusListings: (reader) => reader({ certificates: [], agentReports: [], deployments: [], tasks: [], released: new Map(), versionsByCertificate: (async function* () {})() }),
    close: async () => undefined,
    readVersionFiles: refused("to read version files"),
    createCertificate: refused("createCertificate"),
    updateCertificate: refused("updateCertificate"),
    deleteCertificate: refused("deleteCertificate"),
    createVersion: refused("createVersion"),
    deleteVersion: refused("deleteVersion"),
    deploy: refused("deploy"),
    undeploy: refused("undeploy"),
    recordHistory: refused("recordHistory"),
    queueTask: refused("queueTask"),
    claimTask: refused("claimTask"),
    finishTask: refused("finishTask"),
    pruneFinishedTasks: refused("pruneFinishedTasks"),
    putAcmeAccount: refused("putAcmeAccount"),
    ensureAcmeAccount: refused("ensureAcmeAccount"),
    putAcmeOrder: refused("putAcmeOrder"),
    deleteAcmeOrder: refused("deleteAcmeOrder"),
    putAcmeRenewal: refused("putAcmeRenewal"),
    deleteAcmeRenewal: refused("deleteAcmeRenewal"),
    putAgentReport: refused("putAgentReport"),
    claimNotification: refused("claimNotification"),
    markNotificationSent: refused("markNotificationSent"),
    releaseNotification: refused("releaseNotification"),
  };
}
