/**
 * The recipient of the node suite (bench/suites/node.ts), run in a worker thread so that each node has
 * a thread (an event loop, a core) of its own, as two machines would: a Compeer node on TCP 127.0.0.1
 * with its own sqlite store (WAL, synchronous=FULL, secrets sealed), driven by a few messages from the
 * main thread. Not a suite (the leading underscore keeps it out of the list).
 *
 *   → {type: 'start', dir}            ← {type: 'started', invite, userId}
 *   → {type: 'greet', contact}        (after the contact's hello was sent) waits for the contact and its
 *                                      hello, answers 'hi'; ← {type: 'greeted'}
 *   → {type: 'stop'}                  ← {type: 'stopped'}
 *   anything failing                  ← {type: 'error', message}
 */
import { parentPort } from 'node:worker_threads';
import { systemClock, systemRng } from '../../src/lib/system.ts';
import { createCompeer, nodeStoreFrom, type CompeerNode } from '../../src/node/index.ts';
import { generateIdentity } from '../../src/protocol/identity.ts';
import { createPeerPolicy } from '../../src/routing/peer-policy.ts';
import { storedIdentityOf } from '../../src/store/identity-keys.ts';
import { openStore } from '../../src/store/store.ts';

export type PeerRequest = { type: 'start'; dir: string } | { type: 'greet'; contact: string } | { type: 'stop' };
export type PeerReply =
  | { type: 'started'; invite: string; userId: string }
  | { type: 'greeted' }
  | { type: 'stopped' }
  | { type: 'error'; message: string };

/** A Compeer node with its own store in `dir`, listening on TCP 127.0.0.1 (both ends of the suite use it). */
export async function benchNode(dir: string, name: string): Promise<CompeerNode> {
  // WAL checkpoints in a worker thread, as a daemon holding one node's store should run them
  // (src/store/checkpointer.ts; docs/perf-node.md fifth pass).
  const store = openStore({ dir, create: true, rng: systemRng, clock: systemClock, peerPolicy: createPeerPolicy(), backgroundCheckpoint: true });
  store.identities.create(storedIdentityOf(generateIdentity(systemRng), name, systemClock()));
  return createCompeer({
    store: nodeStoreFrom(store),
    net: { listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, allowPrivateAddresses: true, bootstrap: [] },
  });
}

async function serve(port: NonNullable<typeof parentPort>): Promise<void> {
  let node: CompeerNode | undefined;
  const reply = (r: PeerReply): void => port.postMessage(r);
  port.on('message', (req: PeerRequest) => {
    void (async () => {
      try {
        if (req.type === 'start') {
          node = await benchNode(req.dir, 'bob');
          const id = await node.id();
          reply({ type: 'started', invite: id.invite, userId: node.userId });
        } else if (req.type === 'greet') {
          if (!node) throw new Error('not started');
          // The contact exists once its hello (carrying our invite secret) arrived.
          for (let i = 0; !(await node.contacts()).some((c) => c.userId === req.contact); i++) {
            if (i > 200) throw new Error('the hello did not arrive');
            await new Promise((r) => setTimeout(r, 50));
          }
          await node.messages(req.contact, { waitMs: 10_000, count: 1 });
          await node.send(req.contact, 'hi');
          reply({ type: 'greeted' });
        } else {
          await node?.stop();
          node = undefined;
          reply({ type: 'stopped' });
          port.close();
        }
      } catch (e) {
        reply({ type: 'error', message: e instanceof Error ? e.message : String(e) });
      }
    })();
  });
}

if (parentPort) await serve(parentPort);
