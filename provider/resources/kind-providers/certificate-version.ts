/**
 * The dynamic provider of every CertificateVersion: this module's exports are its methods, so the module
 * itself is the provider object (see ../dynamic-provider.ts for why it must be a module of its own).
 */
import { makeDynamicProvider } from "../dynamic-provider";

const provider = makeDynamicProvider("CertificateVersion");
export const { configure, check, diff, create, read, update } = provider;
const deleteResource = provider.delete;
export { deleteResource as delete };
