// The floor of a Node.js gateway on this machine (bench/run.mjs --floor): an HTTP server that
// reads a request's body, sends it with undici to the upstream under the upstream's own key, and
// relays the status, content type and body bytes back as they arrive. No key check, no parsing,
// no credits, no record: what any gateway written in Node pays for its two extra hops, measured in
// the same run as Tollgate and Portkey.
//
//   node bench/lib/bare-proxy.mjs PORT UPSTREAM_ORIGIN UPSTREAM_KEY
import http from 'node:http';
import { Pool } from 'undici';

const [port, origin, key] = process.argv.slice(2);
const upstream = new Pool(origin, { connections: 128, pipelining: 1 });

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    upstream.request(
      {
        method: req.method,
        path: req.url,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: Buffer.concat(chunks),
      },
      (err, up) => {
        if (err) {
          if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: { message: err.message } }));
          return;
        }
        res.writeHead(up.statusCode, { 'content-type': up.headers['content-type'] ?? 'application/json' });
        up.body.on('data', (c) => res.write(c));
        up.body.on('end', () => res.end());
        up.body.on('error', () => res.destroy());
        res.on('close', () => up.body.destroy());
      },
    );
  });
});
server.keepAliveTimeout = 65_000;
server.listen(Number(port), '127.0.0.1');
