import "@testing-library/jest-dom/vitest";
import { cleanup, configure } from "@testing-library/react";
import { afterEach, vi } from "vitest";

// The machine running the tests may be a busy 2-core box: findBy*/waitFor wait up to 5 s
// (the default 1 s made a slow first render look like a missing element).
configure({ asyncUtilTimeout: 5000 });

// One hook, in this order: unmount first (a page may still be opening its EventSource),
// then take away the stubbed fetch/EventSource. The other order made effects of a
// finished test hit a missing global.
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  sessionStorage.clear();
});
