/**
 * A scriptable OpenAI-compatible upstream for reliability tests: each POST is answered by the
 * handler the test gives (hang, custom error text, …); GET /models answers 200 so credentials
 * validate. Loopback, random port.
 */
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';

export interface StubUpstream {
  /** base URL including /v1 */
  url: string;
  /** requests received (POST), with their bodies */
  requests: { path: string; body: string }[];
  close(): Promise<void>;
}

export async function startStubUpstream(handle: (req: IncomingMessage, res: ServerResponse, body: string) => void): Promise<StubUpstream> {
  const requests: { path: string; body: string }[] = [];
  const server: Server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const body = Buffer.concat(parts).toString('utf8');
      if (req.method === 'GET') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ object: 'list', data: [{ id: 'mock-model', object: 'model', created: 0, owned_by: 'stub' }] }));
        return;
      }
      requests.push({ path: req.url ?? '', body });
      handle(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
