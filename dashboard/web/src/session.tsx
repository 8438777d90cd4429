import { createContext, useContext } from 'react';
import type { CityModel, Session } from './api/types';

export interface AppContextValue {
  session: Session;
  city: CityModel;
  wardName(id: string | null | undefined): string;
  deviceName(id: string | null | undefined): string;
  /** Fetch the city model again (after an admin changed the device registry). */
  refreshCity(): void;
}

export const AppContext = createContext<AppContextValue | null>(null);

export function useApp(): AppContextValue {
  const ctx = useContext(AppContext);
  if (!ctx) throw new Error('useApp outside AppContext');
  return ctx;
}
