import { useEffect, useState } from 'react';

/**
 * True once `ready` has held through a painted frame. Views that lead with numbers mount their heavy panels
 * (the chart library, the map) behind it, so parsing those chunks never delays the first values on screen.
 */
export function useAfterPaint(ready: boolean): boolean {
  const [painted, setPainted] = useState(false);
  useEffect(() => {
    if (!ready || painted) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    // requestAnimationFrame runs before the paint; the task after it runs once the frame is on screen.
    const frame = requestAnimationFrame(() => {
      timer = setTimeout(() => setPainted(true), 0);
    });
    return () => {
      cancelAnimationFrame(frame);
      clearTimeout(timer);
    };
  }, [ready, painted]);
  return painted;
}
