import type { RedisClientType } from 'redis';
import { describeError, type ResolvedLogger } from '../logger.js';
import type { Listener, RunCommand, Subscriber } from './redis-support.js';

/**
 * Internal: RedisStore's publish/subscribe listeners. Standalone: `SUBSCRIBE` on
 * one lazily created `client.duplicate()`. Cluster: the cluster client's own
 * `subscribe` (classic pub/sub is broadcast to every node, so `PUBLISH` on any
 * node reaches it). node-redis resubscribes after a reconnect.
 */
export class RedisSubscriptions {
  readonly #client: unknown;
  readonly #cluster: boolean;
  readonly #logger: ResolvedLogger;
  readonly #run: RunCommand;
  #subscriber: Promise<Subscriber> | undefined;
  readonly #subscriptions = new Set<[string, Listener]>();

  /** `run` is RedisStore's guarded command runner: the same readiness, timeout and stall rules. */
  constructor(client: unknown, cluster: boolean, logger: ResolvedLogger, run: RunCommand) {
    this.#client = client;
    this.#cluster = cluster;
    this.#logger = logger;
    this.#run = run;
  }

  /** Subscribes `listener` to the (already prefixed) channel; resolves to its unsubscribe function. */
  subscribe(channel: string, listener: Listener): Promise<() => Promise<void>> {
    return this.#run('SUBSCRIBE', async () => {
      const subscriber = await this.#getSubscriber();
      const entry: [string, Listener] = [channel, listener];
      await subscriber.subscribe(channel, listener);
      this.#subscriptions.add(entry);
      return async () => {
        if (!this.#subscriptions.delete(entry)) return;
        await this.#run('UNSUBSCRIBE', async () => {
          await subscriber.unsubscribe(channel, listener);
        });
      };
    });
  }

  /** Unsubscribes every listener and closes the subscriber duplicated for them. Never closes the given client. */
  async close(): Promise<void> {
    const pending = this.#subscriber;
    const entries = [...this.#subscriptions];
    this.#subscriber = undefined;
    this.#subscriptions.clear();
    const subscriber = await pending?.catch(() => undefined);
    if (!subscriber) return;
    if (this.#cluster) await Promise.allSettled(entries.map(([channel, listener]) => subscriber.unsubscribe(channel, listener)));
    else await subscriber.close?.().catch(() => subscriber.destroy?.());
  }

  #getSubscriber(): Promise<Subscriber> {
    if (this.#cluster) return (this.#subscriber ??= Promise.resolve(this.#client as Subscriber));
    this.#subscriber ??= (async () => {
      const duplicate = (this.#client as RedisClientType).duplicate();
      let failing = false; // log once per outage, not once per reconnect attempt
      duplicate
        .on('ready', () => {
          failing = false;
        })
        .on('error', (err: unknown) => {
          if (!failing)
            this.#logger.warn(describeError(err), 'RedisStore subscriber connection lost; node-redis reconnects and resubscribes');
          failing = true;
        });
      await duplicate.connect();
      return duplicate as unknown as Subscriber;
    })();
    this.#subscriber.catch(() => {
      this.#subscriber = undefined;
    });
    return this.#subscriber;
  }
}
