import { useI18n } from '../i18n/i18n';
import { useApp } from '../session';
import { Link } from './Link';

/** Devices of the city model, read-only: they are configured in city.yaml, not here. */
export function AdminDeviceList() {
  const { t } = useI18n();
  const { city, wardName } = useApp();
  return (
    <section className="panel" aria-labelledby="devices-title">
      <h2 id="devices-title">{t('admin.devices')}</h2>
      <p className="muted">{t('admin.devicesNote')}</p>
      <div className="table-wrap" tabIndex={0} role="region" aria-label={t('admin.devices')}>
        <table data-testid="admin-devices">
          <caption className="sr-only">{t('admin.devices')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('admin.device')}</th>
              <th scope="col">{t('admin.kind')}</th>
              <th scope="col">{t('admin.ward')}</th>
              <th scope="col">{t('admin.gateway')}</th>
            </tr>
          </thead>
          <tbody>
            {city.devices.map((d) => (
              <tr key={d.id}>
                <th scope="row">
                  <Link href={`/devices/${encodeURIComponent(d.id)}`}>{d.name}</Link>
                  <br />
                  <span className="muted small">{d.id}</span>
                </th>
                <td>{d.kind}</td>
                <td>{wardName(d.ward)}</td>
                <td>{d.gateway}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
