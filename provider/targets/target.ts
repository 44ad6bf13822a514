/**
 * Where a deployment materialises. Every target first swaps the store's environment link (the
 * store stays the truth `certstage status` reads), then makes the servers pick the version up.
 * A target that fails puts back what the environment served before it reports the failure.
 */
import type { Actor, DeploymentRecord, Store } from "../store";

export interface TargetContext {
  readonly store: Store;
  readonly certificate: string;
  readonly environment: string;
  readonly actor: Actor;
}

export interface DeploymentTarget {
  /** Makes the environment serve `version`, atomically from a client's point of view. */
  deploy(context: TargetContext, version: number): Promise<DeploymentRecord>;
  /** Stops serving the certificate (for targets that can). */
  undeploy(context: TargetContext): Promise<void>;
  /**
   * What the servers hold right now, for targets that can ask them (HAProxy can; nginx's files
   * are the store's link). `version` is undefined when they hold none of this certificate's
   * versions; `description` says what they hold, for messages.
   */
  live?(context: TargetContext): Promise<{ readonly version?: number; readonly description: string }>;
}
