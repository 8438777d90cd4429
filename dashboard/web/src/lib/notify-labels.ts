import type { MessageKey } from '../i18n/dict';

type Translate = (key: MessageKey, vars?: Record<string, string | number>) => string;

/** A channel or outcome word in the page's language; an unknown one as the server sent it. */
function known(t: Translate, key: string, raw: string): string {
  const text = t(key as MessageKey);
  return text === key ? raw : text;
}

export const channelLabel = (t: Translate, channel: string) => known(t, `channel.${channel}`, channel);
export const notifyStateLabel = (t: Translate, state: string) => known(t, `notifyState.${state}`, state);
