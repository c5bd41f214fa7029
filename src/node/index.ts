/**
 * The public surface of src/node/: the composition root and the store port. src/api/ and the CLI
 * import from here.
 */
export { createCompeer, type CompeerNode, type CompeerOptions, type DiscoveryContext, type StartDiscovery } from './compeer.ts';
export { memoryNodeStore, type NodeStore, type NodeMeta } from './node-store.ts';
export { nodeStoreFrom } from './store-adapter.ts';
export type * from './types.ts';
