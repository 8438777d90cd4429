import { useEffect, useState, type ReactNode } from 'react';
import { useI18n } from '../i18n/i18n';
import { navFor } from '../lib/roles';
import { useLocation } from '../lib/router';
import { useApp } from '../session';
import { Link } from './Link';
import { LiveStatus } from './LiveStatus';
import { UnackedBadge } from './UnackedBadge';

export function Layout({ children, onLogout }: { children: ReactNode; onLogout(): void }) {
  const { t, lang, setLang } = useI18n();
  const { session } = useApp();
  const { path } = useLocation();
  const items = navFor(session.user.role);
  // On a phone the navigation folds behind a Menu button; it closes again after each navigation.
  const [menuOpen, setMenuOpen] = useState(false);
  useEffect(() => setMenuOpen(false), [path]);
  // The most specific item is current: /admin/devices marks "Thiết bị", not also "Quản trị".
  const current = (p: string) =>
    p === '/'
      ? path === '/'
      : (path === p || path.startsWith(`${p}/`)) &&
        !items.some((i) => i.path.length > p.length && (path === i.path || path.startsWith(`${i.path}/`)));
  const kiosk = session.kiosk === true || session.user.username.startsWith('kiosk:');
  return (
    <div className="app">
      <a className="skip-link" href="#main">
        {t('app.skip')}
      </a>
      <header className="app-header">
        <div className="brand">
          <span className="brand-mark" aria-hidden="true">
            ◆
          </span>
          <span className="brand-long">{t('app.title')}</span>
          <span className="brand-short">{t('app.short')}</span>
        </div>
        <div className="header-tools">
          <LiveStatus />
          <span className="user" data-testid="user">
            {t('app.user', { name: session.user.displayName, role: t(`role.${session.user.role}`) })}
          </span>
          {!kiosk && (
            <Link
              href="/account"
              className="btn btn-ghost"
              aria-current={path === '/account' ? 'page' : undefined}
              data-testid="account-link"
            >
              {t('account.link')}
            </Link>
          )}
          <button
            type="button"
            className="btn btn-ghost"
            onClick={() => setLang(lang === 'vi' ? 'en' : 'vi')}
            lang={lang === 'vi' ? 'en' : 'vi'}
          >
            {t('app.switchLang')}
          </button>
          <button type="button" className="btn btn-ghost" onClick={onLogout}>
            {t('app.logout')}
          </button>
        </div>
        <button
          type="button"
          className="btn btn-ghost menu-button"
          aria-expanded={menuOpen}
          aria-controls="app-nav"
          onClick={() => setMenuOpen(!menuOpen)}
        >
          <span aria-hidden="true">☰ </span>
          {t('nav.menu')}
        </button>
        <nav aria-label={t('nav.main')} className="app-nav" id="app-nav" data-open={menuOpen}>
          <ul>
            {items.map((item) => (
              <li key={item.path}>
                <Link href={item.path} aria-current={current(item.path) ? 'page' : undefined} data-nav={item.path}>
                  {t(item.label)}
                  {item.path === '/alarms' && <UnackedBadge />}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
      </header>
      <main id="main" tabIndex={-1} className="app-main">
        {children}
      </main>
    </div>
  );
}
