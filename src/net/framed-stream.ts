/**
 * A libp2p 3 stream carrying length-prefixed frames (framing.ts), strictly alternating: one frame out,
 * one frame back. One 'message' listener for the stream's life decodes frames into a queue of at most
 * one; `next()` takes it. A second unconsumed frame breaks the alternation and fails the stream, so a
 * peer cannot make us buffer more than one frame per stream.
 *
 * libp2p 3 streams are event targets ('message', 'end', 'close') with `send()`; no it-* pipes. This
 * module knows nothing of requests, pools or handlers (request.ts).
 */
import type { Stream, StreamCloseEvent, StreamMessageEvent } from '@libp2p/interface';
import { CompeerError, DecodeError, ErrorCodes, LimitError, NetworkError } from '../lib/errors.ts';
import { createFrameDecoder, encodeFrame, FRAME_HEADER_BYTES } from './framing.ts';

export interface FramedStream {
  readonly stream: Stream;
  /** The next frame; rejects on a limit or protocol violation, end of stream, reset or `signal`. */
  next(signal: AbortSignal): Promise<Uint8Array>;
  /** Queues one frame for sending (throws LimitError over `maxBytes`). */
  send(payload: Uint8Array, maxBytes: number): void;
  /** The stream can carry another exchange: open both ways, nothing buffered or queued. */
  readonly reusable: boolean;
  /** Part of a frame is buffered (a slow or stalled sender). */
  readonly partial: boolean;
  /** The remote closed its writable end cleanly between frames (it has not seen anything we sent since). */
  readonly endedBetweenFrames: boolean;
  /** Why the stream can no longer be read, once it cannot. */
  readonly failure: CompeerError | undefined;
  /** Resets the stream (both directions, discarding buffers). */
  abort(err: Error): void;
  /** Closes our writable end gracefully; never throws. */
  close(): Promise<void>;
}

/** The typed error for an aborted signal: the reason if it is one, else TIMEOUT. */
export function abortError(signal: AbortSignal): CompeerError {
  const reason: unknown = signal.reason;
  if (reason instanceof CompeerError) return reason;
  if (reason instanceof Error && reason.name === 'TimeoutError') return new NetworkError(ErrorCodes.TIMEOUT, 'timed out');
  return new NetworkError(ErrorCodes.TIMEOUT, 'aborted', { cause: reason });
}

/**
 * Inbound bytes held across many streams (partial and queued frames), shared by a node's request layer:
 * the per-frame limit bounds one stream, this bounds the sum — many peers each sending most of a large
 * frame and stalling cannot exhaust memory.
 */
export interface ByteBudget {
  readonly max: number;
  used: number;
}

export function framed(stream: Stream, maxInboundBytes: number, budget?: ByteBudget): FramedStream {
  const decoder = createFrameDecoder(maxInboundBytes);
  let queued: Uint8Array | undefined;
  let failure: CompeerError | undefined;
  let endedBetweenFrames = false;
  let waiter: { resolve(f: Uint8Array): void; reject(e: Error): void } | undefined;
  let held = 0; // this stream's share of `budget`
  // Bytes that arrive while nobody listens are buffered by libp2p; bound that buffer by our frame limit.
  stream.maxReadBufferLength = maxInboundBytes + FRAME_HEADER_BYTES;

  /** Brings this stream's share of the budget in line with what it holds now. */
  const account = (): void => {
    if (budget === undefined) return;
    const now = failure !== undefined ? 0 : decoder.buffered + (queued !== undefined ? queued.length + FRAME_HEADER_BYTES : 0);
    budget.used += now - held;
    held = now;
  };

  const fail = (err: CompeerError): void => {
    if (failure !== undefined) return;
    failure = err;
    account();
    const w = waiter;
    waiter = undefined;
    w?.reject(err);
  };

  const onMessage = (evt: StreamMessageEvent): void => {
    if (failure !== undefined) return;
    try {
      const data = evt.data;
      for (const chunk of data instanceof Uint8Array ? [data] : data) {
        if (budget !== undefined && budget.used + chunk.length > budget.max) {
          throw new LimitError(ErrorCodes.LIMIT_EXCEEDED, 'inbound buffer budget exhausted');
        }
        for (const frame of decoder.push(chunk)) {
          if (waiter !== undefined) {
            const w = waiter;
            waiter = undefined;
            w.resolve(frame);
          } else if (queued === undefined) {
            queued = frame;
          } else {
            throw new DecodeError(ErrorCodes.UNEXPECTED_MESSAGE, 'a second frame before the first was answered');
          }
        }
        account();
      }
    } catch (err) {
      const e = err instanceof CompeerError ? err : new DecodeError(ErrorCodes.MALFORMED_MESSAGE, 'undecodable frame', { cause: err });
      fail(e);
      stream.abort(e);
    }
  };
  const onEnd = (): void => {
    // A reset also ends the readable side (and may emit 'end' before 'close'): only a stream still open
    // after the remote's end was closed gracefully.
    if (failure === undefined && !decoder.partial && stream.status === 'open') endedBetweenFrames = true;
    const where = decoder.partial ? `${decoder.buffered} bytes into a frame` : 'between frames';
    fail(new NetworkError(ErrorCodes.STREAM_FAILED, `stream ended ${where}`));
  };
  const onClose = (evt: StreamCloseEvent): void => {
    if (evt.error !== undefined) fail(new NetworkError(ErrorCodes.STREAM_FAILED, 'stream reset', { cause: evt.error }));
    else onEnd();
  };
  stream.addEventListener('message', onMessage);
  stream.addEventListener('end', onEnd);
  stream.addEventListener('close', onClose);
  // 'end' fires once; it may already be behind us if the remote finished before we listened.
  if (stream.readableEnded && stream.readBufferLength === 0) onEnd();

  return {
    stream,
    next(signal: AbortSignal): Promise<Uint8Array> {
      if (queued !== undefined) {
        const f = queued;
        queued = undefined;
        account();
        return Promise.resolve(f);
      }
      if (failure !== undefined) return Promise.reject(failure);
      if (signal.aborted) return Promise.reject(abortError(signal));
      if (waiter !== undefined) return Promise.reject(new CompeerError(ErrorCodes.INTERNAL, 'concurrent next() on a framed stream'));
      return new Promise<Uint8Array>((resolve, reject) => {
        const onAbort = (): void => {
          waiter = undefined;
          reject(abortError(signal));
        };
        signal.addEventListener('abort', onAbort, { once: true });
        waiter = {
          resolve(f) {
            signal.removeEventListener('abort', onAbort);
            resolve(f);
          },
          reject(e) {
            signal.removeEventListener('abort', onAbort);
            reject(e);
          },
        };
      });
    },
    send(payload: Uint8Array, maxBytes: number): void {
      // One buffer, not a list of header and payload: the TCP transport writes each chunk of what the
      // muxer and Noise hand it with a write() of its own, and on loopback each one wakes the reader
      // (docs/perf-node.md, fifth pass). The copy costs less than the syscall it saves.
      const frame = encodeFrame(payload, maxBytes);
      try {
        stream.send(frame);
      } catch (cause) {
        throw new NetworkError(ErrorCodes.STREAM_FAILED, 'stream not writable', { cause });
      }
    },
    get reusable() {
      return failure === undefined && queued === undefined && !decoder.partial && stream.status === 'open' && stream.writeStatus === 'writable' && stream.remoteWriteStatus === 'writable';
    },
    get partial() {
      return decoder.partial;
    },
    get endedBetweenFrames() {
      return endedBetweenFrames;
    },
    get failure() {
      return failure;
    },
    abort(err: Error): void {
      if (failure === undefined) fail(err instanceof CompeerError ? err : new NetworkError(ErrorCodes.STREAM_FAILED, 'stream aborted', { cause: err }));
      stream.abort(err);
    },
    async close(): Promise<void> {
      try {
        await stream.close({ signal: AbortSignal.timeout(5_000) });
      } catch {
        stream.abort(new NetworkError(ErrorCodes.TIMEOUT, 'stream close timed out'));
      }
    },
  };
}
