import { useI18n } from '../i18n/i18n';
import { aqiBand, rgbCss, textOn } from '../lib/aqi';

/** VN_AQI value on its official colour, with the level's name and an icon (colour is never the only signal). */
export function AqiBadge({ value, size = 'md' }: { value: number | null | undefined; size?: 'md' | 'lg' | 'xl' }) {
  const { t, num } = useI18n();
  if (value === null || value === undefined) {
    return (
      <div className={`aqi-badge aqi-${size} aqi-none`}>
        <span className="aqi-label">{t('aqi.short')}</span>
        <span className="aqi-value">—</span>
        <span className="aqi-level">{t('app.noData')}</span>
      </div>
    );
  }
  const band = aqiBand(value);
  return (
    <div className={`aqi-badge aqi-${size}`} style={{ background: rgbCss(band.rgb), color: textOn(band.rgb) }} data-level={band.level} data-testid="aqi">
      <span className="aqi-label">{t('aqi.short')}</span>
      <span className="aqi-value">{num(value, 0)}</span>
      <span className="aqi-level">
        <span aria-hidden="true">{band.icon} </span>
        {t(`aqi.${band.level}`)}
      </span>
    </div>
  );
}
