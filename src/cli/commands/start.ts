/**
 * `compeer start` (what `npm start` runs). The node daemon comes with the networking layer; until then
 * this creates the identity when there is none and shows it, and says plainly that nothing listens yet.
 */
import type { Command } from 'commander';
import { action, type CliIo } from '../context.ts';
import { createIdentity, describe, openCtxStore, readIdentity } from '../identity.ts';

export const NOT_YET = 'The Compeer node (networking, messaging) is not in this version yet: nothing is listening.';

export function registerStart(program: Command, io: CliIo): void {
  program
    .command('start')
    .description('start a node (for now: create the identity if needed and show it)')
    .action(
      action(io, (ctx) => {
        const store = openCtxStore(ctx, true);
        try {
          const created = store.identities.getPublic() === undefined;
          const s = created ? createIdentity(ctx, store, null) : readIdentity(ctx, store);
          const head = created ? 'Created a Compeer identity.' : 'Compeer identity:';
          return {
            data: { userId: s.userId, name: s.name, dir: s.dir, created, running: false },
            text: `${head}\n${describe(s)}\n\n${NOT_YET}`,
          };
        } finally {
          store.close();
        }
      }),
    );
}
