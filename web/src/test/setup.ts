import "@testing-library/jest-dom/vitest";
import { cleanup, configure } from "@testing-library/react";
import { afterEach } from "vitest";

// The machine running the tests may be a busy 2-core box: findBy*/waitFor wait up to 5 s
// (the default 1 s made a slow first render look like a missing element).
configure({ asyncUtilTimeout: 5000 });

afterEach(() => {
  cleanup();
  sessionStorage.clear();
});
