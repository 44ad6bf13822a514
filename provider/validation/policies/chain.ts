/**
 * The chain a server sends: in order, without the root, every certificate signed with a hash that
 * still resists forgery, and none that expires before the certificate it vouches for (clients
 * then refuse the leaf from that day, whatever its own notAfter says).
 */
import { CertstageError } from "../../errors";
import { WEAK_SIGNATURE_ALGORITHMS } from "../../pki/certificate-extensions";
import { isSelfSigned } from "../../pki/chain";
import { extensionsOf, Policy } from "./policy";

export const soundChain: Policy = ({ chain, chainField }) => {
  const problems = [...chain.problems];
  if (chain.reordered) {
    problems.push(
      new CertstageError("CHAIN_ORDER", `the chain is not leaf-first; in order it is ${chain.ordered.map((certificate) => `'${certificate.facts.subject}'`).join(" -> ")}`, {
        field: chainField,
        fix: "list the intermediates starting with the one that issued the certificate, or acknowledge CHAIN_ORDER to store them reordered",
      }),
    );
  }
  if (chain.includesRoot) {
    problems.push(
      new CertstageError("CHAIN_INCLUDES_ROOT", `the chain ends with the self-signed root '${chain.ordered.at(-1)?.facts.subject}'`, {
        field: chainField,
        fix: "leave the root out (clients have it, and sending it costs bytes in every handshake), or acknowledge CHAIN_INCLUDES_ROOT",
      }),
    );
  }
  return problems;
};

/** SHA-1, MD5 and MD2 signatures on the leaf or an intermediate (a root's own signature is never checked). */
export const strongSignatures: Policy = ({ leaf, chain, certificateField, chainField }) => {
  const signed = [{ certificate: leaf, field: certificateField }, ...chain.ordered.filter((certificate) => !isSelfSigned(certificate)).map((certificate) => ({ certificate, field: chainField }))];
  return signed.flatMap(({ certificate, field }) => {
    const algorithm = extensionsOf(certificate).signatureAlgorithm.name;
    if (!WEAK_SIGNATURE_ALGORITHMS.has(algorithm)) return [];
    return [
      new CertstageError("SIGNATURE_ALGORITHM_WEAK", `'${certificate.facts.subject}' is signed with ${algorithm}, a broken hash that clients refuse`, {
        field,
        fix: "ask the CA for a certificate (and intermediates) signed with SHA-256 or stronger",
      }),
    ];
  });
};

export const chainOutlivesLeaf: Policy = ({ leaf, chain, chainField }) => {
  const leafEnds = Date.parse(leaf.facts.notAfter);
  const early = chain.ordered.filter((certificate) => Date.parse(certificate.facts.notAfter) < leafEnds);
  return early.map(
    (certificate) =>
      new CertstageError("CHAIN_EXPIRES_BEFORE_LEAF", `'${certificate.facts.subject}' expires at ${certificate.facts.notAfter}, before the certificate (${leaf.facts.notAfter}); clients refuse the certificate from then on`, {
        field: chainField,
        fix: "use the CA's current intermediate, or renew the certificate before the intermediate expires; acknowledge CHAIN_EXPIRES_BEFORE_LEAF if you will",
      }),
  );
};
