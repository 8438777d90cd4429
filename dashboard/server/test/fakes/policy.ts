import { parseNotifyPolicy, type NotifyPolicyInput } from '../../src/notify';
import type { FakeEsms } from './esms';
import type { FakeZalo } from './zalo';

export const TECH_PHONE = '84905111222';
export const SUPERVISOR_PHONE = '84905999888';
export const CALLBACK_TOKEN = 'cb-token-0123456789abcdef';

/** The flood policy used across notify tests: on-call technician by Zalo (then SMS), supervisor by SMS after 10 min. */
export function floodPolicy(zalo: FakeZalo | undefined, esms: FakeEsms | undefined, over: Partial<NotifyPolicyInput> = {}) {
  return parseNotifyPolicy({
    locale: 'vi',
    senderName: 'Tam Ky IOC',
    callbackToken: CALLBACK_TOKEN,
    recipients: [
      {
        id: 'tech-an-phu',
        name: 'Kỹ thuật An Phú',
        phone: '0905 111 222',
        zaloUserId: 'zalo-user-tech',
        channels: zalo ? ['zalo', 'sms'] : ['sms'],
      },
      { id: 'tech-night', name: 'Kỹ thuật trực đêm', phone: '0905333444', channels: ['sms'] },
      { id: 'supervisor', name: 'Trưởng ca', phone: '+84 905 999 888', channels: ['sms'] },
    ],
    groups: [
      {
        id: 'water-oncall',
        members: ['tech-an-phu'],
        onCall: [
          { recipients: ['tech-an-phu'], from: '07:00', to: '19:00' },
          { recipients: ['tech-night'], from: '19:00', to: '07:00' },
        ],
      },
    ],
    routes: [
      {
        id: 'flood',
        match: { categories: ['water'] },
        steps: [{ to: ['group:water-oncall'] }, { afterMin: 10, to: ['supervisor'], channels: ['sms'] }],
      },
    ],
    grouping: { windowS: 0, maxAlarms: 10, immediateSeverities: ['critical'] },
    retry: { maxAttempts: 3, baseMs: 1000, maxMs: 5000 },
    providers: {
      ...(zalo
        ? {
            zalo: {
              sendUrl: `${zalo.url}/message/template`,
              tokenUrl: `${zalo.url}/v4/oa/access_token`,
              appId: zalo.appId,
              secretKey: zalo.secretKey,
              refreshToken: 'refresh-0',
              templateId: 'tpl-alarm',
              oaSecretKey: 'oa-secret',
            },
          }
        : {}),
      ...(esms ? { esms: { url: esms.url, apiKey: esms.apiKey, secretKey: esms.secretKey, brandname: esms.brandname } } : {}),
    },
    ...over,
  });
}
