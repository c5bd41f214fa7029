/**
 * A bare net node in its own process, for test/multiprocess/net-*.test.ts. Listens on 127.0.0.1,
 * serves an echo protocol, optionally bootstraps and puts a DHT record, prints one JSON line
 * `{peerId, addresses}` on stdout when ready, and stops on SIGTERM or when stdin closes.
 * Usage: node net-peer.ts [nodeKeyHex]
 */
import { randomBytes } from 'node:crypto';
import { createNetNode } from '../../src/net/node.ts';

const key = process.argv[2] !== undefined ? Buffer.from(process.argv[2], 'hex') : randomBytes(32);
const node = await createNetNode({ nodeKey: key, listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, allowPrivateAddresses: true });
await node.start();
await node.handle('/test/echo/1', async (req) => req, { rateLimit: false });
process.stdout.write(`${JSON.stringify({ peerId: node.peerId, addresses: node.addresses() })}\n`);

let stopping = false;
const stop = async (): Promise<void> => {
  if (stopping) return;
  stopping = true;
  await node.stop();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.stdin.on('end', () => void stop());
process.stdin.resume();
