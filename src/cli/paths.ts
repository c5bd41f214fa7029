/**
 * The default data folder: $COMPEER_HOME, else the platform's per-user data folder.
 * Pure (environment, platform and home are passed in) so every platform is testable on any platform.
 */
import { posix, win32 } from 'node:path';

export type Env = Readonly<Record<string, string | undefined>>;

export function defaultDataDir(env: Env, platform: NodeJS.Platform, home: string): string {
  const set = (name: string): string | undefined => (env[name] !== undefined && env[name] !== '' ? env[name] : undefined);
  const explicit = set('COMPEER_HOME');
  if (explicit !== undefined) return explicit;
  if (platform === 'win32') return win32.join(set('APPDATA') ?? win32.join(home, 'AppData', 'Roaming'), 'Compeer');
  if (platform === 'darwin') return posix.join(home, 'Library', 'Application Support', 'Compeer');
  // XDG Base Directory spec: a relative XDG_DATA_HOME is invalid and must be ignored.
  const xdg = set('XDG_DATA_HOME');
  return posix.join(xdg !== undefined && posix.isAbsolute(xdg) ? xdg : posix.join(home, '.local', 'share'), 'compeer');
}
