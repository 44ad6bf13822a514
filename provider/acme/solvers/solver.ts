/**
 * A challenge solver proves control of a name to the CA (RFC 8555 §8): it makes the answer
 * available before the CA looks and takes it away after. One file per kind; one shared test suite.
 */
export type ChallengeType = "http-01" | "dns-01";

export interface ChallengeTask {
  /** The name being validated, e.g. `api.example.test` (wildcards come as `*.example.test`). */
  readonly identifier: string;
  readonly token: string;
  /** For http-01 the key authorization; for dns-01 already the TXT record value (RFC 8555 §8.4). */
  readonly answer: string;
}

export interface ChallengeSolver {
  readonly type: ChallengeType;
  present(task: ChallengeTask): Promise<void>;
  cleanUp(task: ChallengeTask): Promise<void>;
  /** Releases what the solver holds (a listening socket); called once per issuance. */
  close(): Promise<void>;
}
