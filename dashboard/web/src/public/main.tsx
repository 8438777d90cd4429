import { createRoot } from 'react-dom/client';
import { I18nProvider } from '../i18n/i18n';
import { PublicPage } from './PublicPage';
import './public.css';

// The residents' entry: its own small bundle (React and this page; no charts, the map loads after first paint).
const embed = location.pathname.replace(/\/+$/, '') === '/public/embed';
const ward = new URLSearchParams(location.search).get('ward') ?? undefined;

createRoot(document.getElementById('root')!).render(
  <I18nProvider>
    <PublicPage embed={embed} ward={ward} />
  </I18nProvider>,
);
