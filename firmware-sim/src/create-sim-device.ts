import type { Device, DeviceKind } from '@tamky/protocol';
import { AirStation } from './devices/air-station';
import { NoiseMeter } from './devices/noise-meter';
import { PmSensor } from './devices/pm-sensor';
import { StreetLight } from './devices/street-light';
import { TrafficCounter } from './devices/traffic-counter';
import { WaterLevel } from './devices/water-level';
import type { BaseSimDevice, SimDevice, SimDeviceOptions } from './sim-device';

const KINDS: Record<DeviceKind, new (device: Device, opts: SimDeviceOptions) => BaseSimDevice> = {
  air_station: AirStation,
  pm_sensor: PmSensor,
  noise_meter: NoiseMeter,
  water_level: WaterLevel,
  street_light: StreetLight,
  traffic_counter: TrafficCounter,
};

export function createSimDevice(device: Device, opts: SimDeviceOptions): SimDevice {
  const sim = new KINDS[device.kind](device, opts);
  sim.define();
  sim.update(sim.now());
  return sim;
}
