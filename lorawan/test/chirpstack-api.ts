import { createRequire } from 'node:module';
import type * as IntegrationPb from '@chirpstack/chirpstack-api/integration/integration_pb.js';
import type * as GwPb from '@chirpstack/chirpstack-api/gw/gw_pb.js';
import type * as CommonPb from '@chirpstack/chirpstack-api/common/common_pb.js';

/**
 * ChirpStack integration events built with ChirpStack's own published API definitions
 * (@chirpstack/chirpstack-api: the generated protobuf classes of integration.proto, gw.proto, common.proto),
 * then written in the proto3 JSON mapping as ChirpStack's JSON marshaler sends them: lowerCamelCase names,
 * repeated fields without jspb's `List` suffix, maps as objects, bytes base64, Timestamps RFC 3339, enums by
 * name, fields at their default value omitted.
 */
const require = createRequire(require_resolve());
function require_resolve(): string {
  return createRequire(import.meta.url).resolve('@chirpstack/chirpstack-api/package.json');
}
const integration = require('./integration/integration_pb.js') as typeof IntegrationPb;
const gw = require('./gw/gw_pb.js') as typeof GwPb;
const common = require('./common/common_pb.js') as typeof CommonPb;
const { Timestamp } = require('google-protobuf/google/protobuf/timestamp_pb.js') as { Timestamp: { fromDate(d: Date): unknown } };
const { Struct } = require('google-protobuf/google/protobuf/struct_pb.js') as {
  Struct: { fromJavaScript(o: Record<string, unknown>): unknown };
};

const nameOf = (map: Record<string, number>) => new Map(Object.entries(map).map(([k, v]) => [v, k]));
const ENUMS: Record<string, Map<number, string>> = {
  deviceClassEnabled: nameOf(common.DeviceClass as unknown as Record<string, number>),
  codeRate: nameOf(gw.CodeRate as unknown as Record<string, number>),
  crcStatus: nameOf(gw.CRCStatus as unknown as Record<string, number>),
  level: nameOf(integration.LogLevel as unknown as Record<string, number>),
  code: nameOf(integration.LogCode as unknown as Record<string, number>),
};

const isDefault = (v: unknown) =>
  v === 0 || v === '' || v === false || v === undefined || v === null || (Array.isArray(v) && v.length === 0);

function toJson(value: unknown, key = ''): unknown {
  if (Array.isArray(value)) return value.map((v) => toJson(v));
  if (!value || typeof value !== 'object') return typeof value === 'number' && ENUMS[key] ? ENUMS[key]!.get(value) : value;
  const o = value as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length === 2 && 'seconds' in o && 'nanos' in o)
    return new Date(Number(o.seconds) * 1000 + Math.round(Number(o.nanos) / 1e6)).toISOString();
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (k.endsWith('Map') && Array.isArray(v)) {
      if (v.length) out[k.slice(0, -3)] = Object.fromEntries(v as Array<[string, unknown]>);
      continue;
    }
    const name = k.endsWith('List') && Array.isArray(v) ? k.slice(0, -4) : k;
    if (isDefault(v)) continue;
    // Enum fields at their first value (0) are defaults too, handled above.
    out[name] = toJson(v, name);
  }
  return out;
}

function deviceInfo(devEui: string, applicationId: string, profile: string): IntegrationPb.DeviceInfo {
  const d = new integration.DeviceInfo();
  d.setTenantId('52f14cd4-c6f1-4fbd-8f87-4025e1d49242');
  d.setTenantName('Tam Ky');
  d.setApplicationId(applicationId);
  d.setApplicationName('city-sensors');
  d.setDeviceProfileId('0b8d8f4c-7f6e-4a3b-9d2b-1e4c9b7a8f10');
  d.setDeviceProfileName(profile);
  d.setDeviceName(`dev-${devEui}`);
  d.setDevEui(devEui);
  d.setDeviceClassEnabled(common.DeviceClass.CLASS_A);
  return d;
}

export interface UplinkSpec {
  devEui: string;
  applicationId: string;
  deduplicationId: string;
  time: Date;
  devAddr: string;
  fCnt: number;
  fPort: number;
  data: Uint8Array;
  object?: Record<string, unknown>;
  gateways: Array<{ id: string; rssi: number; snr: number }>;
  spreadingFactor?: number;
}

export function uplinkEvent(s: UplinkSpec): string {
  const e = new integration.UplinkEvent();
  e.setDeduplicationId(s.deduplicationId);
  e.setTime(Timestamp.fromDate(s.time) as never);
  e.setDeviceInfo(deviceInfo(s.devEui, s.applicationId, 'sensor'));
  e.setDevAddr(s.devAddr);
  e.setAdr(true);
  e.setDr(5);
  e.setFCnt(s.fCnt);
  e.setFPort(s.fPort);
  e.setConfirmed(false);
  e.setData(s.data);
  if (s.object) e.setObject(Struct.fromJavaScript(s.object) as never);
  e.setRxInfoList(
    s.gateways.map((g, i) => {
      const rx = new gw.UplinkRxInfo();
      rx.setGatewayId(g.id);
      rx.setUplinkId(1000 + i);
      rx.setNsTime(Timestamp.fromDate(s.time) as never);
      rx.setRssi(g.rssi);
      rx.setSnr(g.snr);
      rx.setChannel(2);
      rx.setCrcStatus(gw.CRCStatus.CRC_OK);
      return rx;
    }),
  );
  const lora = new gw.LoraModulationInfo();
  lora.setBandwidth(125000);
  lora.setSpreadingFactor(s.spreadingFactor ?? 7);
  lora.setCodeRate(gw.CodeRate.CR_4_5);
  const mod = new gw.Modulation();
  mod.setLora(lora);
  const tx = new gw.UplinkTxInfo();
  tx.setFrequency(923_200_000);
  tx.setModulation(mod);
  e.setTxInfo(tx);
  const json = toJson(e.toObject()) as Record<string, unknown>;
  // Struct's jspb object form is not its JSON form: a Struct maps to a plain JSON object.
  if (s.object) json.object = (e.getObject() as unknown as { toJavaScript(): unknown }).toJavaScript();
  return JSON.stringify(json);
}

export function statusEvent(s: { devEui: string; applicationId: string; time: Date; batteryLevel: number; margin: number }): string {
  const e = new integration.StatusEvent();
  e.setDeduplicationId('7d1b0a6e-2f3c-4e5d-9a8b-0c1d2e3f4a5b');
  e.setTime(Timestamp.fromDate(s.time) as never);
  e.setDeviceInfo(deviceInfo(s.devEui, s.applicationId, 'sensor'));
  e.setMargin(s.margin);
  e.setBatteryLevel(s.batteryLevel);
  return JSON.stringify(toJson(e.toObject()));
}

export function joinEvent(s: { devEui: string; applicationId: string; time: Date; devAddr: string }): string {
  const e = new integration.JoinEvent();
  e.setDeduplicationId('a3c1e7f0-5b2d-4c8e-9f1a-2b3c4d5e6f70');
  e.setTime(Timestamp.fromDate(s.time) as never);
  e.setDeviceInfo(deviceInfo(s.devEui, s.applicationId, 'sensor'));
  e.setDevAddr(s.devAddr);
  return JSON.stringify(toJson(e.toObject()));
}

export function ackEvent(s: {
  devEui: string;
  applicationId: string;
  time: Date;
  queueItemId: string;
  acknowledged: boolean;
  fCntDown: number;
}): string {
  const e = new integration.AckEvent();
  e.setDeduplicationId('c0ffee00-1111-4222-8333-444455556666');
  e.setTime(Timestamp.fromDate(s.time) as never);
  e.setDeviceInfo(deviceInfo(s.devEui, s.applicationId, 'lamp'));
  e.setQueueItemId(s.queueItemId);
  e.setAcknowledged(s.acknowledged);
  e.setFCntDown(s.fCntDown);
  return JSON.stringify(toJson(e.toObject()));
}

export function txAckEvent(s: {
  devEui: string;
  applicationId: string;
  time: Date;
  queueItemId: string;
  gatewayId: string;
  fCntDown: number;
}): string {
  const e = new integration.TxAckEvent();
  e.setDownlinkId(4242);
  e.setTime(Timestamp.fromDate(s.time) as never);
  e.setDeviceInfo(deviceInfo(s.devEui, s.applicationId, 'lamp'));
  e.setQueueItemId(s.queueItemId);
  e.setFCntDown(s.fCntDown);
  e.setGatewayId(s.gatewayId);
  return JSON.stringify(toJson(e.toObject()));
}

/**
 * Reads a downlink the connector published the way ChirpStack does: into its DownlinkCommand message.
 * Throws on a field DownlinkCommand does not have (ChirpStack's JSON parser refuses unknown fields).
 */
export function parseDownlinkCommand(json: string): { id: string; devEui: string; confirmed: boolean; fPort: number; data: Uint8Array } {
  const o = JSON.parse(json) as Record<string, unknown>;
  const known = new Set(Object.keys(new integration.DownlinkCommand().toObject()));
  for (const k of Object.keys(o)) if (!known.has(k)) throw new Error(`DownlinkCommand has no field "${k}"`);
  const c = new integration.DownlinkCommand();
  c.setId(String(o.id ?? ''));
  c.setDevEui(String(o.devEui ?? ''));
  c.setConfirmed(Boolean(o.confirmed));
  c.setFPort(Number(o.fPort ?? 0));
  c.setData(String(o.data ?? ''));
  return { id: c.getId(), devEui: c.getDevEui(), confirmed: c.getConfirmed(), fPort: c.getFPort(), data: c.getData_asU8() };
}
