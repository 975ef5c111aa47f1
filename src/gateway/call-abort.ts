import { EventEmitter } from 'node:events';

/**
 * The abort switch of one gateway call: set when the client leaves before its response is finished,
 * or when a hold refused late stops the call (src/gateway/gateway.service.ts); the provider request
 * (undici) and the stream relay stop on its 'abort' event.
 *
 * An EventEmitter, not an AbortController: undici takes either as a request's `signal` (an
 * EventEmitter with `aborted` and an 'abort' event), and an AbortController's signal is an
 * EventTarget, whose construction alone was ~1.4 % of the api's CPU samples per call at 50
 * concurrent calls (bench/README.md). undici rejects an aborted request with its
 * RequestAbortedError (an AbortSignal without a reason gives a DOMException AbortError); the
 * gateway tells an abort by `aborted`, never by the error's type.
 */
export class CallAbort extends EventEmitter {
  /** true once abort() was called */
  aborted = false;

  /** Sets `aborted` and emits 'abort' once; later calls do nothing. */
  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.emit('abort');
  }
}
