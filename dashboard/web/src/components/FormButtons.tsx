import { useI18n } from '../i18n/i18n';

/** The save / cancel row that ends every admin editor form. */
export function FormButtons({ saveLabel, busy, onCancel }: { saveLabel: string; busy: boolean; onCancel: () => void }) {
  const { t } = useI18n();
  return (
    <div className="button-row">
      <button type="submit" className="btn btn-primary" disabled={busy}>
        {saveLabel}
      </button>
      <button type="button" className="btn" onClick={onCancel}>
        {t('dialog.cancel')}
      </button>
    </div>
  );
}
