import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An HTTP proxy in front of InfluxDB that can refuse writes: while `refusing`, POST /write answers 503
 * (what an overloaded or read-only InfluxDB answers) and everything else (queries, ping) passes.
 */
export interface HttpRefuser {
  url: string;
  setRefusing(on: boolean): void;
  refused(): number;
  close(): Promise<void>;
}

export async function startHttpRefuser(target: string): Promise<HttpRefuser> {
  const upstream = new URL(target);
  let refusing = false;
  let refused = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (refusing && req.url?.startsWith('/write')) {
      refused++;
      req.resume();
      res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"fault injection: store refusing writes"}');
      return;
    }
    const out = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    out.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: `proxy: ${err.message}` }));
    });
    req.pipe(out);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    setRefusing: (on) => {
      refusing = on;
    },
    refused: () => refused,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
