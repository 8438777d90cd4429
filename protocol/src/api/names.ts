// The API's fixed name lists as plain code, no zod: the web app imports them (`@tamky/protocol/names`) without
// pulling zod into its bundle; the schemas in this folder are built from them.

/** Who may do what in the dashboard, lowest first. */
export const ROLES = ['viewer', 'operator', 'technician', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** What an API token may read. Tokens never write: other systems read, people act in the dashboard. */
export const TOKEN_SCOPES = ['read:readings', 'read:alarms'] as const;
export type TokenScope = (typeof TOKEN_SCOPES)[number];

/** Notification channels, in the order a recipient's chain usually tries them. */
export const CHANNELS = ['zalo', 'sms', 'smpp', 'email', 'webhook'] as const;
export type ChannelName = (typeof CHANNELS)[number];

export const ALARM_STATES = ['active', 'acknowledged', 'cleared'] as const;
export type AlarmState = (typeof ALARM_STATES)[number];

/** What a maintenance shelf covers. */
export const SHELF_TARGETS = ['device', 'gateway', 'ward'] as const;
export type ShelfTarget = (typeof SHELF_TARGETS)[number];

export const GATEWAY_STATES = ['online', 'offline', 'unknown'] as const;
export type GatewayState = (typeof GATEWAY_STATES)[number];
