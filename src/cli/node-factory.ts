/**
 * The one place the CLI builds a node: `compeer start` calls a NodeFactory with the resolved flags.
 * The default opens the store in DIR (or a memory store with a fresh identity for --ephemeral),
 * adapts it to the node's port and runs createCompeer (src/node/) with the network options and
 * discovery (signed announcements into the peer table).
 * Injectable through CliIo.createNode so tests can run the daemon in-process over a fake node.
 */
import type { Clock, Rng } from '../lib/deps.ts';
import type { Logger } from '../lib/log.ts';
import { discoveryHook } from '../node/discovery/index.ts';
import { createCompeer, nodeStoreFrom, type CompeerApi, type CompeerNode } from '../node/index.ts';
import { generateIdentity } from '../protocol/identity.ts';
import { createPeerPolicy } from '../routing/peer-policy.ts';
import { storedIdentityOf } from '../store/identity-keys.ts';
import { openMemoryStore, openStore, type Store } from '../store/store.ts';

export interface DaemonNodeOptions {
  dir: string;
  passphrase: string | undefined;
  /** Everything in memory: a new identity, no files. */
  ephemeral: boolean;
  /** Listen multiaddrs; empty: the node's default (TCP and WebSockets on 0.0.0.0, random ports). */
  listen: string[];
  bootstrap: string[];
  mdns: boolean;
  /** Relay onion packets for others (default true). */
  relay?: boolean;
  /** Hold mail for others (default true). */
  mailbox?: boolean;
  /** How often the node announces itself on the gossip (default 5 min). */
  announceIntervalMs?: number;
  logger: Logger;
  rng: Rng;
  clock: Clock;
}

export interface DaemonNode extends CompeerApi {
  stop(): Promise<void>;
}

export type NodeFactory = (opts: DaemonNodeOptions) => Promise<DaemonNode>;

/** Loopback or RFC 1918 / link-local / ULA listen addresses: the DHT must keep such addresses. */
const PRIVATE_ADDR = /^\/ip4\/(127\.|10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.|169\.254\.)|^\/ip6\/(::1|f[cd]|fe80)/i;

function openDaemonStore(o: DaemonNodeOptions): Store {
  const peerPolicy = createPeerPolicy();
  // One node per process here: WAL checkpoints in a worker thread, off the node's event loop
  // (src/store/checkpointer.ts, docs/perf-node.md fifth pass); the node bench runs its nodes the same way.
  if (!o.ephemeral) return openStore({ dir: o.dir, create: false, rng: o.rng, clock: o.clock, passphrase: o.passphrase, logger: o.logger, peerPolicy, backgroundCheckpoint: true });
  const store = openMemoryStore({ peerPolicy });
  store.identities.create(storedIdentityOf(generateIdentity(o.rng), null, o.clock()));
  return store;
}

function delegate(node: CompeerNode, stop: () => Promise<void>): DaemonNode {
  return {
    id: (opts) => node.id(opts),
    addContact: (invite, name) => node.addContact(invite, name),
    contacts: () => node.contacts(),
    send: (contact, text, opts) => node.send(contact, text, opts),
    messages: (contact, query) => node.messages(contact, query),
    verify: (contact, confirm) => node.verify(contact, confirm),
    peers: () => node.peers(),
    status: () => node.status(),
    on: (listener) => node.on(listener),
    stop,
  };
}

export const defaultNodeFactory: NodeFactory = async (o) => {
  const store = openDaemonStore(o);
  try {
    const listenPrivate = o.listen.length > 0 && o.listen.every((a) => PRIVATE_ADDR.test(a));
    const node = await createCompeer({
      store: nodeStoreFrom(store),
      net: {
        ...(o.listen.length > 0 ? { listen: o.listen } : {}),
        bootstrap: o.bootstrap,
        mdns: o.mdns,
        allowPrivateAddresses: listenPrivate || o.mdns,
      },
      // Signed announcements feed the peer table; private addresses are announced only when we listen
      // on nothing else (a loopback or LAN-only node), since strangers far away cannot use them.
      discovery: discoveryHook({
        announcePrivateAddresses: listenPrivate,
        capabilities: { relay: o.relay ?? true, mailbox: o.mailbox ?? true },
        ...(o.announceIntervalMs !== undefined && { announceIntervalMs: o.announceIntervalMs }),
      }),
      delivery: { relay: o.relay ?? true, mailbox: o.mailbox ?? true },
      logger: o.logger,
      rng: o.rng,
      clock: o.clock,
    });
    return delegate(node, () => node.stop()); // the node closes the store it was given
  } catch (err) {
    try {
      store.close();
    } catch {
      // already closed by the node on its way out
    }
    throw err;
  }
};
