export { createNotifier, type Notifier, type NotifierOptions, type NotificationView, type ChannelOverrides } from './notifier';
export {
  loadNotifyPolicy,
  parseNotifyPolicy,
  notifyPolicySchema,
  type NotifyPolicy,
  type NotifyPolicyInput,
  type Recipient,
  type ChannelName,
} from './policy';
export type { Channel, OutgoingMessage, SendOutcome } from './channels/types';
export { normalisePhone } from './phone';
export { parseAckReply, foldVietnamese, notificationText } from './text';
