import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { TLSSocket } from 'node:tls';

/**
 * Just enough SMTP on a real socket (EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT) to receive what nodemailer
 * sends; with `tls`, STARTTLS too (each mail records whether it came over TLS).
 */
export async function startSmtpSink(opts: { tls?: { key: Buffer | string; cert: Buffer | string } } = {}) {
  const mails: Array<{ from: string; to: string[]; data: string; tls: boolean }> = [];
  const sockets = new Set<Socket>();
  const serve = (socket: Socket, secure: boolean, greet: boolean) => {
    let buffer = '';
    let inData = false;
    let current = { from: '', to: [] as string[], data: '', tls: secure };
    const reply = (line: string) => socket.write(`${line}\r\n`);
    if (greet) reply('220 sink.local ESMTP ready');
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      for (;;) {
        if (inData) {
          const end = buffer.indexOf('\r\n.\r\n');
          if (end < 0) return;
          current.data = buffer.slice(0, end).replace(/^\.\./gm, '.');
          buffer = buffer.slice(end + 5);
          inData = false;
          mails.push(current);
          current = { from: '', to: [], data: '', tls: secure };
          reply('250 2.0.0 queued');
          continue;
        }
        const nl = buffer.indexOf('\r\n');
        if (nl < 0) return;
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 2);
        const cmd = line.slice(0, 4).toUpperCase();
        if (cmd === 'EHLO')
          socket.write(`250-sink.local\r\n${opts.tls && !secure ? '250-STARTTLS\r\n' : ''}250-8BITMIME\r\n250 SMTPUTF8\r\n`);
        else if (cmd === 'STAR' && opts.tls && !secure) {
          reply('220 2.0.0 ready to start TLS');
          socket.off('data', onData);
          const upgraded = new TLSSocket(socket, { isServer: true, key: opts.tls.key, cert: opts.tls.cert });
          upgraded.on('error', () => undefined);
          serve(upgraded, true, false);
          return;
        } else if (cmd === 'HELO') reply('250 sink.local');
        else if (cmd === 'MAIL') {
          current.from = /<([^>]*)>/.exec(line)?.[1] ?? '';
          reply('250 2.1.0 ok');
        } else if (cmd === 'RCPT') {
          current.to.push(/<([^>]*)>/.exec(line)?.[1] ?? '');
          reply('250 2.1.5 ok');
        } else if (cmd === 'DATA') {
          inData = true;
          reply('354 end with <CRLF>.<CRLF>');
        } else if (cmd === 'RSET') {
          current = { from: '', to: [], data: '', tls: secure };
          reply('250 ok');
        } else if (cmd === 'NOOP') reply('250 ok');
        else if (cmd === 'QUIT') {
          reply('221 bye');
          socket.end();
        } else reply('502 5.5.2 not implemented');
      }
    };
    socket.on('data', onData);
  };
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    serve(socket, false, true);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    host: '127.0.0.1',
    port: (server.address() as AddressInfo).port,
    mails,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
