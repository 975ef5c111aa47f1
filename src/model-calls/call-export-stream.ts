import { connect as netConnect } from 'node:net';
import { Readable } from 'node:stream';
import { Client, ClientConfig, escapeLiteral } from 'pg';
import { to as copyTo, CopyToStreamQuery } from 'pg-copy-streams';
import { DomainError } from '../common/domain-error';

/** What a CopyCsvStream runs and how long it lets each side keep it waiting. */
export interface CopyCsvStreamOptions {
  /** the stream's own connection (opened by the stream, closed when it ends or is destroyed) */
  connection: ClientConfig;
  /** a `COPY (…) TO STDOUT WITH (FORMAT csv)` statement whose every line ends with LF */
  sql: string;
  /**
   * PostgreSQL settings for the statement (name → value), set with SET LOCAL semantics in the
   * read-only transaction the COPY runs in: they end with it, so a transaction-mode pooler
   * (PgBouncer) never hands them to another client, and no startup parameter is needed.
   */
  settings?: Record<string, string>;
  /** the first line, without its line break */
  header: string;
  /** the consumer takes nothing this long while data waits for it (ms): the stream is destroyed */
  stallTimeoutMs: number;
  /** the database sends nothing this long while the consumer waits for rows (ms): destroyed */
  dbSilenceTimeoutMs: number;
  /** the whole stream, from its creation (ms): destroyed past it */
  maxDurationMs: number;
  /** bytes buffered before the stream stops reading the database (default 256 KiB) */
  highWaterMark?: number;
}

/** The fields of a pg Client the cancel request needs (set by the server at connection start). */
interface BackendKey {
  processID?: number;
  secretKey?: number;
}

/**
 * CSV from PostgreSQL's COPY, forwarded as bytes: the header line, then COPY's lines, without
 * the line break after the last one (`header`, then `\n` + line for every row). The header is
 * pushed only when COPY sends its first data or ends: a failure before that (the connection
 * refused, the statement rejected) errors the stream before any byte, so the HTTP layer can still
 * answer an error status.
 *
 * Backpressure: when the consumer does not take what was pushed (push() returns false), the COPY
 * stream is paused, pg-copy-streams stops reading the socket, the kernel's buffers fill and
 * PostgreSQL blocks in its send: memory stays at about two high-water marks whatever the size.
 *
 * Giving up (the stream is destroyed with a DomainError; after the first byte the HTTP layer then
 * cuts the response off): the consumer took nothing for `stallTimeoutMs` while data waited
 * (`export_client_stalled`); the database sent nothing for `dbSilenceTimeoutMs` while the consumer
 * waited (503 `service_unavailable`: a partition drops packets without a reset); the stream ran for
 * `maxDurationMs` (504 `export_timeout`). On any destruction before COPY ended, the statement is
 * cancelled (a CancelRequest on a new connection, for a backend still scanning) and the socket
 * destroyed (a backend blocked writing to it fails at once and ends; PostgreSQL handles no cancel
 * while it is blocked in a send). After a normal end the (read-only) transaction is committed and
 * the connection closed with Terminate.
 */
export class CopyCsvStream extends Readable {
  private client: Client | null = null;
  private copy: CopyToStreamQuery | null = null;
  private copyDone = false;
  private clientClosed = false;
  /** the COPY statement completed (ReadyForQuery): the connection can be ended gracefully */
  private idle = false;
  private endWhenIdle = false;
  /** the header was pushed */
  private started = false;
  /** COPY's latest chunk, pushed when the next arrives: the last one loses its final LF */
  private held: Buffer | null = null;
  /** when push() last returned false, until the consumer asks for more (_read) */
  private blockedSince: number | null = null;
  private lastDbAt = Date.now();
  /** after COPY's end: bytes still buffered at the last check, and since when that count holds */
  private tailLeft = -1;
  private tailSince = Date.now();
  private readonly openedAt = Date.now();
  private readonly watchdog: NodeJS.Timeout;

  constructor(private readonly opts: CopyCsvStreamOptions) {
    super({ highWaterMark: opts.highWaterMark ?? 256 * 1024 });
    const tick = Math.max(10, Math.min(1000, opts.stallTimeoutMs / 4, opts.dbSilenceTimeoutMs / 4));
    this.watchdog = setInterval(() => this.check(), tick);
    this.watchdog.unref();
    // Errors pass as they are (not `instanceof Error` checked: an error of another realm keeps its code).
    this.open().catch((err: unknown) => this.destroy(typeof err === 'object' && err !== null ? (err as Error) : new Error(String(err))));
  }

  private async open(): Promise<void> {
    const client = new Client(this.opts.connection);
    this.client = client;
    // Failures reach the pending connect() or the COPY stream; the event itself needs a listener.
    client.on('error', () => undefined);
    await client.connect();
    if (this.destroyed) return;
    // One round trip: the read-only transaction and its settings. PostgreSQL 14+ also checks
    // every 2 s, even while it scans, whether the client is still there (so an api process that
    // died does not leave its COPY running); older servers have no such setting, and the last
    // SELECT then sets nothing.
    const settings = Object.entries(this.opts.settings ?? {}).map(
      ([name, value]) => `set_config(${escapeLiteral(name)}, ${escapeLiteral(value)}, true)`,
    );
    await client.query(
      `BEGIN READ ONLY;${settings.length ? ` SELECT ${settings.join(', ')};` : ''}` +
        ` SELECT set_config(name, '2000', true) FROM pg_settings WHERE name = 'client_connection_check_interval'`,
    );
    if (this.destroyed) return;
    const copy = client.query(copyTo(this.opts.sql, { highWaterMark: 64 * 1024 }));
    this.copy = copy;
    this.lastDbAt = Date.now();
    // 'drain': the statement is complete (ReadyForQuery); the transaction is then committed (a
    // pooler releases its server connection) and the connection idle.
    client.once('drain', () => {
      client
        .query('COMMIT')
        .then(() => {
          this.idle = true;
          if (this.endWhenIdle) client.end().catch(() => undefined);
        })
        .catch(() => undefined);
    });
    copy.on('data', (chunk: Buffer) => this.onData(chunk));
    copy.on('end', () => this.onEnd());
    // After COPY's last data a connection error no longer matters (every row is out).
    copy.on('error', (err: Error) => {
      if (!this.copyDone) this.destroy(err);
    });
  }

  private onData(chunk: Buffer): void {
    this.lastDbAt = Date.now();
    if (chunk.length === 0) return;
    let ok = true;
    if (!this.started) {
      this.started = true;
      ok = this.push(Buffer.from(`${this.opts.header}\n`, 'utf8'));
    }
    const prev = this.held;
    this.held = chunk;
    if (prev) ok = this.push(prev) && ok;
    if (!ok) {
      this.copy?.pause();
      this.blockedSince ??= Date.now();
    }
  }

  private onEnd(): void {
    this.copyDone = true;
    // From here on the consumer's progress is watched through the buffered length (tailUntaken).
    this.blockedSince = null;
    if (!this.started) {
      this.started = true;
      this.push(Buffer.from(this.opts.header, 'utf8'));
    } else if (this.held) {
      const last = this.held[this.held.length - 1] === 0x0a ? this.held.subarray(0, this.held.length - 1) : this.held;
      this.held = null;
      if (last.length) this.push(last);
    }
    this.push(null);
    this.closeClient(true);
  }

  override _read(): void {
    if (this.blockedSince !== null) {
      this.blockedSince = null;
      // The database was held back by us meanwhile; its silence counts from now.
      this.lastDbAt = Date.now();
    }
    this.copy?.resume();
  }

  private check(): void {
    if (this.destroyed) return;
    const now = Date.now();
    if (now - this.openedAt > this.opts.maxDurationMs) {
      this.destroy(DomainError.gatewayTimeout('export_timeout', `the export did not finish within ${this.opts.maxDurationMs} ms`));
    } else if (this.blockedSince !== null || this.tailUntaken(now)) {
      if (now - (this.blockedSince ?? this.tailSince) > this.opts.stallTimeoutMs) {
        this.destroy(new DomainError(408, 'export_client_stalled', `the client read nothing for ${this.opts.stallTimeoutMs} ms`));
      }
    } else if (this.copy && !this.copyDone && now - this.lastDbAt > this.opts.dbSilenceTimeoutMs) {
      this.destroy(DomainError.unavailable('service_unavailable', `the database sent nothing for ${this.opts.dbSilenceTimeoutMs} ms`));
    }
  }

  /**
   * After COPY's end no push() reports a full buffer and _read is not called again: whether the
   * consumer still takes what is left is told by the buffered length changing. True while bytes
   * wait and their length has not changed since `tailSince`.
   */
  private tailUntaken(now: number): boolean {
    if (!this.copyDone) return false;
    const left = this.readableLength;
    if (left !== this.tailLeft) {
      this.tailLeft = left;
      this.tailSince = now;
    }
    return left > 0;
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    clearInterval(this.watchdog);
    this.held = null;
    this.closeClient(this.copyDone && !err);
    callback(err);
  }

  /** Closes the connection once: Terminate after a complete COPY, else cancel and destroy the socket. */
  private closeClient(graceful: boolean): void {
    const client = this.client;
    if (!client || this.clientClosed) return;
    this.clientClosed = true;
    if (graceful) {
      // Terminate once PostgreSQL has said ReadyForQuery (pg would destroy the socket of a
      // connection whose statement is still active, and the server log a lost client).
      if (this.idle) {
        client.end().catch(() => undefined);
      } else {
        this.endWhenIdle = true;
        // ReadyForQuery follows CopyDone at once; a connection that never says it is dropped.
        setTimeout(() => {
          if (!this.idle) client.connection.stream.destroy();
        }, 5000).unref();
      }
      return;
    }
    const key = client as BackendKey;
    if (this.copy && !this.copyDone && key.processID !== undefined && key.secretKey !== undefined) {
      sendCancelRequest(client.host, client.port, key.processID, key.secretKey);
    }
    client.connection.stream.destroy();
  }
}

/**
 * PostgreSQL's CancelRequest (protocol 3.0: length 16, code 80877102, process id, secret key) on a
 * new connection, which the server closes after reading it. Fire and forget: errors are ignored,
 * and the socket is dropped after 5 s whatever happens.
 */
function sendCancelRequest(host: string, port: number, processId: number, secretKey: number): void {
  const msg = Buffer.alloc(16);
  msg.writeInt32BE(16, 0);
  msg.writeInt32BE(80877102, 4);
  msg.writeInt32BE(processId, 8);
  msg.writeInt32BE(secretKey, 12);
  const socket = host.startsWith('/') ? netConnect(`${host}/.s.PGSQL.${port}`) : netConnect(port, host);
  socket.setTimeout(5000, () => socket.destroy());
  socket.on('error', () => undefined);
  socket.on('connect', () => socket.end(msg));
}
