import { X509Certificate } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { systemSubject, type SystemHealth, type SystemSample } from '@tamky/protocol';
import type { Logger } from 'pino';

/** How many offline sessions one report names at most (the fullest first): a report must stay small. */
const MAX_SESSIONS = 50;

/**
 * The broker's own health for the `system` alarm rules: connections against `maxConnections`, the queue of
 * each persistent session whose client is offline (this node's count), and the days left on each certificate
 * it is given (its TLS certificate and CA, the gateways' client certificates issued into deploy/certs).
 */
export function brokerSelfReport(args: {
  service: string;
  ts: number;
  connected: number;
  maxConnections: number;
  queues: ReadonlyMap<string, number>;
  online: ReadonlySet<string>;
  certificates: readonly string[];
  log?: Logger;
}): SystemHealth {
  const samples: SystemSample[] = [
    {
      check: 'broker_connections_percent',
      subject: 'connections',
      value: (args.connected / args.maxConnections) * 100,
      detail: { count: args.connected, max: args.maxConnections },
    },
  ];
  const offline = [...args.queues].filter(([client, n]) => n > 0 && !args.online.has(client)).sort((a, b) => b[1] - a[1]);
  for (const [client, n] of offline.slice(0, MAX_SESSIONS))
    samples.push({ check: 'session_queue', subject: systemSubject(client), value: n, detail: { client } });
  for (const cert of certificateFiles(args.certificates, args.log)) {
    const days = Math.floor((Date.parse(cert.validTo) - args.ts) / 86_400_000);
    samples.push({
      check: 'cert_days_left',
      subject: systemSubject(cert.file),
      value: days,
      detail: { file: cert.file, cn: cert.cn, notAfter: new Date(Date.parse(cert.validTo)).toISOString().slice(0, 10) },
    });
  }
  return { service: args.service, ts: args.ts, samples };
}

interface CertInfo {
  file: string;
  cn: string;
  validTo: string;
}

const parsed = new Map<string, { stamp: string; info: CertInfo | undefined }>();

/** Paths already reported unreadable: a report every few seconds must not repeat the warning. */
const warned = new Set<string>();
const warnOnce = (log: Logger | undefined, path: string, err: unknown, msg: string) => {
  if (warned.has(path)) return;
  warned.add(path);
  log?.warn({ path, err: (err as Error).message }, msg);
};

/** Each path is a PEM certificate file or a folder of them (*.crt, *.pem); keys and unreadable files are skipped. */
export function certificateFiles(paths: readonly string[], log?: Logger): CertInfo[] {
  const files: string[] = [];
  for (const p of paths) {
    try {
      if (statSync(p).isDirectory())
        for (const f of readdirSync(p).sort()) {
          if (/\.(crt|pem)$/.test(f)) files.push(join(p, f));
        }
      else files.push(p);
    } catch (err) {
      warnOnce(log, p, err, 'certificate path not readable; its expiry is not watched');
    }
  }
  const out: CertInfo[] = [];
  for (const f of [...new Set(files)]) {
    try {
      // Parsed again only when the file changed (a fleet's certificates are read every report).
      const st = statSync(f);
      const stamp = `${st.ino}:${st.mtimeMs}:${st.size}`;
      const cached = parsed.get(f);
      if (cached?.stamp === stamp) {
        if (cached.info) out.push(cached.info);
        continue;
      }
      const text = readFileSync(f, 'utf8');
      let info: CertInfo | undefined;
      if (text.includes('BEGIN CERTIFICATE')) {
        const x = new X509Certificate(text);
        const cn = /(?:^|\n)CN=([^\n]*)/.exec(x.subject)?.[1] ?? basename(f);
        info = { file: basename(f), cn, validTo: x.validTo };
      }
      parsed.set(f, { stamp, info });
      if (info) out.push(info);
    } catch (err) {
      warnOnce(log, f, err, 'certificate not readable; its expiry is not watched');
    }
  }
  return out;
}
