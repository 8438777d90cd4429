import { Gauge } from 'prom-client';
import { createMetricsRegistry } from '@tamky/service-kit';
import type { Registry } from 'prom-client';
import type { DeviceHealth, GatewayHealth } from '@tamky/protocol';

/** Prometheus view of the same numbers the health message carries, read at scrape time. */
export function gatewayMetrics(source: {
  outbox(): GatewayHealth['outbox'];
  devices(): DeviceHealth[];
  connected(): boolean;
  published(): number;
}): Registry {
  const registry = createMetricsRegistry('edge');
  new Gauge({
    name: 'edge_outbox_depth',
    help: 'Readings and messages waiting for PUBACK',
    registers: [registry],
    collect() {
      this.set(source.outbox().depth);
    },
  });
  new Gauge({
    name: 'edge_outbox_dropped_total',
    help: 'Telemetry dropped by the outbox size/age bound',
    registers: [registry],
    collect() {
      this.set(source.outbox().dropped);
    },
  });
  new Gauge({
    name: 'edge_readings_not_durable_total',
    help: 'Readings that could not be committed to the outbox (disk full, I/O error) since start',
    registers: [registry],
    collect() {
      this.set(source.outbox().notDurable);
    },
  });
  new Gauge({
    name: 'edge_published_readings_total',
    help: 'Readings acknowledged by the broker',
    registers: [registry],
    collect() {
      this.set(source.published());
    },
  });
  new Gauge({
    name: 'edge_mqtt_connected',
    help: '1 while connected to the broker',
    registers: [registry],
    collect() {
      this.set(source.connected() ? 1 : 0);
    },
  });
  const perDevice = (name: string, help: string, pick: (d: DeviceHealth) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['device'],
      registers: [registry],
      collect() {
        this.reset();
        for (const d of source.devices()) this.set({ device: d.device }, pick(d));
      },
    });
  perDevice('edge_device_polls_ok_total', 'Successful polls', (d) => d.ok);
  perDevice('edge_device_timeouts_total', 'Polls without answer (or link down)', (d) => d.timeouts);
  perDevice('edge_device_crc_errors_total', 'Frames with bad CRC or framing', (d) => d.crcErrors);
  perDevice('edge_device_exceptions_total', 'Modbus exception responses', (d) => d.exceptions);
  return registry;
}
