/**
 * A real file store plus a change feed: `watchDeployments` over the file store, the way the
 * PostgreSQL driver offers it through LISTEN/NOTIFY, so the agent's push path runs against real
 * data. Every deploy and undeploy made through the wrapper notifies the watchers of its
 * environment, asynchronously, as a database would after its commit. The test can cut the feed
 * (notifications are then lost, as NOTIFY's are for a session that is not listening), reconnect
 * it (onError, then onResync, as a driver reports a reconnection), and make the store fail as an
 * unreachable database does.
 */
import type { DeploymentWatchHandlers, Store } from "../../provider/store";

export interface ChangeFeedStore {
  readonly store: Store;
  /** Notifications from now on are lost. */
  disconnect(): void;
  /** The feed is back: each watcher hears onError (the connection it lost), then onResync. */
  reconnect(): void;
  /** While true, every call fails as a database that does not answer. */
  failing: boolean;
  /** Calls of each method so far. */
  readonly calls: Map<string, number>;
  /** Watches open now. */
  readonly watchers: Set<{ readonly environment: string; readonly handlers: DeploymentWatchHandlers }>;
}

export function withChangeFeed(inner: Store): ChangeFeedStore {
  const watchers = new Set<{ readonly environment: string; readonly handlers: DeploymentWatchHandlers }>();
  const calls = new Map<string, number>();
  let connected = true;
  const feed: ChangeFeedStore = {
    store: undefined as unknown as Store,
    disconnect: () => {
      connected = false;
    },
    reconnect: () => {
      connected = true;
      for (const watcher of watchers) {
        setImmediate(() => {
          watcher.handlers.onError(new Error("the listening connection was lost"));
          watcher.handlers.onResync();
        });
      }
    },
    failing: false,
    calls,
    watchers,
  };
  const notify = (environment: string) => {
    if (!connected) return;
    for (const watcher of watchers) if (watcher.environment === environment) setImmediate(() => watcher.handlers.onChange());
  };
  const unreachable = () => Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });
  const store = new Proxy(inner, {
    get(target, property, receiver) {
      if (property === "watchDeployments") {
        return async (environment: string, handlers: DeploymentWatchHandlers) => {
          if (feed.failing) throw unreachable();
          const watcher = { environment, handlers };
          watchers.add(watcher);
          setImmediate(() => handlers.onResync());
          return { close: async () => void watchers.delete(watcher) };
        };
      }
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== "function" || property === "close") return value;
      return async (...args: unknown[]) => {
        calls.set(String(property), (calls.get(String(property)) ?? 0) + 1);
        if (feed.failing) throw unreachable();
        const result = await (value as (...parameters: unknown[]) => Promise<unknown>).apply(target, args);
        if (property === "deploy" || property === "undeploy") notify(args[1] as string);
        return result;
      };
    },
  });
  (feed as { store: Store }).store = store;
  return feed;
}
