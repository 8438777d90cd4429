import { createRoot } from 'react-dom/client';
import { App, preloadView } from './App';
import { startBoot } from './boot';
import { I18nProvider } from './i18n/i18n';
import { snapshot } from './lib/router';
import './styles.css';

// Before the first render: the session check, first data and live socket are on their way while React starts.
const { path, search } = snapshot();
const boot = startBoot(path, search.get('kiosk'), preloadView);

createRoot(document.getElementById('root')!).render(
  <I18nProvider>
    <App boot={boot} />
  </I18nProvider>,
);
