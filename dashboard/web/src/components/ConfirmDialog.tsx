import { useEffect, useRef, type ReactNode } from 'react';
import { useI18n } from '../i18n/i18n';

/** A modal <dialog> (focus trapped by the browser, Escape cancels). */
export function ConfirmDialog({
  open,
  title,
  children,
  onConfirm,
  onCancel,
  busy = false,
}: {
  open: boolean;
  title: string;
  children?: ReactNode;
  onConfirm(): void;
  onCancel(): void;
  busy?: boolean;
}) {
  const { t } = useI18n();
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) d.showModal();
    if (!open && d.open) d.close();
  }, [open]);
  return (
    <dialog ref={ref} className="dialog" aria-labelledby="dialog-title" onCancel={(e) => (e.preventDefault(), onCancel())}>
      <h2 id="dialog-title">{title}</h2>
      {children}
      <div className="dialog-actions">
        <button type="button" className="btn" onClick={onCancel}>
          {t('dialog.cancel')}
        </button>
        <button type="button" className="btn btn-primary" onClick={onConfirm} disabled={busy} data-testid="confirm">
          {t('dialog.confirm')}
        </button>
      </div>
    </dialog>
  );
}
