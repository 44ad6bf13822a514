/**
 * Which zlint lints each certstage code covers, and which lints certstage leaves to others, with
 * the reason. The parity test (parity.test.ts) holds certstage to this table over every case, and
 * the README's table is checked against it, so the three cannot drift apart.
 *
 * zlint lints one certificate at a time, so certstage's chain, key-pair, date-of-use and store
 * rules have no lint to compare with; they are tested in the unit and end-to-end tiers.
 */
import type { PolicyCode } from "../../provider/validation/profiles";

export interface Coverage {
  readonly code: PolicyCode;
  /** Lints that, when they fire on a certificate, mean certstage must report `code` for it. */
  readonly lints: readonly string[];
}

export const COVERAGE: readonly Coverage[] = [
  { code: "LIFETIME_TOO_LONG", lints: ["e_tls_server_cert_valid_time_longer_than_398_days", "e_server_cert_valid_time_longer_than_200_days", "e_server_cert_valid_time_longer_than_100_days", "e_server_cert_valid_time_longer_than_47_days", "e_sub_cert_valid_time_longer_than_825_days", "e_sub_cert_valid_time_longer_than_39_months"] },
  { code: "KEY_TOO_WEAK", lints: ["e_rsa_mod_less_than_2048_bits", "e_mp_modulus_must_be_2048_bits_or_more"] },
  { code: "KEY_ALGORITHM_NOT_ALLOWED", lints: ["e_ec_improper_curves", "e_mp_rsassa-pss_in_spki"] },
  { code: "SAN_MISSING", lints: ["e_ext_san_missing", "e_ext_san_no_entries", "e_ext_cannot_be_empty_sequence"] },
  {
    code: "DNS_NAME_INVALID",
    lints: [
      "e_ext_san_dns_not_ia5_string", "e_dnsname_bad_character_in_label", "e_dnsname_empty_label", "e_rfc_dnsname_empty_label", "e_dnsname_label_too_long",
      "e_rfc_dnsname_label_too_long", "e_ext_san_dns_name_too_long", "e_dnsname_left_label_wildcard_correct", "e_dnsname_wildcard_only_in_left_label",
      "e_san_wildcard_not_first", "e_san_bare_wildcard", "e_san_dns_name_starts_with_period", "e_san_dns_name_includes_null_char", "e_ext_san_space_dns_name",
      "e_ext_san_empty_name", "e_dnsname_contains_prohibited_reserved_label", "e_international_dns_name_not_unicode", "e_international_dns_name_not_nfc",
      "e_underscore_not_permissible_in_dnsname", "e_dnsname_underscore_in_sld", "e_rfc_dnsname_underscore_in_sld", "w_dnsname_underscore_in_trd",
      "w_rfc_dnsname_underscore_in_trd", "e_dnsname_hyphen_in_sld", "e_rfc_dnsname_hyphen_in_sld",
    ],
  },
  { code: "IP_ADDRESS_RESERVED", lints: ["e_ext_san_contains_reserved_ip"] },
  { code: "EXTENDED_KEY_USAGE_INVALID", lints: ["e_sub_cert_eku_missing", "e_sub_cert_eku_check", "e_sub_cert_eku_server_auth_client_auth_missing"] },
  {
    code: "KEY_USAGE_INVALID",
    lints: ["e_cabf_ecc_allowed_key_usages", "e_ecdsa_allowed_ku", "e_rsa_allowed_ku_ee", "e_sub_cert_key_usage_cert_sign_bit_set", "e_ext_key_usage_cert_sign_without_ca", "e_key_usage_and_extended_key_usage_inconsistent", "e_ext_key_usage_without_bits", "e_ca_is_ca"],
  },
  { code: "SIGNATURE_ALGORITHM_WEAK", lints: ["e_sub_cert_or_sub_ca_using_sha1", "w_sub_cert_sha1_expiration_too_long", "e_signature_algorithm_not_supported"] },
];

export interface NotCovered {
  /** A lint name, or a pattern for a family of them. */
  readonly lints: RegExp;
  readonly reason: string;
}

/** Lints certstage does not judge, grouped by why. Each fired lint must fall under one. */
export const NOT_COVERED: readonly NotCovered[] = [
  {
    lints: /^(e_missing_crl_distrib_point|e_sub_cert_aia_missing|e_sub_cert_aia_does_not_contain_ocsp_url|w_sub_cert_aia_does_not_contain_issuing_ca_url|e_sub_cert_cert_policy_empty|e_sub_cert_certificate_policies_missing|e_sub_cert_crl_distribution_points_.+|w_ext_subject_key_identifier_not_recommended_subscriber|e_ext_authority_key_identifier_.+|e_sub_cert_policy_.+|w_sub_cert_certificate_policies_.+|e_cab_dv_.+|e_cert_policy_.+|e_serial_number_.+|w_ext_aia_.+|e_sub_ca_.+|w_sub_ca_.+|e_invalid_ca_certificate_policies)$/,
    reason: "CA operations: revocation pointers (CRL, OCSP, AIA), certificate policies, key identifiers and serial numbers are the issuing CA's to set, not something a user uploading a certificate can change",
  },
  {
    lints: /^(w_subject_common_name_included|e_subject_common_name_not_from_san|e_subject_common_name_not_exactly_from_san|e_subject_common_name_max_length|e_subject_contains_noninformational_value|e_subject_dn_.+|w_extra_subject_common_names|e_subject_.+_max_length|e_ca_.+_missing)$/,
    reason: "the subject DN: TLS clients match host names against subjectAltName only (RFC 6125 §6.4.4) and ignore the CN, so certstage judges the SANs",
  },
  {
    lints: /^(w_tls_server_cert_valid_time_longer_than_397_days|w_server_cert_valid_time_longer_than_(199|99|46)_days|w_missing_key_usage|w_cabf_ecc_ku_keyagreement_present|w_sub_cert_eku_extra_values|w_ext_key_usage_not_critical)$/,
    reason: "SHOULD-level advice one step inside a MUST that certstage enforces (lifetime one day under the limit, keyUsage present, no keyAgreement for ECDSA)",
  },
  {
    lints: /^(e_dnsname_not_valid_tld|e_dnsname_contains_bare_iana_suffix|n_.+)$/,
    reason: "names judged against the IANA root zone and the Public Suffix List as of the linting day: certstage ships neither list; the CA checks them at issuance (test names under .test are not in the root zone)",
  },
  {
    lints: /^e_mp_ecdsa_signature_encoding_correct$/,
    reason: "Mozilla's rule for which hash a CA's ECDSA key signs with (P-256 with SHA-256, P-384 with SHA-384): clients verify either; it is the issuing CA's choice",
  },
];

/** The README table: one row per covered code, then one per group left out. */
export function renderCoverageTable(): string {
  const rows = [
    "| certstage code | zlint lints it covers |",
    "| --- | --- |",
    ...COVERAGE.map((entry) => `| \`${entry.code}\` | ${entry.lints.map((lint) => `\`${lint}\``).join(", ")} |`),
    "",
    "| zlint lints certstage leaves out | why |",
    "| --- | --- |",
    ...NOT_COVERED.map((entry) => `| \`${entry.lints.source}\` | ${entry.reason} |`),
  ];
  return rows.join("\n");
}
