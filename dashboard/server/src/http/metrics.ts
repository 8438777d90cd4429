import type { RequestHandler } from 'express';
import { Counter, Gauge, Histogram } from 'prom-client';
import { createMetricsRegistry } from '@tamky/service-kit';

export type DashboardMetrics = ReturnType<typeof createDashboardMetrics>;

/** The dashboard's Prometheus metrics (GET /metrics); modules register theirs on their own registries. */
export function createDashboardMetrics() {
  const registry = createMetricsRegistry('dashboard');
  return {
    registry,
    httpDuration: new Histogram({
      name: 'dashboard_http_request_duration_seconds',
      help: 'HTTP request duration',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
      buckets: [0.005, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    }),
    mqttMessages: new Counter({
      name: 'dashboard_mqtt_messages_total',
      help: 'MQTT messages received by topic kind',
      labelNames: ['kind'],
      registers: [registry],
    }),
    mqttInvalid: new Counter({
      name: 'dashboard_mqtt_invalid_messages_total',
      help: 'MQTT messages rejected as malformed',
      labelNames: ['kind'],
      registers: [registry],
    }),
    ws: {
      clients: new Gauge({ name: 'dashboard_ws_clients', help: 'Connected WebSocket clients', registers: [registry] }),
      sent: new Counter({ name: 'dashboard_ws_frames_sent_total', help: 'WebSocket frames sent', registers: [registry] }),
      dropped: new Counter({
        name: 'dashboard_ws_frames_dropped_total',
        help: 'Live frames dropped for slow WebSocket clients',
        labelNames: ['channel'],
        registers: [registry],
      }),
    },
    commandsSent: new Counter({ name: 'dashboard_commands_sent_total', help: 'Commands published to gateways', registers: [registry] }),
  };
}

/** Times every HTTP request by route template (not by URL: ids would explode the label set). */
export function httpTiming(m: DashboardMetrics): RequestHandler {
  return (req, res, next) => {
    const end = m.httpDuration.startTimer();
    res.on('finish', () =>
      end({ method: req.method, route: req.route?.path ? `${req.baseUrl}${req.route.path}` : 'other', status: String(res.statusCode) }),
    );
    next();
  };
}
