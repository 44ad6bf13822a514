/**
 * One connection, used by one caller at a time.
 *
 * The postgres store runs its reads and writes on the connection a deployment watch holds for
 * LISTEN, while that connection is up, so a process that follows an environment (certstage agent)
 * holds one connection to the database instead of two. With two, 50 agents took 100 of the
 * default 100 connections while a deploy was applied, and most were refused; with one, the number
 * of agents one PostgreSQL serves is its connection limit, not half of it.
 *
 * Sharing is safe because PostgreSQL delivers a notification to a listening session between
 * transactions, whatever else the session runs, and node-postgres emits it whatever query is in
 * flight. Callers take turns: a transaction (BEGIN … COMMIT) must never interleave with another
 * caller's statements, and neither must the watch's health query.
 */
import type { Client, ClientBase } from "pg";

/** What a store call needs of a connection: queries, and handing it back when done. */
export interface ConnectionLease {
  readonly query: ClientBase["query"];
  release(): void;
}

export class SharedConnection {
  private tail: Promise<void> = Promise.resolve();

  constructor(readonly client: Client) {}

  /** Resolves once every earlier lease was released; `release` hands the connection on. */
  async lease(): Promise<ConnectionLease> {
    let handOn!: () => void;
    const turn = new Promise<void>((resolve) => {
      handOn = resolve;
    });
    const previous = this.tail;
    this.tail = previous.then(() => turn);
    await previous;
    let released = false;
    return {
      query: this.client.query.bind(this.client) as ClientBase["query"],
      release: () => {
        if (released) return;
        released = true;
        handOn();
      },
    };
  }

  /** `action` on the connection, in its turn. */
  async run<T>(action: (client: Client) => Promise<T>): Promise<T> {
    const lease = await this.lease();
    try {
      return await action(this.client);
    } finally {
      lease.release();
    }
  }
}
