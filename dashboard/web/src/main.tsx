import { createRoot } from 'react-dom/client';
import { App, preloadView } from './App';
import { startBoot } from './boot';
import { I18nProvider } from './i18n/i18n';
import { snapshot } from './lib/router';
import './styles.css';

// Before the first render: the session check, first data and live socket are on their way while React starts.
const { path, search } = snapshot();
const boot = startBoot(path, search.get('kiosk'), preloadView);

// The first render waits for the page's view code (named in the head, so it downloads beside this code): rendered
// before it, the view would show a fallback that React keeps on screen for its reveal throttle. Bounded, so a slow
// download shows the layout and the fallback as before.
const VIEW_CODE_WAIT_MS = 3000;
void Promise.race([preloadView(path), new Promise((resolve) => setTimeout(resolve, VIEW_CODE_WAIT_MS))]).then(() =>
  createRoot(document.getElementById('root')!).render(
    <I18nProvider>
      <App boot={boot} />
    </I18nProvider>,
  ),
);
