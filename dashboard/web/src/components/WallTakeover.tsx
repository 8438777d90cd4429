import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { Alarm } from '../api/types';
import { useI18n } from '../i18n/i18n';
import { alarmToneUrl } from '../lib/alarm-sound';
import { SEVERITY_ICON, SEVERITY_RANK } from '../lib/severity';
import { useApp } from '../session';

/** Severities that take the wall over while nobody has acknowledged them. */
const TAKEOVER = new Set(['critical', 'major']);

/** Most severe first, then the one waiting longest. */
export const bySeverityThenAge = (a: Alarm, b: Alarm) => SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] || a.firstSeen - b.firstSeen;

/**
 * Open, unacknowledged critical and major alarms, in the order the wall shows them. Shelved ones (maintenance)
 * and correlated children (explained by their gateway's alarm) stay quiet: the server clears the shelf when it
 * ends, and the alarm takes the wall over then if it is still active.
 */
export function takeoverAlarms(alarms: readonly Alarm[]): Alarm[] {
  return alarms
    .filter((a) => a.state === 'active' && TAKEOVER.has(a.severity) && a.shelfId === null && a.parentId === null)
    .sort(bySeverityThenAge);
}

export type SoundStatus = 'off' | 'ready' | 'blocked';

/**
 * The wall's audible alert: loops while `ringing`, stops when it is not. Browsers refuse sound before a
 * user gesture on the page, so a first silent play finds out; when refused the wall shows a one-time
 * "enable sound" button (kiosks can start Chromium with --autoplay-policy=no-user-gesture-required instead).
 */
export function useAlarmSound(wanted: boolean, ringing: boolean) {
  const audio = useRef<HTMLAudioElement>(null);
  const src = useMemo(() => (wanted ? alarmToneUrl() : ''), [wanted]);
  const [status, setStatus] = useState<SoundStatus>(wanted ? 'ready' : 'off');
  useEffect(
    () => () => {
      if (src) URL.revokeObjectURL(src);
    },
    [src],
  );

  const probe = useCallback(async (el: HTMLAudioElement) => {
    el.volume = 0;
    try {
      await el.play();
      el.pause();
      el.currentTime = 0;
      setStatus('ready');
    } catch {
      setStatus('blocked');
    } finally {
      el.volume = 1;
    }
  }, []);

  useEffect(() => {
    if (wanted && audio.current && !ringing) void probe(audio.current);
  }, [wanted, probe]); // eslint-disable-line react-hooks/exhaustive-deps -- once per setting, not per alarm

  useEffect(() => {
    const el = audio.current;
    if (!el || !wanted) return;
    if (ringing) {
      el.volume = 1;
      el.play().then(
        () => setStatus('ready'),
        () => setStatus('blocked'),
      );
    } else {
      el.pause();
      el.currentTime = 0;
    }
  }, [ringing, wanted, status]);

  /** Runs inside the click, which is the gesture the browser asks for. */
  const enable = useCallback(() => {
    if (audio.current) void probe(audio.current);
  }, [probe]);

  const element = wanted ? <audio ref={audio} src={src} loop preload="auto" data-testid="alarm-sound" /> : null;
  return { status, enable, element };
}

/** Over every wall panel: the alarm that needs someone now — where, what, since when. */
export function WallTakeoverBanner({
  alarms,
  now,
  sound,
}: {
  alarms: Alarm[];
  now: number;
  sound: { status: SoundStatus; enable(): void };
}) {
  const { t, lang, time, duration } = useI18n();
  const { wardName } = useApp();
  const first = alarms[0];
  if (!first) return null;
  const place = first.ward ? wardName(first.ward) : (first.gateway ?? first.device ?? '');
  return (
    <section
      className={`wall-takeover sev-bg-${first.severity}`}
      role="alert"
      data-testid="alarm-banner"
      data-alarm={first.id}
      data-shown-at={now}
    >
      <p className="wall-takeover-sev">
        <span aria-hidden="true">{SEVERITY_ICON[first.severity]} </span>
        {t(`severity.${first.severity}`)}
      </p>
      <p className="wall-takeover-where">{place}</p>
      <p className="wall-takeover-what">{first.message[lang]}</p>
      <p className="wall-takeover-since">{t('wallx.since', { time: time(first.firstSeen), age: duration(now - first.firstSeen) })}</p>
      {alarms.length > 1 && <p className="wall-takeover-more">{t('wallx.moreUnacked', { n: alarms.length - 1 })}</p>}
      {sound.status === 'blocked' && (
        <button type="button" className="wall-sound-enable" onClick={sound.enable} data-testid="enable-sound">
          <span aria-hidden="true">🔊 </span>
          {t('wallx.enableSound')}
        </button>
      )}
    </section>
  );
}

/** Always on the wall header: how many alarms are waiting for an acknowledgement (any severity). */
export function UnackedCount({ count }: { count: number }) {
  const { t, num } = useI18n();
  return (
    <span className={count > 0 ? 'wall-unacked on' : 'wall-unacked'} data-testid="unacked-count" data-count={count}>
      {t('wallx.unacked', { n: num(count, 0) })}
    </span>
  );
}
