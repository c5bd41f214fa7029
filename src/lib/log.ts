/**
 * Structured logging: one JSON object per line, to an injected sink (stderr in the CLI).
 *
 * What it refuses to carry: byte arrays (printed as their length only), and any field whose name says
 * it is secret or user content (key, secret, seed, passphrase, token, text, plaintext, body, ...), which
 * is replaced by "[redacted]". Free text goes in `msg`, which call sites keep to fixed strings.
 */

export const LogLevels = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LogLevels)[number];

export type LogValue = string | number | boolean | null | undefined | Uint8Array | LogValue[] | { [k: string]: LogValue } | Error;
export type LogFields = Record<string, LogValue>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(bindings: LogFields): Logger;
  readonly level: LogLevel;
}

export type LogSink = (line: string) => void;

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };
const SECRET_FIELD = /(^|_|[a-z])(key|keys|secret|seed|passphrase|password|token|text|plaintext|body|priv|private|mnemonic|sas)$/i;
const MAX_STRING = 512;

export function isLogLevel(s: string): s is LogLevel {
  return (LogLevels as readonly string[]).includes(s);
}

function clean(name: string, v: LogValue, depth: number): unknown {
  if (SECRET_FIELD.test(name)) return '[redacted]';
  if (v === undefined || v === null) return v ?? null;
  if (v instanceof Uint8Array) return `[${v.length} bytes]`;
  if (v instanceof Error) {
    const code = (v as { code?: unknown }).code;
    return { name: v.name, code: typeof code === 'string' ? code : undefined, message: v.message.slice(0, MAX_STRING) };
  }
  if (typeof v === 'string') return v.length > MAX_STRING ? `${v.slice(0, MAX_STRING)}…` : v;
  if (typeof v !== 'object') return v;
  if (depth > 3) return '[depth]';
  if (Array.isArray(v)) return v.slice(0, 32).map((x) => clean('', x, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = clean(k, x, depth + 1);
  return out;
}

export function createLogger(opts: { level: LogLevel; sink: LogSink; now?: () => number; bindings?: LogFields }): Logger {
  const threshold = RANK[opts.level];
  const now = opts.now ?? Date.now;
  const bindings = opts.bindings ?? {};
  const emit = (level: Exclude<LogLevel, 'silent'>, msg: string, fields?: LogFields): void => {
    if (RANK[level] < threshold) return;
    const rec: Record<string, unknown> = { t: new Date(now()).toISOString(), level, msg };
    for (const [k, v] of Object.entries(bindings)) rec[k] = clean(k, v, 0);
    if (fields) for (const [k, v] of Object.entries(fields)) rec[k] = clean(k, v, 0);
    opts.sink(JSON.stringify(rec));
  };
  return {
    level: opts.level,
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (b) => createLogger({ ...opts, bindings: { ...bindings, ...b } }),
  };
}

export const silentLogger: Logger = createLogger({ level: 'silent', sink: () => {} });

/** A caught value as a log field: the Error itself (its message, code and cause are logged), else its text. */
export function errorOf(e: unknown): Error | string {
  return e instanceof Error ? e : String(e);
}
