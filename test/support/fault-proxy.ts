/**
 * A TCP proxy for fault injection: listens on a random loopback port and forwards every
 * connection to a target (PostgreSQL, Redis…), until told to cut the link.
 *
 * - `cut('refuse')`: open connections are destroyed both ways; new ones are accepted and reset at
 *   once, so clients fail fast (ECONNRESET), as when the server is down.
 * - `cut('blackhole')`: open connections are destroyed both ways (or frozen, with
 *   `{ existing: 'freeze' }`); new ones are accepted but nothing is forwarded, so clients hang until
 *   their own timeout, as in a network partition. Nothing is read from a frozen or held socket:
 *   what the client sends waits in the kernel's buffers, like unacknowledged TCP segments.
 * - `restore()`: forwarding resumes. Frozen connections carry on where they stopped; connections
 *   accepted during a blackhole are connected to the target then, and what their clients sent
 *   meanwhile is delivered (the partition heals). Clients that gave up have closed theirs.
 *
 * It imports nothing but Node built-ins, so scripts can load it outside the TypeScript build
 * (scripts/soak.mjs transpiles this file).
 */
import * as net from 'node:net';

export type FaultMode = 'refuse' | 'blackhole';

export interface FaultProxyOptions {
  targetHost: string;
  targetPort: number;
  /** interface to listen on; default 127.0.0.1 */
  host?: string;
  /** port to listen on; default 0 (random) */
  port?: number;
}

export interface CutOptions {
  /** what new connections get until restore(); default 'refuse' */
  mode?: FaultMode;
  /**
   * what happens to connections open at the cut: 'destroy' (default) closes both sides;
   * 'freeze' (blackhole only) stops forwarding on them until restore().
   */
  existing?: 'destroy' | 'freeze';
}

export interface FaultProxyStats {
  /** connections accepted since start (including those refused or held) */
  opened: number;
  /** connections currently open (forwarding, frozen or held) */
  active: number;
  /** connections accepted and reset because the link was cut in 'refuse' mode */
  refused: number;
  /** connections accepted during a blackhole and not yet forwarded */
  held: number;
  /** connections destroyed by cut() */
  destroyedByCut: number;
  /** times cut() was called */
  cuts: number;
  /** bytes forwarded client → target */
  bytesToTarget: number;
  /** bytes forwarded target → client */
  bytesFromTarget: number;
}

export interface FaultProxy {
  readonly host: string;
  readonly port: number;
  /** 'open' while forwarding, else the mode of the current cut */
  readonly state: 'open' | FaultMode;
  /**
   * `url` (e.g. postgresql://user@127.0.0.1:5432/db or redis://127.0.0.1:6379/0) with its host and
   * port replaced by the proxy's; everything else kept.
   */
  url(targetUrl: string): string;
  /** Cuts the link (see the file comment); resolves when the destroyed connections are closed. */
  cut(opts?: FaultMode | CutOptions): Promise<void>;
  /** Forwards again. Resolves at once (held connections connect in the background). */
  restore(): Promise<void>;
  /** Stops listening and destroys every connection. Idempotent. */
  close(): Promise<void>;
  stats(): FaultProxyStats;
}

interface Link {
  client: net.Socket;
  target: net.Socket | null;
  /** no bytes move while true (blackhole, or a frozen link) */
  frozen: boolean;
  closed: boolean;
}

/** Starts a proxy to `targetHost:targetPort`; resolves once it listens. */
export async function startFaultProxy(opts: FaultProxyOptions): Promise<FaultProxy> {
  const links = new Set<Link>();
  let state: 'open' | FaultMode = 'open';
  let closing = false;
  const counters = { opened: 0, refused: 0, destroyedByCut: 0, cuts: 0, bytesToTarget: 0, bytesFromTarget: 0 };

  const finish = (link: Link, hard: boolean): void => {
    if (link.closed) return;
    link.closed = true;
    links.delete(link);
    if (hard) {
      resetSocket(link.client);
      link.target?.destroy();
      return;
    }
    // One side closed cleanly: let the other flush what it was sent, then close it.
    for (const s of [link.client, link.target]) {
      if (!s || s.destroyed) continue;
      s.end();
      setTimeout(() => s.destroy(), 1000).unref();
    }
  };

  /** Moves bytes from `from` to `to`, with backpressure, counting them; stops while frozen. */
  const pipe = (link: Link, from: net.Socket, to: net.Socket, count: (n: number) => void): void => {
    from.on('data', (chunk: Buffer) => {
      count(chunk.length);
      if (!to.write(chunk)) from.pause();
    });
    to.on('drain', () => {
      if (!link.frozen && !link.closed) from.resume();
    });
    from.on('end', () => to.end());
  };

  const connectTarget = (link: Link): void => {
    const target = net.connect({ host: opts.targetHost, port: opts.targetPort });
    link.target = target;
    target.setNoDelay(true);
    target.on('error', () => finish(link, true));
    target.on('close', () => finish(link, false));
    target.on('connect', () => {
      if (link.closed) return;
      pipe(link, link.client, target, (n) => (counters.bytesToTarget += n));
      pipe(link, target, link.client, (n) => (counters.bytesFromTarget += n));
      if (link.frozen) {
        link.client.pause();
        target.pause();
      } else {
        link.client.resume();
      }
    });
  };

  const server = net.createServer({ pauseOnConnect: true }, (client) => {
    counters.opened++;
    if (closing || state === 'refuse') {
      counters.refused++;
      client.on('error', () => undefined);
      resetSocket(client);
      return;
    }
    client.setNoDelay(true);
    const link: Link = { client, target: null, frozen: state === 'blackhole', closed: false };
    links.add(link);
    client.on('error', () => finish(link, true));
    client.on('close', () => finish(link, false));
    // During a blackhole the client stays paused and unconnected until restore().
    if (!link.frozen) connectTarget(link);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as net.AddressInfo;
  const host = opts.host ?? '127.0.0.1';

  const destroyAll = async (): Promise<number> => {
    const open = [...links];
    const closed = open.map(
      (l) => new Promise<void>((resolve) => (l.client.destroyed ? resolve() : l.client.once('close', () => resolve()))),
    );
    for (const l of open) finish(l, true);
    await Promise.race([Promise.all(closed), delay(2000)]);
    return open.length;
  };

  return {
    host,
    port: address.port,
    get state() {
      return state;
    },
    url(targetUrl: string): string {
      const u = new URL(targetUrl);
      u.hostname = host;
      u.port = String(address.port);
      return u.toString();
    },
    async cut(arg?: FaultMode | CutOptions): Promise<void> {
      const o: CutOptions = typeof arg === 'string' ? { mode: arg } : (arg ?? {});
      const mode = o.mode ?? 'refuse';
      if (o.existing === 'freeze' && mode !== 'blackhole') throw new Error("fault proxy: existing: 'freeze' needs mode 'blackhole'");
      counters.cuts++;
      state = mode;
      if (o.existing === 'freeze') {
        for (const l of links) {
          l.frozen = true;
          l.client.pause();
          l.target?.pause();
        }
        return;
      }
      counters.destroyedByCut += await destroyAll();
    },
    async restore(): Promise<void> {
      if (closing) return;
      state = 'open';
      for (const l of [...links]) {
        if (!l.frozen) continue;
        l.frozen = false;
        if (!l.target) {
          connectTarget(l); // held during the blackhole: connect now, then deliver what waited
        } else {
          l.client.resume();
          l.target.resume();
        }
      }
    },
    async close(): Promise<void> {
      if (closing) return;
      closing = true;
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      await destroyAll();
      await stopped;
    },
    stats(): FaultProxyStats {
      let held = 0;
      for (const l of links) if (!l.target) held++;
      return { ...counters, active: links.size, held };
    },
  };
}

/** Closes with a TCP RST where Node supports it (the peer sees ECONNRESET), else plainly. */
function resetSocket(socket: net.Socket): void {
  const s = socket as net.Socket & { resetAndDestroy?: () => net.Socket };
  if (typeof s.resetAndDestroy === 'function' && !socket.destroyed) {
    try {
      s.resetAndDestroy();
      return;
    } catch {
      /* not connected any more: fall through */
    }
  }
  socket.destroy();
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
