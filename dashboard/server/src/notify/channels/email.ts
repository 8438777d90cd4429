import { readFileSync } from 'node:fs';
import nodemailer from 'nodemailer';
import type { Channel, SendOutcome } from './types';
import { shortKey } from './types';

export interface EmailConfig {
  host: string;
  port: number;
  secure: boolean;
  user?: string;
  password?: string;
  from: string;
  timeoutMs: number;
  /** PEM file of the CA that signed the relay's certificate, when it is not a public one. */
  caFile?: string | undefined;
}

/** SMTP via nodemailer. A stable Message-ID per notification lets mail clients fold a resend into one. */
export function createEmailChannel(cfg: EmailConfig): Channel {
  const transport = nodemailer.createTransport({
    host: cfg.host,
    port: cfg.port,
    secure: cfg.secure,
    ...(cfg.user ? { auth: { user: cfg.user, pass: cfg.password ?? '' } } : {}),
    connectionTimeout: cfg.timeoutMs,
    greetingTimeout: cfg.timeoutMs,
    socketTimeout: cfg.timeoutMs,
    // STARTTLS is used when the relay offers it, and its certificate is verified (against `caFile` for a
    // relay with a private CA): an unverified TLS session hands the alert text to whoever sits in between.
    tls: { rejectUnauthorized: true, ...(cfg.caFile ? { ca: readFileSync(cfg.caFile) } : {}) },
  });
  return {
    async send(m): Promise<SendOutcome> {
      try {
        const info = await transport.sendMail({
          from: cfg.from,
          to: m.to,
          subject: m.subject,
          text: m.text,
          messageId: `<${shortKey(m.idempotencyKey)}@ioc.alarm>`,
        });
        return { status: 'accepted', providerId: String(info.messageId) };
      } catch (err) {
        const e = err as Error & { responseCode?: number };
        if (e.responseCode && e.responseCode >= 500) return { status: 'permanent', error: `smtp ${e.responseCode}: ${e.message}` };
        return { status: 'retry', error: `smtp: ${e.message}` };
      }
    },
    async close() {
      transport.close();
    },
  };
}
