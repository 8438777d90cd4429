import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from '@tamky/service-kit';
import { dynsecPlan, dynsecProvisioningSchema, type DynsecAcl, type DynsecProvisioning } from './dynsec-plan';

const CONTROL = '$CONTROL/dynamic-security/v1';

type Command = Record<string, unknown> & { command: string };
interface Response {
  command: string;
  error?: string;
  data?: Record<string, unknown>;
}

/** One dynamic-security control connection: each call sends a list of commands and waits for their responses. */
class ControlChannel {
  private waiting: Array<(responses: Response[]) => void> = [];

  private constructor(private readonly client: MqttClient) {
    client.on('message', (topic, payload) => {
      if (topic !== `${CONTROL}/response`) return;
      const body = JSON.parse(payload.toString()) as { responses?: Response[] };
      this.waiting.shift()?.(body.responses ?? []);
    });
  }

  static async open(url: string, username: string, password: string): Promise<ControlChannel> {
    const client = await mqtt.connectAsync(url, { username, password, reconnectPeriod: 0, connectTimeout: 10_000 });
    const [granted] = await client.subscribeAsync(`${CONTROL}/response`, { qos: 1 });
    if (!granted || granted.qos === 128) {
      await client.endAsync();
      throw new Error(`${username} may not read ${CONTROL}/response: is the dynamic-security plugin loaded and is this its admin?`);
    }
    return new ControlChannel(client);
  }

  /** Sends the commands in one message (Mosquitto answers them in order, in one response). */
  async send(commands: Command[], tolerate: (r: Response) => boolean = () => false): Promise<Response[]> {
    if (commands.length === 0) return [];
    const answered = new Promise<Response[]>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer on ${CONTROL}/response within 10 s`)), 10_000);
      this.waiting.push((r) => {
        clearTimeout(timer);
        resolve(r);
      });
    });
    await this.client.publishAsync(CONTROL, JSON.stringify({ commands }), { qos: 1 });
    const responses = await answered;
    const failed = responses.filter((r) => r.error !== undefined && !tolerate(r));
    if (failed.length > 0) throw new Error(`dynamic security refused: ${failed.map((r) => `${r.command}: ${r.error}`).join('; ')}`);
    return responses;
  }

  close(): Promise<void> {
    return this.client.endAsync();
  }
}

const aclKey = (a: Pick<DynsecAcl, 'acltype' | 'topic'>) => `${a.acltype} ${a.topic}`;

/**
 * Brings a Mosquitto 2 dynamic-security configuration in line with `input`: creates missing roles and clients,
 * replaces the ACLs of existing roles, resets passwords, client ids and roles of existing clients, and
 * enables or disables each client. Idempotent; clients and roles not named are left as they are.
 */
export async function provisionDynsec(input: DynsecProvisioning, log?: Logger): Promise<{ roles: number; clients: number }> {
  const p = dynsecProvisioningSchema.parse(input);
  const plan = dynsecPlan(p);
  const control = await ControlChannel.open(p.admin.url, p.admin.username, p.admin.password);
  try {
    // A name not granted a right is refused it; receiving what one may subscribe to stays allowed.
    await control.send([
      {
        command: 'setDefaultACLAccess',
        acls: [
          { acltype: 'publishClientSend', allow: false },
          { acltype: 'publishClientReceive', allow: true },
          { acltype: 'subscribe', allow: false },
          { acltype: 'unsubscribe', allow: true },
        ],
      },
    ]);
    const [rolesListed, clientsListed] = await control.send([{ command: 'listRoles' }, { command: 'listClients' }]);
    const existingRoles = new Set((rolesListed?.data?.roles as string[] | undefined) ?? []);
    const existingClients = new Set((clientsListed?.data?.clients as string[] | undefined) ?? []);

    for (const role of plan.roles) {
      if (!existingRoles.has(role.rolename)) {
        await control.send([{ command: 'createRole', rolename: role.rolename, acls: role.acls }]);
        continue;
      }
      const [got] = await control.send([{ command: 'getRole', rolename: role.rolename }]);
      const have = ((got?.data?.role as { acls?: DynsecAcl[] } | undefined)?.acls ?? []).map(aclKey);
      const want = new Set(role.acls.map(aclKey));
      const stale = ((got?.data?.role as { acls?: DynsecAcl[] } | undefined)?.acls ?? []).filter((a) => !want.has(aclKey(a)));
      await control.send([
        ...stale.map((a) => ({ command: 'removeRoleACL', rolename: role.rolename, acltype: a.acltype, topic: a.topic })),
        ...role.acls.filter((a) => !have.includes(aclKey(a))).map((a) => ({ command: 'addRoleACL', rolename: role.rolename, ...a })),
      ]);
    }

    for (const c of plan.clients) {
      const roles = [{ rolename: c.rolename }];
      if (!existingClients.has(c.username))
        await control.send([{ command: 'createClient', username: c.username, password: c.password, clientid: c.clientid, roles }]);
      else
        await control.send([
          { command: 'modifyClient', username: c.username, clientid: c.clientid ?? '', roles },
          { command: 'setClientPassword', username: c.username, password: c.password },
        ]);
      await control.send([{ command: c.disabled ? 'disableClient' : 'enableClient', username: c.username }]);
    }
    log?.info({ roles: plan.roles.length, clients: plan.clients.length }, 'mosquitto dynamic security provisioned');
    return { roles: plan.roles.length, clients: plan.clients.length };
  } finally {
    await control.close();
  }
}
