import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import { CallAbort } from './call-abort';

describe('CallAbort', () => {
  it('emits abort once and stays aborted', () => {
    const abort = new CallAbort();
    const heard: number[] = [];
    abort.on('abort', () => heard.push(1));
    expect(abort.aborted).toBe(false);
    abort.abort();
    abort.abort();
    expect(abort.aborted).toBe(true);
    expect(heard).toEqual([1]);
  });

  describe('as the signal of an undici request', () => {
    let server: Server;
    let pool: Pool;
    let bodySent: () => void;
    beforeAll(async () => {
      server = createServer((req, res) => {
        if (req.url === '/slow-headers') return; // never answers
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('first part;');
        bodySent();
        // the rest never comes
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      pool = new Pool(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    });
    afterAll(async () => {
      await pool.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });

    it('stops a request waiting for its headers', async () => {
      const abort = new CallAbort();
      const pending = pool.request({ method: 'GET', path: '/slow-headers', signal: abort });
      setTimeout(() => abort.abort(), 50);
      await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    });

    it('stops a body being read, and leaves no listener behind', async () => {
      const abort = new CallAbort();
      const sent = new Promise<void>((resolve) => (bodySent = resolve));
      const response = await pool.request({ method: 'GET', path: '/slow-body', signal: abort });
      await sent;
      const chunks: string[] = [];
      const reading = (async () => {
        for await (const chunk of response.body) {
          chunks.push(String(chunk));
          abort.abort();
        }
      })();
      await expect(reading).rejects.toMatchObject({ name: 'AbortError' });
      expect(chunks.join('')).toBe('first part;');
      expect(abort.listenerCount('abort')).toBe(0);
    });

    it('a request whose switch is already off never goes out', async () => {
      const abort = new CallAbort();
      abort.abort();
      await expect(pool.request({ method: 'GET', path: '/slow-body', signal: abort })).rejects.toMatchObject({ name: 'AbortError' });
    });
  });
});
