import { loadNotifyPolicy, parseNotifyPolicy, type NotifyPolicy } from '@tamky/dashboard-server/notify';
import { startFakeEsms, startFakeZalo, startSmtpSink } from '@tamky/test-support/fakes';

export interface DemoProviders {
  /** The city's notification policy with every provider pointed at the local fakes. */
  policy: NotifyPolicy;
  zalo: Awaited<ReturnType<typeof startFakeZalo>>;
  esms: Awaited<ReturnType<typeof startFakeEsms>>;
  smtp: Awaited<ReturnType<typeof startSmtpSink>>;
  close(): Promise<void>;
}

/**
 * The demo never calls Zalo, an SMS gateway or a mail relay: local servers speaking their documented
 * protocols take the messages (on loopback), so the notifications a newcomer triggers are really sent,
 * and can be read on the sent-messages page and in each alarm's trail.
 */
export async function startDemoProviders(policyFile: string): Promise<DemoProviders> {
  const zalo = await startFakeZalo();
  const esms = await startFakeEsms();
  const smtp = await startSmtpSink();
  const base = loadNotifyPolicy(policyFile);
  const policy = parseNotifyPolicy({
    ...base,
    providers: {
      zalo: {
        sendUrl: `${zalo.url}/message/template`,
        tokenUrl: `${zalo.url}/v4/oa/access_token`,
        appId: zalo.appId,
        secretKey: zalo.secretKey,
        refreshToken: 'refresh-0',
        templateId: 'demo-alarm',
      },
      esms: { url: esms.url, apiKey: esms.apiKey, secretKey: esms.secretKey, brandname: esms.brandname },
      email: { host: smtp.host, port: smtp.port, from: base.providers.email?.from ?? 'ioc@localhost' },
    },
  });
  return {
    policy,
    zalo,
    esms,
    smtp,
    async close() {
      await Promise.allSettled([zalo.close(), esms.close(), smtp.close()]);
    },
  };
}
