// The bundle-size floor: the smallest React 19 app, built by the same Vite with the same settings.
import { createRoot } from 'react-dom/client';

createRoot(document.getElementById('root')!).render(<p>Xin chào</p>);
