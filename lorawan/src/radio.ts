import type { Device, DeviceHealth } from '@tamky/protocol';

interface DeviceRadio {
  uplinks: number;
  deadLetters: number;
  lastOkTs: number | null;
  lastError: string | null;
  lastErrorTs: number | null;
  radio: NonNullable<DeviceHealth['radio']>;
}

/**
 * The radio side of each LoRaWAN device's health, from ChirpStack's events, reported in the connector's
 * gateway health message like a wired gateway reports its devices (counters restart with the connector).
 */
export class RadioHealth {
  private readonly devices = new Map<string, DeviceRadio>();

  private of(device: Device): DeviceRadio {
    let d = this.devices.get(device.id);
    if (!d) {
      d = {
        uplinks: 0,
        deadLetters: 0,
        lastOkTs: null,
        lastError: null,
        lastErrorTs: null,
        radio: {
          devEui: device.lorawan!.devEui,
          rssi: null,
          snr: null,
          spreadingFactor: null,
          gateways: 0,
          fCnt: null,
          batteryPct: null,
          batteryTs: null,
          lastJoinTs: null,
        },
      };
      this.devices.set(device.id, d);
    }
    return d;
  }

  uplink(
    device: Device,
    ts: number,
    fCnt: number,
    radio: { rssi: number | null; snr: number | null; spreadingFactor: number | null; gateways: number },
  ): void {
    const d = this.of(device);
    d.uplinks++;
    d.lastOkTs = Math.max(d.lastOkTs ?? 0, ts);
    Object.assign(d.radio, radio, { fCnt });
  }

  error(device: Device, ts: number, message: string, deadLetter: boolean): void {
    const d = this.of(device);
    if (deadLetter) d.deadLetters++;
    d.lastError = message;
    d.lastErrorTs = ts;
  }

  status(device: Device, ts: number, batteryPct: number | null): void {
    const d = this.of(device);
    d.radio.batteryPct = batteryPct;
    d.radio.batteryTs = ts;
  }

  join(device: Device, ts: number): void {
    this.of(device).radio.lastJoinTs = ts;
  }

  report(devices: Device[]): DeviceHealth[] {
    return devices.map((device) => {
      const d = this.of(device);
      return {
        device: device.id,
        ok: d.uplinks,
        timeouts: 0,
        crcErrors: 0,
        exceptions: d.deadLetters,
        lastOkTs: d.lastOkTs,
        lastError: d.lastError,
        lastErrorTs: d.lastErrorTs,
        backoffUntil: null,
        // The device's own uplink interval (the registry's pollIntervalMs for a LoRaWAN device).
        pollIntervalMs: device.pollIntervalMs,
        radio: { ...d.radio },
      };
    });
  }
}
