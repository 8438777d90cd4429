import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '@tamky/test-support';
import { createEmailChannel } from '../../src/notify/channels/email';
import { startSmtpSink } from '../fakes/smtp';

/**
 * Low item of issue #14: the SMTP channel accepted any certificate on STARTTLS, so whoever sat between the
 * dashboard and the relay read every alert mail. A real SMTP socket with STARTTLS and a certificate of a CA
 * the system does not know.
 */
let dir: string;
let sink: Awaited<ReturnType<typeof startSmtpSink>>;

beforeAll(async () => {
  dir = tempDir('smtp-tls');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  sink = await startSmtpSink({ tls: { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) } });
});
afterAll(async () => {
  await sink?.close();
});

const mail = {
  to: 'eng@tamky.gov.vn',
  subject: '[IOC] CRITICAL #1',
  text: 'Ngập An Phú',
  idempotencyKey: 'alarm:1:eng:email:0',
  alarmIds: [1],
  templateData: {},
};

describe('SMTP over STARTTLS', () => {
  it('refuses a relay whose certificate does not verify: nothing is sent', async () => {
    const channel = createEmailChannel({ host: sink.host, port: sink.port, secure: false, from: 'ioc@tamky.gov.vn', timeoutMs: 10_000 });
    try {
      const outcome = await channel.send(mail);
      expect(outcome.status).toBe('retry');
      expect('error' in outcome && outcome.error).toMatch(/certificate/i);
      expect(sink.mails).toHaveLength(0);
    } finally {
      await channel.close?.();
    }
  });

  it('sends over TLS to a relay signed by the configured caFile', async () => {
    const channel = createEmailChannel({
      host: sink.host,
      port: sink.port,
      secure: false,
      from: 'ioc@tamky.gov.vn',
      timeoutMs: 10_000,
      caFile: join(dir, 'cert.pem'),
    });
    try {
      expect((await channel.send(mail)).status).toBe('accepted');
      expect(sink.mails).toHaveLength(1);
      expect(sink.mails[0]!.tls).toBe(true);
    } finally {
      await channel.close?.();
    }
  });
});
