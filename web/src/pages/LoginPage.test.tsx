import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { App } from "../App";
import { mockApi, reply } from "../test/api";

describe("login", () => {

  it("checks the token with /whoami, keeps it for the tab and shows the role", async () => {
    const { calls } = mockApi({
      "GET /whoami": { name: "alice", role: "operator" },
      "GET /deployments": { data: [], count: 0 },
    });
    render(<App />);
    await userEvent.type(screen.getByLabelText("API token"), "  s3cret ");
    await userEvent.click(screen.getByRole("button", { name: "Log in" }));
    expect(await screen.findByTestId("whoami")).toHaveTextContent("alice · operator");
    expect(sessionStorage.getItem("turnout.token")).toBe("s3cret");
    expect(calls[0]?.headers.Authorization).toBe("Bearer s3cret");
    expect(await screen.findByText("No deployments yet.")).toBeInTheDocument();
  });

  it("refuses a rejected token with the reason and stores nothing", async () => {
    mockApi({ "GET /whoami": reply(401, { detail: "unknown token" }) });
    render(<App />);
    await userEvent.type(screen.getByLabelText("API token"), "wrong");
    await userEvent.click(screen.getByRole("button", { name: "Log in" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("Your token was not accepted (unknown token)");
    expect(sessionStorage.getItem("turnout.token")).toBeNull();
  });

  it("says the control plane is unreachable rather than that the token is wrong", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => Promise.reject(new TypeError("Failed to fetch"))));
    render(<App />);
    await userEvent.type(screen.getByLabelText("API token"), "t");
    await userEvent.click(screen.getByRole("button", { name: "Log in" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("The control plane could not be reached (Failed to fetch)");
  });

  it("signs out with the reason when a stored token stops being accepted", async () => {
    sessionStorage.setItem("turnout.token", "revoked");
    mockApi({ "GET /whoami": reply(401, { detail: "token revoked" }) });
    render(<App />);
    expect(await screen.findByRole("alert")).toHaveTextContent("token revoked");
    expect(screen.getByLabelText("API token")).toBeInTheDocument();
    expect(sessionStorage.getItem("turnout.token")).toBeNull();
  });
});
