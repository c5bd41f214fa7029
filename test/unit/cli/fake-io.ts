/** An in-process CliIo that records what the program prints. */
import { systemClock, systemRng } from '../../../src/lib/system.ts';
import type { CliIo } from '../../../src/cli/context.ts';
import type { Env } from '../../../src/cli/paths.ts';

export interface FakeIo extends CliIo {
  out: string;
  err: string;
  /** Delivers a stop signal (as SIGINT would) to whoever waits for one. */
  stop(signal?: string): void;
}

export function fakeIo(env: Env = {}, overrides: Partial<CliIo> = {}): FakeIo {
  const stopHandlers = new Set<(signal: string) => void>();
  const io: FakeIo = {
    out: '',
    err: '',
    stdout: (t) => void (io.out += t),
    stderr: (t) => void (io.err += t),
    env,
    platform: 'linux',
    homedir: '/home/test',
    cwd: '/work',
    rng: systemRng,
    clock: systemClock,
    onStopSignal: (handler) => {
      stopHandlers.add(handler);
      return () => void stopHandlers.delete(handler);
    },
    stop: (signal = 'SIGINT') => {
      for (const h of [...stopHandlers]) {
        stopHandlers.delete(h);
        h(signal);
      }
    },
    ...overrides,
  };
  return io;
}
