import type { PublicWard } from '../../../../protocol/src/public';
import { useI18n } from '../i18n/i18n';
import { textOn } from '../lib/aqi';

export const hexRgb = (hex: string): [number, number, number] => {
  const n = Number.parseInt(hex.replace('#', ''), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
};

/** One ward for residents: VN_AQI with its official colour, name and advice; noise against its limit; flood warning level. */
export function WardSummary({ ward, headingLevel = 3 }: { ward: PublicWard; headingLevel?: 2 | 3 }) {
  const { t, num, lang } = useI18n();
  const Heading = headingLevel === 2 ? 'h2' : 'h3';
  const { aqi, noise, flood } = ward;
  return (
    <article className="ward" aria-labelledby={`ward-${ward.id}`}>
      <Heading id={`ward-${ward.id}`}>{ward.name}</Heading>
      <dl>
        {aqi !== undefined && (
          <div className="row">
            <dt>{t('public.aqi')}</dt>
            <dd>
              {aqi?.value !== undefined ? (
                <>
                  <span className="aqi" style={aqi.color ? { background: aqi.color, color: textOn(hexRgb(aqi.color)) } : undefined}>
                    {num(aqi.value, 0)}
                    {aqi.name ? ` · ${aqi.name[lang]}` : ''}
                  </span>
                  {aqi.advice && <p className="advice">{aqi.advice[lang]}</p>}
                </>
              ) : (
                t('public.noData')
              )}
            </dd>
          </div>
        )}
        {noise !== undefined && (
          <div className="row">
            <dt>{t('public.noise')}</dt>
            <dd>
              {noise?.laeq !== undefined ? (
                noise.limit !== undefined ? (
                  <>
                    {t('public.noiseValue', { value: num(noise.laeq, 0), limit: num(noise.limit, 0) })}
                    <br />
                    <span className={noise.laeq > noise.limit ? 'over' : 'ok'}>
                      {noise.laeq > noise.limit ? `▲ ${t('public.noiseOver')}` : `✓ ${t('public.noiseOk')}`}
                    </span>
                  </>
                ) : (
                  `${num(noise.laeq, 0)} dB(A)`
                )
              ) : (
                t('public.noData')
              )}
            </dd>
          </div>
        )}
        {flood !== undefined && (
          <div className="row">
            <dt>{t('public.flood')}</dt>
            <dd>
              {flood?.stage !== undefined ? (
                <span className={flood.stage > 0 ? 'over' : 'ok'}>
                  {flood.stage > 0
                    ? `▲ ${t('public.floodStage', { stage: flood.stage, stages: flood.stages ?? '?' })}`
                    : `✓ ${t('public.floodNone')}`}
                </span>
              ) : flood?.level === undefined ? (
                t('public.noData')
              ) : null}
              {flood?.level !== undefined && <span className="level">{t('public.waterLevel', { level: num(flood.level, 2) })}</span>}
            </dd>
          </div>
        )}
      </dl>
    </article>
  );
}
